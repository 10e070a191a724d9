//! Errors of the generator, each naming what was wrong.

use std::path::PathBuf;

/// Why a workload, a cycle range or a word list was refused.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("cannot read word list {path}: {cause}")]
    WordsRead {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("word list {origin}: line {line}: {reason}")]
    WordsInvalid {
        origin: String,
        line: usize,
        reason: String,
    },
    #[error("word list {origin} has no words")]
    WordsEmpty { origin: String },
    #[error("--sources must be at least 1")]
    NoSources,
    #[error("invalid cycle range '{value}': {reason}")]
    Cycles { value: String, reason: String },
    #[error("--truth needs a finite cycle range (A..B), got '{0}'")]
    EndlessTruth(String),
}

//! Why a change to the set of partitions or to the tuning was refused.

use crate::checkpoint::IdentityMismatch;
use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    #[error("invalid {0}")]
    Invalid(#[from] ConfigError),
    #[error("partition {0} already exists")]
    Exists(String),
    #[error("no partition {0}")]
    NotFound(String),
    #[error("partition {id} is {state}")]
    State { id: String, state: &'static str },
    #[error(
        "no more partition indexes (at most {} partitions over the process's life)",
        u16::MAX
    )]
    IndexesExhausted,
    #[error("already {running} partitions running, the most processor.max_partitions allows")]
    Limit { running: usize },
    #[error(transparent)]
    Identity(#[from] IdentityMismatch),
    #[error("actor unavailable: {0}")]
    Unavailable(String),
}

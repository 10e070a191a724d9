//! Errors raised while loading or validating configuration.

/// A configuration problem, always naming the key (or file) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    FileRefused { path: String, message: String },
    #[error("config file {path}, line {line}, column {column}{key}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        /// ` (key `name`)` when the line assigns a known key, else empty.
        key: String,
        message: String,
    },
    #[error("config: {0}")]
    Parse(String),
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
    /// The key's value is valid alone but not with another key's value.
    #[error("config key `{key}`: {message}")]
    Conflict { key: String, message: String },
}

impl ConfigError {
    pub(crate) fn conflict(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Conflict {
            key: key.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

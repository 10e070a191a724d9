//! Errors of persisting and loading snapshots.

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint store: {what} for partition {partition}: {message}")]
    Store {
        what: &'static str,
        partition: String,
        message: String,
    },
    #[error("checkpoint store: local folder {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Identity(#[from] super::IdentityMismatch),
}

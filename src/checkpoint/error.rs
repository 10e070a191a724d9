//! Errors of persisting and loading snapshots.

use crate::runtime::TaskFailed;

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
    #[error("checkpoint store: no snapshot chain of partition {partition} decodes (epoch {seq}: {reason}); reset the partition to start it over")]
    Unrecoverable {
        partition: String,
        seq: u64,
        reason: String,
    },
    #[error(transparent)]
    Identity(#[from] super::IdentityMismatch),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

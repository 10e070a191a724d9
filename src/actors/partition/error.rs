//! Why a partition actor stops (its supervisor then restarts it), or is refused.

use super::source::SourceError;
use crate::actors::supervision::RestartCause;
use crate::checkpoint::CheckpointError;
use crate::core::{ChunkCodecError, SnapshotError};
use crate::sink::SinkError;

/// A failed step of a partition actor; the message names the step.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error("killed on request")]
    Killed,
    #[error("restoring: the checkpoint actor is unavailable: {0}")]
    CheckpointUnavailable(#[source] actix::MailboxError),
    #[error("restoring: {0}")]
    Restore(#[source] CheckpointError),
    #[error("reading the intents of uncommitted epochs: {0}")]
    Intents(#[source] SinkError),
    #[error("repairing the rows of uncommitted epochs: {0}")]
    Repair(#[source] SinkError),
    #[error("snapshotting epoch {epoch}: {source}")]
    Snapshot {
        epoch: u64,
        #[source]
        source: SnapshotError,
    },
    #[error("invalid source: {0}")]
    SourceAddr(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("reading the source: {0}")]
    Read(#[source] ChunkCodecError),
    #[error("source closed at offset {read} of {expected}")]
    SourceClosedEarly { read: u64, expected: u64 },
}

impl PartitionError {
    /// The `cause` label its restart is counted under.
    pub fn cause(&self) -> RestartCause {
        match self {
            PartitionError::Killed => RestartCause::Killed,
            PartitionError::CheckpointUnavailable(_)
            | PartitionError::Restore(_)
            | PartitionError::Intents(_)
            | PartitionError::Repair(_)
            | PartitionError::Snapshot { .. } => RestartCause::Restore,
            PartitionError::SourceAddr(_)
            | PartitionError::Source(_)
            | PartitionError::Read(_)
            | PartitionError::SourceClosedEarly { .. } => RestartCause::Connection,
        }
    }

    /// Whether the partition's identity was refused: it stays stopped, unrestarted.
    pub fn is_refusal(&self) -> bool {
        matches!(self, PartitionError::Restore(CheckpointError::Identity(_)))
    }
}

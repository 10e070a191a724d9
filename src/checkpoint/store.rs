//! The store the checkpoint actor writes to.

use super::{CassandraStore, Chain, CheckpointError, LocalStore};
use crate::core::Snapshot;

/// One of the two stores (an enum, so no boxed futures are needed).
pub enum CheckpointStore {
    Cassandra(Box<CassandraStore>),
    Local(LocalStore),
}

impl CheckpointStore {
    /// Persists one snapshot (already encoded as `bytes`).
    pub async fn persist(&self, snap: &Snapshot, bytes: &[u8]) -> Result<(), CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.persist(snap, bytes).await,
            CheckpointStore::Local(s) => s.persist(snap, bytes).await,
        }
    }

    /// The newest complete chain of a partition.
    pub async fn load(&self, partition: &str) -> Result<Chain, CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.load(partition).await,
            CheckpointStore::Local(s) => s.load(partition).await,
        }
    }

    /// Deletes every snapshot older than `seq`.
    pub async fn prune(&self, partition: &str, seq: u64) -> Result<(), CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.prune(partition, seq).await,
            CheckpointStore::Local(s) => s.prune(partition, seq).await,
        }
    }
}

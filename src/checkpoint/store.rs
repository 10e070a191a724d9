//! The store the checkpoint actor writes to.

use super::{CassandraStore, Chain, CheckpointError, LocalStore, StoredIdentity};
use crate::core::Snapshot;

/// One of the two stores (an enum, so no boxed futures are needed).
pub enum CheckpointStore {
    Cassandra(Box<CassandraStore>),
    Local(LocalStore),
}

impl CheckpointStore {
    /// Persists one snapshot (already encoded as `bytes`).
    pub async fn persist(
        &self,
        snap: &Snapshot,
        bytes: &[u8],
        timestamp: Option<i64>,
    ) -> Result<(), CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.persist(snap, bytes, timestamp).await,
            CheckpointStore::Local(s) => s.persist(snap, bytes).await,
        }
    }

    /// The newest complete chain of a partition; with `upto`, of the snapshots
    /// up to that epoch only (cluster mode: the lease's committed epoch).
    pub async fn load(&self, partition: &str, upto: Option<u64>) -> Result<Chain, CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.load(partition, upto).await,
            CheckpointStore::Local(s) => s.load(partition).await,
        }
    }

    /// The partition's identity, if one was recorded.
    pub async fn identity(
        &self,
        partition: &str,
    ) -> Result<Option<StoredIdentity>, CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.identity(partition).await,
            CheckpointStore::Local(s) => s.identity(partition).await,
        }
    }

    /// Records the partition's identity (replacing any earlier one).
    pub async fn set_identity(
        &self,
        partition: &str,
        identity: &StoredIdentity,
    ) -> Result<(), CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.set_identity(partition, identity).await,
            CheckpointStore::Local(s) => s.set_identity(partition, identity).await,
        }
    }

    /// Deletes every snapshot of the partition (a reset); its identity stays.
    pub async fn remove_all(&self, partition: &str) -> Result<(), CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.remove_all(partition).await,
            CheckpointStore::Local(s) => s.remove_all(partition).await,
        }
    }

    /// Deletes every snapshot newer than `seq`: after a fallback to the chain
    /// ending at `seq`, so that the epochs written next start a new chain instead
    /// of mixing with the lost one.
    pub async fn truncate_after(&self, partition: &str, seq: u64) -> Result<(), CheckpointError> {
        match self {
            CheckpointStore::Cassandra(s) => s.truncate_after(partition, seq).await,
            CheckpointStore::Local(s) => s.truncate_after(partition, seq).await,
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

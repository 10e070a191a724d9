//! Where partition snapshots are persisted: the Cassandra `checkpoints` table, or a
//! local folder for runs without Cassandra. Both keep chains of one base snapshot
//! followed by deltas, and hand back on load the newest complete chain. Beside
//! the snapshots, each keeps the partition's identity (what its offsets mean).

mod cassandra;
mod chain;
mod error;
mod identity;
mod local;
mod store;

pub use cassandra::{CassandraStore, ChunkRow};
pub use chain::{newest_chain, Chain, Fallback, Loaded, Stored};
pub use error::CheckpointError;
pub use identity::{Identity, IdentityMismatch, SourceKind, StoredIdentity};
pub use local::LocalStore;
pub use store::CheckpointStore;

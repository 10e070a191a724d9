//! Where partition snapshots are persisted: the Cassandra `checkpoints` table, or a
//! local folder for runs without Cassandra. Both keep chains of one base snapshot
//! followed by deltas, and hand back on load the newest complete chain.

mod cassandra;
mod chain;
mod error;
mod local;
mod store;

pub use cassandra::{CassandraStore, ChunkRow};
pub use chain::{newest_chain, Chain};
pub use error::CheckpointError;
pub use local::LocalStore;
pub use store::CheckpointStore;

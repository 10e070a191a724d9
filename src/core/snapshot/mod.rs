//! Incremental checkpoints: deltas of the keys an epoch touched, periodic full
//! bases, a checked binary encoding, chunking for blob cells, and restore.

mod build;
mod chunks;
mod compaction;
mod encode;
mod model;
mod restore;

pub use chunks::{reassemble, split_chunks};
pub use compaction::CompactionPolicy;
pub use encode::{decode, encode, SnapshotError, FORMAT_VERSION, HEADER_LEN};
pub use model::{Snapshot, SnapshotKind};
pub use restore::{apply_snapshot, restore, RestoreError};

//! Pure processing logic: framing socket bytes into line chunks, parsing lines,
//! cumulative rollups per key and minute cut into epochs, and incremental
//! snapshots. No I/O, no actors: the partition actor calls into this.

pub mod bad_line;
pub mod bucket;
pub mod codec;
pub mod event;
pub mod frame;
pub mod ingest;
pub mod key;
pub mod parse;
pub mod rollup;
pub mod sealed;
pub mod snapshot;
pub mod state;
#[cfg(test)]
mod testkit;

pub use bad_line::BadLine;
pub use bucket::{minute_of, MinuteWatermark, MINUTE_MS};
pub use codec::{ChunkCodec, ChunkCodecError, OVERSIZED_PREFIX_BYTES};
pub use event::EventRef;
pub use frame::{Frame, LineChunk, Lines};
pub use ingest::{ingest_frame, ingest_line, IngestStats};
pub use key::{Key, KeyHasher, KeyMap, KeyRef};
pub use parse::parse_line;
pub use rollup::{Rollup, ValueStats};
pub use sealed::{KeyRow, MinuteRow, RawRow, SealedEpoch};
pub use snapshot::{
    decode, encode, reassemble, restore, split_chunks, CompactionPolicy, RestoreError, Snapshot,
    SnapshotError, SnapshotKind,
};
pub use state::{PartitionState, StateOptions};

//! Pure processing logic: framing socket bytes into line chunks, parsing lines,
//! cumulative rollups per key and minute cut into epochs, and incremental
//! snapshots. No I/O, no actors: the partition actor calls into this.
//!
//! A partition actor's life, in calls:
//! - input: `add_stream(FramedRead::with_capacity(read, ChunkCodec::new(..), n))`;
//!   per [`Frame`], [`ingest_frame`] (parse + [`RollupState::record`] /
//!   `record_bad`, one offset per line, bad lines to a callback for dead letters);
//! - every `flush_interval` or at `max_epoch_events` ([`RollupState::epoch_events`]):
//!   [`RollupState::seal_epoch`] → [`SealedEpoch`] for the sink, and at once
//!   [`RollupState::snapshot`] with the kind [`CompactionPolicy`] picks, then
//!   [`encode`] and [`split_chunks`] for the checkpoint table;
//! - before an epoch's rows are written: its [`Intent`]; on (re)start: [`decode`]
//!   the last base and the deltas after it, [`restore`], undo what uncommitted
//!   epochs wrote with a [`RepairPlan`], and resume reading at [`RollupState::offset`].

pub mod bad_line;
pub mod bucket;
pub mod codec;
pub mod event;
pub mod evicted;
pub mod frame;
pub mod ingest;
pub mod intent;
pub mod key;
pub mod packed;
pub mod parse;
pub mod repair;
pub mod rollup;
pub mod sealed;
pub mod snapshot;
pub mod state;
#[cfg(test)]
mod testkit;
pub mod total;

pub use bad_line::BadLine;
pub use bucket::{minute_of, MinuteWatermark, MINUTE_MS};
pub use codec::{ChunkCodec, ChunkCodecError, OVERSIZED_PREFIX_BYTES};
pub use event::EventRef;
pub use evicted::{key_hash, EvictedKeys};
pub use frame::{Frame, LineChunk, Lines};
pub use ingest::{ingest_frame, ingest_line, reloads_ahead, IngestStats};
pub use intent::{Intent, IntentError, MAX_INTENT_SPAN};
pub use key::{Key, KeyHasher, KeyMap, KeyRef};
pub use packed::PackedRollup;
pub use parse::parse_line;
pub use repair::{raw_bucket, RawRange, RepairPlan, RAW_BUCKET_SIZE};
pub use rollup::{Rollup, ValueStats};
pub use sealed::{KeyRow, MinuteRow, RawRow, SealedEpoch};
pub use snapshot::{
    apply_snapshot, decode, encode, reassemble, restore, split_chunks, CompactionPolicy,
    RestoreError, Snapshot, SnapshotError, SnapshotKind,
};
pub use state::{Reload, Reloaded, RollupState, StateOptions};
pub use total::TotalEntry;

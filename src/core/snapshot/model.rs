//! The checkpoint of one partition after one epoch.

use serde::{Deserialize, Serialize};

use crate::core::bucket::MinuteWatermark;
use crate::core::evicted::EvictedKeys;
use crate::core::sealed::{KeyRow, MinuteRow};

/// Whether a snapshot holds the whole state or only what one epoch changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotKind {
    Base,
    Delta,
}

/// State (Base) or state change (Delta) of a partition as of the end of `epoch`.
/// All rollups are absolute values; applying a delta overwrites, never adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub partition: String,
    /// The last epoch this snapshot covers.
    pub epoch: u64,
    /// The next source offset to read after that epoch.
    pub offset: u64,
    pub kind: SnapshotKind,
    /// Base: every key. Delta: exactly the keys touched in `epoch`.
    pub keys: Vec<KeyRow>,
    /// Minute buckets: (index into `keys`, minute start in Unix ms, rollup). Base:
    /// every bucket in memory. Delta: exactly the buckets touched in `epoch`.
    pub minutes: Vec<MinuteRow>,
    /// Bucket watermark after `epoch` (restore evicts under its floor).
    pub watermark: MinuteWatermark,
    /// Base only: the filter of the keys evicted before it. Keys evicted after the
    /// base are in it or in a later delta, so a restore holds them.
    pub evicted: Option<EvictedKeys>,
}

/// The payload of format version 1, before eviction.
#[derive(Deserialize)]
pub(super) struct SnapshotV1 {
    partition: String,
    epoch: u64,
    offset: u64,
    kind: SnapshotKind,
    keys: Vec<KeyRow>,
    minutes: Vec<MinuteRow>,
    watermark: MinuteWatermark,
}

impl From<SnapshotV1> for Snapshot {
    fn from(s: SnapshotV1) -> Self {
        Snapshot {
            partition: s.partition,
            epoch: s.epoch,
            offset: s.offset,
            kind: s.kind,
            keys: s.keys,
            minutes: s.minutes,
            watermark: s.watermark,
            evicted: None,
        }
    }
}

impl Snapshot {
    pub fn is_base(&self) -> bool {
        self.kind == SnapshotKind::Base
    }
}

//! What sealing an epoch hands to the sink and the checkpoint: everything the
//! epoch changed, as absolute values.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::bucket::MinuteWatermark;
use super::key::Key;
use super::rollup::Rollup;

/// A key with its absolute cumulative rollup.
pub type KeyRow = (Key, Rollup);

/// A minute bucket: (index of its key in the accompanying key list, minute start
/// in Unix ms, absolute rollup of that key in that minute).
pub type MinuteRow = (u32, i64, Rollup);

/// One raw event row, keyed in Cassandra by (partition, offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRow {
    pub offset: u64,
    /// Index into [`SealedEpoch::touched`]: the event's key.
    pub key: u32,
    /// The event's own time, if the line had one.
    pub ts_ms: Option<i64>,
    pub value: Option<i64>,
    /// The minute bucket the event was counted in (event time, else ingest time,
    /// moved up to the watermark floor if late).
    pub minute_ms: i64,
}

/// The result of [`RollupState::seal_epoch`](super::state::RollupState::seal_epoch).
/// Serializable so it can be recorded as the epoch's intent before the writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedEpoch {
    pub epoch: u64,
    /// First source offset of the epoch.
    pub offset_start: u64,
    /// Exclusive: the next offset to read, the one to resume from once committed.
    pub offset_end: u64,
    /// Every key touched in the epoch with its ABSOLUTE cumulative rollup, in
    /// first-touch order.
    pub touched: Vec<KeyRow>,
    /// Every minute bucket touched: (index into `touched`, minute start in Unix
    /// ms, ABSOLUTE rollup of that key in that minute).
    pub minutes: Vec<MinuteRow>,
    /// The epoch's events in offset order; empty unless raw capture is on.
    pub raw: Vec<RawRow>,
    /// Events counted in the epoch.
    pub events: u64,
    /// Lines skipped as bad in the epoch (they still took offsets).
    pub bad_lines: u64,
    /// Events counted in the floor bucket because their own minute was evicted.
    pub late_events: u64,
    /// The bucket watermark after the epoch; carried into snapshots.
    pub watermark: MinuteWatermark,
}

impl SealedEpoch {
    /// The source offsets the epoch covers.
    pub fn offsets(&self) -> Range<u64> {
        self.offset_start..self.offset_end
    }

    /// True when no event was counted (the epoch may still have advanced the offset).
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    /// The key behind a `touched` index, as found in `minutes` and `raw`.
    pub fn key(&self, index: u32) -> Option<&Key> {
        self.touched.get(index as usize).map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn key_lookup_by_index() {
        let sealed = SealedEpoch {
            epoch: 1,
            offset_start: 5,
            offset_end: 9,
            touched: vec![(Key::new(Uuid::from_u128(1), "a"), Rollup::of(None))],
            minutes: vec![(0, 0, Rollup::of(None))],
            raw: vec![],
            events: 1,
            bad_lines: 3,
            late_events: 0,
            watermark: MinuteWatermark::default(),
        };
        assert_eq!(sealed.offsets(), 5..9);
        assert_eq!(sealed.key(0).map(|k| &*k.event_name), Some("a"));
        assert_eq!(sealed.key(1), None);
        assert!(!sealed.is_empty());
    }
}

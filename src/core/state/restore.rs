//! What snapshots and restores need of the state: its rows in slot order, and
//! setting absolute values back.

use super::rollups::RollupState;
use crate::core::bucket::MinuteWatermark;
use crate::core::key::Key;
use crate::core::rollup::Rollup;
use crate::core::sealed::{KeyRow, MinuteRow};

impl RollupState {
    /// Keys in slot order with, for each bucket, its slot (an index into that order).
    pub(crate) fn export(&self) -> (Vec<KeyRow>, Vec<MinuteRow>) {
        let keys = self
            .slots
            .iter()
            .map(|s| (s.key.clone(), s.rollup))
            .collect();
        let minutes = self
            .buckets
            .iter()
            .map(|b| (b.slot, b.minute, b.rollup))
            .collect();
        (keys, minutes)
    }

    /// Sets a key's absolute rollup, creating the key if needed; returns its slot.
    pub(crate) fn put_key(&mut self, key: Key, rollup: Rollup) -> u32 {
        let slot = match self.find_slot(&key.as_ref()) {
            Some(s) => s,
            None => {
                let hash = key.as_ref().hash_with(&self.hasher);
                self.push_slot(key, hash)
            }
        };
        self.slots[slot as usize].rollup = rollup;
        slot
    }

    /// Sets a bucket's absolute rollup, creating it if needed.
    pub(crate) fn put_bucket(&mut self, slot: u32, minute: i64, rollup: Rollup) {
        let b = self.bucket_for(slot, minute);
        self.buckets[b as usize].rollup = rollup;
    }

    /// Ends a restore: the position after the last applied snapshot, then eviction.
    pub(crate) fn finish_restore(&mut self, epoch: u64, offset: u64, watermark: MinuteWatermark) {
        self.epoch = epoch.saturating_add(1);
        self.offset = offset;
        self.epoch_offset_start = offset;
        self.watermark = watermark;
        self.evicted_floor = None;
        self.evict_sealed_buckets();
    }
}

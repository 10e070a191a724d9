//! The state's two hash tables, of key slots and of minute buckets. Slots and
//! buckets live in vectors and are never moved, so an index is a stable id; the
//! tables map hashes to those indexes.

use std::hash::BuildHasher;

use super::rollups::{Bucket, RollupState, Slot, NO_BUCKET};
use crate::core::key::{Key, KeyRef};
use crate::core::rollup::Rollup;

impl RollupState {
    /// Drops buckets under the watermark floor. Only called with nothing unsealed.
    pub(super) fn evict_sealed_buckets(&mut self) {
        let Some(floor) = self.watermark.floor_ms else {
            return;
        };
        if self.evicted_floor.is_some_and(|f| f >= floor) {
            return;
        }
        self.evicted_floor = Some(floor);
        let before = self.buckets.len();
        self.buckets.retain(|b| b.minute >= floor);
        if self.buckets.len() == before {
            return;
        }
        self.bucket_index.clear();
        for (i, b) in self.buckets.iter().enumerate() {
            self.bucket_index
                .insert_unique(b.hash, i as u32, |&j| self.buckets[j as usize].hash);
        }
        for s in &mut self.slots {
            s.cur_bucket = NO_BUCKET;
        }
    }

    #[inline]
    pub(super) fn find_slot(&self, key: &KeyRef<'_>) -> Option<u32> {
        let hash = key.hash_with(&self.hasher);
        self.index
            .find(hash, |&s| *key == self.slots[s as usize].key)
            .copied()
    }

    /// The slot of `key`, created (with an empty rollup) on first sight.
    #[inline]
    pub(super) fn slot_for(&mut self, key: &KeyRef<'_>) -> u32 {
        let hash = key.hash_with(&self.hasher);
        if let Some(&s) = self
            .index
            .find(hash, |&s| *key == self.slots[s as usize].key)
        {
            return s;
        }
        self.push_slot(key.to_key(), hash)
    }

    /// A new slot for `key` (not in the index yet), with an empty rollup.
    #[inline]
    pub(super) fn push_slot(&mut self, key: Key, hash: u64) -> u32 {
        let slot = self.slots.len() as u32;
        self.slots.push(Slot {
            key,
            hash,
            rollup: Rollup::default(),
            touched_epoch: 0,
            touched_idx: 0,
            cur_minute: 0,
            cur_bucket: NO_BUCKET,
        });
        self.index
            .insert_unique(hash, slot, |&s| self.slots[s as usize].hash);
        slot
    }

    #[inline]
    fn bucket_hash(&self, slot: u32, minute: i64) -> u64 {
        self.hasher.hash_one((slot, minute))
    }

    pub(super) fn find_bucket(&self, slot: u32, minute: i64) -> Option<u32> {
        let hash = self.bucket_hash(slot, minute);
        self.bucket_index
            .find(hash, |&b| {
                let b = &self.buckets[b as usize];
                b.slot == slot && b.minute == minute
            })
            .copied()
    }

    /// The bucket of (`slot`, `minute`), created empty on first sight.
    pub(super) fn bucket_for(&mut self, slot: u32, minute: i64) -> u32 {
        if let Some(b) = self.find_bucket(slot, minute) {
            return b;
        }
        let hash = self.bucket_hash(slot, minute);
        let bucket = self.buckets.len() as u32;
        self.buckets.push(Bucket {
            slot,
            minute,
            hash,
            rollup: Rollup::default(),
            touched_epoch: 0,
        });
        self.bucket_index
            .insert_unique(hash, bucket, |&b| self.buckets[b as usize].hash);
        bucket
    }
}

//! The partition actor's exclusive state: cumulative rollups per key and per
//! key and minute, cut into epochs. Pure: no I/O, no locks, no clock.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::bucket::{minute_of, MinuteWatermark};
use super::event::EventRef;
use super::key::{Key, KeyHasher, KeyRef};
use super::rollup::Rollup;
use super::sealed::{KeyRow, MinuteRow, RawRow, SealedEpoch};

/// Knobs of a [`RollupState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateOptions {
    /// Keep each event of the open epoch for the raw-events table.
    pub keep_raw: bool,
    /// Minute buckets older than the newest minute seen minus this many minutes
    /// are dropped from memory once sealed; `None` keeps them all.
    /// See [`MinuteWatermark`] for what happens to events that arrive later.
    pub bucket_horizon_minutes: Option<u32>,
}

impl Default for StateOptions {
    fn default() -> Self {
        StateOptions {
            keep_raw: false,
            bucket_horizon_minutes: Some(60),
        }
    }
}

/// Marks a slot whose per-key bucket cache is empty.
const NO_BUCKET: u32 = u32::MAX;

/// One key's entry. Slots are never moved or removed, so their index is a stable id.
#[derive(Debug, Clone)]
struct Slot {
    key: Key,
    hash: u64,
    rollup: Rollup,
    /// The epoch in which the key was last touched; `touched_idx` is valid for it.
    touched_epoch: u64,
    touched_idx: u32,
    /// Cache of the key's latest bucket, which almost every event hits.
    cur_minute: i64,
    cur_bucket: u32,
}

#[derive(Debug, Clone)]
struct Bucket {
    slot: u32,
    minute: i64,
    hash: u64,
    rollup: Rollup,
    touched_epoch: u64,
}

/// An event of the open epoch, kept for the raw-events table.
#[derive(Debug, Clone, Copy)]
struct RawEvent {
    offset: u64,
    slot: u32,
    ts_ms: Option<i64>,
    value: Option<i64>,
    minute_ms: i64,
}

/// All state of one partition.
///
/// Offsets: every line, good or bad, takes one offset; `offset()` is the next one
/// to read. Epochs are numbered from 1; `epoch()` is the one being filled and
/// `seal_epoch` closes it. Key and bucket slots are `u32` (at most ~4·10⁹ each).
#[derive(Debug, Clone)]
pub struct RollupState {
    partition: String,
    options: StateOptions,
    hasher: KeyHasher,
    slots: Vec<Slot>,
    index: HashTable<u32>,
    buckets: Vec<Bucket>,
    bucket_index: HashTable<u32>,
    epoch: u64,
    epoch_offset_start: u64,
    offset: u64,
    touched: Vec<u32>,
    touched_buckets: Vec<u32>,
    raw: Vec<RawEvent>,
    watermark: MinuteWatermark,
    /// Floor up to which buckets were last evicted.
    evicted_floor: Option<i64>,
    events: u64,
    bad_lines: u64,
    late_events: u64,
}

impl RollupState {
    /// A fresh partition at offset 0, filling epoch 1.
    pub fn new(partition: impl Into<String>, options: StateOptions) -> Self {
        RollupState {
            partition: partition.into(),
            options,
            hasher: KeyHasher::default(),
            slots: Vec::new(),
            index: HashTable::new(),
            buckets: Vec::new(),
            bucket_index: HashTable::new(),
            epoch: 1,
            epoch_offset_start: 0,
            offset: 0,
            touched: Vec::new(),
            touched_buckets: Vec::new(),
            raw: Vec::new(),
            watermark: MinuteWatermark::default(),
            evicted_floor: None,
            events: 0,
            bad_lines: 0,
            late_events: 0,
        }
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    pub fn options(&self) -> StateOptions {
        self.options
    }

    /// Raw capture can be switched at any time; it applies from the next event.
    pub fn set_keep_raw(&mut self, keep_raw: bool) {
        self.options.keep_raw = keep_raw;
    }

    /// The next source offset to read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The epoch being filled (the last sealed one is `epoch() - 1`).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Number of minute buckets in memory.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// True when something was recorded since the last seal.
    pub fn has_unsealed(&self) -> bool {
        self.events + self.bad_lines > 0
    }

    /// Events recorded in the open epoch (for `max_epoch_events`).
    pub fn epoch_events(&self) -> u64 {
        self.events
    }

    pub fn watermark(&self) -> MinuteWatermark {
        self.watermark
    }

    /// The cumulative rollup of a key.
    pub fn get(&self, key: &KeyRef<'_>) -> Option<&Rollup> {
        self.find_slot(key).map(|s| &self.slots[s as usize].rollup)
    }

    /// The rollup of a key in the minute starting at `minute_ms`, if still in memory.
    pub fn get_minute(&self, key: &KeyRef<'_>, minute_ms: i64) -> Option<&Rollup> {
        let slot = self.find_slot(key)?;
        self.find_bucket(slot, minute_ms)
            .map(|b| &self.buckets[b as usize].rollup)
    }

    /// Every key with its cumulative rollup, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Rollup)> + '_ {
        self.slots.iter().map(|s| (&s.key, &s.rollup))
    }

    /// Every minute bucket in memory: (key, minute start, rollup).
    pub fn minutes(&self) -> impl Iterator<Item = (&Key, i64, &Rollup)> + '_ {
        self.buckets
            .iter()
            .map(|b| (&self.slots[b.slot as usize].key, b.minute, &b.rollup))
    }

    /// Counts one event read at `offset` (normally `self.offset()`); the state's
    /// offset moves past it. `ingest_ms` decides the minute when the event has no
    /// time of its own. Allocates only for a key or bucket seen for the first time.
    #[inline]
    pub fn record(&mut self, offset: u64, ev: &EventRef<'_>, ingest_ms: i64) {
        let slot = self.slot_for(&ev.key());
        let epoch = self.epoch;
        let s = &mut self.slots[slot as usize];
        s.rollup.record(ev.value);
        if s.touched_epoch != epoch {
            s.touched_epoch = epoch;
            s.touched_idx = self.touched.len() as u32;
            self.touched.push(slot);
        }

        let (minute, late) = self.watermark.observe(
            minute_of(ev.ts_ms.unwrap_or(ingest_ms)),
            self.options.bucket_horizon_minutes,
        );
        let s = &mut self.slots[slot as usize];
        let bucket = if s.cur_bucket != NO_BUCKET && s.cur_minute == minute {
            s.cur_bucket
        } else {
            let b = self.bucket_for(slot, minute);
            let s = &mut self.slots[slot as usize];
            s.cur_minute = minute;
            s.cur_bucket = b;
            b
        };
        let b = &mut self.buckets[bucket as usize];
        b.rollup.record(ev.value);
        if b.touched_epoch != epoch {
            b.touched_epoch = epoch;
            self.touched_buckets.push(bucket);
        }

        if self.options.keep_raw {
            self.raw.push(RawEvent {
                offset,
                slot,
                ts_ms: ev.ts_ms,
                value: ev.value,
                minute_ms: minute,
            });
        }
        self.late_events += u64::from(late);
        self.events += 1;
        self.advance_to(offset);
    }

    /// A line at `offset` that was skipped (bad, oversized): it still takes its offset.
    pub fn record_bad(&mut self, offset: u64) {
        self.bad_lines += 1;
        self.advance_to(offset);
    }

    #[inline]
    fn advance_to(&mut self, offset: u64) {
        self.offset = self.offset.max(offset.saturating_add(1));
    }

    /// Closes the open epoch: every key and bucket it touched with absolute values,
    /// its raw events, its offset range. Then evicts buckets under the watermark
    /// floor. The next epoch starts at the returned `offset_end`.
    pub fn seal_epoch(&mut self) -> SealedEpoch {
        let touched = self
            .touched
            .iter()
            .map(|&s| {
                let slot = &self.slots[s as usize];
                (slot.key.clone(), slot.rollup)
            })
            .collect();
        let minutes = self
            .touched_buckets
            .iter()
            .map(|&b| {
                let bucket = &self.buckets[b as usize];
                let key = self.slots[bucket.slot as usize].touched_idx;
                (key, bucket.minute, bucket.rollup)
            })
            .collect();
        let raw = self
            .raw
            .iter()
            .map(|r| RawRow {
                offset: r.offset,
                key: self.slots[r.slot as usize].touched_idx,
                ts_ms: r.ts_ms,
                value: r.value,
                minute_ms: r.minute_ms,
            })
            .collect();
        let sealed = SealedEpoch {
            epoch: self.epoch,
            offset_start: self.epoch_offset_start,
            offset_end: self.offset,
            touched,
            minutes,
            raw,
            events: self.events,
            bad_lines: self.bad_lines,
            late_events: self.late_events,
            watermark: self.watermark,
        };
        self.epoch = self.epoch.saturating_add(1);
        self.epoch_offset_start = self.offset;
        self.touched.clear();
        self.touched_buckets.clear();
        self.raw.clear();
        self.events = 0;
        self.bad_lines = 0;
        self.late_events = 0;
        self.evict_sealed_buckets();
        sealed
    }

    /// Drops buckets under the watermark floor. Only called with nothing unsealed.
    fn evict_sealed_buckets(&mut self) {
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
    fn find_slot(&self, key: &KeyRef<'_>) -> Option<u32> {
        let hash = key.hash_with(&self.hasher);
        self.index
            .find(hash, |&s| *key == self.slots[s as usize].key)
            .copied()
    }

    /// The slot of `key`, created (with an empty rollup) on first sight.
    #[inline]
    fn slot_for(&mut self, key: &KeyRef<'_>) -> u32 {
        let hash = key.hash_with(&self.hasher);
        if let Some(&s) = self
            .index
            .find(hash, |&s| *key == self.slots[s as usize].key)
        {
            return s;
        }
        let slot = self.slots.len() as u32;
        self.slots.push(Slot {
            key: key.to_key(),
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

    fn find_bucket(&self, slot: u32, minute: i64) -> Option<u32> {
        let hash = self.bucket_hash(slot, minute);
        self.bucket_index
            .find(hash, |&b| {
                let b = &self.buckets[b as usize];
                b.slot == slot && b.minute == minute
            })
            .copied()
    }

    /// The bucket of (`slot`, `minute`), created empty on first sight.
    fn bucket_for(&mut self, slot: u32, minute: i64) -> u32 {
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

    // ---- used by snapshots and restore ----

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bucket::MINUTE_MS;
    use uuid::Uuid;

    fn ev(franchise: u128, name: &str) -> EventRef<'_> {
        EventRef::new(Uuid::from_u128(franchise), name)
    }

    fn key(franchise: u128, name: &str) -> KeyRef<'_> {
        KeyRef::new(Uuid::from_u128(franchise), name)
    }

    fn state(keep_raw: bool) -> RollupState {
        RollupState::new(
            "p0",
            StateOptions {
                keep_raw,
                ..StateOptions::default()
            },
        )
    }

    #[test]
    fn records_count_per_key_and_offsets_advance() {
        let mut st = state(false);
        st.record(0, &ev(1, "a"), 0);
        st.record(1, &ev(1, "a"), 0);
        st.record(2, &ev(2, "a"), 0);
        st.record_bad(3);
        assert_eq!(st.offset(), 4);
        assert_eq!(st.len(), 2);
        assert_eq!(st.get(&key(1, "a")).map(|r| r.count), Some(2));
        assert_eq!(st.get(&key(2, "a")).map(|r| r.count), Some(1));
        assert_eq!(st.get(&key(3, "a")), None);
        assert_eq!(st.epoch(), 1);
        assert_eq!(st.iter().count(), 2);
    }

    #[test]
    fn seal_reports_touched_keys_as_absolute_values() {
        let mut st = state(true);
        st.record(0, &ev(1, "a"), 0);
        st.record(1, &ev(2, "b").with_value(5), 0);
        let first = st.seal_epoch();
        assert_eq!(
            (first.epoch, first.offset_start, first.offset_end),
            (1, 0, 2)
        );
        assert_eq!(first.touched.len(), 2);

        st.record(2, &ev(2, "b").with_value(-1), 0);
        st.record_bad(3);
        st.record(4, &ev(2, "b"), 0);
        let second = st.seal_epoch();
        assert_eq!(
            (second.epoch, second.offset_start, second.offset_end),
            (2, 2, 5)
        );
        assert_eq!((second.events, second.bad_lines), (2, 1));
        assert_eq!(second.touched.len(), 1);
        let (k, r) = &second.touched[0];
        assert_eq!(k.as_ref(), key(2, "b"));
        assert_eq!(r.count, 3);
        assert_eq!((r.sum(), r.min(), r.max()), (Some(4), Some(-1), Some(5)));
        assert_eq!(second.minutes, vec![(0, 0, *r)]);
        let offsets: Vec<_> = second.raw.iter().map(|r| (r.offset, r.key)).collect();
        assert_eq!(offsets, vec![(2, 0), (4, 0)]);
        assert_eq!(second.raw[0].value, Some(-1));
        assert_eq!(st.epoch(), 3);
        assert!(!st.has_unsealed());
    }

    #[test]
    fn empty_epochs_still_advance() {
        let mut st = state(false);
        let sealed = st.seal_epoch();
        assert_eq!((sealed.epoch, sealed.offsets()), (1, 0..0));
        st.record_bad(0);
        st.record_bad(1);
        let sealed = st.seal_epoch();
        assert!(sealed.is_empty());
        assert_eq!(
            (sealed.epoch, sealed.offsets(), sealed.bad_lines),
            (2, 0..2, 2)
        );
    }

    #[test]
    fn raw_capture_off_keeps_nothing() {
        let mut st = state(false);
        st.record(0, &ev(1, "a"), 0);
        assert!(st.seal_epoch().raw.is_empty());
    }

    #[test]
    fn minutes_use_event_time_else_ingest_time() {
        let mut st = state(true);
        let t = 1_700_000_000_000;
        st.record(0, &ev(1, "a").with_ts(t), 0);
        st.record(1, &ev(1, "a"), t + 60_000);
        st.record(2, &ev(1, "a").with_ts(t + 1), 0);
        let sealed = st.seal_epoch();
        let m = minute_of(t);
        assert_eq!(
            sealed.minutes,
            vec![
                (
                    0,
                    m,
                    Rollup {
                        count: 2,
                        values: None
                    }
                ),
                (0, m + MINUTE_MS, Rollup::of(None)),
            ]
        );
        assert_eq!(sealed.raw[1].minute_ms, m + MINUTE_MS);
        assert_eq!(st.get_minute(&key(1, "a"), m).map(|r| r.count), Some(2));
        assert_eq!(st.minutes().count(), 2);
    }

    #[test]
    fn old_buckets_are_evicted_after_seal_and_late_events_use_the_floor() {
        let mut st = RollupState::new(
            "p",
            StateOptions {
                keep_raw: false,
                bucket_horizon_minutes: Some(2),
            },
        );
        let m = |n: i64| n * MINUTE_MS;
        st.record(0, &ev(1, "a").with_ts(m(10)), 0);
        st.record(1, &ev(1, "a").with_ts(m(11)), 0);
        st.seal_epoch();
        assert_eq!(st.bucket_count(), 2);
        st.record(2, &ev(1, "a").with_ts(m(13)), 0);
        // Still in memory until the seal.
        assert!(st.get_minute(&key(1, "a"), m(10)).is_some());
        let sealed = st.seal_epoch();
        assert_eq!(sealed.minutes, vec![(0, m(13), Rollup::of(None))]);
        assert_eq!(st.get_minute(&key(1, "a"), m(10)), None);
        assert!(st.get_minute(&key(1, "a"), m(11)).is_some());
        // Minute 9 is under the floor (11): counted in the floor's bucket.
        st.record(3, &ev(1, "a").with_ts(m(9)), 0);
        let sealed = st.seal_epoch();
        assert_eq!(sealed.late_events, 1);
        assert_eq!(
            sealed.minutes,
            vec![(
                0,
                m(11),
                Rollup {
                    count: 2,
                    values: None
                }
            )]
        );
        assert_eq!(st.get(&key(1, "a")).map(|r| r.count), Some(4));
    }

    #[test]
    fn bucket_cache_survives_eviction() {
        let mut st = RollupState::new(
            "p",
            StateOptions {
                keep_raw: false,
                bucket_horizon_minutes: Some(0),
            },
        );
        for i in 0..5i64 {
            st.record(i as u64, &ev(1, "a").with_ts(i * MINUTE_MS), 0);
            st.record(i as u64, &ev(2, "a").with_ts(i * MINUTE_MS), 0);
            let sealed = st.seal_epoch();
            assert_eq!(sealed.minutes.len(), 2);
            assert_eq!(st.bucket_count(), 2);
        }
        assert_eq!(
            st.get_minute(&key(2, "a"), 4 * MINUTE_MS).map(|r| r.count),
            Some(1)
        );
    }

    #[test]
    fn offsets_never_go_back() {
        let mut st = state(false);
        st.record(10, &ev(1, "a"), 0);
        st.record_bad(3);
        assert_eq!(st.offset(), 11);
        st.record_bad(u64::MAX);
        assert_eq!(st.offset(), u64::MAX);
    }
}

#[cfg(test)]
mod properties {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;
    use crate::core::testkit::{ingest_ms, ops, Op};

    proptest! {
        /// (a) The last sealed absolute value of every key and bucket equals a
        /// plain recount of all events; raw rows and offsets account for every line.
        #[test]
        fn sealed_values_equal_a_recount(ops in ops()) {
            let mut st = RollupState::new("p", StateOptions { keep_raw: true, bucket_horizon_minutes: None });
            let mut recount: BTreeMap<Key, Rollup> = BTreeMap::new();
            let mut recount_min: BTreeMap<(Key, i64), Rollup> = BTreeMap::new();
            let mut sealed_keys: BTreeMap<Key, Rollup> = BTreeMap::new();
            let mut sealed_min: BTreeMap<(Key, i64), Rollup> = BTreeMap::new();
            let mut raw_offsets = Vec::new();
            let mut expected_raw = Vec::new();
            let mut next_start = 0;
            let mut lines = 0u64;
            let mut seal = |st: &mut RollupState,
                            sealed_keys: &mut BTreeMap<Key, Rollup>,
                            sealed_min: &mut BTreeMap<(Key, i64), Rollup>,
                            raw_offsets: &mut Vec<u64>| {
                let s = st.seal_epoch();
                assert_eq!(s.offset_start, next_start);
                next_start = s.offset_end;
                for (k, r) in &s.touched {
                    sealed_keys.insert(k.clone(), *r);
                }
                for &(i, m, r) in &s.minutes {
                    sealed_min.insert((s.touched[i as usize].0.clone(), m), r);
                }
                for row in &s.raw {
                    raw_offsets.push(row.offset);
                    let key = &s.touched[row.key as usize].0;
                    assert!(s.minutes.iter().any(|&(i, m, _)| &s.touched[i as usize].0 == key && m == row.minute_ms));
                }
            };
            for (i, op) in ops.iter().enumerate() {
                match op {
                    Op::Seal => seal(&mut st, &mut sealed_keys, &mut sealed_min, &mut raw_offsets),
                    Op::Bad => { st.record_bad(lines); lines += 1; }
                    Op::Event { .. } => {
                        let ev = op.event().unwrap();
                        st.record(lines, &ev, ingest_ms(i));
                        let key = ev.key().to_key();
                        recount.entry(key.clone()).or_default().record(ev.value);
                        let minute = minute_of(ev.ts_ms.unwrap_or(ingest_ms(i)));
                        recount_min.entry((key, minute)).or_default().record(ev.value);
                        expected_raw.push(lines);
                        lines += 1;
                    }
                }
            }
            seal(&mut st, &mut sealed_keys, &mut sealed_min, &mut raw_offsets);
            prop_assert_eq!(sealed_keys, recount);
            prop_assert_eq!(sealed_min, recount_min);
            prop_assert_eq!(raw_offsets, expected_raw);
            prop_assert_eq!(st.offset(), lines);
        }

        /// (c) The delta of an epoch holds exactly the keys that epoch touched.
        #[test]
        fn delta_holds_exactly_the_touched_keys(ops in ops()) {
            let mut st = RollupState::new("p", StateOptions::default());
            let mut touched: BTreeSet<Key> = BTreeSet::new();
            let mut lines = 0;
            for (i, op) in ops.iter().chain([Op::Seal].iter()).enumerate() {
                match op {
                    Op::Seal => {
                        let sealed = st.seal_epoch();
                        let delta = st.snapshot_delta(&sealed);
                        let keys: BTreeSet<Key> = delta.keys.iter().map(|(k, _)| k.clone()).collect();
                        prop_assert_eq!(delta.keys.len(), keys.len());
                        prop_assert_eq!(&keys, &touched);
                        touched.clear();
                    }
                    Op::Bad => { st.record_bad(lines); lines += 1; }
                    Op::Event { .. } => {
                        let ev = op.event().unwrap();
                        st.record(lines, &ev, ingest_ms(i));
                        touched.insert(ev.key().to_key());
                        lines += 1;
                    }
                }
            }
        }
    }
}

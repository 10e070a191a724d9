//! The rollup state itself: cumulative rollups per key and per key and minute,
//! counted event by event and cut into epochs.

use hashbrown::HashTable;

use crate::core::bucket::{minute_of, MinuteWatermark};
use crate::core::event::EventRef;
use crate::core::evicted::EvictedKeys;
use crate::core::key::{Key, KeyHasher, KeyRef};
use crate::core::packed::PackedRollup;
use crate::core::rollup::Rollup;
use crate::core::sealed::{RawRow, SealedEpoch};

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
pub(super) const NO_BUCKET: u32 = u32::MAX;

/// Set in a slot's `touched_epoch` when its key came back from eviction: its
/// buckets of evicted minutes may be in Cassandra.
pub(super) const RELOADED: u64 = 1 << 63;

/// One key's entry. A slot's index is a stable id between evictions (which
/// compact the slots and renumber them). 64 bytes: no stored hash (the index
/// recomputes it when it grows).
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) key: Key,
    pub(super) rollup: PackedRollup,
    /// The epoch in which the key was last touched (`touched_idx` is valid for it),
    /// with the [`RELOADED`] bit.
    pub(super) touched_epoch: u64,
    pub(super) touched_idx: u32,
    /// Cache of the key's latest bucket, which almost every event hits.
    pub(super) cur_bucket: u32,
}

impl Slot {
    /// The epoch in which the key was last touched (0: not since it was loaded).
    #[inline]
    pub(super) fn touched(&self) -> u64 {
        self.touched_epoch & !RELOADED
    }

    #[inline]
    pub(super) fn reloaded(&self) -> bool {
        self.touched_epoch & RELOADED != 0
    }
}

/// One key's rollup in one minute; 40 bytes.
#[derive(Debug, Clone)]
pub(super) struct Bucket {
    pub(super) slot: u32,
    pub(super) minute: i64,
    pub(super) rollup: PackedRollup,
    pub(super) touched_epoch: u64,
}

/// An event of the open epoch, kept for the raw-events table.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawEvent {
    pub(super) offset: u64,
    pub(super) slot: u32,
    pub(super) ts_ms: Option<i64>,
    pub(super) value: Option<i64>,
    pub(super) minute_ms: i64,
}

/// All state of one partition.
///
/// Offsets: every line, good or bad, takes one offset; `offset()` is the next one
/// to read. Epochs are numbered from 1; `epoch()` is the one being filled and
/// `seal_epoch` closes it. Key and bucket slots are `u32` (at most ~4·10⁹ each).
#[derive(Debug, Clone)]
pub struct RollupState {
    pub(super) partition: String,
    pub(super) options: StateOptions,
    pub(super) hasher: KeyHasher,
    pub(super) slots: Vec<Slot>,
    pub(super) index: HashTable<u32>,
    pub(super) buckets: Vec<Bucket>,
    pub(super) bucket_index: HashTable<u32>,
    pub(super) epoch: u64,
    pub(super) epoch_offset_start: u64,
    pub(super) offset: u64,
    pub(super) touched: Vec<u32>,
    pub(super) touched_buckets: Vec<u32>,
    pub(super) raw: Vec<RawEvent>,
    pub(super) watermark: MinuteWatermark,
    /// Floor up to which buckets were last evicted.
    pub(super) evicted_floor: Option<i64>,
    pub(super) events: u64,
    pub(super) bad_lines: u64,
    pub(super) late_events: u64,
    /// Keys evicted from this state (none until the first eviction).
    pub(super) evicted: Option<Box<EvictedKeys>>,
    /// Bytes of the key names' allocations.
    pub(super) name_bytes: u64,
    /// Some rollup carried a value (each then has a boxed `ValueStats`).
    pub(super) has_values: bool,
    /// Reloaded committed values of keys and buckets not yet sealed: (slot, value)
    /// and (bucket, value). They go into the intent of the epoch that touches them.
    pub(super) priors: Vec<(u32, Rollup)>,
    pub(super) bucket_priors: Vec<(u32, Rollup)>,
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
            evicted: None,
            name_bytes: 0,
            has_values: false,
            priors: Vec::new(),
            bucket_priors: Vec::new(),
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

    /// The open epoch's keys, minute buckets and raw events so far: what its
    /// seal will copy.
    pub fn epoch_rows(&self) -> (usize, usize, usize) {
        (
            self.touched.len(),
            self.touched_buckets.len(),
            self.raw.len(),
        )
    }

    pub fn watermark(&self) -> MinuteWatermark {
        self.watermark
    }

    /// The cumulative rollup of a key.
    pub fn get(&self, key: &KeyRef<'_>) -> Option<Rollup> {
        self.find_slot(key)
            .map(|s| self.slots[s as usize].rollup.get())
    }

    /// The rollup of a key in the minute starting at `minute_ms`, if still in memory.
    pub fn get_minute(&self, key: &KeyRef<'_>, minute_ms: i64) -> Option<Rollup> {
        let slot = self.find_slot(key)?;
        self.find_bucket(slot, minute_ms)
            .map(|b| self.buckets[b as usize].rollup.get())
    }

    /// Every key with its cumulative rollup, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, Rollup)> + '_ {
        self.slots.iter().map(|s| (&s.key, s.rollup.get()))
    }

    /// Every minute bucket in memory: (key, minute start, rollup).
    pub fn minutes(&self) -> impl Iterator<Item = (&Key, i64, Rollup)> + '_ {
        self.buckets
            .iter()
            .map(|b| (&self.slots[b.slot as usize].key, b.minute, b.rollup.get()))
    }

    /// Counts one event read at `offset` (normally `self.offset()`); the state's
    /// offset moves past it. `ingest_ms` decides the minute when the event has no
    /// time of its own. Allocates only for a key or bucket seen for the first time.
    /// For a state that evicts, [`RollupState::try_record`] says first when the
    /// event needs a reload; this treats every missing key as new.
    #[inline]
    pub fn record(&mut self, offset: u64, ev: &EventRef<'_>, ingest_ms: i64) {
        let slot = self.slot_for(&ev.key());
        let (minute, late) = self.minute_of_event(ev, ingest_ms);
        self.count(slot, minute, late, offset, ev);
    }

    /// The minute an event is counted in, and whether it is late (see
    /// [`MinuteWatermark`]); moves the watermark (idempotently).
    #[inline]
    pub(super) fn minute_of_event(&mut self, ev: &EventRef<'_>, ingest_ms: i64) -> (i64, bool) {
        self.watermark.observe(
            minute_of(ev.ts_ms.unwrap_or(ingest_ms)),
            self.options.bucket_horizon_minutes,
        )
    }

    /// Counts one event into `slot` and its bucket of `minute`.
    #[inline(always)]
    pub(super) fn count(
        &mut self,
        slot: u32,
        minute: i64,
        late: bool,
        offset: u64,
        ev: &EventRef<'_>,
    ) {
        let epoch = self.epoch;
        let s = &mut self.slots[slot as usize];
        s.rollup.record(ev.value);
        if s.touched() != epoch {
            s.touched_epoch = epoch | (s.touched_epoch & RELOADED);
            s.touched_idx = self.touched.len() as u32;
            self.touched.push(slot);
        }

        let cur = self.slots[slot as usize].cur_bucket;
        let bucket = if cur != NO_BUCKET && self.buckets[cur as usize].minute == minute {
            cur
        } else {
            let b = self.bucket_for(slot, minute);
            self.slots[slot as usize].cur_bucket = b;
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
        self.has_values |= ev.value.is_some();
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
    pub(super) fn advance_to(&mut self, offset: u64) {
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
                (slot.key.clone(), slot.rollup.get())
            })
            .collect();
        let minutes = self
            .touched_buckets
            .iter()
            .map(|&b| {
                let bucket = &self.buckets[b as usize];
                let key = self.slots[bucket.slot as usize].touched_idx;
                (key, bucket.minute, bucket.rollup.get())
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
        let (priors, minute_priors) = self.take_priors();
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
            priors,
            minute_priors,
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
}

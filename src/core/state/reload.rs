//! Keys coming back from eviction. An event whose key is not in memory but may
//! have been evicted (the filter says so) cannot be counted until the key's
//! committed value is read back: [`RollupState::try_record`] says so instead of
//! counting, the caller reads the rows and hands them to
//! [`RollupState::apply_reload`], then counts the event. Buckets likewise: a key
//! that came back may have buckets of evicted minutes in Cassandra.
//!
//! A reloaded value is the key's committed value; it is kept as a *prior* until the
//! epoch that touches the key is sealed, and travels in that epoch's intent, so
//! that a restart can set rows an uncommitted epoch wrote back to it (the restored
//! state does not hold evicted keys).

use super::rollups::{RollupState, RELOADED};
use crate::core::bucket::{minute_of, MinuteWatermark};
use crate::core::event::EventRef;
use crate::core::evicted::key_hash;
use crate::core::key::{Key, KeyRef};
use crate::core::rollup::Rollup;

/// What must be read before an event can be counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reload {
    pub key: Key,
    /// The key itself is not in memory: read its partial.
    pub partial: bool,
    /// The key's bucket of this minute may be in Cassandra: read it.
    pub minute: Option<i64>,
}

/// What was read for a [`Reload`]: `None` where no row exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub key: Key,
    /// `Some(row)` when the partial was asked for.
    pub partial: Option<Option<Rollup>>,
    /// `Some((minute, row))` when a bucket was asked for.
    pub bucket: Option<(i64, Option<Rollup>)>,
}

/// Key priors (touched index, value) and bucket priors (touched index, minute,
/// value) of one sealed epoch.
pub(super) type Priors = (Vec<(u32, Rollup)>, Vec<(u32, i64, Rollup)>);

impl RollupState {
    /// Whether the event needs a read first, were it counted with the watermark
    /// `watermark` (which moves as counting it would: pass a copy of the state's
    /// to look ahead over several events). Changes nothing in the state.
    #[inline]
    pub fn needs_reload(
        &self,
        watermark: &mut MinuteWatermark,
        ev: &EventRef<'_>,
        ingest_ms: i64,
    ) -> Option<Reload> {
        let key = ev.key();
        let (minute, _) = watermark.observe(
            minute_of(ev.ts_ms.unwrap_or(ingest_ms)),
            self.options.bucket_horizon_minutes,
        );
        match self.find_slot(&key) {
            Some(slot) => self.bucket_reload(slot, minute).map(|minute| Reload {
                key: key.to_key(),
                partial: false,
                minute: Some(minute),
            }),
            None => self.key_may_be_evicted(&key).then(|| Reload {
                key: key.to_key(),
                partial: true,
                minute: self.minute_may_be_evicted(minute).then_some(minute),
            }),
        }
    }

    /// [`RollupState::record`], unless the event needs a reload first: then nothing
    /// is counted (the offset stays) and the reload is returned.
    #[inline]
    pub fn try_record(
        &mut self,
        offset: u64,
        ev: &EventRef<'_>,
        ingest_ms: i64,
    ) -> Result<(), Reload> {
        if self.evicted.is_none() {
            self.record(offset, ev, ingest_ms);
            return Ok(());
        }
        let mut watermark = self.watermark;
        if let Some(reload) = self.needs_reload(&mut watermark, ev, ingest_ms) {
            return Err(reload);
        }
        self.record(offset, ev, ingest_ms);
        Ok(())
    }

    /// The minute whose bucket a resident key must reload before counting into it.
    #[inline]
    fn bucket_reload(&self, slot: u32, minute: i64) -> Option<i64> {
        let s = &self.slots[slot as usize];
        if !s.reloaded() || !self.minute_may_be_evicted(minute) {
            return None;
        }
        let cur = s.cur_bucket;
        if cur != super::rollups::NO_BUCKET && self.buckets[cur as usize].minute == minute {
            return None;
        }
        self.find_bucket(slot, minute).is_none().then_some(minute)
    }

    fn key_may_be_evicted(&self, key: &KeyRef<'_>) -> bool {
        self.evicted
            .as_ref()
            .is_some_and(|e| e.may_contain(key_hash(key)))
    }

    fn minute_may_be_evicted(&self, minute: i64) -> bool {
        self.evicted
            .as_ref()
            .and_then(|e| e.newest_minute())
            .is_some_and(|newest| minute <= newest)
    }

    /// Puts what was read back into memory. A key or bucket already in memory is
    /// left as it is (a second reload of the same key in one batch).
    pub fn apply_reload(&mut self, r: Reloaded) {
        let key = r.key.as_ref();
        let slot = match (self.find_slot(&key), r.partial) {
            (Some(slot), _) => slot,
            (None, partial) => {
                let hash = key.hash_with(&self.hasher);
                let slot = self.push_slot(r.key.clone(), hash);
                if let Some(Some(value)) = partial {
                    let s = &mut self.slots[slot as usize];
                    s.rollup.set(&value);
                    s.touched_epoch |= RELOADED;
                    self.has_values |= value.values.is_some();
                    self.priors.push((slot, value));
                }
                slot
            }
        };
        if let Some((minute, row)) = r.bucket {
            if self.find_bucket(slot, minute).is_none() {
                let b = self.bucket_for(slot, minute);
                if let Some(value) = row {
                    self.buckets[b as usize].rollup.set(&value);
                    self.bucket_priors.push((b, value));
                }
            }
        }
    }

    /// The priors of keys and buckets touched in the open epoch, as (index into
    /// the epoch's touched keys, value) and (key index, minute, value); the others
    /// wait for the epoch that touches them.
    pub(super) fn take_priors(&mut self) -> Priors {
        let epoch = self.epoch;
        let (slots, buckets) = (&self.slots, &self.buckets);
        let mut keys = Vec::new();
        self.priors.retain(|&(slot, value)| {
            let s = &slots[slot as usize];
            if s.touched() != epoch {
                return true;
            }
            keys.push((s.touched_idx, value));
            false
        });
        let mut minutes = Vec::new();
        self.bucket_priors.retain(|&(b, value)| {
            let bucket = &buckets[b as usize];
            if bucket.touched_epoch != epoch {
                return true;
            }
            let s = &slots[bucket.slot as usize];
            minutes.push((s.touched_idx, bucket.minute, value));
            false
        });
        (keys, minutes)
    }

    /// Reloaded values not yet counted into (they hold eviction back).
    pub fn has_pending_priors(&self) -> bool {
        !self.priors.is_empty() || !self.bucket_priors.is_empty()
    }
}

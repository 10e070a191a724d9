//! Bounded memory: what the state costs, and evicting its idle keys. A key whose
//! latest value is committed is already durable in Cassandra; evicting it drops
//! its slot and buckets from memory and records it in the evicted-keys filter, so
//! that an event for it reloads it first (see `reload`).

use std::collections::{BTreeMap, HashSet};

use hashbrown::HashTable;

use super::rollups::{RollupState, NO_BUCKET};
use crate::core::evicted::{key_hash, EvictedKeys};
use crate::core::key::Key;

/// Bytes of one index entry's capacity: a `u32` and a control byte, at 7/8 load.
const INDEX_ENTRY_BYTES: u64 = 6;
/// Bytes of one boxed `ValueStats` (32 bytes in a 48-byte malloc chunk).
const VALUES_BYTES: u64 = 48;

/// The malloc chunk of a key name's `Arc<str>` (two counters and the bytes, plus
/// malloc's 8-byte header, rounded to 16, at least 32).
pub(super) fn name_bytes(len: usize) -> u64 {
    ((16 + len as u64 + 8 + 15) & !15).max(32)
}

impl RollupState {
    /// Bytes of resident state: keys, buckets, names, values, the open epoch's
    /// lists and the evicted-keys filter. Vectors and indexes count at their
    /// capacity (what they hold from malloc), not their length.
    pub fn state_bytes(&self) -> u64 {
        let (slots, buckets) = (self.slots.len() as u64, self.buckets.len() as u64);
        let values = if self.has_values {
            (slots + buckets) * VALUES_BYTES
        } else {
            0
        };
        let cap = |n: usize, size: usize| (n * size) as u64;
        let vectors = cap(
            self.slots.capacity(),
            std::mem::size_of::<super::rollups::Slot>(),
        ) + cap(
            self.buckets.capacity(),
            std::mem::size_of::<super::rollups::Bucket>(),
        ) + cap(self.touched.capacity(), 4)
            + cap(self.touched_buckets.capacity(), 4)
            + cap(
                self.raw.capacity(),
                std::mem::size_of::<super::rollups::RawEvent>(),
            );
        let indexes =
            (self.index.capacity() + self.bucket_index.capacity()) as u64 * INDEX_ENTRY_BYTES;
        vectors
            + indexes
            + self.name_bytes
            + values
            + self.evicted.as_ref().map_or(0, |e| e.bytes())
    }

    /// Keys evicted so far (as recorded in the filter, which persists).
    pub fn evicted_keys(&self) -> u64 {
        self.evicted.as_ref().map_or(0, |e| e.inserted())
    }

    pub fn evicted_filter(&self) -> Option<&EvictedKeys> {
        self.evicted.as_deref()
    }

    pub(crate) fn set_evicted_filter(&mut self, filter: Option<EvictedKeys>) {
        self.evicted = filter.map(Box::new);
    }

    /// Evicts up to `count` keys whose latest value is committed (touched in
    /// `committed_epoch` or before, least recently touched first), with their
    /// buckets. Returns the evicted keys. Keys of the open epoch are never
    /// committed, so they stay. Costs O(resident keys + buckets): evict in batches.
    pub fn evict_idle(&mut self, committed_epoch: u64, count: usize) -> Vec<Key> {
        if count == 0 {
            return Vec::new();
        }
        let held: HashSet<u32> = self.priors.iter().map(|&(s, _)| s).collect();
        let evictable =
            |i: usize, touched: u64| touched <= committed_epoch && !held.contains(&(i as u32));
        // The oldest touch epochs first: the cut is the epoch at which `count` is
        // reached, and keys touched in it are taken in slot order.
        let mut by_epoch: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, s) in self.slots.iter().enumerate() {
            if evictable(i, s.touched()) {
                *by_epoch.entry(s.touched()).or_default() += 1;
            }
        }
        // Fewer candidates than asked: every one goes.
        let (mut cut, mut at_cut) = (None, usize::MAX);
        let mut below = 0usize;
        for (&epoch, &n) in &by_epoch {
            cut = Some(epoch);
            if below + n >= count {
                at_cut = count - below;
                break;
            }
            below += n;
        }
        let Some(cut) = cut else {
            return Vec::new();
        };
        let mut gone = vec![false; self.slots.len()];
        for (i, s) in self.slots.iter().enumerate() {
            let t = s.touched();
            if !evictable(i, t) || t > cut {
                continue;
            }
            if t == cut {
                if at_cut == 0 {
                    continue;
                }
                at_cut -= 1;
            }
            gone[i] = true;
        }
        self.remove_slots(&gone)
    }

    /// Removes the slots marked in `gone` and their buckets, renumbering the rest.
    fn remove_slots(&mut self, gone: &[bool]) -> Vec<Key> {
        let filter = self.evicted.get_or_insert_with(Default::default);
        let mut remap = vec![u32::MAX; self.slots.len()];
        let mut evicted = Vec::new();
        // Sized to what stays: the memory of the evicted goes back.
        let staying = gone.iter().filter(|g| !**g).count();
        let mut kept = Vec::with_capacity(staying);
        for (i, s) in std::mem::take(&mut self.slots).into_iter().enumerate() {
            if gone[i] {
                filter.insert(key_hash(&s.key.as_ref()));
                self.name_bytes -= name_bytes(s.key.event_name.len());
                evicted.push(s.key);
            } else {
                remap[i] = kept.len() as u32;
                kept.push(s);
            }
        }
        let mut bucket_remap = vec![u32::MAX; self.buckets.len()];
        let staying = self
            .buckets
            .iter()
            .filter(|b| !gone[b.slot as usize])
            .count();
        let mut buckets = Vec::with_capacity(staying);
        for (i, mut b) in std::mem::take(&mut self.buckets).into_iter().enumerate() {
            if gone[b.slot as usize] {
                filter.note_minute(b.minute);
            } else {
                b.slot = remap[b.slot as usize];
                bucket_remap[i] = buckets.len() as u32;
                buckets.push(b);
            }
        }
        for s in &mut kept {
            if s.cur_bucket != NO_BUCKET {
                s.cur_bucket = bucket_remap[s.cur_bucket as usize];
            }
        }
        // The open epoch's keys are never evicted: their ids only move.
        for s in &mut self.touched {
            *s = remap[*s as usize];
        }
        for r in &mut self.raw {
            r.slot = remap[r.slot as usize];
        }
        for b in &mut self.touched_buckets {
            *b = bucket_remap[*b as usize];
        }
        for p in &mut self.priors {
            p.0 = remap[p.0 as usize];
        }
        for p in &mut self.bucket_priors {
            p.0 = bucket_remap[p.0 as usize];
        }
        self.bucket_priors.retain(|p| p.0 != u32::MAX);
        self.slots = kept;
        self.buckets = buckets;
        self.rebuild_indexes();
        evicted
    }

    /// Both hash tables, from the slots and buckets as they are.
    pub(super) fn rebuild_indexes(&mut self) {
        let (hasher, slots, buckets) = (&self.hasher, &self.slots, &self.buckets);
        let mut index = HashTable::with_capacity(slots.len());
        let rehash = |&s: &u32| slots[s as usize].key.as_ref().hash_with(hasher);
        for (i, s) in slots.iter().enumerate() {
            index.insert_unique(s.key.as_ref().hash_with(hasher), i as u32, rehash);
        }
        let mut bucket_index = HashTable::with_capacity(buckets.len());
        let rehash = |&b: &u32| {
            let b = &buckets[b as usize];
            super::index::bucket_hash(hasher, b.slot, b.minute)
        };
        for (i, b) in buckets.iter().enumerate() {
            let hash = super::index::bucket_hash(hasher, b.slot, b.minute);
            bucket_index.insert_unique(hash, i as u32, rehash);
        }
        self.index = index;
        self.bucket_index = bucket_index;
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::core::event::EventRef;
    use crate::core::rollup::Rollup;
    use crate::core::state::{Reload, Reloaded, StateOptions};
    use crate::core::{decode, encode, restore, SnapshotKind, MINUTE_MS};

    const T0: i64 = 1_700_000_000_000 / MINUTE_MS * MINUTE_MS;

    fn ev(i: u128) -> EventRef<'static> {
        EventRef::new(Uuid::from_u128(i), "k")
    }

    /// Keys 0..10 in epoch 1, keys 5..10 again in epoch 2; both sealed.
    fn two_epochs() -> RollupState {
        let mut st = RollupState::new("p", StateOptions::default());
        for i in 0..10 {
            st.record(i as u64, &ev(i), T0);
        }
        st.seal_epoch();
        for i in 5..10 {
            st.record(5 + i as u64, &ev(i), T0);
        }
        st.seal_epoch();
        st
    }

    #[test]
    fn the_least_recently_touched_committed_keys_go_with_their_buckets() {
        let mut st = two_epochs();
        let before = st.state_bytes();
        // Only epoch 1 is committed: keys 5..10 (touched in epoch 2) stay.
        let gone = st.evict_idle(1, 8);
        assert_eq!(gone.len(), 5);
        assert!(gone.iter().all(|k| k.franchise_id.as_u128() < 5));
        assert_eq!((st.len(), st.bucket_count(), st.evicted_keys()), (5, 5, 5));
        // The filter's first stage is sized for many keys: counted apart.
        let filter = st.evicted_filter().map_or(0, |f| f.bytes());
        assert!(st.state_bytes() - filter < before);
        for i in 5..10 {
            assert_eq!(st.get(&ev(i).key()).map(|r| r.count), Some(2));
            assert_eq!(st.get_minute(&ev(i).key(), T0).map(|r| r.count), Some(2));
        }
        assert!(st.evict_idle(1, 8).is_empty(), "nothing committed is left");
        assert_eq!(st.evict_idle(2, 2).len(), 2);
    }

    #[test]
    fn an_evicted_key_is_reloaded_before_it_counts_and_its_prior_is_sealed() {
        let mut st = two_epochs();
        st.evict_idle(2, 3);
        let offset = st.offset();
        let want = Reload {
            key: ev(0).key().to_key(),
            partial: true,
            minute: Some(T0),
        };
        assert_eq!(st.try_record(offset, &ev(0), T0), Err(want.clone()));
        assert_eq!(st.offset(), offset, "nothing counted");
        // A key never seen costs no read.
        assert_eq!(st.try_record(offset, &ev(99), T0), Ok(()));
        st.apply_reload(Reloaded {
            key: want.key.clone(),
            partial: Some(Some(Rollup::of(None))),
            bucket: Some((T0, Some(Rollup::of(None)))),
        });
        assert_eq!(st.try_record(offset + 1, &ev(0), T0), Ok(()));
        assert_eq!(st.get(&ev(0).key()).map(|r| r.count), Some(2));
        assert_eq!(st.get_minute(&ev(0).key(), T0).map(|r| r.count), Some(2));
        // A bucket of a newer minute than any evicted one is new: no read.
        assert_eq!(st.try_record(offset + 2, &ev(0), T0 + MINUTE_MS), Ok(()));
        let sealed = st.seal_epoch();
        let i = sealed
            .touched
            .iter()
            .position(|(k, _)| *k == want.key)
            .unwrap() as u32;
        assert_eq!(sealed.priors, [(i, Rollup::of(None))]);
        assert_eq!(sealed.minute_priors, [(i, T0, Rollup::of(None))]);
    }

    #[test]
    fn a_base_snapshot_carries_the_filter_through_a_restore() {
        let mut st = two_epochs();
        st.evict_idle(2, 3);
        st.record(st.offset(), &ev(7), T0);
        st.seal_epoch();
        let base = st.snapshot_base().unwrap();
        assert_eq!(base.kind, SnapshotKind::Base);
        let base = decode(&encode(&base).unwrap()).unwrap();
        let mut back = restore("p", StateOptions::default(), Some(base), []).unwrap();
        assert_eq!((back.len(), back.evicted_keys()), (7, 3));
        let offset = back.offset();
        assert!(back.try_record(offset, &ev(1), T0).is_err());
        assert!(back.try_record(offset, &ev(8), T0).is_ok());
    }
}

//! What undoes the epochs that never committed, computed purely from their
//! intents and the restored (committed) state: the raw rows past the committed
//! offset are deleted, and every rollup row they touched is set back to its
//! committed value (or deleted where the committed state has none). The sink
//! executes the plan; this module decides it.
//!
//! A key the restored state does not hold may have been evicted: if an
//! uncommitted epoch reloaded it, that epoch's intent carries its committed value
//! (its prior), which the row goes back to.

use std::collections::{BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::intent::Intent;
use super::key::Key;
use super::rollup::Rollup;
use super::state::RollupState;

/// Offsets per `events_raw` partition: `bucket = offset / RAW_BUCKET_SIZE` keeps
/// Cassandra partitions bounded however long a source runs.
pub const RAW_BUCKET_SIZE: i64 = 100_000;

/// The `events_raw` partition of an offset.
pub fn raw_bucket(offset: u64) -> i64 {
    offset as i64 / RAW_BUCKET_SIZE
}

/// Raw rows to delete: offsets `start..end` of one `events_raw` partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawRange {
    pub bucket: i64,
    pub start: i64,
    pub end: i64,
}

/// The rows to rewrite after a restore. A rollup of `None` means delete the row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepairPlan {
    /// In bucket and offset order, without repeats.
    pub raw: Vec<RawRange>,
    /// Each touched key once, first-seen order, with its committed partial.
    pub keys: Vec<(Key, Option<Rollup>)>,
    /// Each touched minute bucket once, with its committed value.
    pub minutes: Vec<(Key, i64, Option<Rollup>)>,
}

impl RepairPlan {
    /// The plan for `intents` of epochs after the one `state` was restored to,
    /// whose last committed offset is `committed_offset`.
    pub fn new(intents: &[Intent], state: &RollupState, committed_offset: u64) -> Self {
        let mut raw = BTreeSet::new();
        let mut seen_keys = HashSet::new();
        let mut seen_minutes = HashSet::new();
        let mut plan = RepairPlan::default();
        let (priors, minute_priors) = priors(intents);
        for intent in intents {
            raw.extend(raw_ranges(
                intent.offset_start.max(committed_offset),
                intent.offset_end,
            ));
            let keys: Vec<Key> = intent
                .keys
                .iter()
                .map(|(f, n)| Key::new(Uuid::from_u128(*f), n.as_str()))
                .collect();
            for (i, minute) in &intent.minutes {
                let Some(key) = keys.get(*i as usize) else {
                    continue;
                };
                if seen_minutes.insert((key.clone(), *minute)) {
                    let value = state
                        .get_minute(&key.as_ref(), *minute)
                        .or_else(|| minute_priors.get(&(key.clone(), *minute)).copied());
                    plan.minutes.push((key.clone(), *minute, value));
                }
            }
            for key in keys {
                if seen_keys.insert(key.clone()) {
                    let value = state
                        .get(&key.as_ref())
                        .or_else(|| priors.get(&key).copied());
                    plan.keys.push((key, value));
                }
            }
        }
        plan.raw = raw.into_iter().collect();
        plan
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty() && self.keys.is_empty() && self.minutes.is_empty()
    }
}

type Priors = (HashMap<Key, Rollup>, HashMap<(Key, i64), Rollup>);

/// The committed values uncommitted epochs reloaded, each from the earliest
/// epoch that reloaded it (a later epoch cannot have reloaded what an earlier,
/// uncommitted one wrote: the key stayed in memory meanwhile).
fn priors(intents: &[Intent]) -> Priors {
    let mut by_epoch: Vec<&Intent> = intents.iter().collect();
    by_epoch.sort_by_key(|i| std::cmp::Reverse(i.epoch));
    let (mut keys, mut minutes) = (HashMap::new(), HashMap::new());
    // Newest first, so the earliest epoch's value is the one left.
    for intent in by_epoch {
        let key = |i: u32| {
            intent
                .keys
                .get(i as usize)
                .map(|(f, n)| Key::new(Uuid::from_u128(*f), n.as_str()))
        };
        for (i, value) in &intent.priors {
            if let Some(k) = key(*i) {
                keys.insert(k, *value);
            }
        }
        for (i, minute, value) in &intent.minute_priors {
            if let Some(k) = key(*i) {
                minutes.insert((k, *minute), *value);
            }
        }
    }
    (keys, minutes)
}

/// Offsets `start..end` cut at `events_raw` partition boundaries. Offsets are CQL
/// bigints, so none lies past `i64::MAX`: larger ones (only a damaged snapshot has
/// them) are clamped there, never wrapped negative or overflowed.
fn raw_ranges(start: u64, end: u64) -> impl Iterator<Item = RawRange> {
    let last = i64::MAX as u64;
    let (start, end) = (start.min(last) as i64, end.min(last) as i64);
    (start / RAW_BUCKET_SIZE..=i64::MAX / RAW_BUCKET_SIZE)
        .take_while(move |b| start < end && b * RAW_BUCKET_SIZE < end)
        .map(move |bucket| RawRange {
            bucket,
            start: start.max(bucket * RAW_BUCKET_SIZE),
            end: end.min((bucket + 1).saturating_mul(RAW_BUCKET_SIZE)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EventRef, StateOptions};

    fn intent(epoch: u64, offsets: std::ops::Range<u64>, keys: &[(u128, &str)]) -> Intent {
        Intent {
            epoch,
            offset_start: offsets.start,
            offset_end: offsets.end,
            keys: keys.iter().map(|(f, n)| (*f, n.to_string())).collect(),
            minutes: (0..keys.len() as u32).map(|i| (i, 0)).collect(),
            written_at: 0,
            priors: vec![],
            minute_priors: vec![],
        }
    }

    fn key(f: u128, n: &str) -> Key {
        Key::new(Uuid::from_u128(f), n)
    }

    #[test]
    fn raw_rows_past_the_committed_offset_are_deleted_bucket_by_bucket() {
        let r = |bucket, start, end| RawRange { bucket, start, end };
        let ranges: Vec<_> = raw_ranges(99_990, 200_005).collect();
        assert_eq!(
            ranges,
            [
                r(0, 99_990, 100_000),
                r(1, 100_000, 200_000),
                r(2, 200_000, 200_005)
            ]
        );
        assert_eq!(raw_ranges(5, 5).count(), 0);
        assert_eq!(raw_ranges(7, 3).count(), 0);
        assert_eq!(raw_bucket(199_999), 1);
    }

    #[test]
    fn raw_ranges_stop_at_the_last_bigint_offset() {
        let last = i64::MAX as u64;
        let bucket = i64::MAX / RAW_BUCKET_SIZE;
        let r = RawRange {
            bucket,
            start: i64::MAX - 10,
            end: i64::MAX,
        };
        // The last bucket's end overflowed; a committed offset past i64::MAX
        // wrapped negative.
        assert_eq!(raw_ranges(last - 10, last).collect::<Vec<_>>(), [r]);
        assert_eq!(raw_ranges(last - 10, u64::MAX).collect::<Vec<_>>(), [r]);
        assert_eq!(raw_ranges(0xd000_0000_0000_06d0, 5).count(), 0);
        assert_eq!(raw_ranges(u64::MAX, u64::MAX).count(), 0);
    }

    #[test]
    fn touched_rows_go_back_to_their_committed_values() {
        let mut state = RollupState::new("p", StateOptions::default());
        let a = Uuid::from_u128(1);
        state.record(0, &EventRef::new(a, "x"), 0);
        state.record(1, &EventRef::new(a, "x"), 0);
        state.seal_epoch();
        // Epochs 2 and 3 never committed; epoch 3 retried epoch 2's keys.
        let intents = [
            intent(2, 2..10, &[(1, "x"), (2, "y")]),
            intent(3, 10..12, &[(2, "y")]),
            intent(2, 2..10, &[(1, "x")]),
        ];
        let plan = RepairPlan::new(&intents, &state, 2);
        assert_eq!(
            plan.raw,
            [
                RawRange {
                    bucket: 0,
                    start: 2,
                    end: 10
                },
                RawRange {
                    bucket: 0,
                    start: 10,
                    end: 12
                }
            ]
        );
        let x = state.get(&key(1, "x").as_ref());
        assert_eq!(x.map(|r| r.count), Some(2));
        assert_eq!(plan.keys, [(key(1, "x"), x), (key(2, "y"), None)]);
        assert_eq!(plan.minutes, [(key(1, "x"), 0, x), (key(2, "y"), 0, None)]);
        assert!(!plan.is_empty());
        assert!(RepairPlan::new(&[], &state, 2).is_empty());
    }

    #[test]
    fn an_intent_before_the_committed_offset_deletes_only_what_follows_it() {
        let state = RollupState::new("p", StateOptions::default());
        let plan = RepairPlan::new(&[intent(1, 0..10, &[])], &state, 6);
        assert_eq!(
            plan.raw,
            [RawRange {
                bucket: 0,
                start: 6,
                end: 10
            }]
        );
        let plan = RepairPlan::new(&[intent(1, 0..10, &[])], &state, 10);
        assert!(plan.is_empty());
    }

    #[test]
    fn an_evicted_key_goes_back_to_the_value_its_epoch_reloaded() {
        let state = RollupState::new("p", StateOptions::default());
        let mut e3 = intent(3, 10..20, &[(1, "x")]);
        e3.priors = vec![(0, Rollup::of(Some(9)))];
        e3.minute_priors = vec![(0, 0, Rollup::of(Some(9)))];
        // Epoch 4 touched the key again, in memory by then: no prior of its own.
        let e4 = intent(4, 20..30, &[(2, "y"), (1, "x")]);
        let plan = RepairPlan::new(&[e4, e3], &state, 10);
        let nine = Some(Rollup::of(Some(9)));
        assert_eq!(plan.keys, [(key(2, "y"), None), (key(1, "x"), nine)]);
        assert_eq!(
            plan.minutes,
            [(key(2, "y"), 0, None), (key(1, "x"), 0, nine)]
        );
    }
}

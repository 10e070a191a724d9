//! The rollup state against a plain recount, on arbitrary streams of events,
//! bad lines and seals.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::core::bucket::minute_of;
use crate::core::key::Key;
use crate::core::rollup::Rollup;
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

//! The rollup state on hand-picked cases.

use uuid::Uuid;

use super::*;
use crate::core::bucket::{minute_of, MINUTE_MS};
use crate::core::event::EventRef;
use crate::core::key::KeyRef;
use crate::core::rollup::Rollup;

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

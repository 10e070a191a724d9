//! Rebuilding a partition's state from its last base and the deltas after it.

use thiserror::Error;

use super::model::{Snapshot, SnapshotKind};
use crate::core::bucket::MinuteWatermark;
use crate::core::state::{RollupState, StateOptions};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreError {
    #[error("snapshot of partition {found} cannot restore partition {expected}")]
    WrongPartition { expected: String, found: String },
    #[error("the base snapshot (epoch {0}) is a delta")]
    BaseIsDelta(u64),
    #[error("a base snapshot (epoch {0}) was passed as a delta")]
    DeltaIsBase(u64),
    #[error("delta of epoch {found} does not follow epoch {after}, a delta is missing")]
    Gap { after: u64, found: u64 },
    #[error("delta of epoch {epoch} moves the offset back from {from} to {to}")]
    OffsetBack { epoch: u64, from: u64, to: u64 },
    #[error("snapshot of epoch {epoch} has a bucket of key {index} but only {keys} keys")]
    BadKeyIndex { epoch: u64, index: u32, keys: usize },
}

/// State equal to the live one at the last snapshot given: the base (or an empty
/// partition), then the deltas in epoch order. Deltas the base already covers
/// (epoch ≤ base epoch) are skipped; the rest must be contiguous. Offset, epoch
/// and watermark come from the last snapshot applied.
pub fn restore(
    partition: &str,
    options: StateOptions,
    base: Option<Snapshot>,
    deltas: impl IntoIterator<Item = Snapshot>,
) -> Result<RollupState, RestoreError> {
    let mut state = RollupState::new(partition, options);
    let mut epoch = 0;
    let mut offset = 0;
    let mut watermark = MinuteWatermark::default();
    if let Some(base) = base {
        check_partition(partition, &base)?;
        if base.kind != SnapshotKind::Base {
            return Err(RestoreError::BaseIsDelta(base.epoch));
        }
        (epoch, offset, watermark) = (base.epoch, base.offset, base.watermark);
        apply(&mut state, base)?;
    }
    let mut deltas: Vec<Snapshot> = deltas.into_iter().collect();
    deltas.sort_by_key(|d| d.epoch);
    for delta in deltas {
        check_partition(partition, &delta)?;
        if delta.kind != SnapshotKind::Delta {
            return Err(RestoreError::DeltaIsBase(delta.epoch));
        }
        if delta.epoch <= epoch {
            continue;
        }
        if epoch.checked_add(1) != Some(delta.epoch) {
            return Err(RestoreError::Gap {
                after: epoch,
                found: delta.epoch,
            });
        }
        if delta.offset < offset {
            return Err(RestoreError::OffsetBack {
                epoch: delta.epoch,
                from: offset,
                to: delta.offset,
            });
        }
        (epoch, offset, watermark) = (delta.epoch, delta.offset, delta.watermark);
        apply(&mut state, delta)?;
    }
    state.finish_restore(epoch, offset, watermark);
    Ok(state)
}

/// Moves a restored (or materialized) state forward by one more snapshot: a delta
/// of the epoch right after the state's last one, or a base that replaces it.
/// Used to keep a committed copy of a partition up to date without re-reading.
pub fn apply_snapshot(state: &mut RollupState, snapshot: Snapshot) -> Result<(), RestoreError> {
    check_partition(state.partition(), &snapshot)?;
    if snapshot.kind == SnapshotKind::Base {
        let options = state.options();
        let partition = state.partition().to_owned();
        *state = restore(&partition, options, Some(snapshot), std::iter::empty())?;
        return Ok(());
    }
    let last = state.epoch().saturating_sub(1);
    if snapshot.epoch != last + 1 {
        return Err(RestoreError::Gap {
            after: last,
            found: snapshot.epoch,
        });
    }
    if snapshot.offset < state.offset() {
        return Err(RestoreError::OffsetBack {
            epoch: snapshot.epoch,
            from: state.offset(),
            to: snapshot.offset,
        });
    }
    let (epoch, offset, watermark) = (snapshot.epoch, snapshot.offset, snapshot.watermark);
    apply(state, snapshot)?;
    state.finish_restore(epoch, offset, watermark);
    Ok(())
}

fn check_partition(partition: &str, snapshot: &Snapshot) -> Result<(), RestoreError> {
    if snapshot.partition == partition {
        Ok(())
    } else {
        Err(RestoreError::WrongPartition {
            expected: partition.to_owned(),
            found: snapshot.partition.clone(),
        })
    }
}

/// Overwrites keys and buckets with the snapshot's absolute values.
fn apply(state: &mut RollupState, snapshot: Snapshot) -> Result<(), RestoreError> {
    let keys = snapshot.keys.len();
    if let Some(&(index, _, _)) = snapshot.minutes.iter().find(|m| m.0 as usize >= keys) {
        return Err(RestoreError::BadKeyIndex {
            epoch: snapshot.epoch,
            index,
            keys,
        });
    }
    let slots: Vec<u32> = snapshot
        .keys
        .into_iter()
        .map(|(key, rollup)| state.put_key(key, rollup))
        .collect();
    for (index, minute, rollup) in snapshot.minutes {
        state.put_bucket(slots[index as usize], minute, rollup);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::EventRef;
    use crate::core::key::KeyRef;
    use uuid::Uuid;

    fn live() -> (RollupState, Vec<Snapshot>) {
        let mut st = RollupState::new("p", StateOptions::default());
        let mut snaps = Vec::new();
        for e in 0..4u64 {
            for i in 0..5u64 {
                let ev = EventRef::new(Uuid::from_u128(u128::from((e + i) % 3)), "x")
                    .with_value(i as i64);
                st.record(e * 5 + i, &ev, 0);
            }
            let sealed = st.seal_epoch();
            snaps.push(st.snapshot_delta(&sealed));
        }
        (st, snaps)
    }

    #[test]
    fn applying_snapshots_one_by_one_equals_restore() {
        let (st, snaps) = live();
        let mut step = RollupState::new("p", StateOptions::default());
        for s in snaps.clone() {
            apply_snapshot(&mut step, s).unwrap();
        }
        assert_eq!((step.epoch(), step.offset()), (st.epoch(), st.offset()));
        for (k, r) in st.iter() {
            assert_eq!(step.get(&KeyRef::from(k)), Some(r));
        }
        // A gap is refused.
        let mut fresh = RollupState::new("p", StateOptions::default());
        assert!(apply_snapshot(&mut fresh, snaps[1].clone()).is_err());
    }

    #[test]
    fn deltas_alone_rebuild_the_state() {
        let (st, snaps) = live();
        let back = restore("p", StateOptions::default(), None, snaps).unwrap();
        assert_eq!((back.epoch(), back.offset()), (5, 20));
        for (k, r) in st.iter() {
            assert_eq!(back.get(&KeyRef::from(k)), Some(r));
        }
        assert_eq!(back.len(), st.len());
    }

    #[test]
    fn deltas_covered_by_the_base_are_skipped_and_order_does_not_matter() {
        let (st, mut snaps) = live();
        let base = st.snapshot_base().unwrap();
        snaps.reverse();
        let back = restore("p", StateOptions::default(), Some(base), snaps).unwrap();
        assert_eq!((back.epoch(), back.offset(), back.len()), (5, 20, st.len()));
    }

    #[test]
    fn errors() {
        let (st, snaps) = live();
        let opts = StateOptions::default();
        let gap = vec![snaps[0].clone(), snaps[2].clone()];
        assert_eq!(
            restore("p", opts, None, gap).unwrap_err(),
            RestoreError::Gap { after: 1, found: 3 }
        );
        assert!(matches!(
            restore("q", opts, None, snaps.clone()),
            Err(RestoreError::WrongPartition { .. })
        ));
        assert_eq!(
            restore("p", opts, Some(snaps[0].clone()), vec![]).unwrap_err(),
            RestoreError::BaseIsDelta(1)
        );
        let base = st.snapshot_base().unwrap();
        assert_eq!(
            restore("p", opts, None, vec![base]).unwrap_err(),
            RestoreError::DeltaIsBase(4)
        );
        let mut bad = snaps[0].clone();
        bad.minutes.push((99, 0, Default::default()));
        assert!(matches!(
            restore("p", opts, None, vec![bad]),
            Err(RestoreError::BadKeyIndex { index: 99, .. })
        ));
        let mut back = snaps[1].clone();
        back.offset = 1;
        assert!(matches!(
            restore("p", opts, None, vec![snaps[0].clone(), back]),
            Err(RestoreError::OffsetBack { .. })
        ));
    }

    #[test]
    fn nothing_gives_a_fresh_partition() {
        let st = restore("p", StateOptions::default(), None, vec![]).unwrap();
        assert_eq!((st.epoch(), st.offset(), st.len()), (1, 0, 0));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::core::snapshot::{decode, encode, CompactionPolicy};
    use crate::core::testkit::{ingest_ms, ops, view, Op};

    proptest! {
        /// (b) After any compaction pattern, restoring the latest base and the
        /// deltas after it (through the stored encoding) gives the live state,
        /// at every epoch; and a restored state fed the rest of the stream ends
        /// equal to the live one.
        #[test]
        fn restore_equals_live(
            ops in ops(),
            every_n in 0u32..4,
            horizon in proptest::option::of(0u32..3),
            keep_stale in any::<bool>(),
        ) {
            let options = StateOptions { keep_raw: false, bucket_horizon_minutes: horizon };
            let policy = CompactionPolicy { every_n_deltas: every_n };
            let mut live = RollupState::new("p", options);
            let mut stored: Vec<Vec<u8>> = Vec::new();
            let mut deltas_since_base = 0;
            let mut lines = 0;
            let mut restored_mid: Option<(usize, RollupState)> = None;
            for (i, op) in ops.iter().chain([Op::Seal].iter()).enumerate() {
                match op {
                    Op::Seal => {
                        let sealed = live.seal_epoch();
                        if let Some((_, r)) = restored_mid.as_mut() {
                            prop_assert_eq!(r.seal_epoch(), sealed.clone());
                        }
                        let kind = policy.next_kind(deltas_since_base);
                        let snap = live.snapshot(&sealed, kind).unwrap();
                        if snap.is_base() {
                            deltas_since_base = 0;
                            if !keep_stale {
                                stored.clear();
                            }
                        } else {
                            deltas_since_base += 1;
                        }
                        stored.push(encode(&snap).unwrap());
                        let snaps: Vec<Snapshot> = stored.iter().map(|b| decode(b).unwrap()).collect();
                        let base = snaps.iter().rposition(Snapshot::is_base);
                        let (base, deltas): (Option<Snapshot>, Vec<Snapshot>) = match base {
                            Some(b) => (Some(snaps[b].clone()), snaps.into_iter().filter(|s| !s.is_base()).collect()),
                            None => (None, snaps),
                        };
                        let back = restore("p", options, base, deltas).unwrap();
                        prop_assert_eq!(view(&back), view(&live));
                        if restored_mid.is_none() && i >= ops.len() / 2 {
                            restored_mid = Some((i, back));
                        }
                    }
                    Op::Bad => {
                        live.record_bad(lines);
                        if let Some((_, r)) = restored_mid.as_mut() { r.record_bad(lines); }
                        lines += 1;
                    }
                    Op::Event { .. } => {
                        let ev = op.event().unwrap();
                        live.record(lines, &ev, ingest_ms(i));
                        if let Some((_, r)) = restored_mid.as_mut() { r.record(lines, &ev, ingest_ms(i)); }
                        lines += 1;
                    }
                }
            }
            if let Some((_, r)) = restored_mid {
                prop_assert_eq!(view(&r), view(&live));
            }
        }
    }
}

//! Building snapshots from a partition's state.

use super::encode::SnapshotError;
use super::model::{Snapshot, SnapshotKind};
use crate::core::sealed::SealedEpoch;
use crate::core::state::RollupState;

impl RollupState {
    /// The delta of a sealed epoch: exactly its touched keys and buckets. Costs
    /// O(keys touched), whatever the total number of keys.
    pub fn snapshot_delta(&self, sealed: &SealedEpoch) -> Snapshot {
        Snapshot {
            partition: self.partition().to_owned(),
            epoch: sealed.epoch,
            offset: sealed.offset_end,
            kind: SnapshotKind::Delta,
            keys: sealed.touched.clone(),
            minutes: sealed.minutes.clone(),
            watermark: sealed.watermark,
        }
    }

    /// The whole state as of the last sealed epoch. Take it right after
    /// `seal_epoch`: it fails if events were recorded since.
    pub fn snapshot_base(&self) -> Result<Snapshot, SnapshotError> {
        if self.has_unsealed() {
            return Err(SnapshotError::Unsealed);
        }
        let (keys, minutes) = self.export();
        Ok(Snapshot {
            partition: self.partition().to_owned(),
            epoch: self.epoch().saturating_sub(1),
            offset: self.offset(),
            kind: SnapshotKind::Base,
            keys,
            minutes,
            watermark: self.watermark(),
        })
    }

    /// The snapshot of kind `kind` for the epoch just sealed.
    pub fn snapshot(
        &self,
        sealed: &SealedEpoch,
        kind: SnapshotKind,
    ) -> Result<Snapshot, SnapshotError> {
        match kind {
            SnapshotKind::Delta => Ok(self.snapshot_delta(sealed)),
            SnapshotKind::Base => self.snapshot_base(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::EventRef;
    use crate::core::state::StateOptions;
    use uuid::Uuid;

    #[test]
    fn delta_holds_only_touched_keys_base_holds_all() {
        let mut st = RollupState::new("p3", StateOptions::default());
        for i in 0..10u128 {
            st.record(i as u64, &EventRef::new(Uuid::from_u128(i), "x"), 0);
        }
        st.seal_epoch();
        st.record(10, &EventRef::new(Uuid::from_u128(4), "x"), 0);
        st.record(11, &EventRef::new(Uuid::from_u128(4), "x"), 0);
        let sealed = st.seal_epoch();
        let delta = st.snapshot_delta(&sealed);
        assert_eq!(
            (delta.epoch, delta.offset, delta.kind),
            (2, 12, SnapshotKind::Delta)
        );
        assert_eq!(delta.keys.len(), 1);
        assert_eq!(delta.keys[0].1.count, 3);
        assert_eq!(delta.minutes.len(), 1);
        let base = st.snapshot_base().unwrap();
        assert_eq!(
            (base.epoch, base.offset, base.kind),
            (2, 12, SnapshotKind::Base)
        );
        assert_eq!(base.keys.len(), 10);
        assert_eq!(base.partition, "p3");
        assert_eq!(st.snapshot(&sealed, SnapshotKind::Base).unwrap(), base);
    }

    #[test]
    fn base_refuses_unsealed_events() {
        let mut st = RollupState::new("p", StateOptions::default());
        assert_eq!(st.snapshot_base().unwrap().epoch, 0);
        st.record_bad(0);
        assert!(matches!(st.snapshot_base(), Err(SnapshotError::Unsealed)));
    }
}

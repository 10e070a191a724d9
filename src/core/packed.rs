//! A rollup as kept in memory for many keys: 16 bytes instead of [`Rollup`]'s 48,
//! because most rollups (every one of the seed format) never see a value.

use super::rollup::{Rollup, ValueStats};

/// A [`Rollup`] whose value statistics, present only once a record carried a
/// value, live behind a pointer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedRollup {
    count: i64,
    values: Option<Box<ValueStats>>,
}

impl PackedRollup {
    pub fn get(&self) -> Rollup {
        Rollup {
            count: self.count,
            values: self.values.as_deref().copied(),
        }
    }

    /// Overwrites with `rollup`, reusing the statistics' box when there is one.
    pub fn set(&mut self, rollup: &Rollup) {
        self.count = rollup.count;
        match (&mut self.values, rollup.values) {
            (Some(b), Some(v)) => **b = v,
            (slot, v) => *slot = v.map(Box::new),
        }
    }

    pub fn count(&self) -> i64 {
        self.count
    }

    /// Adds one record; allocates only for the first value a rollup sees.
    #[inline]
    pub fn record(&mut self, value: Option<i64>) {
        self.count = self.count.wrapping_add(1);
        if let Some(v) = value {
            match &mut self.values {
                Some(s) => s.record(v),
                None => self.values = Some(Box::new(ValueStats::of(v))),
            }
        }
    }
}

impl From<&Rollup> for PackedRollup {
    fn from(rollup: &Rollup) -> Self {
        PackedRollup {
            count: rollup.count,
            values: rollup.values.map(Box::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_values() {
        for r in [Rollup::default(), Rollup::of(None), Rollup::of(Some(-7))] {
            assert_eq!(PackedRollup::from(&r).get(), r);
        }
        let mut p = PackedRollup::from(&Rollup::of(Some(3)));
        let mut r = Rollup::of(Some(3));
        r.record(Some(9));
        p.set(&r);
        assert_eq!(p.get(), r);
        p.set(&Rollup::of(None));
        assert_eq!((p.get(), p.count()), (Rollup::of(None), 1));
        assert_eq!(std::mem::size_of::<PackedRollup>(), 16);
    }
}

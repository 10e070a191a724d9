//! The cumulative aggregate kept per key (and per key and minute).

use serde::{Deserialize, Serialize};

/// Sum, min and max of the values seen; present only once a record carried a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueStats {
    /// How many records carried a value (the divisor for an average).
    pub count: i64,
    pub sum: i64,
    pub min: i64,
    pub max: i64,
}

impl ValueStats {
    pub(super) fn of(value: i64) -> Self {
        ValueStats {
            count: 1,
            sum: value,
            min: value,
            max: value,
        }
    }

    /// Adds one value.
    #[inline]
    pub(super) fn record(&mut self, v: i64) {
        self.count = self.count.wrapping_add(1);
        self.sum = self.sum.wrapping_add(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn merge(&mut self, other: &ValueStats) {
        self.count = self.count.wrapping_add(other.count);
        self.sum = self.sum.wrapping_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Cumulative rollup: a count of records always, value statistics only when some
/// record had a value (so seed-format rollups carry no sum/min/max at all).
///
/// Additions wrap on overflow instead of panicking: wrapping keeps `merge`
/// associative, which replay and restore rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rollup {
    pub count: i64,
    pub values: Option<ValueStats>,
}

impl Rollup {
    /// The rollup of a single record.
    pub fn of(value: Option<i64>) -> Self {
        let mut r = Rollup::default();
        r.record(value);
        r
    }

    /// Adds one record.
    #[inline]
    pub fn record(&mut self, value: Option<i64>) {
        self.count = self.count.wrapping_add(1);
        if let Some(v) = value {
            match &mut self.values {
                Some(s) => s.record(v),
                None => self.values = Some(ValueStats::of(v)),
            }
        }
    }

    /// Adds everything `other` has seen (partials of one key from several partitions).
    pub fn merge(&mut self, other: &Rollup) {
        self.count = self.count.wrapping_add(other.count);
        match (&mut self.values, &other.values) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.values = Some(*b),
            (_, None) => {}
        }
    }

    pub fn has_values(&self) -> bool {
        self.values.is_some()
    }

    pub fn sum(&self) -> Option<i64> {
        self.values.map(|s| s.sum)
    }

    pub fn min(&self) -> Option<i64> {
        self.values.map(|s| s.min)
    }

    pub fn max(&self) -> Option<i64> {
        self.values.map(|s| s.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_only_without_values() {
        let mut r = Rollup::default();
        r.record(None);
        r.record(None);
        assert_eq!(r.count, 2);
        assert!(!r.has_values());
        assert_eq!((r.sum(), r.min(), r.max()), (None, None, None));
    }

    #[test]
    fn values_track_sum_min_max() {
        let mut r = Rollup::default();
        r.record(Some(5));
        r.record(None);
        r.record(Some(-3));
        r.record(Some(10));
        assert_eq!(r.count, 4);
        assert_eq!(
            r.values,
            Some(ValueStats {
                count: 3,
                sum: 12,
                min: -3,
                max: 10
            })
        );
    }

    #[test]
    fn merge_equals_recording_everything() {
        let a_in = [Some(1), None, Some(7)];
        let b_in = [None, Some(-2)];
        let mut a = Rollup::default();
        a_in.iter().for_each(|v| a.record(*v));
        let mut b = Rollup::default();
        b_in.iter().for_each(|v| b.record(*v));
        let mut all = Rollup::default();
        a_in.iter().chain(b_in.iter()).for_each(|v| all.record(*v));
        let mut merged = a;
        merged.merge(&b);
        assert_eq!(merged, all);
        let mut merged_other_way = b;
        merged_other_way.merge(&a);
        assert_eq!(merged_other_way, all);
        let mut with_empty = Rollup::default();
        with_empty.merge(&all);
        assert_eq!(with_empty, all);
    }

    #[test]
    fn overflow_wraps_instead_of_panicking() {
        let mut r = Rollup::of(Some(i64::MAX));
        r.record(Some(1));
        assert_eq!(r.sum(), Some(i64::MIN));
        assert_eq!(r.max(), Some(i64::MAX));
    }

    #[test]
    fn serde_round_trip() {
        let r = Rollup::of(Some(42));
        let bytes = postcard::to_allocvec(&r).unwrap();
        assert_eq!(postcard::from_bytes::<Rollup>(&bytes).unwrap(), r);
    }
}

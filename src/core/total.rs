//! The total of one key over partitions: the sum of each partition's latest
//! committed partial. A key held by one partition (every unbounded key) keeps
//! that one partial as its total, with no second copy.

use super::packed::PackedRollup;
use super::rollup::Rollup;

/// The committed partials of one key, and so its total.
#[derive(Debug, Clone)]
pub enum TotalEntry {
    /// One partition's partial, which is the total.
    One(u16, PackedRollup),
    /// Several partitions' partials (never fewer than two) and their sum.
    Many(Box<Many>),
}

#[derive(Debug, Clone)]
pub struct Many {
    partials: Vec<(u16, Rollup)>,
    total: Rollup,
}

impl TotalEntry {
    /// An entry of one partial.
    pub fn new(partition: u16, rollup: &Rollup) -> Self {
        TotalEntry::One(partition, PackedRollup::from(rollup))
    }

    /// The sum of the partials.
    pub fn total(&self) -> Rollup {
        match self {
            TotalEntry::One(_, r) => r.get(),
            TotalEntry::Many(m) => m.total,
        }
    }

    /// The partial of `partition`, if it has one.
    pub fn partial(&self, partition: u16) -> Option<Rollup> {
        match self {
            TotalEntry::One(p, r) => (*p == partition).then(|| r.get()),
            TotalEntry::Many(m) => m
                .partials
                .iter()
                .find(|(p, _)| *p == partition)
                .map(|(_, r)| *r),
        }
    }

    pub fn has_partial(&self, partition: u16) -> bool {
        match self {
            TotalEntry::One(p, _) => *p == partition,
            TotalEntry::Many(m) => m.partials.iter().any(|(p, _)| *p == partition),
        }
    }

    /// Sets (or with `None` removes) the partial of `partition`. Returns false when
    /// no partial is left: the entry should go.
    pub fn set_partial(&mut self, partition: u16, rollup: Option<&Rollup>) -> bool {
        match (&mut *self, rollup) {
            (TotalEntry::One(p, r), Some(new)) if *p == partition => {
                r.set(new);
                return true;
            }
            (TotalEntry::One(p, _), None) => return *p != partition,
            _ => {}
        }
        let placeholder = TotalEntry::One(partition, PackedRollup::default());
        let mut partials = match std::mem::replace(self, placeholder) {
            TotalEntry::One(p, r) => vec![(p, r.get())],
            TotalEntry::Many(m) => m.partials,
        };
        partials.retain(|(p, _)| *p != partition);
        if let Some(r) = rollup {
            partials.push((partition, *r));
        }
        match partials.len() {
            0 => return false,
            1 => {
                let (p, r) = partials[0];
                *self = TotalEntry::new(p, &r);
            }
            _ => {
                let mut total = Rollup::default();
                for (_, r) in &partials {
                    total.merge(r);
                }
                *self = TotalEntry::Many(Box::new(Many { partials, total }));
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(count: i64, value: Option<i64>) -> Rollup {
        let mut r = Rollup::default();
        for _ in 0..count {
            r.record(value);
        }
        r
    }

    #[test]
    fn the_total_is_the_sum_of_the_latest_partials() {
        let mut e = TotalEntry::new(0, &r(2, None));
        assert!(matches!(e, TotalEntry::One(0, _)));
        assert!(e.set_partial(0, Some(&r(3, None))));
        assert_eq!(e.total(), r(3, None));
        assert!(e.set_partial(2, Some(&r(4, Some(5)))));
        assert!(matches!(e, TotalEntry::Many(_)));
        let mut sum = r(3, None);
        sum.merge(&r(4, Some(5)));
        assert_eq!(e.total(), sum);
        assert_eq!(e.partial(2), Some(r(4, Some(5))));
        assert_eq!(e.partial(1), None);
        assert!(e.has_partial(0) && !e.has_partial(1));
        // Back to one partial: no second copy again.
        assert!(e.set_partial(0, None));
        assert!(matches!(e, TotalEntry::One(2, _)));
        assert_eq!(e.total(), r(4, Some(5)));
        assert!(
            e.set_partial(1, None),
            "removing an absent partial keeps the entry"
        );
        assert!(
            !e.set_partial(2, None),
            "the last partial gone, the entry goes"
        );
    }

    #[test]
    fn a_one_partial_entry_is_small() {
        assert!(std::mem::size_of::<TotalEntry>() <= 24);
    }
}

//! The state memory budget (`processor.state_memory_limit`), shared by every
//! partition and the merger. Each holder reports what its resident state costs;
//! over the limit, partitions evict their idle keys in proportion, down to a low
//! water mark, and the merger drops the totals of keys no partition holds.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use crate::metrics;

/// Evictions bring the total down to this share of the limit, so that they run
/// in batches rather than at every epoch.
const LOW_WATER: f64 = 0.8;

#[derive(Debug)]
pub struct StateBudget {
    limit: u64,
    used: AtomicI64,
    /// Some key was evicted in this process: a key missing from memory may be
    /// in Cassandra.
    evicted: AtomicBool,
    /// Totals the merger still has to write (or read back): while over the limit
    /// with a backlog, partitions hold reading until it drains.
    backlog: AtomicU64,
}

impl StateBudget {
    pub fn new(limit: u64) -> Arc<Self> {
        metrics::STATE_LIMIT_BYTES.set(limit as i64);
        Arc::new(StateBudget {
            limit,
            used: AtomicI64::new(0),
            evicted: AtomicBool::new(false),
            backlog: AtomicU64::new(0),
        })
    }

    pub fn set_backlog(&self, keys: u64) {
        self.backlog.store(keys, Ordering::Relaxed);
    }

    pub fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }

    pub fn over_limit(&self) -> bool {
        self.used() > self.limit
    }

    pub fn note_eviction(&self) {
        self.evicted.store(true, Ordering::Relaxed);
    }

    /// Whether totals may have left memory (then readers look in Cassandra too).
    pub fn has_evicted(&self) -> bool {
        self.evicted.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes of resident state, all holders together.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed).max(0) as u64
    }

    /// How many of its `resident` keys a holder should evict: none while the
    /// total is within the limit, else its share of bringing the total down to
    /// the low water mark.
    pub fn keys_to_evict(&self, resident: usize) -> usize {
        let used = self.used();
        if used <= self.limit || resident == 0 {
            return 0;
        }
        let keep = (self.limit as f64 * LOW_WATER) / used as f64;
        ((resident as f64) * (1.0 - keep)).ceil() as usize
    }
}

/// One holder's share of the budget: what it last reported, taken back when the
/// share is dropped (a partition's incarnation ends, the merger restarts).
#[derive(Debug)]
pub struct BudgetShare {
    budget: Arc<StateBudget>,
    reported: u64,
}

impl BudgetShare {
    pub fn new(budget: Arc<StateBudget>) -> Self {
        BudgetShare {
            budget,
            reported: 0,
        }
    }

    pub fn budget(&self) -> &StateBudget {
        &self.budget
    }

    /// The holder's state now costs `bytes`.
    pub fn report(&mut self, bytes: u64) {
        let delta = bytes as i64 - self.reported as i64;
        self.reported = bytes;
        let used = self.budget.used.fetch_add(delta, Ordering::Relaxed) + delta;
        metrics::STATE_BYTES.set(used);
    }
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        self.report(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_evict_in_proportion_once_over_the_limit() {
        let budget = StateBudget::new(1000);
        let mut a = BudgetShare::new(budget.clone());
        let mut b = BudgetShare::new(budget.clone());
        a.report(600);
        b.report(400);
        assert_eq!(budget.keys_to_evict(100), 0, "at the limit");
        b.report(1000);
        assert_eq!(budget.used(), 1600);
        // Down to 800 of 1600: half of each holder's keys.
        assert_eq!(budget.keys_to_evict(100), 50);
        drop(b);
        assert_eq!(budget.used(), 600);
        a.report(0);
        assert_eq!(budget.used(), 0);
    }
}

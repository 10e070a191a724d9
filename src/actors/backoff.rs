//! The one backoff schedule of the actors: the delay before a restarted partition
//! restores, before an epoch write or checkpoint is retried, and before the merger
//! writes totals again after a failure.

use std::time::Duration;

/// Exponential backoff: no delay before the first attempt, then `min · 2^(n-1)`
/// before attempt `n + 1`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(min: Duration, max: Duration) -> Self {
        Backoff { min, max }
    }

    /// The delay after `failures` consecutive failures.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let shift = (failures - 1).min(30);
        self.min.saturating_mul(1u32 << shift).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(b: Backoff, n: u32) -> Vec<u64> {
        (0..n).map(|f| b.delay(f).as_millis() as u64).collect()
    }

    #[test]
    fn the_schedule_doubles_from_min_and_caps_at_max() {
        let b = Backoff::new(Duration::from_millis(5), Duration::from_millis(100));
        assert_eq!(schedule(b, 8), vec![0, 5, 10, 20, 40, 80, 100, 100]);
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(100));
    }

    /// The schedules the actors use, with the default configuration.
    #[test]
    fn the_actors_schedules() {
        let p = crate::config::ProcessorConfig::default();
        let restart = Backoff::new(p.restart_backoff_min, p.restart_backoff_max);
        assert_eq!(
            schedule(restart, 13),
            vec![0, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5000, 5000]
        );
        let retry = Backoff::new(Duration::from_millis(20), p.retry_backoff_max);
        assert_eq!(
            schedule(retry, 9),
            vec![0, 20, 40, 80, 160, 320, 640, 1280, 2000]
        );
        let totals = crate::actors::merger::TOTALS_BACKOFF;
        assert_eq!(
            schedule(totals, 11),
            vec![0, 20, 40, 80, 160, 320, 640, 1280, 2560, 2560, 2560]
        );
    }
}

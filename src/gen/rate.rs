//! A token bucket shared by every client of one server, granted in batches.
//!
//! Tokens are reserved with one atomic compare-and-swap per batch (never per line),
//! on a virtual clock counted in tokens: a reservation of `n` tokens ends `n` ticks
//! after the later of the previous reservation and now, and its holder sends once
//! that moment has come. Lateness (timer resolution, a busy runtime) is made up
//! from a credit of at most 50 ms of events, so the rate holds, and no larger burst
//! follows a pause.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Grants per second aimed at: a batch holds `rate / GRANTS_PER_SECOND` events.
const GRANTS_PER_SECOND: u64 = 100;
/// Credit kept for late senders: 1/20 s (50 ms) worth of events.
pub const CREDIT_SECONDS_INV: u64 = 20;
const NANOS: u128 = 1_000_000_000;

/// A shared limit of `rate` events per second; `rate == 0` means no limit.
#[derive(Debug)]
pub struct RateLimiter {
    rate: u64,
    origin: Instant,
    /// End of the last reservation, in ticks of `1 / rate` seconds since `origin`.
    reserved_until: AtomicU64,
}

impl RateLimiter {
    pub fn new(rate: u64) -> Self {
        Self {
            rate,
            origin: Instant::now(),
            reserved_until: AtomicU64::new(0),
        }
    }

    pub fn is_limited(&self) -> bool {
        self.rate > 0
    }

    /// How many events one grant should cover: about 10 ms worth, at most `max`.
    pub fn batch(&self, max: u64) -> u64 {
        if self.rate == 0 {
            max.max(1)
        } else {
            (self.rate / GRANTS_PER_SECOND).clamp(1, max.max(1))
        }
    }

    /// Reserves `n` events and waits until they may be sent.
    pub async fn acquire(&self, n: u64) {
        if self.rate == 0 || n == 0 {
            return;
        }
        let at = self.reserve(self.origin.elapsed(), n);
        if let Some(deadline) = self.origin.checked_add(at) {
            tokio::time::sleep_until(deadline).await;
        }
    }

    /// Reserves `n` events at `now` (time since the limiter was made) and returns
    /// when, since then, they may be sent.
    fn reserve(&self, now: Duration, n: u64) -> Duration {
        let now = u64::try_from(now.as_nanos() * self.rate as u128 / NANOS).unwrap_or(u64::MAX);
        let credit = self.rate / CREDIT_SECONDS_INV;
        let mut current = self.reserved_until.load(Ordering::Relaxed);
        let end = loop {
            let end = current.max(now.saturating_sub(credit)).saturating_add(n);
            match self.reserved_until.compare_exchange_weak(
                current,
                end,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break end,
                Err(actual) => current = actual,
            }
        };
        let nanos = end as u128 * NANOS / self.rate.max(1) as u128;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_ten_milliseconds() {
        assert_eq!(RateLimiter::new(0).batch(4096), 4096);
        assert_eq!(RateLimiter::new(100_000).batch(4096), 1000);
        assert_eq!(RateLimiter::new(10).batch(4096), 1);
        assert_eq!(RateLimiter::new(10_000_000).batch(4096), 4096);
    }

    #[test]
    fn reservations_follow_the_rate_without_drift() {
        let limiter = RateLimiter::new(1000);
        let mut at = Duration::ZERO;
        for _ in 0..50 {
            at = limiter.reserve(Duration::ZERO, 100);
        }
        // 5,000 events at 1,000/s may all be sent 5 s after the start, not before.
        assert_eq!(at, Duration::from_secs(5));
        let limiter = RateLimiter::new(3);
        let ends: Vec<Duration> = (0..3).map(|_| limiter.reserve(Duration::ZERO, 1)).collect();
        assert_eq!(ends[2], Duration::from_secs(1));
    }

    #[test]
    fn idle_time_earns_at_most_50_ms_of_credit() {
        let limiter = RateLimiter::new(1000);
        limiter.reserve(Duration::ZERO, 100);
        let at = limiter.reserve(Duration::from_secs(10), 500);
        assert_eq!(at, Duration::from_millis(10_450));
    }

    #[test]
    fn a_late_sender_catches_up() {
        let limiter = RateLimiter::new(1000);
        assert_eq!(
            limiter.reserve(Duration::ZERO, 10),
            Duration::from_millis(10)
        );
        // Woken 3 ms late: the next batch is still due 10 ms after the previous one.
        let at = limiter.reserve(Duration::from_millis(13), 10);
        assert_eq!(at, Duration::from_millis(20));
    }
}

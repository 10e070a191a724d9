//! Running a step at a fixed period measured from one start to the next, so
//! that the time a step takes does not stretch the period: lease renewals keep
//! their cadence however long a coordination round or a renewal takes.

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

/// Runs `step` now and then every `period` after its previous start (at once
/// after a step that took longer than `period`), until it returns false.
pub async fn every<F, Fut>(period: Duration, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !step().await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use tokio::time::Instant;

    /// The offsets (in tenths of the period) at which `every` starts steps that
    /// each take `takes` tenths of a period, for `n` steps.
    async fn starts(takes: u64, n: usize) -> Vec<u64> {
        let period = Duration::from_millis(1000);
        let origin = Instant::now();
        let seen = RefCell::new(Vec::new());
        every(period, || async {
            seen.borrow_mut()
                .push((origin.elapsed().as_millis() / 100) as u64);
            tokio::time::sleep(Duration::from_millis(100 * takes)).await;
            seen.borrow().len() < n
        })
        .await;
        seen.into_inner()
    }

    #[tokio::test(start_paused = true)]
    async fn the_period_runs_from_start_to_start() {
        // A step of 0.8 periods does not push the next one back (a sleep of one
        // period after each step would start them at 0, 18, 36, 54).
        assert_eq!(starts(8, 4).await, [0, 10, 20, 30]);
        // A step longer than the period is followed at once, then the period
        // runs again from there.
        assert_eq!(starts(15, 3).await, [0, 15, 30]);
    }
}

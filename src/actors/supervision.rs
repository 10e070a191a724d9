//! Restart policy: causes are counted, and the delay before an actor resumes
//! doubles with consecutive failures, up to a cap.

use std::time::Duration;

/// Why an actor was restarted (the `cause` label of `ssa_actor_restarts_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartCause {
    /// Fault injection (admin API, chaos, tests).
    Killed,
    /// The source could not be reached, or the connection broke.
    Connection,
    /// Restoring from the checkpoint store or repairing failed.
    Restore,
}

impl RestartCause {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartCause::Killed => "killed",
            RestartCause::Connection => "connection",
            RestartCause::Restore => "restore",
        }
    }

    pub const ALL: [RestartCause; 3] = [
        RestartCause::Killed,
        RestartCause::Connection,
        RestartCause::Restore,
    ];
}

/// Exponential backoff: `min · 2^(failures-1)`, capped at `max`; no delay before
/// the first attempt. A kill is not a failure of the actor, so it gets `min`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Backoff {
    pub fn delay(&self, consecutive_failures: u32) -> Duration {
        if consecutive_failures == 0 {
            return Duration::ZERO;
        }
        let shift = (consecutive_failures - 1).min(30);
        self.min.saturating_mul(1u32 << shift).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            min: Duration::from_millis(5),
            max: Duration::from_millis(100),
        };
        let delays: Vec<u64> = (0..8).map(|n| b.delay(n).as_millis() as u64).collect();
        assert_eq!(delays, vec![0, 5, 10, 20, 40, 80, 100, 100]);
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(100));
    }
}

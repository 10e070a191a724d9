//! Minute buckets: which minute an event falls in, and the watermark that bounds
//! how far back buckets are kept in memory.

use serde::{Deserialize, Serialize};

pub const MINUTE_MS: i64 = 60_000;

/// Start of the minute holding `ts_ms` (Unix ms, floor division, so negative
/// times work too). Saturates at `i64::MIN` instead of overflowing.
#[inline]
pub fn minute_of(ts_ms: i64) -> i64 {
    ts_ms.saturating_sub(ts_ms.rem_euclid(MINUTE_MS))
}

/// Newest bucket minute seen and the floor below which buckets are dropped.
///
/// With a horizon of `h` minutes the floor is `newest - h` minutes and never goes
/// back. Buckets under the floor are evicted once sealed (Cassandra has them); an
/// event that would land under the floor is *late* and is counted in the floor's
/// bucket instead, since its own bucket's absolute value is no longer known here.
/// This keeps bucket rows exact and replays deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MinuteWatermark {
    pub newest_ms: Option<i64>,
    pub floor_ms: Option<i64>,
}

impl MinuteWatermark {
    /// Takes in one event's minute; returns the minute it is counted in and
    /// whether it was late (moved up to the floor).
    #[inline]
    pub fn observe(&mut self, minute: i64, horizon_minutes: Option<u32>) -> (i64, bool) {
        if self.newest_ms.is_none_or(|n| minute > n) {
            self.newest_ms = Some(minute);
            if let Some(h) = horizon_minutes {
                if let Some(floor) = minute.checked_sub(i64::from(h) * MINUTE_MS) {
                    self.floor_ms = Some(self.floor_ms.map_or(floor, |f| f.max(floor)));
                }
            }
        }
        match self.floor_ms {
            Some(floor) if minute < floor => (floor, true),
            _ => (minute, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_of_floors() {
        assert_eq!(minute_of(0), 0);
        assert_eq!(minute_of(59_999), 0);
        assert_eq!(minute_of(60_000), 60_000);
        assert_eq!(minute_of(1_700_000_012_345), 1_699_999_980_000);
        assert_eq!(minute_of(-1), -60_000);
        assert_eq!(minute_of(i64::MIN), i64::MIN);
        assert_eq!(
            minute_of(i64::MAX),
            i64::MAX - i64::MAX.rem_euclid(MINUTE_MS)
        );
    }

    #[test]
    fn watermark_moves_up_and_clamps_late_events() {
        let mut w = MinuteWatermark::default();
        let m = |n: i64| n * MINUTE_MS;
        assert_eq!(w.observe(m(100), Some(10)), (m(100), false));
        assert_eq!(w.floor_ms, Some(m(90)));
        assert_eq!(w.observe(m(95), Some(10)), (m(95), false));
        assert_eq!(w.observe(m(89), Some(10)), (m(90), true));
        assert_eq!(w.observe(m(120), Some(10)), (m(120), false));
        assert_eq!(w.floor_ms, Some(m(110)));
        // A wider horizon later never moves the floor back.
        assert_eq!(w.observe(m(121), Some(60)), (m(121), false));
        assert_eq!(w.floor_ms, Some(m(110)));
    }

    #[test]
    fn no_horizon_keeps_everything() {
        let mut w = MinuteWatermark::default();
        w.observe(1_000 * MINUTE_MS, None);
        assert_eq!(w.observe(0, None), (0, false));
        assert_eq!(w.floor_ms, None);
    }
}

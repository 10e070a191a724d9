//! The accepted range of every duration and count in the configuration. A value
//! outside its range is refused at start (and by `PATCH /config`), naming the key
//! and the bound: a zero backoff or interval would make the process spin.

use std::fmt::Display;
use std::time::Duration;

use super::ConfigError;

/// An inclusive range `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound<T> {
    pub min: T,
    pub max: T,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub const CONTACT_POINTS: Bound<usize> = Bound { min: 1, max: 64 };
pub const REPLICATION_FACTOR: Bound<u32> = Bound { min: 1, max: 32 };
pub const CONNECT_TIMEOUT: Bound<Duration> = Bound {
    min: ms(100),
    max: secs(600),
};
pub const REQUEST_TIMEOUT: Bound<Duration> = Bound {
    min: ms(100),
    max: secs(600),
};
pub const FLUSH_INTERVAL: Bound<Duration> = Bound {
    min: ms(10),
    max: secs(3600),
};
pub const MAX_EPOCH_EVENTS: Bound<u64> = Bound {
    min: 1,
    max: 100_000_000,
};
pub const MAX_INFLIGHT_EPOCHS: Bound<u32> = Bound { min: 1, max: 1024 };
/// The smallest `processor.state_memory_limit`.
pub const MIN_STATE_MEMORY_LIMIT: u64 = 16 << 20;

pub const MAX_LINE_BYTES: Bound<usize> = Bound {
    min: 64,
    max: 16 << 20,
};
pub const SINK_CONCURRENCY: Bound<u32> = Bound { min: 1, max: 4096 };
pub const CHECKPOINT_COMPACT_EVERY: Bound<u32> = Bound {
    min: 1,
    max: 1_000_000,
};
pub const CHECKPOINT_KEEP: Bound<u32> = Bound { min: 1, max: 1000 };
pub const CHECKPOINT_CHUNK_BYTES: Bound<usize> = Bound {
    min: 1024,
    max: 8 << 20,
};
/// 0 keeps no dead letter (bad lines are still counted).
pub const DEAD_LETTERS_PER_PARTITION: Bound<u64> = Bound {
    min: 0,
    max: 100_000_000,
};
pub const MINUTE_HORIZON: Bound<Duration> = Bound {
    min: secs(60),
    max: secs(366 * 86400),
};
pub const RESTART_BACKOFF_MIN: Bound<Duration> = Bound {
    min: ms(1),
    max: secs(60),
};
pub const RESTART_BACKOFF_MAX: Bound<Duration> = Bound {
    min: ms(100),
    max: secs(3600),
};
/// The first retry of a failed write waits 20 ms; the cap may not be below it.
pub const RETRY_BACKOFF_MAX: Bound<Duration> = Bound {
    min: ms(100),
    max: secs(600),
};
pub const PARTITION_COUNT: Bound<u32> = Bound {
    min: 1,
    max: 1_000_000,
};
/// Below `count` too; this is the bound of the value alone.
pub const PARTITION_INDEX: Bound<u32> = Bound {
    min: 0,
    max: PARTITION_COUNT.max - 1,
};
/// Partitions one process runs (`[[partitions]]` plus those added over the API).
pub const MAX_PARTITIONS: Bound<u32> = Bound {
    min: 1,
    max: u16::MAX as u32,
};
/// A `listen://` producer silent this long is cut so the next one can connect.
pub const LISTEN_IDLE_TIMEOUT: Bound<Duration> = Bound {
    min: ms(100),
    max: secs(86400),
};
/// A lease lives at least a second: shorter ones would expire under an ordinary
/// Cassandra pause and move partitions back and forth.
pub const LEASE_TTL: Bound<Duration> = Bound {
    min: secs(1),
    max: secs(600),
};
/// At most half a lease's life (checked against `lease_ttl`).
pub const RENEW_EVERY: Bound<Duration> = Bound {
    min: ms(100),
    max: secs(300),
};

/// Formats a duration as the configuration writes it (`500ms`, `1h`).
pub fn show(d: Duration) -> String {
    humantime_serde::re::humantime::format_duration(d).to_string()
}

/// Refuses a count outside `bound`, naming the key and the bound it crosses.
pub fn check<T: PartialOrd + Display + Copy>(
    key: &str,
    value: T,
    bound: Bound<T>,
) -> Result<(), ConfigError> {
    if value < bound.min {
        return Err(ConfigError::invalid(
            key,
            format!("{value} is below the minimum of {}", bound.min),
        ));
    }
    if value > bound.max {
        return Err(ConfigError::invalid(
            key,
            format!("{value} is above the maximum of {}", bound.max),
        ));
    }
    Ok(())
}

/// Refuses a duration outside `bound`, naming the key and the bound it crosses.
pub fn check_duration(
    key: &str,
    value: Duration,
    bound: Bound<Duration>,
) -> Result<(), ConfigError> {
    if value < bound.min {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{} is below the minimum of {}",
                show(value),
                show(bound.min)
            ),
        ));
    }
    if value > bound.max {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{} is above the maximum of {}",
                show(value),
                show(bound.max)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key_and_the_bound() {
        let e = check_duration("processor.restart_backoff_min", ms(0), RESTART_BACKOFF_MIN)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config key `processor.restart_backoff_min`: 0s is below the minimum of 1ms"
        );
        let e = check("processor.checkpoint_keep", 1001, CHECKPOINT_KEEP)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config key `processor.checkpoint_keep`: 1001 is above the maximum of 1000"
        );
        check_duration("x", ms(100), RETRY_BACKOFF_MAX).unwrap();
        check("x", 0, DEAD_LETTERS_PER_PARTITION).unwrap();
    }
}

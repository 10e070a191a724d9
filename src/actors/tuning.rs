//! Knobs that may change while the processor runs (`PATCH /config`): one shared
//! copy, read by every partition actor with a relaxed atomic load where it needs
//! the value (at most one load per chunk on the hot path).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::config::{Config, ConfigError, ProcessorConfig};

/// The live values of the tunable `processor.*` keys.
#[derive(Debug)]
pub struct Tuning {
    flush_interval_us: AtomicU64,
    max_epoch_events: AtomicU64,
    max_inflight_epochs: AtomicU32,
    sink_concurrency: AtomicU32,
}

/// A plain copy of [`Tuning`], for reading all values at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TuningValues {
    pub flush_interval: Duration,
    pub max_epoch_events: u64,
    pub max_inflight_epochs: u32,
    pub sink_concurrency: u32,
}

impl Tuning {
    pub fn new(config: &ProcessorConfig) -> Self {
        let t = Tuning {
            flush_interval_us: AtomicU64::new(0),
            max_epoch_events: AtomicU64::new(0),
            max_inflight_epochs: AtomicU32::new(0),
            sink_concurrency: AtomicU32::new(0),
        };
        t.set(TuningValues::of(config));
        t
    }

    pub fn flush_interval(&self) -> Duration {
        Duration::from_micros(self.flush_interval_us.load(Relaxed))
    }

    pub fn max_epoch_events(&self) -> u64 {
        self.max_epoch_events.load(Relaxed)
    }

    pub fn max_inflight_epochs(&self) -> u32 {
        self.max_inflight_epochs.load(Relaxed)
    }

    pub fn sink_concurrency(&self) -> u32 {
        self.sink_concurrency.load(Relaxed)
    }

    pub fn get(&self) -> TuningValues {
        TuningValues {
            flush_interval: self.flush_interval(),
            max_epoch_events: self.max_epoch_events(),
            max_inflight_epochs: self.max_inflight_epochs(),
            sink_concurrency: self.sink_concurrency(),
        }
    }

    /// Stores already validated values.
    pub fn set(&self, v: TuningValues) {
        let us = u64::try_from(v.flush_interval.as_micros()).unwrap_or(u64::MAX);
        self.flush_interval_us.store(us.max(1), Relaxed);
        self.max_epoch_events.store(v.max_epoch_events, Relaxed);
        self.max_inflight_epochs
            .store(v.max_inflight_epochs, Relaxed);
        self.sink_concurrency.store(v.sink_concurrency, Relaxed);
    }
}

impl TuningValues {
    pub fn of(config: &ProcessorConfig) -> Self {
        TuningValues {
            flush_interval: config.flush_interval,
            max_epoch_events: config.max_epoch_events,
            max_inflight_epochs: config.max_inflight_epochs,
            sink_concurrency: config.sink_concurrency,
        }
    }

    /// Checks these values with the same ranges as the configuration file.
    pub fn validate(&self, config: &Config) -> Result<(), ConfigError> {
        let mut check = config.clone();
        check.partitions.clear();
        self.apply_to(&mut check.processor);
        check.validate()
    }

    /// Writes these values into a configuration (to validate or report it).
    pub fn apply_to(&self, config: &mut ProcessorConfig) {
        config.flush_interval = self.flush_interval;
        config.max_epoch_events = self.max_epoch_events;
        config.max_inflight_epochs = self.max_inflight_epochs;
        config.sink_concurrency = self.sink_concurrency;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_round_trip() {
        let t = Tuning::new(&ProcessorConfig::default());
        assert_eq!(t.get(), TuningValues::of(&ProcessorConfig::default()));
        let v = TuningValues {
            flush_interval: Duration::from_millis(40),
            max_epoch_events: 7,
            max_inflight_epochs: 2,
            sink_concurrency: 9,
        };
        t.set(v);
        assert_eq!(t.get(), v);
        let mut c = ProcessorConfig::default();
        v.apply_to(&mut c);
        assert_eq!(TuningValues::of(&c), v);
    }
}

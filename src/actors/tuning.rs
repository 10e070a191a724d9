//! Knobs that may change while the processor runs (`PATCH /config`): their values
//! as one serializable type, a patch of some of them, and one shared live copy,
//! read by every partition actor with a relaxed atomic load where it needs the
//! value (at most one load per chunk on the hot path).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;

use crate::config::{Config, ConfigError, ProcessorConfig};

/// The values of the tunable `processor.*` keys (`PATCH /config` answers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tunables {
    #[serde(serialize_with = "serialize_interval")]
    #[schema(value_type = String, example = "500ms")]
    pub flush_interval: Duration,
    pub max_epoch_events: u64,
    pub max_inflight_epochs: u32,
    pub sink_concurrency: u32,
}

impl Tunables {
    /// The keys, as in the configuration file and `PATCH /config`.
    pub const KEYS: [&'static str; 4] = [
        "flush_interval",
        "max_epoch_events",
        "max_inflight_epochs",
        "sink_concurrency",
    ];

    pub fn of(config: &ProcessorConfig) -> Self {
        Tunables {
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

/// `PATCH /config`: any of the knobs that can change while running.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    /// Epoch seal interval, 10ms to 1h, as a whole number (no leading zero) of
    /// `ms`, `s`, `m` or `h` (`"250ms"`, `"2s"`, `"1m"`); the pattern says exactly
    /// that, and a unit test holds it to the parser.
    #[schema(
        example = "250ms",
        pattern = "^(([1-9][0-9]|[1-9][0-9]{2,5}|[12][0-9]{6}|3[0-5][0-9]{5}|3600000)ms|([1-9][0-9]{0,2}|[12][0-9]{3}|3[0-5][0-9]{2}|3600)s|([1-9]|[1-5][0-9]|60)m|1h)$"
    )]
    pub flush_interval: Option<String>,
    /// Events after which an epoch is sealed early.
    #[schema(minimum = 1, maximum = 100000000)]
    pub max_epoch_events: Option<u64>,
    /// Uncommitted epochs per partition before it stops reading.
    #[schema(minimum = 1, maximum = 1024)]
    pub max_inflight_epochs: Option<u32>,
    /// Cassandra writes in flight over all partitions.
    #[schema(minimum = 1, maximum = 4096)]
    pub sink_concurrency: Option<u32>,
}

impl ConfigPatch {
    /// `current` with the patched values; a malformed `flush_interval` is `Err`
    /// with the parser's message. Ranges are checked by the configuration's
    /// validation afterwards.
    pub fn apply(&self, current: Tunables) -> Result<Tunables, String> {
        let mut v = current;
        if let Some(raw) = &self.flush_interval {
            v.flush_interval = parse_interval(raw)?;
        }
        if let Some(n) = self.max_epoch_events {
            v.max_epoch_events = n;
        }
        if let Some(n) = self.max_inflight_epochs {
            v.max_inflight_epochs = n;
        }
        if let Some(n) = self.sink_concurrency {
            v.sink_concurrency = n;
        }
        Ok(v)
    }
}

/// Parses a `flush_interval` as `PATCH /config` takes it: a whole number without
/// leading zero, then `ms`, `s`, `m` or `h` — exactly the pattern the OpenAPI
/// document gives, so what the document calls valid is taken.
pub fn parse_interval(raw: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{}` is not a whole number of ms, s, m or h, like 250ms or 2s",
            raw.escape_debug()
        )
    };
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = |per: u64| n.checked_mul(per).map(Duration::from_secs).ok_or_else(bad);
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        _ => Err(bad()),
    }
}

/// A flush interval in the form `PATCH /config` takes (`250ms`, `2s`, `1m`, `1h`).
pub fn show_interval(d: Duration) -> String {
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return humantime_serde::re::humantime::format_duration(d).to_string();
    }
    let ms = d.as_millis();
    match ms {
        _ if ms > 0 && ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms > 0 && ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms > 0 && ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

fn serialize_interval<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&show_interval(*d))
}

/// The live values of the tunable knobs, shared by every partition actor.
#[derive(Debug)]
pub struct Tuning {
    flush_interval_us: AtomicU64,
    max_epoch_events: AtomicU64,
    max_inflight_epochs: AtomicU32,
    sink_concurrency: AtomicU32,
}

impl Tuning {
    pub fn new(config: &ProcessorConfig) -> Self {
        let t = Tuning {
            flush_interval_us: AtomicU64::new(0),
            max_epoch_events: AtomicU64::new(0),
            max_inflight_epochs: AtomicU32::new(0),
            sink_concurrency: AtomicU32::new(0),
        };
        t.set(Tunables::of(config));
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

    pub fn get(&self) -> Tunables {
        Tunables {
            flush_interval: self.flush_interval(),
            max_epoch_events: self.max_epoch_events(),
            max_inflight_epochs: self.max_inflight_epochs(),
            sink_concurrency: self.sink_concurrency(),
        }
    }

    /// Stores already validated values.
    pub fn set(&self, v: Tunables) {
        let us = u64::try_from(v.flush_interval.as_micros()).unwrap_or(u64::MAX);
        self.flush_interval_us.store(us.max(1), Relaxed);
        self.max_epoch_events.store(v.max_epoch_events, Relaxed);
        self.max_inflight_epochs
            .store(v.max_inflight_epochs, Relaxed);
        self.sink_concurrency.store(v.sink_concurrency, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_round_trip() {
        let t = Tuning::new(&ProcessorConfig::default());
        assert_eq!(t.get(), Tunables::of(&ProcessorConfig::default()));
        let v = Tunables {
            flush_interval: Duration::from_millis(40),
            max_epoch_events: 7,
            max_inflight_epochs: 2,
            sink_concurrency: 9,
        };
        t.set(v);
        assert_eq!(t.get(), v);
        let mut c = ProcessorConfig::default();
        v.apply_to(&mut c);
        assert_eq!(Tunables::of(&c), v);
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let v = Tunables::of(&ProcessorConfig::default());
        let patch = ConfigPatch {
            flush_interval: Some("2s".into()),
            sink_concurrency: Some(3),
            ..ConfigPatch::default()
        };
        let patched = patch.apply(v).unwrap();
        assert_eq!(patched.flush_interval, Duration::from_secs(2));
        assert_eq!(patched.sink_concurrency, 3);
        assert_eq!(patched.max_epoch_events, v.max_epoch_events);
        let bad = ConfigPatch {
            flush_interval: Some("soon".into()),
            ..ConfigPatch::default()
        };
        assert!(bad.apply(v).is_err());
    }

    /// The answer's JSON: every key, the interval in the form a patch takes.
    #[test]
    fn values_serialize_as_the_api_shows_them() {
        let v = Tunables {
            flush_interval: Duration::from_millis(500),
            max_epoch_events: 7,
            max_inflight_epochs: 2,
            sink_concurrency: 9,
        };
        let json = serde_json::to_value(v).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"flush_interval": "500ms", "max_epoch_events": 7, "max_inflight_epochs": 2, "sink_concurrency": 9})
        );
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, Tunables::KEYS);
        assert_eq!(show_interval(Duration::from_secs(120)), "2m");
        assert_eq!(show_interval(Duration::from_secs(3600)), "1h");
        assert_eq!(show_interval(Duration::from_millis(1500)), "1500ms");
    }
}

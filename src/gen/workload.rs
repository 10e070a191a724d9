//! The workload: a pure function from a cycle number to an event and its line.
//!
//! Cycle `c` of the seed workload is `{franchise_id}-{event_name}`:
//! - `franchise_id`: the hashed UUID of source `c mod sources`;
//! - `event_name`: the word whose index is the hash of `round(normal(50, 20))`, the
//!   normal sample itself drawn from the hash of `c` — hashing the sample rather than
//!   using it as an index is what leaves only about 72 of 100 words ever drawn, as in
//!   the NoSQLBench original.
//!
//! CSV and JSON add `ts = ts_start_ms + c · ts_step_ms` and `value = hash(c) mod 1000`.
//! With unbounded keys `event_name` is the hashed UUID of `c` itself. With
//! `revisit:F` a fraction F of cycles (those with `hash(c) mod 10⁶ < F·10⁶`, from
//! cycle `sources` on) take the name of an earlier cycle of the same source
//! instead: `c − sources·(1 + hash'(c) mod ⌊c / sources⌋)` — a key seen before,
//! most often long before (evicted, under a memory budget). Same source, same
//! franchise; and when the partition count divides `sources`, the same partition.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::GenError;
use super::hash::{
    hash64, hashed_uuid, SALT_BACK, SALT_FRANCHISE_HI, SALT_FRANCHISE_LO, SALT_KEY_HI, SALT_KEY_LO,
    SALT_NORMAL, SALT_REVISIT, SALT_VALUE, SALT_WORD,
};
use super::line::{uuid_text, UUID_LEN};
use super::normal;
use super::truth::Truth;
use super::words::Words;
use crate::format::Format;

/// Default event time of cycle 0: 2026-01-01T00:00:00Z in Unix milliseconds.
pub const DEFAULT_TS_START_MS: i64 = 1_767_225_600_000;
/// Values are drawn in `0..VALUE_MODULUS`.
pub const VALUE_MODULUS: u64 = 1000;
/// Sources up to this many have their UUID text precomputed.
pub(super) const PRECOMPUTED_SOURCES: u64 = 1 << 16;

/// Where `event_name` comes from. Written `bounded`, `unbounded` or
/// `revisit:FRACTION` (e.g. `revisit:0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyMode {
    /// A word of the word list: about 72 names, so about 7,200 keys with 100 sources.
    #[default]
    Bounded,
    /// A UUID hashed from the cycle: every event has a key of its own.
    Unbounded,
    /// Unbounded keys, but this many events per million take the key of an
    /// earlier cycle of their source.
    Revisit(u32),
}

impl std::str::FromStr for KeyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bounded" => Ok(KeyMode::Bounded),
            "unbounded" => Ok(KeyMode::Unbounded),
            _ => {
                let f = s.strip_prefix("revisit:").ok_or_else(|| {
                    format!("`{s}` is not bounded, unbounded or revisit:FRACTION")
                })?;
                let f: f64 = f
                    .parse()
                    .map_err(|_| format!("`{f}` is not a fraction between 0 and 1"))?;
                if !(0.0..=1.0).contains(&f) {
                    return Err(format!("`{f}` is not a fraction between 0 and 1"));
                }
                Ok(KeyMode::Revisit((f * 1e6).round() as u32))
            }
        }
    }
}

impl std::fmt::Display for KeyMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyMode::Bounded => f.write_str("bounded"),
            KeyMode::Unbounded => f.write_str("unbounded"),
            KeyMode::Revisit(ppm) => write!(f, "revisit:{}", f64::from(*ppm) / 1e6),
        }
    }
}

impl Serialize for KeyMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl KeyMode {
    /// Whether every event's name is a UUID (unbounded or revisiting).
    pub fn is_uuid(&self) -> bool {
        !matches!(self, KeyMode::Bounded)
    }
}

/// What a [`Workload`] is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadOptions {
    /// Number of distinct franchises; `franchise_id` depends on `cycle mod sources`.
    pub sources: u64,
    pub keys: KeyMode,
    pub format: Format,
    pub words: Words,
    /// Event time of cycle 0 (csv and json only).
    pub ts_start_ms: i64,
    /// Event time added per cycle (csv and json only).
    pub ts_step_ms: i64,
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        Self {
            sources: 100,
            keys: KeyMode::Bounded,
            format: Format::Seed,
            words: Words::default(),
            ts_start_ms: DEFAULT_TS_START_MS,
            ts_step_ms: 1,
        }
    }
}

/// The event of one cycle.
///
/// In seed format the line carries no time and no value: `ts_ms` and `value` are 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event<'a> {
    pub franchise_id: Uuid,
    /// A word borrowed from the list, or an owned UUID text with unbounded keys.
    pub event_name: Cow<'a, str>,
    pub ts_ms: i64,
    pub value: i64,
}

/// A checked workload with its per-line lookups precomputed.
#[derive(Debug, Clone)]
pub struct Workload {
    pub(super) opts: WorkloadOptions,
    /// Hyphenated lowercase UUID of each source, when there are few enough.
    pub(super) franchise_text: Vec<[u8; UUID_LEN]>,
    /// Word index drawn by each normal sample (`normal::MIN..=normal::MAX`).
    word_of_sample: [u32; normal::SAMPLES],
}

impl Default for Workload {
    fn default() -> Self {
        Self::build(WorkloadOptions::default())
    }
}

impl Workload {
    /// Checks the options and precomputes what every line needs.
    pub fn new(opts: WorkloadOptions) -> Result<Self, GenError> {
        if opts.sources == 0 {
            return Err(GenError::NoSources);
        }
        Ok(Self::build(opts))
    }

    fn build(opts: WorkloadOptions) -> Self {
        let franchise_text = if opts.sources <= PRECOMPUTED_SOURCES {
            (0..opts.sources)
                .map(|s| uuid_text(franchise_uuid(s)))
                .collect()
        } else {
            Vec::new()
        };
        let n_words = opts.words.len() as u64;
        let mut word_of_sample = [0u32; normal::SAMPLES];
        for (i, slot) in word_of_sample.iter_mut().enumerate() {
            let sample = normal::MIN + i as i64;
            *slot = (hash64(SALT_WORD, sample as u64) % n_words) as u32;
        }
        Self {
            opts,
            franchise_text,
            word_of_sample,
        }
    }

    pub fn options(&self) -> &WorkloadOptions {
        &self.opts
    }

    pub fn format(&self) -> Format {
        self.opts.format
    }

    pub fn keys(&self) -> KeyMode {
        self.opts.keys
    }

    /// Index of the source (franchise) of `cycle`.
    #[inline]
    pub fn source(&self, cycle: u64) -> u64 {
        cycle % self.opts.sources
    }

    /// `franchise_id` of `cycle`.
    #[inline]
    pub fn franchise_id(&self, cycle: u64) -> Uuid {
        franchise_uuid(self.source(cycle))
    }

    /// The normal(50, 20) sample of `cycle`, rounded and clamped.
    #[inline]
    pub fn normal_sample(&self, cycle: u64) -> i64 {
        normal::sample(hash64(SALT_NORMAL, cycle))
    }

    /// Index in the word list of `cycle`'s word (bounded keys).
    #[inline]
    pub fn word_index(&self, cycle: u64) -> usize {
        let sample = self.normal_sample(cycle);
        self.word_of_sample[(sample - normal::MIN) as usize] as usize
    }

    /// `event_name` of `cycle` with unbounded (or revisiting) keys.
    #[inline]
    pub fn key_uuid(&self, cycle: u64) -> Uuid {
        hashed_uuid(SALT_KEY_HI, SALT_KEY_LO, self.key_cycle(cycle))
    }

    /// The cycle whose key `cycle` carries: itself, or with `revisit` sometimes an
    /// earlier cycle of the same source.
    #[inline]
    pub fn key_cycle(&self, cycle: u64) -> u64 {
        let KeyMode::Revisit(ppm) = self.opts.keys else {
            return cycle;
        };
        let sources = self.opts.sources;
        let rounds = cycle / sources;
        if rounds == 0 || hash64(SALT_REVISIT, cycle) % 1_000_000 >= u64::from(ppm) {
            return cycle;
        }
        cycle - sources * (1 + hash64(SALT_BACK, cycle) % rounds)
    }

    /// Event time of `cycle` (wrapping on overflow); 0 in seed format.
    #[inline]
    pub fn ts_ms(&self, cycle: u64) -> i64 {
        if self.opts.format.has_time_and_value() {
            self.opts
                .ts_start_ms
                .wrapping_add((cycle as i64).wrapping_mul(self.opts.ts_step_ms))
        } else {
            0
        }
    }

    /// Value of `cycle`, in `0..1000`; 0 in seed format.
    #[inline]
    pub fn value(&self, cycle: u64) -> i64 {
        if self.opts.format.has_time_and_value() {
            (hash64(SALT_VALUE, cycle) % VALUE_MODULUS) as i64
        } else {
            0
        }
    }

    /// The event of `cycle`.
    pub fn event(&self, cycle: u64) -> Event<'_> {
        let event_name = match self.opts.keys {
            KeyMode::Bounded => Cow::Borrowed(self.word(self.word_index(cycle))),
            KeyMode::Unbounded | KeyMode::Revisit(_) => {
                Cow::Owned(self.key_uuid(cycle).hyphenated().to_string())
            }
        };
        Event {
            franchise_id: self.franchise_id(cycle),
            event_name,
            ts_ms: self.ts_ms(cycle),
            value: self.value(cycle),
        }
    }

    /// The expected rollups of the events of `cycles` (see [`Truth`]).
    pub fn truth(&self, cycles: Range<u64>) -> Truth {
        Truth::compute(self, cycles)
    }

    /// The expected rollups of the events of `cycles` from one source (franchise).
    pub fn source_truth(&self, cycles: Range<u64>, source: u64) -> Truth {
        Truth::compute_source(self, cycles, source)
    }

    /// The word at `index` of the list.
    #[inline]
    pub(crate) fn word(&self, index: usize) -> &str {
        self.opts.words.get(index).unwrap_or_default()
    }
}

/// The UUID of source `source`.
#[inline]
pub fn franchise_uuid(source: u64) -> Uuid {
    hashed_uuid(SALT_FRANCHISE_HI, SALT_FRANCHISE_LO, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbounded_keys_are_uuids_of_the_cycle() {
        let w = Workload::new(WorkloadOptions {
            keys: KeyMode::Unbounded,
            ..Default::default()
        })
        .unwrap();
        let e = w.event(5);
        assert_eq!(e.event_name, w.key_uuid(5).to_string());
        assert_ne!(w.event(5).event_name, w.event(6).event_name);
        assert_eq!(w.line(5).len(), 36 + 1 + 36 + 1);
    }

    #[test]
    fn about_72_words_occur_in_a_million_cycles() {
        let w = Workload::default();
        let mut seen = [false; 100];
        let mut samples = [false; normal::SAMPLES];
        for c in 0..1_000_000 {
            seen[w.word_index(c)] = true;
            samples[(w.normal_sample(c) - normal::MIN) as usize] = true;
        }
        assert_eq!(seen.iter().filter(|&&s| s).count(), 72);
        // Every sample in [-20, 120] occurs: the 72 is a property of the hash alone.
        assert!(samples.iter().all(|&s| s));
    }

    #[test]
    fn revisits_take_the_key_of_an_earlier_cycle_of_the_same_source() {
        let w = Workload::new(WorkloadOptions {
            keys: "revisit:0.25".parse().unwrap(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(w.keys().to_string(), "revisit:0.25");
        let back: Vec<u64> = (0..40_000).filter(|&c| w.key_cycle(c) != c).collect();
        assert!((9_000..11_000).contains(&back.len()), "{}", back.len());
        for &c in &back {
            let k = w.key_cycle(c);
            assert!(k < c && k % 100 == c % 100, "{c} -> {k}");
            let name = hashed_uuid(SALT_KEY_HI, SALT_KEY_LO, k).to_string();
            assert_eq!(w.event(c).event_name, name);
        }
        assert!(
            (0..100).all(|c| w.key_cycle(c) == c),
            "the first round is new"
        );
        assert!("revisit:2".parse::<KeyMode>().is_err());
        assert!("sometimes".parse::<KeyMode>().is_err());
    }

    #[test]
    fn zero_sources_is_refused() {
        let err = Workload::new(WorkloadOptions {
            sources: 0,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "--sources must be at least 1");
    }
}

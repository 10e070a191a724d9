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
//! With unbounded keys `event_name` is the hashed UUID of `c` itself.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::GenError;
use super::hash::{
    hash64, hashed_uuid, SALT_FRANCHISE_HI, SALT_FRANCHISE_LO, SALT_KEY_HI, SALT_KEY_LO,
    SALT_NORMAL, SALT_VALUE, SALT_WORD,
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

/// Where `event_name` comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyMode {
    /// A word of the word list: about 72 names, so about 7,200 keys with 100 sources.
    #[default]
    Bounded,
    /// A UUID hashed from the cycle: every event has a key of its own.
    Unbounded,
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

    /// `event_name` of `cycle` with unbounded keys.
    #[inline]
    pub fn key_uuid(&self, cycle: u64) -> Uuid {
        hashed_uuid(SALT_KEY_HI, SALT_KEY_LO, cycle)
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
            KeyMode::Unbounded => Cow::Owned(self.key_uuid(cycle).hyphenated().to_string()),
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
    fn zero_sources_is_refused() {
        let err = Workload::new(WorkloadOptions {
            sources: 0,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "--sources must be at least 1");
    }
}

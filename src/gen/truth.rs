//! Ground truth: the rollups a correct processor must end with for a cycle range.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::ops::Range;

use uuid::Uuid;

use super::workload::{franchise_uuid, KeyMode, Workload};
use crate::format::Format;

/// Count, sum, min and max of `value` over the events of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyTruth {
    pub count: u64,
    pub sum: i64,
    pub min: i64,
    pub max: i64,
}

impl KeyTruth {
    fn of(value: i64) -> Self {
        Self {
            count: 1,
            sum: value,
            min: value,
            max: value,
        }
    }

    fn record(&mut self, value: i64) {
        self.merge(&Self::of(value));
    }

    fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Expected rollups per `(franchise_id, event_name)`, sorted by franchise_id (which is
/// also the order of its lowercase text), then event_name. In seed format sum, min and
/// max are 0: seed lines carry no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    format: Format,
    rows: BTreeMap<(Uuid, String), KeyTruth>,
}

impl Truth {
    /// Walks `cycles` once; memory grows with the keys, not the cycles.
    pub(crate) fn compute(workload: &Workload, cycles: Range<u64>) -> Self {
        Self::compute_cycles(workload, cycles)
    }

    /// The truth of one source's (franchise's) cycles in `cycles`: a part of
    /// [`Truth::compute`]'s, for comparing one franchise at a time.
    pub(crate) fn compute_source(workload: &Workload, cycles: Range<u64>, source: u64) -> Self {
        let sources = workload.options().sources;
        let start = cycles.start + (source + sources - cycles.start % sources) % sources;
        let strided = (start..cycles.end).step_by(sources.min(usize::MAX as u64) as usize);
        Self::compute_cycles(workload, strided)
    }

    fn compute_cycles(workload: &Workload, cycles: impl Iterator<Item = u64>) -> Self {
        let mut rows = BTreeMap::new();
        match workload.keys() {
            KeyMode::Bounded => {
                // Small integer keys first, names only once per key at the end.
                let mut by_index: HashMap<(u64, usize), KeyTruth, foldhash::fast::RandomState> =
                    HashMap::default();
                for c in cycles {
                    let key = (workload.source(c), workload.word_index(c));
                    let value = workload.value(c);
                    by_index
                        .entry(key)
                        .and_modify(|t| t.record(value))
                        .or_insert_with(|| KeyTruth::of(value));
                }
                for ((source, word), t) in by_index {
                    let key = (franchise_uuid(source), workload.word(word).to_string());
                    merge_into(&mut rows, key, &t);
                }
            }
            KeyMode::Unbounded | KeyMode::Revisit(_) => {
                for c in cycles {
                    let key = (
                        workload.franchise_id(c),
                        workload.key_uuid(c).hyphenated().to_string(),
                    );
                    merge_into(&mut rows, key, &KeyTruth::of(workload.value(c)));
                }
            }
        }
        Self {
            format: workload.format(),
            rows,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Total events over all keys (the length of the range).
    pub fn total_count(&self) -> u64 {
        self.rows.values().map(|t| t.count).sum()
    }

    /// The expected rollup of one key, if it occurs.
    pub fn get(&self, franchise_id: Uuid, event_name: &str) -> Option<&KeyTruth> {
        self.rows.get(&(franchise_id, event_name.to_string()))
    }

    /// All keys in order.
    pub fn iter(&self) -> impl Iterator<Item = (Uuid, &str, &KeyTruth)> {
        self.rows.iter().map(|((f, e), t)| (*f, e.as_str(), t))
    }

    /// Writes `franchise_id,event_name,count` (plus `,sum,min,max` for csv and json),
    /// header first, one row per key in order.
    pub fn write_csv<W: Write>(&self, mut w: W) -> std::io::Result<()> {
        let with_values = self.format.has_time_and_value();
        if with_values {
            w.write_all(b"franchise_id,event_name,count,sum,min,max\n")?;
        } else {
            w.write_all(b"franchise_id,event_name,count\n")?;
        }
        for ((f, e), t) in &self.rows {
            if with_values {
                writeln!(w, "{f},{e},{},{},{},{}", t.count, t.sum, t.min, t.max)?;
            } else {
                writeln!(w, "{f},{e},{}", t.count)?;
            }
        }
        w.flush()
    }
}

fn merge_into(rows: &mut BTreeMap<(Uuid, String), KeyTruth>, key: (Uuid, String), t: &KeyTruth) {
    rows.entry(key).and_modify(|r| r.merge(t)).or_insert(*t);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::workload::WorkloadOptions;

    fn count_lines(w: &Workload, cycles: Range<u64>) -> BTreeMap<(Uuid, String), KeyTruth> {
        let mut rows = BTreeMap::new();
        for c in cycles {
            let e = w.event(c);
            merge_into(
                &mut rows,
                (e.franchise_id, e.event_name.into_owned()),
                &KeyTruth::of(e.value),
            );
        }
        rows
    }

    #[test]
    fn truth_equals_a_count_of_the_events() {
        for format in [Format::Seed, Format::Csv] {
            for keys in [
                KeyMode::Bounded,
                KeyMode::Unbounded,
                KeyMode::Revisit(200_000),
            ] {
                let w = Workload::new(WorkloadOptions {
                    format,
                    keys,
                    ..Default::default()
                })
                .unwrap();
                let truth = w.truth(1000..21_000);
                assert_eq!(truth.rows, count_lines(&w, 1000..21_000));
                assert_eq!(truth.total_count(), 20_000);
                // Source by source, the same rows.
                let mut parts = BTreeMap::new();
                for source in 0..100 {
                    parts.extend(w.source_truth(1003..21_000, source).rows);
                }
                assert_eq!(parts, count_lines(&w, 1003..21_000));
            }
        }
    }

    #[test]
    fn seed_truth_of_a_million_cycles_has_7096_keys() {
        let truth = Workload::default().truth(0..1_000_000);
        // 100 sources × 72 words, less the pairs of the rarest words that never meet.
        assert_eq!(truth.len(), 7096);
        assert_eq!(truth.total_count(), 1_000_000);
    }

    #[test]
    fn csv_header_depends_on_the_format() {
        let mut out = Vec::new();
        Workload::default().truth(0..1).write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("franchise_id,event_name,count"));
        assert!(lines.next().unwrap().ends_with(",1"));

        let csv = Workload::new(WorkloadOptions {
            format: Format::Csv,
            ..Default::default()
        })
        .unwrap();
        let mut out = Vec::new();
        csv.truth(0..3).write_csv(&mut out).unwrap();
        assert!(out.starts_with(b"franchise_id,event_name,count,sum,min,max\n"));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 4);
    }
}

//! Per-partition rates (lines in and committed per second), sampled once a
//! second from the partitions' observable state and written back into it, and
//! the last minutes of their sums (the console's throughput chart); the same
//! pass keeps the `ssa_partitions{state}` gauge current.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use utoipa::ToSchema;

use crate::actors::partition::Lifecycle;
use crate::metrics;
use crate::processor::Processor;

/// One partition's counters at the last sample.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    events_in: u64,
    committed: u64,
}

/// Seconds of throughput history kept (one sample a second).
pub const HISTORY_SECONDS: usize = 600;

/// Lines in and committed per second over all partitions, at one sampling time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Throughput {
    /// Unix time of the sample, in milliseconds.
    pub at_ms: u64,
    pub in_per_second: f64,
    pub committed_per_second: f64,
}

/// The previous sample of each partition, and the history of their rates' sums.
#[derive(Debug, Default)]
pub struct Rates {
    samples: Mutex<HashMap<String, Sample>>,
    history: Mutex<VecDeque<Throughput>>,
}

fn per_second(now: u64, before: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    // Counters restart from a checkpoint after a kill: never report a negative rate.
    now.saturating_sub(before) as f64 / seconds
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

impl Rates {
    /// Takes one sample of every partition, stores its rates in its status and
    /// their sums in the history.
    pub fn sample(&self, processor: &Processor) {
        let now = Instant::now();
        let mut by_state = [0i64; Lifecycle::ALL.len()];
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let partitions = processor.partitions();
        samples.retain(|id, _| partitions.iter().any(|p| &p.id == id));
        let (mut in_sum, mut out_sum) = (0.0, 0.0);
        for p in &partitions {
            let snap = p.status.snapshot();
            by_state[snap.state.index()] += 1;
            let next = Sample {
                at: now,
                events_in: snap.events_in,
                committed: snap.committed_offset,
            };
            let (in_rate, out_rate) = match samples.insert(p.id.clone(), next) {
                Some(prev) => {
                    let secs = now.duration_since(prev.at).as_secs_f64();
                    (
                        per_second(next.events_in, prev.events_in, secs),
                        per_second(next.committed, prev.committed, secs),
                    )
                }
                None => (0.0, 0.0),
            };
            in_sum += in_rate;
            out_sum += out_rate;
            p.status.set_rates(round(in_rate), round(out_rate));
        }
        drop(samples);
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.record(Throughput {
            at_ms,
            in_per_second: round(in_sum),
            committed_per_second: round(out_sum),
        });
        metrics::record_partition_states(by_state);
    }

    fn record(&self, t: Throughput) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.len() == HISTORY_SECONDS {
            history.pop_front();
        }
        history.push_back(t);
    }

    /// The sums of the last `seconds` samples, oldest first.
    pub fn history(&self, seconds: usize) -> Vec<Throughput> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let skip = history.len().saturating_sub(seconds);
        history.iter().skip(skip).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_never_go_negative() {
        assert_eq!(per_second(100, 50, 2.0), 25.0);
        assert_eq!(per_second(10, 50, 1.0), 0.0);
        assert_eq!(per_second(10, 0, 0.0), 0.0);
        assert_eq!(round(12.345), 12.3);
    }

    #[test]
    fn history_keeps_the_last_samples() {
        let rates = Rates::default();
        for i in 0..HISTORY_SECONDS as u64 + 5 {
            rates.record(Throughput {
                at_ms: i,
                in_per_second: 1.0,
                committed_per_second: 0.5,
            });
        }
        let all = rates.history(usize::MAX);
        assert_eq!(all.len(), HISTORY_SECONDS);
        assert_eq!(all[0].at_ms, 5);
        let last = rates.history(3);
        assert_eq!(
            last.iter().map(|t| t.at_ms).collect::<Vec<_>>(),
            [602, 603, 604]
        );
    }
}

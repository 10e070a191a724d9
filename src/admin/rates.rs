//! Per-partition rates (lines in and committed per second), sampled once a
//! second from the partitions' counters, and the last minutes of their sums
//! (the console's throughput chart); the same pass keeps the
//! `ssa_partitions{state}` gauge current.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use utoipa::ToSchema;

use crate::actors::stats::PartitionState;
use crate::metrics;
use crate::processor::Processor;

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    events_in: u64,
    committed: u64,
    in_rate: f64,
    out_rate: f64,
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

/// The latest rates by partition id, and the history of their sums.
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

impl Rates {
    /// Takes one sample of every partition.
    pub fn sample(&self, processor: &Processor) {
        let now = Instant::now();
        let mut by_state = [0i64; 6];
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let partitions = processor.partitions();
        samples.retain(|id, _| partitions.iter().any(|p| &p.id == id));
        let (mut in_sum, mut out_sum) = (0.0, 0.0);
        for p in &partitions {
            let snap = p.stats.snapshot();
            by_state[state_index(snap.state)] += 1;
            let next = match samples.get(&p.id) {
                Some(prev) => {
                    let secs = now.duration_since(prev.at).as_secs_f64();
                    Sample {
                        at: now,
                        events_in: snap.events_in,
                        committed: snap.committed_offset,
                        in_rate: per_second(snap.events_in, prev.events_in, secs),
                        out_rate: per_second(snap.committed_offset, prev.committed, secs),
                    }
                }
                None => Sample {
                    at: now,
                    events_in: snap.events_in,
                    committed: snap.committed_offset,
                    in_rate: 0.0,
                    out_rate: 0.0,
                },
            };
            in_sum += next.in_rate;
            out_sum += next.out_rate;
            samples.insert(p.id.clone(), next);
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
        for (i, state) in metrics::PARTITION_STATES.iter().enumerate() {
            metrics::PARTITIONS
                .with_label_values(&[state])
                .set(by_state[i]);
        }
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

    /// Lines per second in and committed, over the last sampling period.
    pub fn get(&self, id: &str) -> (f64, f64) {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|s| (round(s.in_rate), round(s.out_rate)))
            .unwrap_or((0.0, 0.0))
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The position of a state in [`metrics::PARTITION_STATES`].
fn state_index(s: PartitionState) -> usize {
    match s {
        PartitionState::Starting => 0,
        PartitionState::Running => 1,
        PartitionState::Backpressured => 2,
        PartitionState::Restarting => 3,
        PartitionState::Finished => 4,
        PartitionState::Stopped => 5,
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

    #[test]
    fn state_labels_line_up() {
        use PartitionState::*;
        for (s, label) in [
            (Starting, "starting"),
            (Running, "running"),
            (Backpressured, "backpressured"),
            (Restarting, "restarting"),
            (Finished, "finished"),
            (Stopped, "stopped"),
        ] {
            assert_eq!(metrics::PARTITION_STATES[state_index(s)], label);
        }
    }
}

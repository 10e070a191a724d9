//! Per-partition rates (lines in and committed per second), sampled once a
//! second from the partitions' counters; the same pass keeps the
//! `ssa_partitions{state}` gauge current.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

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

/// The latest rates by partition id.
#[derive(Debug, Default)]
pub struct Rates {
    samples: Mutex<HashMap<String, Sample>>,
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
            samples.insert(p.id.clone(), next);
        }
        for (i, state) in metrics::PARTITION_STATES.iter().enumerate() {
            metrics::PARTITIONS
                .with_label_values(&[state])
                .set(by_state[i]);
        }
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

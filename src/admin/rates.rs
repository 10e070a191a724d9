//! Per-partition rates (lines in and committed per second), sampled once a
//! second from the partitions' observable state and written back into it; the
//! same pass keeps the `ssa_partitions{state}` gauge current.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

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

/// The previous sample of each partition.
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

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

impl Rates {
    /// Takes one sample of every partition and stores its rates in its status.
    pub fn sample(&self, processor: &Processor) {
        let now = Instant::now();
        let mut by_state = [0i64; Lifecycle::ALL.len()];
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let partitions = processor.partitions();
        samples.retain(|id, _| partitions.iter().any(|p| &p.id == id));
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
            p.status.set_rates(round(in_rate), round(out_rate));
        }
        metrics::record_partition_states(by_state);
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
}

//! Chaos mode: kills a random actor (a partition, the sink or the checkpoint
//! actor) at a set pace until stopped. Supervisors restart every victim, and the
//! run must stay exact; the choice of victims is a pure function of the seed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::error::ApiError;
use super::model::{ChaosRequest, ChaosStatus};
use crate::actors::checkpoint::KillCheckpoint;
use crate::actors::partition::KillPartition;
use crate::actors::sink::KillSink;
use crate::actors::supervision::ChaosTarget;
use crate::metrics;
use crate::processor::Processor;
const MIN_INTERVAL_MS: u64 = 10;
const MAX_INTERVAL_MS: u64 = 3_600_000;

/// SplitMix64: a tiny generator with a fixed, documented sequence, so a seed
/// replays the same choices on every build (no `rand` version can change it).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// A validated chaos request.
#[derive(Debug, Clone)]
pub struct ChaosSpec {
    pub interval: Duration,
    pub targets: Vec<ChaosTarget>,
    pub seed: u64,
}

impl ChaosSpec {
    pub fn from_request(req: ChaosRequest) -> Result<Self, ApiError> {
        if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&req.interval_ms) {
            return Err(ApiError::field(
                "interval_ms",
                format!(
                    "{} is out of range {MIN_INTERVAL_MS}..={MAX_INTERVAL_MS}",
                    req.interval_ms
                ),
            ));
        }
        let mut targets = req.targets.unwrap_or_else(|| ChaosTarget::ALL.to_vec());
        targets.dedup();
        if targets.is_empty() {
            return Err(ApiError::field(
                "targets",
                "name at least one of partition, sink, checkpoint",
            ));
        }
        let seed = req.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        Ok(ChaosSpec {
            interval: Duration::from_millis(req.interval_ms),
            targets,
            seed,
        })
    }
}

/// One chaos run: its spec and what it has done.
struct Run {
    spec: ChaosSpec,
    running: AtomicBool,
    kills: [AtomicU64; ChaosTarget::ALL.len()],
    last_kill: Mutex<Option<String>>,
    cancel: CancellationToken,
    /// Cancelled once the kill loop has ended: no kill comes after it.
    ended: CancellationToken,
}

impl Run {
    fn status(&self) -> ChaosStatus {
        ChaosStatus {
            running: self.running.load(Relaxed),
            interval_ms: self.spec.interval.as_millis() as u64,
            targets: self.spec.targets.clone(),
            seed: self.spec.seed,
            kills: ChaosTarget::ALL
                .iter()
                .zip(&self.kills)
                .map(|(t, n)| (t.as_str().to_string(), n.load(Relaxed)))
                .collect::<BTreeMap<_, _>>(),
            last_kill: self
                .last_kill
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// Chaos mode: at most one run at a time; the last run stays readable.
#[derive(Default)]
pub struct Chaos {
    current: Mutex<Option<Arc<Run>>>,
}

impl Chaos {
    /// Starts a run on the I/O runtime; 409 while one is running.
    pub fn start(
        &self,
        processor: Arc<Processor>,
        spec: ChaosSpec,
    ) -> Result<ChaosStatus, ApiError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(run) = current.as_ref() {
            if run.running.load(Relaxed) {
                return Err(ApiError::Conflict {
                    code: "chaos_running",
                    message: "chaos mode is already running; DELETE /chaos first".into(),
                });
            }
        }
        let run = Arc::new(Run {
            spec,
            running: AtomicBool::new(true),
            kills: Default::default(),
            last_kill: Mutex::new(None),
            cancel: CancellationToken::new(),
            ended: CancellationToken::new(),
        });
        tracing::warn!(
            interval_ms = run.spec.interval.as_millis() as u64,
            targets = ?run.spec.targets,
            seed = run.spec.seed,
            "chaos mode started"
        );
        processor
            .io
            .clone()
            .spawn(kill_loop(processor, run.clone()));
        *current = Some(run.clone());
        Ok(run.status())
    }

    /// Stops the running run and answers once its last kill is counted; 409 when
    /// none is running.
    pub async fn stop(&self) -> Result<ChaosStatus, ApiError> {
        let run = self.cancel().ok_or_else(|| ApiError::Conflict {
            code: "chaos_not_running",
            message: "chaos mode is not running".into(),
        })?;
        run.ended.cancelled().await;
        Ok(run.status())
    }

    /// Cancels the running run, if any, and returns it.
    fn cancel(&self) -> Option<Arc<Run>> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let run = current.as_ref().filter(|r| r.running.load(Relaxed))?;
        run.cancel.cancel();
        run.running.store(false, Relaxed);
        tracing::warn!("chaos mode stopped");
        Some(run.clone())
    }

    /// The current or last run; an idle status when there was none.
    pub fn status(&self) -> ChaosStatus {
        match self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(run) => run.status(),
            None => ChaosStatus {
                running: false,
                interval_ms: 0,
                targets: Vec::new(),
                seed: 0,
                kills: ChaosTarget::ALL
                    .iter()
                    .map(|t| (t.as_str().to_string(), 0))
                    .collect(),
                last_kill: None,
            },
        }
    }

    /// Stops any run (when the server shuts down).
    pub fn shutdown(&self) {
        let _ = self.cancel();
    }
}

async fn kill_loop(processor: Arc<Processor>, run: Arc<Run>) {
    let _ended = run.ended.clone().drop_guard();
    let mut rng = SplitMix64::new(run.spec.seed);
    loop {
        tokio::select! {
            _ = run.cancel.cancelled() => return,
            _ = tokio::time::sleep(run.spec.interval) => {}
        }
        if processor.is_draining() {
            tracing::info!("chaos mode ends: the processor is stopping");
            run.running.store(false, Relaxed);
            return;
        }
        let target = run.spec.targets[rng.below(run.spec.targets.len())];
        let victim = match target {
            ChaosTarget::Partition => {
                let partitions = processor.partitions();
                if partitions.is_empty() {
                    continue;
                }
                let p = &partitions[rng.below(partitions.len())];
                p.addr.do_send(KillPartition);
                format!("partition {}", p.id)
            }
            ChaosTarget::Sink => {
                processor.sink.do_send(KillSink);
                "sink".to_string()
            }
            ChaosTarget::Checkpoint => {
                processor.checkpoint.do_send(KillCheckpoint);
                "checkpoint".to_string()
            }
        };
        run.kills[target.index()].fetch_add(1, Relaxed);
        metrics::record_chaos_kill(target);
        tracing::info!(victim = %victim, "chaos: killed");
        *run.last_kill.lock().unwrap_or_else(|e| e.into_inner()) = Some(victim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_sequence_is_fixed() {
        // Reference values of SplitMix64 seeded with 1234567.
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        let mut r = SplitMix64::new(7);
        for _ in 0..1000 {
            assert!(r.below(3) < 3);
        }
    }

    #[test]
    fn requests_are_validated() {
        let req = |interval_ms, targets| ChaosRequest {
            interval_ms,
            targets,
            seed: Some(1),
        };
        let err = ChaosSpec::from_request(req(1, None)).unwrap_err();
        assert!(matches!(err, ApiError::InvalidField { ref field, .. } if field == "interval_ms"));
        let err = ChaosSpec::from_request(req(100, Some(vec![]))).unwrap_err();
        assert!(matches!(err, ApiError::InvalidField { ref field, .. } if field == "targets"));
        let spec = ChaosSpec::from_request(req(100, None)).unwrap();
        assert_eq!(spec.targets.len(), 3);
        assert_eq!(spec.seed, 1);
    }
}

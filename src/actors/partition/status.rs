//! What a partition is doing, readable from any thread: the one observable state
//! of a partition. Its actor writes it (and the Prometheus series with it); the
//! admin API, the `ssa_partitions` gauge, `ssa demo`'s status line and the tests
//! all read the same [`PartitionSnapshot`], and waiters are woken on every change
//! of phase.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use super::meters::Meters;
use super::phase::Phase;
use crate::actors::supervision::RestartCause;
use crate::config::{PartitionConfig, SourceMode};
use crate::format::Format;

/// The lifecycle of a partition as the outside sees it (the API's `state`, the
/// `state` label of `ssa_partitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = StateView)]
pub enum Lifecycle {
    Starting,
    Running,
    Backpressured,
    Restarting,
    Finished,
    Stopped,
    /// No snapshot chain of the partition decodes: stopped until reset.
    Corrupt,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 7] = [
        Lifecycle::Starting,
        Lifecycle::Running,
        Lifecycle::Backpressured,
        Lifecycle::Restarting,
        Lifecycle::Finished,
        Lifecycle::Stopped,
        Lifecycle::Corrupt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Starting => "starting",
            Lifecycle::Running => "running",
            Lifecycle::Backpressured => "backpressured",
            Lifecycle::Restarting => "restarting",
            Lifecycle::Finished => "finished",
            Lifecycle::Stopped => "stopped",
            Lifecycle::Corrupt => "corrupt",
        }
    }

    /// Its position in [`Lifecycle::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What waiters are woken for: the actor's phase, whether it holds back reading
/// for uncommitted epochs, and its last committed epoch (once per epoch, never
/// per event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub phase: Phase,
    pub backpressured: bool,
    pub committed_epoch: u64,
}

impl Observed {
    pub fn lifecycle(self) -> Lifecycle {
        self.phase.lifecycle(self.backpressured)
    }
}

/// The live state of one partition: atomics and a watch, written by its actor only.
#[derive(Debug)]
pub struct PartitionStatus {
    pub id: String,
    pub source: String,
    pub mode: SourceMode,
    pub format: Format,
    observed: watch::Sender<Observed>,
    /// Bumped on every change of any partition's phase (shared by the processor).
    changes: Arc<watch::Sender<u64>>,
    offset: AtomicU64,
    committed_offset: AtomicU64,
    committed_epoch: AtomicU64,
    inflight_epochs: AtomicU64,
    events_in: AtomicU64,
    bad_lines: AtomicU64,
    lost_events: AtomicU64,
    corrupt_checkpoints: AtomicU64,
    /// Why the partition is `corrupt`, while it is.
    problem: std::sync::Mutex<Option<String>>,
    restarts: [AtomicU64; RestartCause::ALL.len()],
    /// Lines the source holds for this partition in all, when known.
    expected_lines: AtomicU64,
    /// How long the last restart took until the partition read again.
    resumed_after_restart_ms: AtomicU64,
    /// Lines per second in and committed (`f64` bits), sampled by the admin server.
    rates: [AtomicU64; 2],
    pub(super) meters: Meters,
}

/// A serializable copy of a [`PartitionStatus`]: `GET /partitions/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PartitionView)]
pub struct PartitionSnapshot {
    #[schema(example = "p0")]
    pub id: String,
    #[schema(example = "tcp://127.0.0.1:7000")]
    pub source: String,
    pub mode: SourceMode,
    pub format: Format,
    pub state: Lifecycle,
    /// Lines taken from the source (the next offset to read).
    pub offset: u64,
    /// Lines per second taken from the source, over the last second.
    pub events_per_second: f64,
    /// Lines per second committed, over the last second.
    pub committed_per_second: f64,
    /// Lines the source still holds for this partition, when known.
    pub lag: Option<u64>,
    pub committed_offset: u64,
    /// The last committed epoch (0 before the first commit).
    pub last_committed_epoch: u64,
    /// Sealed epochs not yet committed.
    pub uncommitted_epochs: u64,
    /// Seconds the partition stopped reading because too many epochs were
    /// uncommitted (added when each stretch of backpressure ends).
    pub backpressure_seconds: f64,
    /// Lines taken from the source since the process started (bad ones included).
    pub events_in: u64,
    /// Bad lines skipped since the process started (dead-lettered, see `reason`s in
    /// `ssa_malformed_lines_total`).
    pub bad_lines: u64,
    /// Events lost on restart (shared sources only): those of uncommitted epochs,
    /// and those of committed epochs whose snapshots were found damaged.
    pub lost_events: u64,
    /// Restores that found the newest snapshot chain damaged (fell back to an
    /// older chain, or found none and stopped as `corrupt`).
    pub corrupt_checkpoints: u64,
    /// Why the partition is `corrupt`, while it is.
    pub problem: Option<String>,
    pub restarts: u64,
    /// Restarts by cause: killed, connection, restore.
    pub restarts_by_cause: BTreeMap<String, u64>,
}

impl PartitionStatus {
    /// A partition about to start; `changes` is bumped on each of its phase changes.
    pub fn new(config: &PartitionConfig, changes: Arc<watch::Sender<u64>>) -> Self {
        PartitionStatus {
            id: config.id.clone(),
            source: config.source.clone(),
            mode: config.mode,
            format: config.format,
            observed: watch::Sender::new(Observed {
                phase: Phase::initial(),
                backpressured: false,
                committed_epoch: 0,
            }),
            changes,
            offset: AtomicU64::new(0),
            committed_offset: AtomicU64::new(0),
            committed_epoch: AtomicU64::new(0),
            inflight_epochs: AtomicU64::new(0),
            events_in: AtomicU64::new(0),
            bad_lines: AtomicU64::new(0),
            lost_events: AtomicU64::new(0),
            corrupt_checkpoints: AtomicU64::new(0),
            problem: std::sync::Mutex::new(None),
            restarts: Default::default(),
            expected_lines: AtomicU64::new(u64::MAX),
            resumed_after_restart_ms: AtomicU64::new(0),
            rates: Default::default(),
            meters: Meters::new(&config.id),
        }
    }

    // ---- read by anyone --------------------------------------------------------

    pub fn observed(&self) -> Observed {
        *self.observed.borrow()
    }

    pub fn lifecycle(&self) -> Lifecycle {
        self.observed().lifecycle()
    }

    pub fn phase(&self) -> Phase {
        self.observed().phase
    }

    /// Whether every line the source holds has been committed.
    pub fn is_finished(&self) -> bool {
        self.lifecycle() == Lifecycle::Finished
    }

    /// Resolves once `done` holds for the observed state (at once if it holds now).
    pub async fn wait_until(&self, done: impl FnMut(&Observed) -> bool) {
        let mut rx = self.observed.subscribe();
        // The sender lives as long as `self`: `wait_for` cannot fail here.
        let _ = rx.wait_for(done).await;
    }

    pub fn offset(&self) -> u64 {
        self.offset.load(Relaxed)
    }

    pub fn committed_offset(&self) -> u64 {
        self.committed_offset.load(Relaxed)
    }

    fn problem(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.problem.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Restores that found the newest snapshot chain damaged.
    pub fn corrupt_checkpoints(&self) -> u64 {
        self.corrupt_checkpoints.load(Relaxed)
    }

    pub fn restarts(&self) -> u64 {
        self.restarts.iter().map(|r| r.load(Relaxed)).sum()
    }

    pub fn restarts_of(&self, cause: RestartCause) -> u64 {
        self.restarts[cause.index()].load(Relaxed)
    }

    pub fn resumed_after_restart_ms(&self) -> u64 {
        self.resumed_after_restart_ms.load(Relaxed)
    }

    /// Lines the source holds for this partition in all, when known.
    pub fn expected_lines(&self) -> Option<u64> {
        Some(self.expected_lines.load(Relaxed)).filter(|n| *n != u64::MAX)
    }

    pub fn snapshot(&self) -> PartitionSnapshot {
        let offset = self.offset();
        let [events_per_second, committed_per_second] = self
            .rates
            .each_ref()
            .map(|r| f64::from_bits(r.load(Relaxed)));
        PartitionSnapshot {
            id: self.id.clone(),
            source: self.source.clone(),
            mode: self.mode,
            format: self.format,
            state: self.lifecycle(),
            offset,
            events_per_second,
            committed_per_second,
            lag: self.expected_lines().map(|e| e.saturating_sub(offset)),
            committed_offset: self.committed_offset(),
            last_committed_epoch: self.committed_epoch.load(Relaxed),
            uncommitted_epochs: self.inflight_epochs.load(Relaxed),
            backpressure_seconds: (self.meters.backpressure.get() * 1000.0).round() / 1000.0,
            events_in: self.events_in.load(Relaxed),
            bad_lines: self.bad_lines.load(Relaxed),
            lost_events: self.lost_events.load(Relaxed),
            corrupt_checkpoints: self.corrupt_checkpoints.load(Relaxed),
            problem: self.problem().clone(),
            restarts: self.restarts(),
            restarts_by_cause: RestartCause::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), self.restarts_of(*c)))
                .collect(),
        }
    }

    // ---- written by others than the actor ---------------------------------------

    /// How many lines the source holds for this partition in all: an early end of
    /// the source is then a lost connection, and lag is known.
    pub fn expect_lines(&self, lines: u64) {
        self.expected_lines.store(lines, Relaxed);
    }

    /// The latest sampled rates (lines per second in and committed).
    pub fn set_rates(&self, in_rate: f64, committed_rate: f64) {
        self.rates[0].store(in_rate.to_bits(), Relaxed);
        self.rates[1].store(committed_rate.to_bits(), Relaxed);
    }

    // ---- written by the partition actor ------------------------------------------

    /// A new phase, backpressure or commit: wakes every waiter.
    pub(super) fn observe(&self, now: Observed) {
        let changed = self.observed.send_if_modified(|o| {
            let changed = *o != now;
            *o = now;
            changed
        });
        if changed {
            self.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A chunk was read: the next offset, lines taken, bad lines among them.
    #[inline]
    pub(super) fn record_read(&self, offset: u64, taken: u64, bad: u64) {
        self.meters.events_in.inc_by(taken);
        self.meters.offset.set(offset as i64);
        self.offset.store(offset, Relaxed);
        self.events_in.fetch_add(taken, Relaxed);
        if bad > 0 {
            self.bad_lines.fetch_add(bad, Relaxed);
        }
        if let Some(expected) = self.expected_lines() {
            self.meters.lag.set(expected.saturating_sub(offset) as i64);
        }
    }

    /// The committed position, after a restore or a commit.
    pub(super) fn record_position(&self, epoch: u64, offset: u64) {
        self.committed_epoch.store(epoch, Relaxed);
        self.committed_offset.store(offset, Relaxed);
        self.meters.committed_offset.set(offset as i64);
    }

    /// After a restore: reading resumes at `offset`.
    pub(super) fn record_restored(&self, epoch: u64, offset: u64) {
        self.record_position(epoch, offset);
        self.offset.store(offset, Relaxed);
    }

    pub(super) fn record_inflight(&self, epochs: usize) {
        self.inflight_epochs.store(epochs as u64, Relaxed);
        self.meters.inflight.set(epochs as i64);
    }

    pub(super) fn record_restart(&self, cause: RestartCause) {
        self.restarts[cause.index()].fetch_add(1, Relaxed);
        crate::metrics::record_restart(crate::actors::supervision::ActorKind::Partition, cause);
    }

    pub(super) fn record_lost(&self, events: u64) {
        self.meters.lost.inc_by(events);
        self.lost_events.fetch_add(events, Relaxed);
    }

    /// A restore found the newest snapshot chain damaged.
    pub(super) fn record_corrupt(&self) {
        self.meters.corrupt.inc();
        self.corrupt_checkpoints.fetch_add(1, Relaxed);
    }

    /// Why the partition is `corrupt` (`None` once it is not).
    pub(super) fn set_problem(&self, problem: Option<String>) {
        *self.problem() = problem;
    }

    pub(super) fn record_resumed_after(&self, ms: u64) {
        self.resumed_after_restart_ms.store(ms, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_serialized_names() {
        for (i, s) in Lifecycle::ALL.iter().enumerate() {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.index(), i);
        }
    }
}

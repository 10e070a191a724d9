//! What a partition is doing, readable from any thread: the admin API, `ssa demo`'s
//! status line and the tests all read this same snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};

use prometheus::Counter;
use serde::Serialize;

use super::supervision::RestartCause;
use crate::metrics;

/// Lifecycle of a partition actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionState {
    Starting,
    Running,
    Backpressured,
    Restarting,
    Finished,
    Stopped,
}

impl PartitionState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => PartitionState::Starting,
            1 => PartitionState::Running,
            2 => PartitionState::Backpressured,
            3 => PartitionState::Restarting,
            4 => PartitionState::Finished,
            _ => PartitionState::Stopped,
        }
    }
}

/// Shared counters of one partition (atomics; written by its actor only).
#[derive(Debug)]
pub struct PartitionStats {
    pub id: String,
    pub source: String,
    state: AtomicU8,
    pub offset: AtomicU64,
    pub committed_offset: AtomicU64,
    pub committed_epoch: AtomicU64,
    pub inflight_epochs: AtomicU64,
    pub events_in: AtomicU64,
    pub bad_lines: AtomicU64,
    pub lost_events: AtomicU64,
    restarts: [AtomicU64; 3],
    /// Lines the source holds for this partition in all, when known.
    pub expected_lines: AtomicU64,
    pub source_done: AtomicBool,
    pub last_restart_ms: AtomicU64,
    pub resumed_after_restart_ms: AtomicU64,
    /// Time spent not reading because of backpressure: the partition's series of
    /// `ssa_backpressure_seconds_total`, which its actor adds to.
    backpressure: Counter,
}

/// A serializable copy of [`PartitionStats`].
#[derive(Debug, Clone, Serialize)]
pub struct PartitionSnapshot {
    pub id: String,
    pub source: String,
    pub state: PartitionState,
    pub offset: u64,
    pub committed_offset: u64,
    pub committed_epoch: u64,
    pub uncommitted_epochs: u64,
    pub events_in: u64,
    pub bad_lines: u64,
    pub lost_events: u64,
    pub restarts: u64,
    pub restarts_by_cause: std::collections::BTreeMap<&'static str, u64>,
    pub lag: Option<u64>,
    pub backpressure_seconds: f64,
}

impl PartitionStats {
    pub fn new(id: &str, source: &str) -> Self {
        PartitionStats {
            id: id.to_string(),
            source: source.to_string(),
            state: AtomicU8::new(0),
            offset: AtomicU64::new(0),
            committed_offset: AtomicU64::new(0),
            committed_epoch: AtomicU64::new(0),
            inflight_epochs: AtomicU64::new(0),
            events_in: AtomicU64::new(0),
            bad_lines: AtomicU64::new(0),
            lost_events: AtomicU64::new(0),
            restarts: Default::default(),
            expected_lines: AtomicU64::new(u64::MAX),
            source_done: AtomicBool::new(false),
            last_restart_ms: AtomicU64::new(0),
            resumed_after_restart_ms: AtomicU64::new(0),
            backpressure: metrics::BACKPRESSURE_SECONDS.with_label_values(&[id]),
        }
    }

    pub fn set_state(&self, s: PartitionState) {
        self.state.store(s as u8, Relaxed);
    }

    pub fn state(&self) -> PartitionState {
        PartitionState::from_u8(self.state.load(Relaxed))
    }

    pub fn count_restart(&self, cause: RestartCause) {
        let i = RestartCause::ALL
            .iter()
            .position(|c| *c == cause)
            .unwrap_or(0);
        self.restarts[i].fetch_add(1, Relaxed);
    }

    pub fn restarts(&self) -> u64 {
        self.restarts.iter().map(|r| r.load(Relaxed)).sum()
    }

    pub fn restarts_of(&self, cause: RestartCause) -> u64 {
        let i = RestartCause::ALL
            .iter()
            .position(|c| *c == cause)
            .unwrap_or(0);
        self.restarts[i].load(Relaxed)
    }

    /// Whether every line the source holds has been committed.
    pub fn is_finished(&self) -> bool {
        self.state() == PartitionState::Finished
    }

    pub fn snapshot(&self) -> PartitionSnapshot {
        let expected = self.expected_lines.load(Relaxed);
        let offset = self.offset.load(Relaxed);
        PartitionSnapshot {
            id: self.id.clone(),
            source: self.source.clone(),
            state: self.state(),
            offset,
            committed_offset: self.committed_offset.load(Relaxed),
            committed_epoch: self.committed_epoch.load(Relaxed),
            uncommitted_epochs: self.inflight_epochs.load(Relaxed),
            events_in: self.events_in.load(Relaxed),
            bad_lines: self.bad_lines.load(Relaxed),
            lost_events: self.lost_events.load(Relaxed),
            restarts: self.restarts(),
            restarts_by_cause: RestartCause::ALL
                .iter()
                .map(|c| (c.as_str(), self.restarts_of(*c)))
                .collect(),
            lag: (expected != u64::MAX).then(|| expected.saturating_sub(offset)),
            backpressure_seconds: self.backpressure.get(),
        }
    }
}

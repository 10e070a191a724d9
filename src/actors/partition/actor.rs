//! The partition actor's actix shell: its fields, its supervision hooks and its
//! stream handler. The work is in the sibling modules, one concern each.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tokio::net::TcpListener;

use super::error::PartitionError;
use super::idle::IdleWatch;
use super::incarnation::Incarnation;
use super::phase::{Phase, Resume as ResumePoint};
use super::status::{Observed, PartitionStatus};
use super::PartitionDeps;
use crate::actors::backoff::Backoff;
use crate::cluster::Fence;
use crate::config::{PartitionConfig, ProcessorConfig, SinkKind, SourceAddr, SourceMode};
use crate::core::{ChunkCodecError, CompactionPolicy, Frame, StateOptions};

/// The first retry of an epoch write or checkpoint comes after this long.
const RETRY_MIN: std::time::Duration = std::time::Duration::from_millis(20);

/// The committed position of a partition: its last committed epoch and offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Position {
    pub epoch: u64,
    pub offset: u64,
}

/// One source connection and that partition's state, under an `actix::Supervisor`.
pub struct PartitionActor {
    pub(super) cfg: PartitionConfig,
    pub(super) proc: ProcessorConfig,
    /// The partition's index in the merger, stable for the process's life.
    pub(super) index: u16,
    pub(super) id: Arc<str>,
    pub(super) source: Result<SourceAddr, String>,
    pub(super) deps: PartitionDeps,
    pub(super) status: Arc<PartitionStatus>,
    pub(super) restart_backoff: Backoff,
    pub(super) retry_backoff: Backoff,
    pub(super) compaction: CompactionPolicy,
    /// `listen://` only: kept across restarts for the next producer.
    pub(super) listener: Option<Arc<TcpListener>>,
    /// `listen://` only: when the producer last sent lines.
    pub(super) idle: IdleWatch,
    pub(super) phase: Phase,
    pub(super) committed: Position,
    /// Dead letters kept so far (capped per partition, across restarts).
    pub(super) dead_letters_kept: u64,
    pub(super) consecutive_failures: u32,
    pub(super) restarted_at: Option<Instant>,
    /// Counts incarnations; a reply meant for an earlier one is ignored.
    pub(super) generation: u64,
    /// The incarnation ends to drop what a stopped partition holds (before a
    /// reset), not because it failed: not a restart.
    pub(super) unloading: bool,
    /// Cluster mode: its lease. It seals and commits only under it, and stays
    /// stopped until the lease is taken.
    pub(super) fence: Option<Arc<Fence>>,
    pub(super) life: Incarnation,
}

impl PartitionActor {
    pub fn new(
        cfg: PartitionConfig,
        proc: ProcessorConfig,
        index: u16,
        deps: PartitionDeps,
        status: Arc<PartitionStatus>,
    ) -> Self {
        let fence = deps.cluster.as_ref().and_then(|c| c.fence(&cfg.id));
        // Cluster mode: stopped with nothing loaded until its lease is taken.
        let phase = match deps.cluster {
            None => Phase::initial(),
            Some(_) => Phase::Stopped(ResumePoint::Restore),
        };
        PartitionActor {
            fence,
            id: Arc::from(cfg.id.as_str()),
            source: SourceAddr::parse(&cfg.source),
            idle: IdleWatch::new(proc.listen_idle_timeout),
            restart_backoff: Backoff::new(proc.restart_backoff_min, proc.restart_backoff_max),
            retry_backoff: Backoff::new(RETRY_MIN, proc.retry_backoff_max),
            compaction: CompactionPolicy {
                every_n_deltas: proc.checkpoint_compact_every,
            },
            cfg,
            proc,
            index,
            deps,
            status,
            listener: None,
            phase,
            committed: Position::default(),
            dead_letters_kept: 0,
            consecutive_failures: 0,
            restarted_at: None,
            generation: 0,
            unloading: false,
            life: Incarnation::default(),
        }
    }

    pub(super) fn state_options(&self) -> StateOptions {
        StateOptions {
            keep_raw: self.proc.sink == SinkKind::Cassandra && self.proc.raw_events,
            bucket_horizon_minutes: Some((self.proc.minute_horizon.as_secs() / 60).max(1) as u32),
        }
    }

    pub(super) fn listens(&self) -> bool {
        matches!(self.source, Ok(SourceAddr::Listen(_)))
    }

    pub(super) fn replayable(&self) -> bool {
        self.cfg.mode == SourceMode::Replayable
    }

    /// Moves to `phase` and shows it.
    pub(super) fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.publish();
    }

    /// Shows the phase, the backpressure and the last commit to the outside.
    pub(super) fn publish(&self) {
        self.status.observe(Observed {
            phase: self.phase,
            backpressured: self.life.backpressured_since.is_some(),
            committed_epoch: self.committed.epoch,
        });
    }

    /// Records why the actor stops and stops it; the supervisor restarts it.
    pub(super) fn fail(&mut self, ctx: &mut Context<Self>, error: PartitionError) {
        if self.life.cause.is_some() {
            return;
        }
        let cause = error.cause();
        tracing::warn!(partition = %self.id, cause = cause.as_str(), error = %error, "partition actor stops");
        if cause != crate::actors::supervision::RestartCause::Killed {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        }
        self.life.cause = Some(cause);
        ctx.stop();
    }
}

impl Actor for PartitionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.publish();
        if !matches!(self.phase, Phase::Restoring(_)) {
            // Stopped, refused or retired: nothing to load until resumed.
            return;
        }
        ctx.set_mailbox_capacity(64);
        let delay = self.restart_backoff.delay(self.consecutive_failures);
        if delay.is_zero() {
            self.restore(ctx);
        } else {
            ctx.run_later(delay, |act, ctx| act.restore(ctx));
        }
    }
}

impl Supervised for PartitionActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        let ended = std::mem::take(&mut self.life);
        let cause = ended
            .cause
            .unwrap_or(crate::actors::supervision::RestartCause::Connection);
        let unloading = std::mem::take(&mut self.unloading);
        if self.phase != Phase::Retired && !unloading {
            self.status.record_restart(cause);
        }
        if self.cfg.mode == SourceMode::Shared && !unloading {
            // Lines read past the committed offset are gone with the connection.
            let read = ended
                .state
                .as_ref()
                .map_or(self.committed.offset, |s| s.offset());
            self.status
                .record_lost(read.saturating_sub(self.committed.offset));
        }
        if let Some(since) = ended.backpressured_since {
            self.status
                .meters
                .backpressure
                .inc_by(since.elapsed().as_secs_f64());
        }
        // Dropping the incarnation cancels its writes and repair.
        drop(ended);
        self.status.record_inflight(0);
        self.restarted_at = Some(Instant::now());
        self.generation += 1;
        self.enter(self.phase.restarted());
    }
}

impl StreamHandler<Result<Frame, ChunkCodecError>> for PartitionActor {
    fn handle(&mut self, item: Result<Frame, ChunkCodecError>, ctx: &mut Self::Context) {
        match item {
            Ok(frame) => {
                self.idle.touch();
                if self.life.reloading.is_some() || !self.life.pending.is_empty() {
                    // Counted in order once the keys before it are reloaded.
                    self.life.pending.push_back(frame);
                    return;
                }
                if self.ingest(frame) {
                    self.start_reload(ctx);
                }
                let full = self
                    .life
                    .state
                    .as_ref()
                    .is_some_and(|s| s.epoch_events() >= self.deps.tuning.max_epoch_events());
                if full {
                    self.seal(ctx);
                }
                self.check_budget(ctx);
            }
            // A pushing producer's connection failed or was cut (garbage without
            // newlines): the stream ends next, and `finished` commits what it sent.
            Err(e) if self.listens() => {
                tracing::warn!(partition = %self.id, error = %e, "producer connection ends");
            }
            Err(e) => self.fail(ctx, PartitionError::Read(e)),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        if self.life.cause.is_some() {
            return;
        }
        if self.life.reloading.is_some() || !self.life.pending.is_empty() {
            // Ends once what was read is counted.
            self.life.ended = true;
            return;
        }
        self.source_ended(ctx);
    }
}

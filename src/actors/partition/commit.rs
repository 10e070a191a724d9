//! An epoch's way from seal to commit: seal (every flush interval or at
//! `max_epoch_events`) → write its rows (sink actor) → persist its snapshot
//! (checkpoint actor) → committed, in epoch order, with retries; and the
//! backpressure that stops reading while too many epochs are uncommitted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::actor::{PartitionActor, Position};
use super::error::PartitionError;
use super::incarnation::Sealed;
use crate::actors::checkpoint::Persist;
use crate::actors::merger::{Applied, Committed};
use crate::actors::sink::WriteEpoch;
use crate::core::{self, SnapshotKind};
use crate::sink::{write_timestamp, EpochWrite};

impl PartitionActor {
    /// This partition's offset of its first seal within one flush interval.
    pub(super) fn seal_phase(&self, interval: Duration) -> Duration {
        interval.mul_f64(f64::from(self.cfg.index % 8) / 8.0 + f64::from(self.index % 7) / 56.0)
    }

    /// (Re)arms the seal timer: the first seal after `first`, then one every
    /// flush interval as it is at that time (it may change live).
    pub(super) fn schedule_seal(&mut self, ctx: &mut Context<Self>, first: Duration) {
        if let Some(timer) = self.life.seal_timer.take() {
            ctx.cancel_future(timer);
        }
        self.life.seal_timer = Some(ctx.run_later(first, |act, ctx| {
            act.life.seal_timer = None;
            act.seal(ctx);
            // Held over the budget: looked at again every flush interval.
            act.evict_if_over_budget();
            let every = act.deps.tuning.flush_interval();
            act.schedule_seal(ctx, every);
        }));
    }

    /// Closes the open epoch, if it holds anything, and starts writing it.
    pub(super) fn seal(&mut self, ctx: &mut Context<Self>) {
        // Cluster mode: stamped before the lease's end, or not sealed (yet); the
        // socket stays closed while the lease is lapsed.
        let timestamp = write_timestamp();
        let allowed = self.may_write(timestamp);
        if self.fence.is_some() {
            self.update_backpressure();
        }
        if !allowed {
            return;
        }
        let life = &mut self.life;
        let Some(state) = life.state.as_mut() else {
            return;
        };
        if !state.has_unsealed() {
            return;
        }
        let sealed = state.seal_epoch();
        let kind = match life.deltas_since_base {
            None => SnapshotKind::Base,
            Some(n) => self.compaction.next_kind(n),
        };
        let epoch = sealed.epoch;
        let snapshot = match state.snapshot(&sealed, kind) {
            Ok(s) => s,
            Err(source) => return self.fail(ctx, PartitionError::Snapshot { epoch, source }),
        };
        let bytes = match core::encode(&snapshot) {
            Ok(b) => b,
            Err(source) => return self.fail(ctx, PartitionError::Snapshot { epoch, source }),
        };
        life.deltas_since_base = match kind {
            SnapshotKind::Base => Some(0),
            SnapshotKind::Delta => life.deltas_since_base.map(|n| n + 1),
        };
        self.status.meters.keys.set(state.len() as i64);
        life.epochs.push(
            epoch,
            Sealed {
                sealed: Arc::new(sealed),
                snapshot: Arc::new(snapshot),
                bytes: Arc::new(bytes),
                dead_letters: Arc::new(std::mem::take(&mut life.dead_letters)),
                timestamp,
                sealed_at: Instant::now(),
                arrivals: std::mem::take(&mut life.arrivals),
            },
        );
        self.update_backpressure();
        self.write(epoch, ctx);
        self.evict_if_over_budget();
    }

    /// The retry delay: longer the more epochs wait.
    pub(super) fn retry_delay(&self) -> Duration {
        self.retry_backoff.delay(self.life.epochs.len() as u32 + 1)
    }

    /// Writes an epoch's rows through the sink actor; retries until acknowledged.
    fn write(&mut self, epoch: u64, ctx: &mut Context<Self>) {
        let Some(e) = self.life.epochs.get(epoch) else {
            return;
        };
        let w = EpochWrite {
            partition: self.id.clone(),
            sealed: e.sealed.clone(),
            dead_letters: e.dead_letters.clone(),
            timestamp: e.timestamp,
            cancel: self.life.cancel.clone(),
        };
        let sent = self.deps.sink.send(WriteEpoch(w));
        ctx.spawn(sent.into_actor(self).map(move |res, act, ctx| {
            let err = match res {
                Ok(Ok(())) => {
                    act.life.epochs.written(epoch);
                    return act.checkpoint_next(ctx);
                }
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("sink actor unavailable: {e}"),
            };
            tracing::warn!(partition = %act.id, epoch, error = %err, "epoch write failed; retrying");
            ctx.run_later(act.retry_delay(), move |act, ctx| act.write(epoch, ctx));
        }));
    }

    /// Persists the snapshot of the oldest epoch once it is written: its commit.
    pub(super) fn checkpoint_next(&mut self, ctx: &mut Context<Self>) {
        let Some((epoch, e)) = self.life.epochs.start_checkpoint() else {
            return;
        };
        let msg = Persist {
            snapshot: e.snapshot.clone(),
            bytes: e.bytes.clone(),
            timestamp: self.fence.is_some().then_some(e.timestamp),
        };
        let offset = e.sealed.offset_end;
        let sent = self.deps.checkpoint.send(msg);
        ctx.spawn(sent.into_actor(self).map(move |res, act, ctx| {
            let err = match res {
                Ok(Ok(persisted)) => {
                    return act.persisted(epoch, offset, persisted.pruned_below, ctx);
                }
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("checkpoint actor unavailable: {e}"),
            };
            tracing::warn!(partition = %act.id, epoch, error = %err, "checkpoint failed; retrying");
            act.life.epochs.checkpoint_failed(epoch);
            ctx.run_later(act.retry_delay(), |act, ctx| act.checkpoint_next(ctx));
        }));
    }

    /// The epoch is committed: its rollups reach the merger, its position is shown.
    pub(super) fn commit(&mut self, epoch: u64, ctx: &mut Context<Self>) {
        let Some(e) = self.life.epochs.commit(epoch) else {
            return;
        };
        let sealed = e.sealed;
        let events = sealed.offset_end - sealed.offset_start;
        self.committed = Position {
            epoch,
            offset: sealed.offset_end,
        };
        self.consecutive_failures = 0;
        self.status.record_position(epoch, sealed.offset_end);
        let meters = &self.status.meters;
        meters.committed.inc_by(events);
        meters
            .epoch_commit
            .observe(e.sealed_at.elapsed().as_secs_f64());
        // One sample per chunk of lines: the latency its events saw.
        for arrived in &e.arrivals {
            meters.event_commit.observe(arrived.elapsed().as_secs_f64());
        }
        self.deps.merger.do_send(Committed {
            partition: self.index,
            id: self.id.clone(),
            sealed,
        });
        self.evict_if_over_budget();
        self.update_backpressure();
        self.publish();
        self.check_settled(ctx);
        self.checkpoint_next(ctx);
    }

    /// Deletes the intents of epochs up to `epoch`, in the background, once the
    /// snapshots before it are pruned: until then a restore may fall back past a
    /// damaged snapshot to an older chain, and the intents of the epochs after
    /// that chain say which rows to repair. Skipped while a repair reads them.
    pub(super) fn forget_intents(&self, epoch: u64) {
        let Some(sink) = self.deps.cassandra.clone() else {
            return;
        };
        if self.life.repairing {
            return;
        }
        let id = self.id.clone();
        self.deps.io.spawn(async move {
            if let Err(e) = sink.forget_intents(&id, epoch).await {
                tracing::debug!(partition = %id, error = %e, "forgetting intents failed");
            }
        });
    }

    /// Opens or closes the socket: closed while stopping or stopped, or while
    /// `max_inflight_epochs` are uncommitted (counted as backpressure time).
    pub(super) fn update_backpressure(&mut self) {
        let n = self.life.epochs.len();
        self.status.record_inflight(n);
        let full = n >= self.deps.tuning.max_inflight_epochs() as usize
            || self.life.over_budget
            || self.fence.as_ref().is_some_and(|f| f.lapsed());
        let holds = self.phase.holds();
        // Keys being read back hold reading too (counted apart, as reload wait).
        let reloading = self.life.reloading.is_some() || !self.life.pending.is_empty();
        if let Some(gate) = &self.life.gate {
            gate.set_open(!full && !holds && !reloading);
        }
        match (full && !holds, self.life.backpressured_since) {
            (true, None) => {
                self.life.backpressured_since = Some(Instant::now());
                self.publish();
            }
            (false, Some(since)) => {
                self.status
                    .meters
                    .backpressure
                    .inc_by(since.elapsed().as_secs_f64());
                self.life.backpressured_since = None;
                self.publish();
            }
            _ => {}
        }
    }

    /// With no epoch uncommitted, an ending source finishes and a stop completes.
    /// Enters the settled phase (finished, stopped) once no epoch is
    /// uncommitted and the merger has applied every commit sent before: a
    /// reader who sees the partition settled sees all of it in the totals.
    pub(super) fn check_settled(&mut self, ctx: &mut Context<Self>) {
        if !self.life.epochs.is_empty() || self.phase.settled() == self.phase {
            return;
        }
        let applied = self.deps.merger.send(Applied);
        ctx.spawn(applied.into_actor(self).map(|_, act, _| {
            // A merger that died answers with an error; its restart resets
            // nothing a partition committed, so settling is still right.
            if act.life.epochs.is_empty() {
                act.enter(act.phase.settled());
            }
        }));
    }
}

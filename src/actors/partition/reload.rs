//! Bounded state in the partition actor: evicting idle keys after a seal when the
//! process is over its memory budget, and reading evicted keys back when events
//! come for them. While a batch is read the partition holds its socket (TCP
//! backpressure, counted in `ssa_reload_wait_seconds_total`); what it had read
//! already waits in `pending` and is counted, in order, once the batch is in.

use std::time::Instant;

use actix::prelude::*;

use super::actor::PartitionActor;
use crate::actors::budget::BudgetShare;
use crate::actors::merger::Evicted;
use crate::core::{self, parse_line, Frame, Reload, RollupState};
use crate::metrics;
use crate::runtime::on_io;

/// Most keys read back in one batch.
const RELOAD_BATCH: usize = 4096;

impl PartitionActor {
    /// Tells the budget what the state and the uncommitted epochs cost now. The
    /// open epoch counts at what its seal will cost, so that sealing it does not
    /// jump over the limit.
    pub(super) fn report_state_bytes(&mut self) {
        let life = &mut self.life;
        let Some(state) = life.state.as_ref() else {
            return;
        };
        let sealed: u64 = life.epochs.iter().map(epoch_bytes).sum();
        let (keys, buckets, events) = state.epoch_rows();
        let open = rows_bytes(keys, buckets, events) + keys as u64 * SNAPSHOT_KEY_BYTES;
        let share = life
            .share
            .get_or_insert_with(|| BudgetShare::new(self.deps.budget.clone()));
        share.report(state.state_bytes() + sealed + open);
        self.status.meters.keys.set(state.len() as i64);
    }

    /// After counting a chunk: over the budget, reading holds while an epoch of
    /// this partition's is uncommitted or the merger has totals to write (each
    /// commit evicts, and so does each tick of the seal timer); with nothing to
    /// wait for, the open epoch is sealed at once so that it can commit and its
    /// keys can go. A few atomic adds per chunk, nothing per event.
    pub(super) fn check_budget(&mut self, ctx: &mut Context<Self>) {
        self.report_state_bytes();
        if self.life.over_budget || !self.deps.budget.over_limit() || self.deps.cassandra.is_none()
        {
            return;
        }
        if !self.life.epochs.is_empty() || self.deps.budget.backlog() > 0 {
            self.life.over_budget = true;
            self.update_backpressure();
        } else if self.life.state.as_ref().is_some_and(|s| s.has_unsealed()) {
            // Evicts, and holds while still over, right after sealing.
            self.seal(ctx);
        }
    }

    /// After a seal or a commit: over the budget, evicts this partition's share
    /// of idle committed keys and tells the merger. Not while keys are being read
    /// back or a repair runs (reloads wait for it, and so does eviction). Still
    /// over with epochs uncommitted, it holds reading until the next commit frees
    /// their keys.
    pub(super) fn evict_if_over_budget(&mut self) {
        self.report_state_bytes();
        let was_over = self.life.over_budget;
        self.life.over_budget = self.evict();
        if self.life.over_budget != was_over {
            self.update_backpressure();
        }
    }

    /// Evicts what the budget asks; true when still over it with uncommitted
    /// epochs to wait for.
    fn evict(&mut self) -> bool {
        if self.deps.cassandra.is_none() {
            // Nothing durable to reload from (`sink = none`): memory is not bounded.
            return false;
        }
        let life = &mut self.life;
        if life.reloading.is_some() || !life.pending.is_empty() || life.repairing {
            return false;
        }
        let Some(state) = life.state.as_mut() else {
            return false;
        };
        let n = self.deps.budget.keys_to_evict(state.len());
        if n == 0 {
            return false;
        }
        let keys = state.evict_idle(self.committed.epoch, n);
        let budget = &self.deps.budget;
        // Hold while something will free memory: an epoch of ours commits, or
        // the merger writes its backlog.
        let hold = budget.over_limit() && (!life.epochs.is_empty() || budget.backlog() > 0);
        if keys.is_empty() {
            return hold;
        }
        metrics::KEYS_EVICTED.inc_by(keys.len() as u64);
        self.deps.budget.note_eviction();
        tracing::debug!(partition = %self.id, keys = keys.len(), resident = state.len(), "evicted idle keys");
        self.deps.merger.do_send(Evicted {
            partition: self.index,
            keys,
        });
        self.report_state_bytes();
        let budget = &self.deps.budget;
        budget.over_limit() && (!self.life.epochs.is_empty() || budget.backlog() > 0)
    }

    /// Reads back, in one batch, what the first pending chunk needs; holds the
    /// socket meanwhile.
    pub(super) fn start_reload(&mut self, ctx: &mut Context<Self>) {
        if self.life.reloading.is_some() {
            return;
        }
        let Some(sink) = self.deps.cassandra.clone() else {
            // Nothing was evicted to Cassandra without one: count as new keys.
            return self.count_pending(ctx);
        };
        if self.life.repairing {
            // The rows are set back to committed values first.
            ctx.run_later(std::time::Duration::from_millis(20), |act, ctx| {
                act.start_reload(ctx)
            });
            return;
        }
        let reloads = match (self.life.state.as_ref(), self.life.pending.front()) {
            (Some(state), Some(frame)) => reloads_of(state, self.cfg.format, frame),
            _ => Vec::new(),
        };
        if reloads.is_empty() {
            // Nothing to read after all (the minute moved on): count on, from the
            // next turn of the mailbox.
            ctx.run_later(std::time::Duration::ZERO, |act, ctx| act.count_pending(ctx));
            return;
        }
        self.life.reloading = Some(Instant::now());
        self.update_backpressure();
        let id = self.id.clone();
        let cancel = self.life.cancel.clone();
        let read = on_io(&self.deps.io, "reloading evicted keys", async move {
            tokio::select! {
                res = sink.reload(&id, reloads) => res,
                _ = cancel.cancelled() => Err(crate::sink::SinkError::Abandoned("reloading")),
            }
        });
        let generation = self.generation;
        ctx.spawn(read.into_actor(self).map(move |res, act, ctx| {
            if act.generation != generation {
                return;
            }
            let since = act.life.reloading.take().unwrap_or_else(Instant::now);
            let took = since.elapsed().as_secs_f64();
            metrics::RELOAD_SECONDS.observe(took);
            metrics::RELOAD_WAIT_SECONDS.inc_by(took);
            match res {
                Ok(rows) => {
                    let Some(state) = act.life.state.as_mut() else {
                        return;
                    };
                    for r in rows {
                        metrics::KEY_RELOADS.inc();
                        if r.partial == Some(None) {
                            metrics::RELOAD_FALSE_POSITIVES.inc();
                        }
                        state.apply_reload(r);
                    }
                    act.count_pending(ctx);
                }
                Err(e) => {
                    tracing::warn!(partition = %act.id, error = %e, "reloading evicted keys failed; retrying");
                    ctx.run_later(act.retry_delay(), |act, ctx| act.start_reload(ctx));
                }
            }
        }));
    }

    /// Counts the pending chunks in order until one stops at another reload (or
    /// none is left: reading resumes).
    fn count_pending(&mut self, ctx: &mut Context<Self>) {
        while let Some(frame) = self.life.pending.pop_front() {
            if self.ingest(frame) {
                return self.start_reload(ctx);
            }
        }
        self.update_backpressure();
        let full = self
            .life
            .state
            .as_ref()
            .is_some_and(|s| s.epoch_events() >= self.deps.tuning.max_epoch_events());
        if full {
            self.seal(ctx);
        }
        self.check_budget(ctx);
        if std::mem::take(&mut self.life.ended) {
            self.source_ended(ctx);
        }
    }
}

/// Bytes an uncommitted epoch holds until it commits: its encoded snapshot, and
/// its rows (see [`rows_bytes`]).
fn epoch_bytes(e: &super::incarnation::Sealed) -> u64 {
    let s = &e.sealed;
    rows_bytes(s.touched.len(), s.minutes.len(), s.raw.len()) + e.bytes.len() as u64
}

/// Bytes of an epoch's rows until it commits: per touched key its row in the
/// sealed epoch and in the snapshot (key and rollup, 80 bytes each) and its
/// partial's statement in the sink (about 200 bytes serialized); per bucket its
/// rows (64 each, twice) and statement; per event its raw row (56) and statement
/// (about 150).
fn rows_bytes(keys: usize, buckets: usize, events: usize) -> u64 {
    (keys as u64) * (80 * 2 + 200)
        + (buckets as u64) * (64 * 2 + 200)
        + (events as u64) * (56 + 150)
}

/// An open epoch's key in its encoded snapshot (franchise id, name, count; a
/// 36-byte unbounded name), before the snapshot exists.
const SNAPSHOT_KEY_BYTES: u64 = 64;

/// What a pending chunk needs read back, in one batch.
fn reloads_of(state: &RollupState, format: crate::format::Format, frame: &Frame) -> Vec<Reload> {
    let ingest_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    match frame {
        Frame::Lines(chunk) => core::reloads_ahead(state, format, chunk, ingest_ms, RELOAD_BATCH),
        Frame::Unterminated(bytes) => parse_line(format, bytes)
            .ok()
            .and_then(|ev| state.needs_reload(&mut state.watermark(), &ev, ingest_ms))
            .into_iter()
            .collect(),
        Frame::Oversized { .. } => Vec::new(),
    }
}

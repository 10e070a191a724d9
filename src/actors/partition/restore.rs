//! Restoring a partition: its committed state from the checkpoint actor, the
//! intents of epochs that never committed, and, in the background, the repair of
//! the rows those epochs may have written. When the newest snapshot chain was
//! damaged and an older one restored, the epochs after it are repaired the same
//! way (their intents are kept until the snapshots before them are pruned); when
//! none decodes, the partition stops as `corrupt` until reset.

use std::sync::Arc;

use actix::prelude::*;

use super::actor::{PartitionActor, Position};
use super::error::PartitionError;
use super::phase::Phase;
use crate::actors::checkpoint::{CheckpointActor, Restore};
use crate::actors::merger::Reset;
use crate::checkpoint::Identity;
use crate::checkpoint::{CheckpointError, Fallback};
use crate::core::{Intent, Key, RepairPlan, Rollup, RollupState};
use crate::runtime::on_io;
use crate::sink::{write_timestamp, CassandraSink, SinkError};

/// What a restore loads: the committed state, its epoch, and the intents of the
/// epochs after it.
struct Restored {
    state: RollupState,
    epoch: u64,
    fallback: Option<Fallback>,
    intents: Vec<Intent>,
}

/// Loads the committed state (the checkpoint actor checks the identity first)
/// and, with Cassandra, the intents of the epochs after it.
async fn load(
    checkpoint: Addr<CheckpointActor>,
    cassandra: Option<Arc<CassandraSink>>,
    io: tokio::runtime::Handle,
    restore: Restore,
) -> Result<Restored, PartitionError> {
    let id = restore.partition.clone();
    let committed = checkpoint
        .send(restore)
        .await
        .map_err(PartitionError::CheckpointUnavailable)?
        .map_err(PartitionError::Restore)?;
    let epoch = committed.epoch;
    let intents = match cassandra {
        Some(sink) => on_io(&io, "reading intents", async move {
            sink.pending_intents(&id, epoch).await
        })
        .await
        .map_err(PartitionError::Intents)?,
        None => Vec::new(),
    };
    Ok(Restored {
        state: committed.state,
        epoch,
        fallback: committed.fallback,
        intents,
    })
}

impl PartitionActor {
    /// Loads the committed state, then connects. Nothing else is handled meanwhile.
    pub(super) fn restore(&mut self, ctx: &mut Context<Self>) {
        if !matches!(self.phase, Phase::Restoring(_)) {
            // Stopped while a restart was waiting out its backoff.
            return;
        }
        let restore = Restore {
            partition: self.id.to_string(),
            options: self.state_options(),
            identity: Identity::of(&self.cfg),
            upto: self.trusted_epoch(),
        };
        let deps = &self.deps;
        let fut = load(
            deps.checkpoint.clone(),
            deps.cassandra.clone(),
            deps.io.clone(),
            restore,
        );
        ctx.wait(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(restored) => act.restored(restored, ctx),
            Err(e) if e.is_refusal() => {
                // Nothing was read or written: the partition stays stopped.
                tracing::error!(partition = %act.id, error = %e, "partition refused");
                act.enter(Phase::Refused);
            }
            Err(PartitionError::Restore(e @ CheckpointError::Unrecoverable { .. })) => {
                // Starting over from 0 is the operator's call: stay put until reset.
                tracing::error!(partition = %act.id, error = %e, "no snapshot chain decodes; the partition stops until reset");
                act.status.record_corrupt();
                act.status.set_problem(Some(e.to_string()));
                act.enter(Phase::Corrupt);
            }
            Err(e) => act.fail(ctx, e),
        }));
    }

    fn restored(&mut self, r: Restored, ctx: &mut Context<Self>) {
        let offset = r.state.offset();
        if let Some(f) = &r.fallback {
            self.fell_back(f, r.epoch, offset);
        }
        self.status.set_problem(None);
        self.committed = Position {
            epoch: r.epoch,
            offset,
        };
        self.status.record_restored(r.epoch, offset);
        let plan = RepairPlan::new(&r.intents, &r.state, offset);
        let keys: Vec<(Key, Rollup)> = r.state.iter().map(|(k, r)| (k.clone(), r)).collect();
        // Totals written from epochs past the restored one are rewritten too.
        let touched = plan.keys.clone();
        let evicted = r.state.evicted_filter().cloned().map(Arc::new);
        if evicted.is_some() {
            // Keys missing from memory may be in Cassandra: readers look there.
            self.deps.budget.note_eviction();
        }
        self.deps.merger.do_send(Reset {
            partition: self.index,
            keys,
            touched,
            evicted,
        });
        if !r.intents.is_empty() {
            self.repair(plan, r.intents, ctx);
        }
        // The first snapshot after a restore is a base: the chain restarts.
        self.life.deltas_since_base = None;
        self.life.state = Some(r.state);
        self.enter(self.phase.restored());
        self.connect(ctx);
    }

    /// The newest chain was damaged and an older one restored: says so, counts it
    /// and, for a shared source (which cannot replay), counts the events of the
    /// lost epochs as lost. A replayable source re-reads them from `offset`.
    fn fell_back(&mut self, f: &Fallback, epoch: u64, offset: u64) {
        self.status.record_corrupt();
        tracing::warn!(
            partition = %self.id,
            damaged_epoch = f.damaged_seq,
            reason = %f.reason,
            lost_chain_epoch = f.lost_epoch,
            restored_epoch = epoch,
            restored_offset = offset,
            "newest snapshot chain is damaged; restored an older chain and repairing the epochs after it"
        );
        if self.replayable() {
            return;
        }
        // The lost chain's offset, or at least what this process had committed.
        let reached = f.lost_offset.unwrap_or(0).max(self.committed.offset);
        let lost = reached.saturating_sub(offset);
        self.status.record_lost(lost);
        tracing::warn!(
            partition = %self.id,
            events = lost,
            from_offset = offset,
            to_offset = reached,
            "a shared source cannot replay: the events of the lost epochs are lost"
        );
    }

    /// Repairs, in the background, the rows that epochs past the committed one may
    /// have written. Its write timestamp is taken now, before the partition seals
    /// anything new, so the resumed partition's own writes always win.
    fn repair(&mut self, plan: RepairPlan, intents: Vec<Intent>, ctx: &mut Context<Self>) {
        let Some(sink) = self.deps.cassandra.clone() else {
            return;
        };
        let ts = write_timestamp();
        if !self.may_write(ts) {
            // Cluster mode: the lease lapsed while restoring; whoever takes it repairs.
            return self.lapsed(ctx);
        }
        let (id, epoch) = (self.id.clone(), self.committed.epoch);
        let cancel = self.life.cancel.clone();
        self.life.repairing = true;
        let rows = plan.keys.len();
        let repair = on_io(&self.deps.io, "repairing", async move {
            // A restart abandons this repair: the next incarnation repairs again,
            // from all intents still recorded.
            let work = async {
                sink.repair(&id, epoch, &plan, ts).await?;
                sink.forget_repaired(&id, &intents).await
            };
            tokio::select! {
                res = work => res,
                _ = cancel.cancelled() => Err(SinkError::Abandoned("repairing")),
            }
        });
        let generation = self.generation;
        ctx.spawn(repair.into_actor(self).map(move |res, act, ctx| {
            if act.generation != generation {
                return;
            }
            act.life.repairing = false;
            match res {
                Ok(()) => {
                    tracing::info!(partition = %act.id, keys = rows, "repaired rows of uncommitted epochs")
                }
                Err(e) => act.fail(ctx, PartitionError::Repair(e)),
            }
        }));
    }
}

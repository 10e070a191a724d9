//! Restoring a partition: its committed state from the checkpoint actor, the
//! intents of epochs that never committed, and, in the background, the repair of
//! the rows those epochs may have written.

use std::sync::Arc;

use actix::prelude::*;

use super::actor::{PartitionActor, Position};
use super::error::PartitionError;
use super::phase::Phase;
use crate::actors::checkpoint::{CheckpointActor, Restore};
use crate::actors::merger::Reset;
use crate::checkpoint::Identity;
use crate::core::{Intent, Key, RepairPlan, Rollup, RollupState};
use crate::runtime::on_io;
use crate::sink::{write_timestamp, CassandraSink, SinkError};

/// What a restore loads: the committed state, its epoch, and the intents of the
/// epochs after it.
struct Restored {
    state: RollupState,
    epoch: u64,
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
    let (state, epoch) = checkpoint
        .send(restore)
        .await
        .map_err(PartitionError::CheckpointUnavailable)?
        .map_err(PartitionError::Restore)?;
    let intents = match cassandra {
        Some(sink) => on_io(&io, "reading intents", async move {
            sink.pending_intents(&id, epoch).await
        })
        .await
        .map_err(PartitionError::Intents)?,
        None => Vec::new(),
    };
    Ok(Restored {
        state,
        epoch,
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
            Err(e) => act.fail(ctx, e),
        }));
    }

    fn restored(&mut self, r: Restored, ctx: &mut Context<Self>) {
        let offset = r.state.offset();
        self.committed = Position {
            epoch: r.epoch,
            offset,
        };
        self.status.record_restored(r.epoch, offset);
        let keys: Vec<(Key, Rollup)> = r.state.iter().map(|(k, r)| (k.clone(), r)).collect();
        self.deps.merger.do_send(Reset {
            partition: self.index,
            keys,
        });
        if !r.intents.is_empty() {
            let plan = RepairPlan::new(&r.intents, &r.state, offset);
            self.repair(plan, r.intents, ctx);
        }
        // The first snapshot after a restore is a base: the chain restarts.
        self.life.deltas_since_base = None;
        self.life.state = Some(r.state);
        self.enter(self.phase.restored());
        self.connect(ctx);
    }

    /// Repairs, in the background, the rows that epochs past the committed one may
    /// have written. Its write timestamp is taken now, before the partition seals
    /// anything new, so the resumed partition's own writes always win.
    fn repair(&mut self, plan: RepairPlan, intents: Vec<Intent>, ctx: &mut Context<Self>) {
        let Some(sink) = self.deps.cassandra.clone() else {
            return;
        };
        let ts = write_timestamp();
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

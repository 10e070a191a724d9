//! Cluster mode's commit point. An epoch is sealed only while the partition's
//! lease lets it (so every row it writes is stamped before the lease could have
//! expired, hence older than anything the next owner writes); once its snapshot
//! is persisted, it commits by moving the lease row's committed-epoch pointer
//! under the lease's fencing token. A refusal means another member holds the
//! lease: the incarnation ends without committing, and the new owner, which
//! restored only what the pointer says, repairs whatever it left.

use actix::prelude::*;

use super::actor::PartitionActor;
use super::phase::{Phase, Resume as ResumePoint};
use crate::cluster::Cas;
use crate::metrics;
use crate::runtime::on_io;

impl PartitionActor {
    /// Whether an epoch (or a repair) stamped `timestamp` may be written now:
    /// always outside cluster mode.
    pub(super) fn may_write(&self, timestamp: i64) -> bool {
        self.fence.as_ref().is_none_or(|f| f.allows(timestamp))
    }

    /// The epoch a restore trusts checkpoints up to (cluster mode).
    pub(super) fn trusted_epoch(&self) -> Option<u64> {
        self.fence.as_ref().map(|f| f.committed_epoch())
    }

    /// The snapshot of `epoch` is persisted: commit it, under the lease's token
    /// in cluster mode.
    pub(super) fn persisted(
        &mut self,
        epoch: u64,
        offset: u64,
        pruned_below: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        let (Some(fence), Some(cluster)) = (self.fence.clone(), self.deps.cluster.clone()) else {
            self.commit(epoch, ctx);
            if let Some(below) = pruned_below {
                self.forget_intents(below);
            }
            return;
        };
        let token = fence.token();
        if token == 0 {
            return self.revoked(ctx);
        }
        let (store, id) = (cluster.store.clone(), self.id.clone());
        let commit = on_io(&self.deps.io, "committing under the lease", async move {
            store.commit(&id, token, epoch, offset).await
        });
        let generation = self.generation;
        ctx.spawn(commit.into_actor(self).map(move |res, act, ctx| {
            if act.generation != generation {
                return;
            }
            match res {
                Ok(Cas::Applied) => {
                    fence.committed(epoch);
                    act.commit(epoch, ctx);
                    if let Some(below) = pruned_below {
                        act.forget_intents(below);
                    }
                }
                Ok(Cas::Refused) => {
                    metrics::FENCED_COMMITS_REFUSED.inc();
                    tracing::warn!(partition = %act.id, epoch, token, "commit refused: the lease's fencing token moved on");
                    cluster.dropped(&act.id, token);
                    act.revoked(ctx);
                }
                Err(e) => {
                    tracing::warn!(partition = %act.id, epoch, error = %e, "commit under the lease failed; retrying");
                    act.life.epochs.checkpoint_failed(epoch);
                    let delay = act.retry_delay();
                    ctx.run_later(delay, |act, ctx| act.checkpoint_next(ctx));
                }
            }
        }));
    }

    /// The lease is gone: the incarnation ends without committing anything
    /// more, not counted as a restart, and the partition stays stopped with
    /// nothing loaded until its lease is taken again.
    pub(super) fn revoked(&mut self, ctx: &mut Context<Self>) {
        if matches!(
            self.phase,
            Phase::Retired | Phase::Stopped(ResumePoint::Restore)
        ) {
            return;
        }
        tracing::info!(partition = %self.id, epochs = self.life.epochs.len(), "partition stops: its lease is gone");
        self.unloading = true;
        self.enter(Phase::Stopped(ResumePoint::Restore));
        ctx.stop();
    }

    /// A repair (or seal) found the lease lapsed: give it up here too.
    pub(super) fn lapsed(&mut self, ctx: &mut Context<Self>) {
        if let (Some(fence), Some(cluster)) = (&self.fence, &self.deps.cluster) {
            let token = fence.token();
            if token != 0 {
                cluster.dropped(&self.id, token);
            }
        }
        self.revoked(ctx);
    }
}

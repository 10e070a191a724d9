//! What the rest of the process may ask of a partition actor, one message each.

use actix::prelude::*;

use super::actor::PartitionActor;
use super::error::PartitionError;
use super::phase::{Phase, Resume as ResumePoint};

/// Fault injection: the actor dies as if it had crashed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KillPartition;

impl Handler<KillPartition> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: KillPartition, ctx: &mut Self::Context) {
        self.fail(ctx, PartitionError::Killed);
    }
}

/// Graceful stop: stop reading, seal, commit everything, then idle as stopped.
/// Answers once the partition is stopped (or was resumed meanwhile).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for PartitionActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Self::Context) -> Self::Result {
        self.seal(ctx);
        // Draining first even with nothing uncommitted: it becomes stopped
        // once the merger has applied the last commit.
        self.enter(self.phase.drain(false));
        self.update_backpressure();
        self.check_settled(ctx);
        let status = self.status.clone();
        // Not tied to this incarnation: a restart completes the stop.
        Box::pin(async move {
            status
                .wait_until(|o| !matches!(o.phase, Phase::Draining(_)))
                .await;
        })
    }
}

/// Undoes a [`Drain`]: reading resumes from where it stopped (or from the last
/// committed offset, when the actor was restarted while stopped).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resume;

impl Handler<Resume> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: Resume, ctx: &mut Self::Context) {
        if self.fence.as_ref().is_some_and(|f| !f.is_held()) {
            // Cluster mode: only its lease's holder resumes a partition.
            return;
        }
        let Some(next) = self.phase.resume() else {
            return;
        };
        self.enter(next);
        match next {
            Phase::Restoring(_) => self.restore(ctx),
            _ => {
                self.update_backpressure();
                self.check_settled(ctx);
            }
        }
    }
}

/// Before a reset: a stopped partition drops its state and connection (its
/// incarnation ends, uncounted), so that it holds nothing when resumed and
/// restores from what the reset left. Answers once nothing is loaded; does
/// nothing unless the partition is stopped or corrupt.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unload;

impl Handler<Unload> for PartitionActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Unload, ctx: &mut Self::Context) -> Self::Result {
        let unloaded =
            |p: &Phase| matches!(p, Phase::Stopped(ResumePoint::Restore) | Phase::Corrupt);
        if matches!(self.phase, Phase::Stopped(_)) && !unloaded(&self.phase) {
            self.unloading = true;
            ctx.stop();
        }
        let status = self.status.clone();
        Box::pin(async move {
            status
                .wait_until(|o| unloaded(&o.phase) || !matches!(o.phase, Phase::Stopped(_)))
                .await;
        })
    }
}

/// Cluster mode: the lease is lost (another member may hold it already). The
/// incarnation ends at once without committing anything more, uncounted as a
/// restart; the partition stays stopped with nothing loaded until a lease is
/// taken again, and whoever holds it repairs what its uncommitted epochs wrote.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Revoke;

impl Handler<Revoke> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: Revoke, ctx: &mut Self::Context) {
        self.revoked(ctx);
    }
}

/// The partition is removed: drop the connection, the listener and every timer for
/// good. Once the last address is gone the actor ends instead of being restarted.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

impl Handler<Retire> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) {
        self.listener = None;
        self.enter(Phase::Retired);
        ctx.stop();
    }
}

/// The live tuning changed: re-arm the seal timer and re-check backpressure.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retune;

impl Handler<Retune> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: Retune, ctx: &mut Self::Context) {
        if self.life.gate.is_some() && self.life.state.is_some() {
            let first = self.seal_phase(self.deps.tuning.flush_interval());
            self.schedule_seal(ctx, first);
            self.update_backpressure();
        }
    }
}

//! The checkpoint actor itself: what it remembers per partition.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;

use crate::actors::supervision::{ActorKind, RestartCause};
use crate::checkpoint::{CheckpointStore, StoredIdentity};
use crate::core::RollupState;
use crate::metrics;

pub struct CheckpointActor {
    pub(super) store: Arc<CheckpointStore>,
    pub(super) io: tokio::runtime::Handle,
    pub(super) keep_bases: usize,
    /// Base snapshot seqs per partition, oldest first, for pruning.
    pub(super) bases: HashMap<String, VecDeque<u64>>,
    /// Each partition's committed state as of its last persisted snapshot, so that
    /// a restarted partition resumes without re-reading and decoding its chain.
    /// Costs one more copy of the state; a kill of this actor drops it.
    pub(super) committed: HashMap<String, RollupState>,
    /// Each partition's stored identity, as last read or written.
    pub(super) identities: HashMap<String, StoredIdentity>,
}

impl CheckpointActor {
    pub fn new(store: Arc<CheckpointStore>, io: tokio::runtime::Handle, keep_bases: usize) -> Self {
        CheckpointActor {
            store,
            io,
            keep_bases: keep_bases.max(1),
            bases: HashMap::new(),
            committed: HashMap::new(),
            identities: HashMap::new(),
        }
    }
}

impl Actor for CheckpointActor {
    type Context = Context<Self>;
}

impl Supervised for CheckpointActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        metrics::record_restart(ActorKind::Checkpoint, RestartCause::Killed);
        // What it remembered is gone: the next restore of each partition reads
        // the store.
        self.committed.clear();
        tracing::warn!(actor = "checkpoint", "checkpoint actor restarted");
    }
}

/// Fault injection: stop the actor; its supervisor restarts it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KillCheckpoint;

impl Handler<KillCheckpoint> for CheckpointActor {
    type Result = ();

    fn handle(&mut self, _: KillCheckpoint, ctx: &mut Self::Context) {
        tracing::warn!(actor = "checkpoint", "killed on request");
        ctx.stop();
    }
}

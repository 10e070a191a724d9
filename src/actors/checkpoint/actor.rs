//! The checkpoint actor itself: what it remembers per partition. It keeps no copy
//! of a partition's state: a restarted partition rebuilds its own from the store,
//! so a key's state lives once in memory, in its partition.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;

use crate::actors::supervision::{ActorKind, RestartCause};
use crate::checkpoint::{CheckpointStore, StoredIdentity};
use crate::metrics;

pub struct CheckpointActor {
    pub(super) store: Arc<CheckpointStore>,
    pub(super) io: tokio::runtime::Handle,
    pub(super) keep_bases: usize,
    /// Base snapshot seqs per partition, oldest first, for pruning.
    pub(super) bases: HashMap<String, VecDeque<u64>>,
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
        // It holds no state of its own to lose: every restore reads the store.
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

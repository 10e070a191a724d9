//! The checkpoint actor: persists snapshots one at a time (so a restore that
//! follows a persist in its mailbox always sees it), loads chains, prunes old ones.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;

use crate::checkpoint::{CheckpointError, CheckpointStore};
use crate::core::{apply_snapshot, PartitionState, Snapshot, SnapshotKind, StateOptions};
use crate::metrics;

pub struct CheckpointActor {
    store: Arc<CheckpointStore>,
    io: tokio::runtime::Handle,
    keep_bases: usize,
    /// Base snapshot seqs per partition, oldest first, for pruning.
    bases: HashMap<String, VecDeque<u64>>,
    /// Each partition's committed state as of its last persisted snapshot, so that
    /// a restarted partition resumes without re-reading and decoding its chain.
    /// Costs one more copy of the state; a kill of this actor drops it.
    committed: HashMap<String, PartitionState>,
}

impl CheckpointActor {
    pub fn new(store: Arc<CheckpointStore>, io: tokio::runtime::Handle, keep_bases: usize) -> Self {
        CheckpointActor {
            store,
            io,
            keep_bases: keep_bases.max(1),
            bases: HashMap::new(),
            committed: HashMap::new(),
        }
    }
}

impl Actor for CheckpointActor {
    type Context = Context<Self>;
}

impl Supervised for CheckpointActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        metrics::RESTARTS
            .with_label_values(&["checkpoint", "killed"])
            .inc();
        tracing::warn!(actor = "checkpoint", "checkpoint actor restarted");
    }
}

/// Persist one snapshot; the reply is the commit point of its epoch.
#[derive(Message)]
#[rtype(result = "Result<(), CheckpointError>")]
pub struct Persist {
    pub snapshot: Arc<Snapshot>,
    pub bytes: Arc<Vec<u8>>,
}

impl Handler<Persist> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<(), CheckpointError>>;

    fn handle(&mut self, msg: Persist, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let snapshot = msg.snapshot.clone();
        let partition = msg.snapshot.partition.clone();
        let seq = msg.snapshot.epoch;
        let is_base = msg.snapshot.kind == SnapshotKind::Base;
        let bases = self.bases.entry(partition.clone()).or_default();
        if is_base {
            bases.push_back(seq);
        }
        let prune_below = (bases.len() > self.keep_bases).then(|| {
            let cut = bases.len() - self.keep_bases;
            bases.drain(..cut);
            bases[0]
        });
        let join = self.io.spawn(async move {
            let started = std::time::Instant::now();
            store.persist(&msg.snapshot, &msg.bytes).await?;
            metrics::CHECKPOINT_SECONDS.observe(started.elapsed().as_secs_f64());
            metrics::CHECKPOINT_BYTES
                .with_label_values(&[&partition])
                .set(msg.bytes.len() as i64);
            metrics::CHECKPOINT_KEYS
                .with_label_values(&[&partition])
                .set(msg.snapshot.keys.len() as i64);
            if let Some(below) = prune_below {
                if let Err(e) = store.prune(&partition, below).await {
                    tracing::warn!(partition = %partition, error = %e, "pruning old snapshots failed");
                }
            }
            Ok(())
        });
        AtomicResponse::new(Box::pin(
            async move {
                join.await.unwrap_or_else(|e| {
                    Err(CheckpointError::Store {
                        what: "persist task",
                        partition: String::new(),
                        message: e.to_string(),
                    })
                })
            }
            .into_actor(self)
            .map(move |res, act, _| {
                if res.is_ok() {
                    let p = &snapshot.partition;
                    if let Some(state) = act.committed.get_mut(p) {
                        if apply_snapshot(state, (*snapshot).clone()).is_err() {
                            act.committed.remove(p);
                        }
                    }
                }
                res
            }),
        ))
    }
}

/// The committed state of a partition: from the actor's materialized copy when it
/// has one (kept up to date by applying every snapshot it persists), else rebuilt
/// from the store's newest chain. Replies with the state and its epoch.
#[derive(Message)]
#[rtype(result = "Result<(PartitionState, u64), CheckpointError>")]
pub struct Restore {
    pub partition: String,
    pub options: StateOptions,
}

impl Handler<Restore> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<(PartitionState, u64), CheckpointError>>;

    fn handle(&mut self, msg: Restore, _: &mut Self::Context) -> Self::Result {
        if let Some(state) = self.committed.get(&msg.partition) {
            let mut state = state.clone();
            state.set_keep_raw(msg.options.keep_raw);
            let epoch = state.epoch().saturating_sub(1);
            return AtomicResponse::new(Box::pin(fut::ready(Ok((state, epoch)))));
        }
        let store = self.store.clone();
        let partition = msg.partition.clone();
        let options = msg.options;
        let join = self.io.spawn(async move {
            let chain = store.load(&partition).await?;
            let base_seq = chain.base.as_ref().map(|b| b.epoch);
            let epoch = chain.epoch();
            let state = crate::core::restore(&partition, options, chain.base, chain.deltas)
                .map_err(|e| CheckpointError::Store {
                    what: "restoring from snapshots",
                    partition: partition.clone(),
                    message: e.to_string(),
                })?;
            Ok::<_, CheckpointError>((state, epoch, base_seq))
        });
        let partition = msg.partition;
        AtomicResponse::new(Box::pin(
            async move {
                join.await.unwrap_or_else(|e| {
                    Err(CheckpointError::Store {
                        what: "restore task",
                        partition: String::new(),
                        message: e.to_string(),
                    })
                })
            }
            .into_actor(self)
            .map(move |res, act, _| {
                let (state, epoch, base_seq) = res?;
                if let Some(seq) = base_seq {
                    let bases = act.bases.entry(partition.clone()).or_default();
                    bases.clear();
                    bases.push_back(seq);
                }
                act.committed.insert(partition, state.clone());
                Ok((state, epoch))
            }),
        ))
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

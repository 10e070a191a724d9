//! The checkpoint actor: persists snapshots one at a time (so a restore that
//! follows a persist in its mailbox always sees it), loads chains, prunes old ones,
//! and keeps each partition's identity: a restore under another identity than the
//! stored one is refused.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;

use crate::checkpoint::{CheckpointError, CheckpointStore, Identity, StoredIdentity};
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
    /// Each partition's stored identity, as last read or written.
    identities: HashMap<String, StoredIdentity>,
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
///
/// The partition's `identity` is checked against the stored one first (recorded
/// when there is none); a mismatch is [`CheckpointError::Identity`].
#[derive(Message)]
#[rtype(result = "Result<(PartitionState, u64), CheckpointError>")]
pub struct Restore {
    pub partition: String,
    pub options: StateOptions,
    pub identity: Identity,
}

impl Handler<Restore> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<(PartitionState, u64), CheckpointError>>;

    fn handle(&mut self, msg: Restore, _: &mut Self::Context) -> Self::Result {
        let known = self.identities.get(&msg.partition).copied();
        if let Some(stored) = known {
            if let Some(m) = msg.identity.mismatch(&msg.partition, &stored.identity) {
                return AtomicResponse::new(Box::pin(fut::ready(Err(m.into()))));
            }
        }
        if let (Some(state), Some(_)) = (self.committed.get(&msg.partition), known) {
            let mut state = state.clone();
            state.set_keep_raw(msg.options.keep_raw);
            let epoch = state.epoch().saturating_sub(1);
            return AtomicResponse::new(Box::pin(fut::ready(Ok((state, epoch)))));
        }
        let store = self.store.clone();
        let partition = msg.partition.clone();
        let options = msg.options;
        let identity = msg.identity;
        let join = self.io.spawn(async move {
            let stored = match known {
                Some(s) => s,
                None => check_identity(&store, &partition, identity).await?,
            };
            let chain = store.load(&partition).await?;
            let base_seq = chain.base.as_ref().map(|b| b.epoch);
            let epoch = chain.epoch();
            let state = crate::core::restore(&partition, options, chain.base, chain.deltas)
                .map_err(|e| CheckpointError::Store {
                    what: "restoring from snapshots",
                    partition: partition.clone(),
                    message: e.to_string(),
                })?;
            Ok::<_, CheckpointError>((state, epoch, base_seq, stored))
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
                let (state, epoch, base_seq, stored) = res?;
                act.identities.insert(partition.clone(), stored);
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

/// Reads the stored identity and compares it with `identity`; records `identity`
/// when none is stored.
async fn check_identity(
    store: &CheckpointStore,
    partition: &str,
    identity: Identity,
) -> Result<StoredIdentity, CheckpointError> {
    match store.identity(partition).await? {
        Some(stored) => match identity.mismatch(partition, &stored.identity) {
            Some(m) => Err(m.into()),
            None => Ok(stored),
        },
        None => {
            let stored = StoredIdentity {
                identity,
                reset_pending: false,
            };
            store.set_identity(partition, &stored).await?;
            Ok(stored)
        }
    }
}

/// The stored identity of a partition (`None` when none was ever recorded).
/// Writes nothing.
#[derive(Message)]
#[rtype(result = "Result<Option<StoredIdentity>, CheckpointError>")]
pub struct LoadIdentity {
    pub partition: String,
}

impl Handler<LoadIdentity> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<Option<StoredIdentity>, CheckpointError>>;

    fn handle(&mut self, msg: LoadIdentity, _: &mut Self::Context) -> Self::Result {
        if let Some(stored) = self.identities.get(&msg.partition) {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(Some(*stored)))));
        }
        let store = self.store.clone();
        let partition = msg.partition;
        let key = partition.clone();
        let join = self
            .io
            .spawn(async move { store.identity(&partition).await });
        AtomicResponse::new(Box::pin(
            async move {
                join.await
                    .unwrap_or_else(|e| Err(task_failed("identity task", e)))
            }
            .into_actor(self)
            .map(move |res, act, _| {
                if let Ok(Some(stored)) = &res {
                    act.identities.insert(key, *stored);
                }
                res
            }),
        ))
    }
}

/// Records a partition's identity. With `drop_snapshots`, a reset: every snapshot
/// of the partition is deleted after the identity (with `reset_pending`) is written,
/// and what this actor remembers of the partition is forgotten.
#[derive(Message)]
#[rtype(result = "Result<(), CheckpointError>")]
pub struct RecordIdentity {
    pub partition: String,
    pub stored: StoredIdentity,
    pub drop_snapshots: bool,
}

impl Handler<RecordIdentity> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<(), CheckpointError>>;

    fn handle(&mut self, msg: RecordIdentity, _: &mut Self::Context) -> Self::Result {
        if msg.drop_snapshots {
            self.committed.remove(&msg.partition);
            self.bases.remove(&msg.partition);
        }
        self.identities.remove(&msg.partition);
        let store = self.store.clone();
        let (partition, stored) = (msg.partition, msg.stored);
        let key = partition.clone();
        let join = self.io.spawn(async move {
            store.set_identity(&partition, &stored).await?;
            if msg.drop_snapshots {
                store.remove_all(&partition).await?;
            }
            Ok(())
        });
        AtomicResponse::new(Box::pin(
            async move {
                join.await
                    .unwrap_or_else(|e| Err(task_failed("identity task", e)))
            }
            .into_actor(self)
            .map(move |res, act, _| {
                if res.is_ok() {
                    act.identities.insert(key, stored);
                }
                res
            }),
        ))
    }
}

fn task_failed(what: &'static str, e: tokio::task::JoinError) -> CheckpointError {
    CheckpointError::Store {
        what,
        partition: String::new(),
        message: e.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{LocalStore, SourceKind};
    use crate::config::SourceMode;
    use crate::format::Format;

    fn identity(index: u32, count: u32) -> Identity {
        Identity {
            source: SourceKind::Connect,
            mode: SourceMode::Replayable,
            index,
            count,
            format: Format::Seed,
        }
    }

    fn restore(partition: &str, identity: Identity) -> Restore {
        Restore {
            partition: partition.into(),
            options: StateOptions::default(),
            identity,
        }
    }

    #[actix_web::test]
    async fn a_restore_under_another_identity_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CheckpointStore::Local(LocalStore::new(dir.path())));
        let stored = StoredIdentity {
            identity: identity(1, 2),
            reset_pending: false,
        };
        store.set_identity("p1", &stored).await.unwrap();
        let actor =
            CheckpointActor::new(store.clone(), tokio::runtime::Handle::current(), 3).start();

        let err = actor
            .send(restore("p1", identity(0, 2)))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&err, CheckpointError::Identity(m) if m.field == "index"),
            "{err}"
        );
        assert_eq!(store.identity("p1").await.unwrap(), Some(stored));

        let (state, epoch) = actor
            .send(restore("p1", identity(1, 2)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((state.offset(), epoch), (0, 0));
        // Known now: a second refusal comes from memory, the same.
        let again = actor.send(restore("p1", identity(1, 4))).await.unwrap();
        assert!(matches!(again, Err(CheckpointError::Identity(m)) if m.field == "count"));

        // A partition without a stored identity gets its own recorded.
        actor
            .send(restore("p2", identity(0, 1)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.identity("p2").await.unwrap().map(|s| s.identity),
            Some(identity(0, 1))
        );
    }
}

//! A partition's identity (what its committed offsets mean): loaded, checked and
//! recorded beside its checkpoints.

use actix::prelude::*;

use super::actor::CheckpointActor;
use crate::checkpoint::{CheckpointError, CheckpointStore, Identity, StoredIdentity};
use crate::runtime::on_io;

/// Reads the stored identity and compares it with `identity`; records `identity`
/// when none is stored.
pub(super) async fn check_identity(
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
        let load = on_io(&self.io, "loading an identity", async move {
            store.identity(&partition).await
        });
        AtomicResponse::new(Box::pin(load.into_actor(self).map(move |res, act, _| {
            if let Ok(Some(stored)) = &res {
                act.identities.insert(key, *stored);
            }
            res
        })))
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
            self.bases.remove(&msg.partition);
        }
        self.identities.remove(&msg.partition);
        let store = self.store.clone();
        let (partition, stored) = (msg.partition, msg.stored);
        let key = partition.clone();
        let record = on_io(&self.io, "recording an identity", async move {
            store.set_identity(&partition, &stored).await?;
            if msg.drop_snapshots {
                store.remove_all(&partition).await?;
            }
            Ok(())
        });
        AtomicResponse::new(Box::pin(record.into_actor(self).map(move |res, act, _| {
            if res.is_ok() {
                act.identities.insert(key, stored);
            }
            res
        })))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::Restore;
    use super::*;
    use crate::checkpoint::{LocalStore, SourceKind};
    use crate::config::SourceMode;
    use crate::core::StateOptions;
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
            upto: None,
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

        let committed = actor
            .send(restore("p1", identity(1, 2)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((committed.state.offset(), committed.epoch), (0, 0));
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

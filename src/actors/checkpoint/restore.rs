//! A partition's committed state, rebuilt from the store's newest chain that
//! decodes.

use actix::prelude::*;

use super::actor::CheckpointActor;
use super::identity::check_identity;
use crate::checkpoint::{CheckpointError, CheckpointStore, Fallback, Identity, StoredIdentity};
use crate::core::{RollupState, StateOptions};
use crate::runtime::on_io;

/// The committed state of a partition, rebuilt from the store's newest chain that
/// decodes (a base and the deltas after it).
///
/// The partition's `identity` is checked against the stored one first (recorded
/// when there is none); a mismatch is [`CheckpointError::Identity`]. When snapshots
/// are stored but no chain of them decodes, [`CheckpointError::Unrecoverable`].
#[derive(Message)]
#[rtype(result = "Result<Committed, CheckpointError>")]
pub struct Restore {
    pub partition: String,
    pub options: StateOptions,
    pub identity: Identity,
    /// Cluster mode: the lease's committed epoch. Only snapshots up to it are
    /// trusted.
    pub upto: Option<u64>,
}

/// What a [`Restore`] answers.
#[derive(Debug)]
pub struct Committed {
    pub state: RollupState,
    /// The epoch `state` is as of (0 = nothing committed yet).
    pub epoch: u64,
    /// Set when the newest chain was damaged and an older one was restored: the
    /// snapshots newer than `epoch` are deleted by then.
    pub fallback: Option<Fallback>,
}

/// Reads the newest chain that decodes and rebuilds the state from it; after a
/// fallback, deletes the snapshots past it so the next epochs start a new chain.
async fn load(
    store: &CheckpointStore,
    partition: &str,
    options: StateOptions,
    upto: Option<u64>,
) -> Result<(Committed, Option<u64>), CheckpointError> {
    let chain = store.load(partition, upto).await?;
    if chain.is_unrecoverable() {
        let f = chain.fallback.unwrap_or_else(|| Fallback {
            damaged_seq: 0,
            reason: String::new(),
            lost_epoch: 0,
            lost_offset: None,
        });
        return Err(CheckpointError::Unrecoverable {
            partition: partition.to_string(),
            seq: f.damaged_seq,
            reason: f.reason,
        });
    }
    let base_seq = chain.base.as_ref().map(|b| b.epoch);
    let epoch = chain.epoch();
    let fallback = chain.fallback;
    let state =
        crate::core::restore(partition, options, chain.base, chain.deltas).map_err(|e| {
            CheckpointError::Store {
                what: "restoring from snapshots",
                partition: partition.to_string(),
                message: e.to_string(),
            }
        })?;
    if fallback.is_some() {
        store.truncate_after(partition, epoch).await?;
    }
    let committed = Committed {
        state,
        epoch,
        fallback,
    };
    Ok((committed, base_seq))
}

impl Handler<Restore> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<Committed, CheckpointError>>;

    fn handle(&mut self, msg: Restore, _: &mut Self::Context) -> Self::Result {
        let known = self.identities.get(&msg.partition).copied();
        if let Some(stored) = known {
            if let Some(m) = msg.identity.mismatch(&msg.partition, &stored.identity) {
                return AtomicResponse::new(Box::pin(fut::ready(Err(m.into()))));
            }
        }
        let store = self.store.clone();
        let partition = msg.partition.clone();
        let options = msg.options;
        let identity = msg.identity;
        let upto = msg.upto;
        let load = on_io(&self.io, "restoring a partition", async move {
            let stored: StoredIdentity = match known {
                Some(s) => s,
                None => check_identity(&store, &partition, identity).await?,
            };
            let (committed, base_seq) = load(&store, &partition, options, upto).await?;
            Ok::<_, CheckpointError>((committed, base_seq, stored))
        });
        let partition = msg.partition;
        AtomicResponse::new(Box::pin(load.into_actor(self).map(move |res, act, _| {
            let (committed, base_seq, stored) = res?;
            act.identities.insert(partition.clone(), stored);
            if let Some(seq) = base_seq {
                let bases = act.bases.entry(partition.clone()).or_default();
                bases.clear();
                bases.push_back(seq);
            }
            Ok(committed)
        })))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::checkpoint::{LocalStore, SourceKind};
    use crate::config::SourceMode;
    use crate::core::{encode, EventRef, SnapshotKind};
    use crate::format::Format;

    fn restore() -> Restore {
        Restore {
            partition: "p".into(),
            options: StateOptions::default(),
            identity: Identity {
                source: SourceKind::Connect,
                mode: SourceMode::Replayable,
                index: 0,
                count: 1,
                format: Format::Seed,
            },
            upto: None,
        }
    }

    /// Three committed epochs of 10 events each: a base, then two deltas.
    async fn three_epochs(store: &CheckpointStore) {
        let mut state = RollupState::new("p", StateOptions::default());
        for epoch in 0..3u64 {
            for i in 0..10 {
                let f = uuid::Uuid::from_u128(u128::from(i % 3));
                state.record(epoch * 10 + i, &EventRef::new(f, "x"), 0);
            }
            let sealed = state.seal_epoch();
            let kind = if epoch == 0 {
                SnapshotKind::Base
            } else {
                SnapshotKind::Delta
            };
            let snap = state.snapshot(&sealed, kind).unwrap();
            let bytes = encode(&snap).unwrap();
            store.persist(&snap, &bytes, None).await.unwrap();
        }
    }

    fn damage(dir: &std::path::Path, seq: u64) {
        let path = dir.join(format!("p/{seq:020}.ckpt"));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(path, bytes).unwrap();
    }

    #[actix_web::test]
    async fn a_damaged_newest_snapshot_falls_back_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CheckpointStore::Local(LocalStore::new(dir.path())));
        three_epochs(&store).await;
        damage(dir.path(), 3);
        let io = tokio::runtime::Handle::current();
        let actor = CheckpointActor::new(store.clone(), io, 3).start();
        let c = actor.send(restore()).await.unwrap().unwrap();
        assert_eq!((c.epoch, c.state.offset()), (2, 20));
        let f = c.fallback.unwrap();
        assert_eq!((f.damaged_seq, f.lost_epoch), (3, 3));
        assert!(f.reason.contains("checksum"), "{}", f.reason);
        // The damaged snapshot is gone: the next epochs start a new chain.
        let chain = store.load("p", None).await.unwrap();
        assert_eq!((chain.epoch(), chain.fallback), (2, None));
    }

    #[actix_web::test]
    async fn no_chain_that_decodes_is_unrecoverable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CheckpointStore::Local(LocalStore::new(dir.path())));
        three_epochs(&store).await;
        damage(dir.path(), 1);
        let io = tokio::runtime::Handle::current();
        let actor = CheckpointActor::new(store.clone(), io, 3).start();
        let err = actor.send(restore()).await.unwrap().unwrap_err();
        assert!(
            matches!(&err, CheckpointError::Unrecoverable { seq: 1, .. }),
            "{err}"
        );
        // Nothing is deleted: the snapshots stay for whoever looks into them.
        assert_eq!(std::fs::read_dir(dir.path().join("p")).unwrap().count(), 4);
    }
}

//! A partition's committed state, rebuilt from the store's newest chain.

use actix::prelude::*;

use super::actor::CheckpointActor;
use super::identity::check_identity;
use crate::checkpoint::{CheckpointError, Identity};
use crate::core::{RollupState, StateOptions};
use crate::runtime::on_io;

/// The committed state of a partition, rebuilt from the store's newest chain (a
/// base and the deltas after it). Replies with the state and its epoch.
///
/// The partition's `identity` is checked against the stored one first (recorded
/// when there is none); a mismatch is [`CheckpointError::Identity`].
#[derive(Message)]
#[rtype(result = "Result<(RollupState, u64), CheckpointError>")]
pub struct Restore {
    pub partition: String,
    pub options: StateOptions,
    pub identity: Identity,
}

impl Handler<Restore> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<(RollupState, u64), CheckpointError>>;

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
        let load = on_io(&self.io, "restoring a partition", async move {
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
        AtomicResponse::new(Box::pin(load.into_actor(self).map(move |res, act, _| {
            let (state, epoch, base_seq, stored) = res?;
            act.identities.insert(partition.clone(), stored);
            if let Some(seq) = base_seq {
                let bases = act.bases.entry(partition.clone()).or_default();
                bases.clear();
                bases.push_back(seq);
            }
            Ok((state, epoch))
        })))
    }
}

//! Persisting one snapshot: the commit point of its epoch.

use std::sync::Arc;

use actix::prelude::*;

use super::actor::CheckpointActor;
use crate::checkpoint::CheckpointError;
use crate::core::{Snapshot, SnapshotKind};
use crate::metrics;
use crate::runtime::on_io;

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
        let partition = msg.snapshot.partition.clone();
        let seq = msg.snapshot.epoch;
        let bases = self.bases.entry(partition.clone()).or_default();
        if msg.snapshot.kind == SnapshotKind::Base {
            bases.push_back(seq);
        }
        let prune_below = (bases.len() > self.keep_bases).then(|| {
            let cut = bases.len() - self.keep_bases;
            bases.drain(..cut);
            bases[0]
        });
        let persist = on_io(&self.io, "persisting a snapshot", async move {
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
        AtomicResponse::new(Box::pin(persist.into_actor(self)))
    }
}

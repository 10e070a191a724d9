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
#[rtype(result = "Result<Persisted, CheckpointError>")]
pub struct Persist {
    pub snapshot: Arc<Snapshot>,
    pub bytes: Arc<Vec<u8>>,
    /// The `USING TIMESTAMP` of its rows (cluster mode: the epoch's seal time,
    /// so that a snapshot a deposed owner writes late never wins over the next
    /// owner's of the same epoch); `None` lets Cassandra stamp them.
    pub timestamp: Option<i64>,
}

/// A persisted snapshot, and whether older ones were pruned with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Persisted {
    /// Snapshots older than this seq (the oldest base kept) were deleted: no
    /// restore can fall back to an epoch before it any more.
    pub pruned_below: Option<u64>,
}

impl Handler<Persist> for CheckpointActor {
    type Result = AtomicResponse<Self, Result<Persisted, CheckpointError>>;

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
            store
                .persist(&msg.snapshot, &msg.bytes, msg.timestamp)
                .await?;
            metrics::CHECKPOINT_SECONDS.observe(started.elapsed().as_secs_f64());
            metrics::CHECKPOINT_BYTES
                .with_label_values(&[&partition])
                .set(msg.bytes.len() as i64);
            metrics::CHECKPOINT_KEYS
                .with_label_values(&[&partition])
                .set(msg.snapshot.keys.len() as i64);
            let mut pruned_below = None;
            if let Some(below) = prune_below {
                match store.prune(&partition, below).await {
                    Ok(()) => pruned_below = Some(below),
                    Err(e) => {
                        tracing::warn!(partition = %partition, error = %e, "pruning old snapshots failed")
                    }
                }
            }
            Ok(Persisted { pruned_below })
        });
        AtomicResponse::new(Box::pin(persist.into_actor(self)))
    }
}

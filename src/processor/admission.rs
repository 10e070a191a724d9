//! Admitting partitions before their actors start: each one's identity is
//! compared with the one stored beside its checkpoints, and nothing is written
//! while any differs; then explicit resets run and new identities are recorded.

use super::{Processor, ProcessorError};
use crate::actors::checkpoint::{LoadIdentity, RecordIdentity};
use crate::actors::merger::Purge;
use crate::checkpoint::{Identity, StoredIdentity};
use crate::config::PartitionConfig;
use crate::runtime::on_io;

/// What admitting a partition takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// Its stored identity is this one.
    Known,
    /// None is stored: record it.
    Record,
    /// Asked for, or a reset to this identity was cut short: finish it.
    Reset,
}

impl Processor {
    /// Checks every partition's identity against the stored one, writing nothing
    /// unless all agree; then resets the `reset` ones (and any whose reset was cut
    /// short) and records the identities not stored yet.
    pub(super) async fn admit(
        &self,
        parts: &[PartitionConfig],
        reset: &[String],
    ) -> Result<(), ProcessorError> {
        let unavailable = |e: &dyn std::fmt::Display| ProcessorError::Unavailable(e.to_string());
        let mut plan = Vec::with_capacity(parts.len());
        for part in parts {
            let identity = Identity::of(part);
            let stored = self
                .checkpoint
                .send(LoadIdentity {
                    partition: part.id.clone(),
                })
                .await
                .map_err(|e| unavailable(&e))?
                .map_err(|e| unavailable(&e))?;
            let admission = match stored {
                _ if reset.contains(&part.id) => Admission::Reset,
                None => Admission::Record,
                Some(stored) => {
                    if let Some(m) = identity.mismatch(&part.id, &stored.identity) {
                        return Err(m.into());
                    }
                    if stored.reset_pending {
                        Admission::Reset
                    } else {
                        Admission::Known
                    }
                }
            };
            plan.push((part, identity, admission));
        }
        for (part, identity, admission) in plan {
            match admission {
                Admission::Known => {}
                Admission::Record => {
                    self.record_identity(&part.id, identity, false, false)
                        .await?
                }
                Admission::Reset => self.start_over(&part.id, identity).await?,
            }
        }
        Ok(())
    }

    async fn record_identity(
        &self,
        id: &str,
        identity: Identity,
        reset_pending: bool,
        drop_snapshots: bool,
    ) -> Result<(), ProcessorError> {
        self.checkpoint
            .send(RecordIdentity {
                partition: id.to_string(),
                stored: StoredIdentity {
                    identity,
                    reset_pending,
                },
                drop_snapshots,
            })
            .await
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?
            .map_err(|e| ProcessorError::Unavailable(format!("resetting partition {id}: {e}")))
    }

    /// Starts a partition over from offset 0 under `identity`: its snapshots,
    /// intents, rows and dead letters are deleted and its partials leave the totals.
    /// The new identity is recorded first with `reset_pending`, so that a reset
    /// cut short is finished on the next start.
    pub(super) async fn start_over(
        &self,
        id: &str,
        identity: Identity,
    ) -> Result<(), ProcessorError> {
        let index = self.index_of(id)?;
        self.record_identity(id, identity, true, true).await?;
        let keys = match self.cassandra.clone() {
            Some(sink) => {
                let p = id.to_string();
                on_io(&self.io, "resetting a partition", async move {
                    sink.purge_partition(&p).await
                })
                .await
                .map_err(|e| {
                    ProcessorError::Unavailable(format!("resetting partition {id}: {e}"))
                })?
            }
            None => Vec::new(),
        };
        self.merger
            .send(Purge {
                partition: index,
                keys,
            })
            .await
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        self.record_identity(id, identity, false, false).await?;
        tracing::info!(
            partition = id,
            "partition reset: it starts over from offset 0"
        );
        Ok(())
    }
}

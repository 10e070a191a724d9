//! Leaving a partition or the cluster gracefully, and recording partitions that
//! finished: a handed-over partition commits everything under its lease and
//! drops its state before the lease is released, so the next owner restores
//! exactly what was committed; a finished partition's offset goes into its lease
//! row, so that every member knows when the whole job is done.

use std::time::Instant;

use super::coordinator::Held;
use super::store::LeaseRow;
use super::{Cluster, ClusterError};
use crate::actors::partition::{Drain, Unload};
use crate::metrics;
use crate::processor::Processor;
use crate::runtime::on_io;

impl Cluster {
    /// Records in their lease rows the held partitions whose source ended and
    /// whose every epoch is committed.
    pub(super) async fn mark_finished(&self, processor: &Processor, leases: &[LeaseRow]) {
        let held: Vec<(String, Held)> = self
            .state()
            .held
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (id, h) in held {
            let Some(p) = processor.partition(&id) else {
                continue;
            };
            let offset = p.status.committed_offset();
            let recorded = leases.iter().any(|l| {
                l.partition == id && l.finished_offset == Some(offset as i64) && l.token == h.token
            });
            if !p.status.is_finished() || recorded {
                continue;
            }
            let store = self.store.clone();
            let mark = on_io(
                &processor.io,
                "recording a finished partition",
                async move { store.finish(&id, h.token, offset).await },
            );
            if let Err(e) = mark.await {
                tracing::warn!(error = %e, "recording a finished partition failed; next round");
            }
        }
    }

    /// Hands a held partition over: it stops reading and commits everything
    /// under the lease, drops its state, then the lease is released. The member
    /// does not take it back for one lease_ttl.
    pub async fn hand_over(&self, processor: &Processor, id: &str) -> Result<bool, ClusterError> {
        let token = {
            let mut st = self.state();
            match st.held.get_mut(id) {
                Some(h) if !h.releasing => {
                    h.releasing = true;
                    h.token
                }
                _ => return Ok(false),
            }
        };
        if let Some(p) = processor.partition(id) {
            let _ = p.addr.send(Drain).await;
            let _ = p.addr.send(Unload).await;
        }
        if let Some(f) = self.fence(id) {
            f.revoke();
        }
        {
            let mut st = self.state();
            st.held.remove(id);
            st.avoid.insert(id.to_string(), Instant::now() + self.ttl);
            metrics::LEASES_HELD.set(st.held.len() as i64);
        }
        let (store, p) = (self.store.clone(), id.to_string());
        on_io(&processor.io, "releasing a lease", async move {
            store.release(&p, token).await
        })
        .await?;
        tracing::info!(partition = %id, token, node = %self.node, "lease handed over");
        Ok(true)
    }

    /// A graceful stop, after every partition committed: releases every lease
    /// (so the others take them over at once) and leaves the membership.
    pub async fn leave(&self, io: &tokio::runtime::Handle) {
        let held: Vec<(String, Held)> = {
            let mut st = self.state();
            st.stopped = true;
            std::mem::take(&mut st.held).into_iter().collect()
        };
        metrics::LEASES_HELD.set(0);
        for (id, h) in held {
            if let Some(f) = self.fence(&id) {
                f.revoke();
            }
            let store = self.store.clone();
            let release = on_io(io, "releasing a lease", async move {
                store.release(&id, h.token).await
            });
            if let Err(e) = release.await {
                tracing::warn!(error = %e, "releasing a lease at stop failed; it expires");
            }
        }
        let (store, node) = (self.store.clone(), self.node.clone());
        if let Err(e) = on_io(io, "leaving", async move { store.leave(&node).await }).await {
            tracing::warn!(error = %e, "leaving the membership failed; the heartbeat expires");
        }
    }
}

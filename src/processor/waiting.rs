//! What waits on the whole processor: live retuning, readiness probes, a graceful
//! drain, and the end of every source — by notification, never by polling.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::watch;

use super::{Processor, ProcessorError};
use crate::actors::merger::Flush;
use crate::actors::partition::{Drain, Retune};
use crate::actors::tuning::Tunables;
use crate::runtime::{on_io, TaskFailed};

/// Why Cassandra did not answer a readiness probe.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("{0}")]
    Query(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Processor {
    /// Validates and applies new live values of the tunable knobs.
    pub async fn retune(&self, values: Tunables) -> Result<Tunables, ProcessorError> {
        let _guard = self.changing.lock().await;
        values.validate(&self.config)?;
        self.tuning.set(values);
        if let Some(sink) = &self.cassandra {
            if let Some(shrink) = sink.set_concurrency(values.sink_concurrency as usize) {
                self.io.spawn(shrink);
            }
        }
        // Answer once every partition has re-armed its timers with the new values.
        let retunes: Vec<_> = self
            .partitions()
            .iter()
            .map(|p| p.addr.send(Retune))
            .collect();
        for r in retunes {
            let _ = r.await;
        }
        Ok(self.tuning.get())
    }

    /// Whether Cassandra answers a trivial query (`Ok` when no Cassandra is used).
    pub async fn ping_cassandra(&self, timeout: Duration) -> Result<(), PingError> {
        let Some(session) = self.session.clone() else {
            return Ok(());
        };
        on_io(&self.io, "probing cassandra", async move {
            let query = session.query_unpaged("SELECT release_version FROM system.local", ());
            match tokio::time::timeout(timeout, query).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(PingError::Query(e.to_string())),
                Err(_) => Err(PingError::Timeout(timeout)),
            }
        })
        .await
    }

    /// Whether every partition has committed everything its source had.
    pub fn all_finished(&self) -> bool {
        self.partitions().iter().all(|p| p.status.is_finished())
    }

    /// Woken on every change of a partition's observed state (phase,
    /// backpressure, last committed epoch) and of the set of partitions.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Resolves once every partition has finished: woken by each change of a
    /// partition's phase and of the set of partitions, not by polling.
    pub async fn finished(&self) {
        if let Some(cluster) = &self.cluster {
            // Cluster mode: every partition of the job, whoever owns it.
            return cluster.job_finished().await;
        }
        let mut changes = self.changes();
        while !self.all_finished() {
            // The sender lives in `self`: `changed` cannot fail while we wait.
            let _ = changes.changed().await;
        }
    }

    /// Waits until every partition has finished, then until all totals are written.
    pub async fn wait_finished(&self) {
        self.finished().await;
        self.flush().await;
    }

    /// Whether a graceful stop of the whole processor has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Relaxed)
    }

    /// Graceful stop: every partition stops reading and commits what it has.
    pub async fn drain(&self) {
        self.draining.store(true, Relaxed);
        let drains: Vec<_> = self
            .partitions()
            .iter()
            .map(|p| p.addr.send(Drain))
            .collect();
        for d in drains {
            let _ = d.await;
        }
        self.flush().await;
        // Everything read is committed: hand the leases over at once.
        if let Some(cluster) = &self.cluster {
            cluster.leave(&self.io).await;
        }
    }

    /// Resolves once the totals computed so far are written.
    pub async fn flush(&self) {
        let _ = self.merger.send(Flush).await;
    }
}

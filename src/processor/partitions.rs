//! The processor's partitions: starting their actors, listing them, and the
//! changes the admin API makes while it runs (add, stop, start, remove, kill).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use actix::prelude::*;

use super::{Processor, ProcessorError};
use crate::actors::partition::{
    Drain, KillPartition, Lifecycle, PartitionActor, PartitionSnapshot, PartitionStatus, Resume,
    Retire, Unload,
};
use crate::checkpoint::Identity;
use crate::config::{PartitionConfig, SourceMode};

/// One partition as the rest of the process sees it.
pub struct PartitionHandle {
    pub id: String,
    pub config: PartitionConfig,
    pub addr: Addr<PartitionActor>,
    /// What it is doing: the one observable state of the partition.
    pub status: Arc<PartitionStatus>,
}

fn unavailable(e: MailboxError) -> ProcessorError {
    ProcessorError::Unavailable(e.to_string())
}

impl Processor {
    /// The merger index of a partition id, the same for the process's life.
    pub(super) fn index_of(&self, id: &str) -> Result<u16, ProcessorError> {
        let mut indexes = self.indexes.lock().unwrap_or_else(|e| e.into_inner());
        let next = indexes.len();
        match indexes.get(id) {
            Some(i) => Ok(*i),
            None => {
                let i = u16::try_from(next).map_err(|_| ProcessorError::IndexesExhausted)?;
                indexes.insert(id.to_string(), i);
                Ok(i)
            }
        }
    }

    /// Starts the actor of one (validated) partition and lists it.
    pub(super) fn spawn_partition(
        &self,
        part: PartitionConfig,
    ) -> Result<Arc<PartitionHandle>, ProcessorError> {
        let index = self.index_of(&part.id)?;
        let status = Arc::new(PartitionStatus::new(&part, self.changes.clone()));
        let (cfg, proc, deps, status2) = (
            part.clone(),
            self.config.processor.clone(),
            self.deps.clone(),
            status.clone(),
        );
        let arbiter = self.next_arbiter.fetch_add(1, Relaxed) % self.arbiters.len();
        let addr = Supervisor::start_in_arbiter(&self.arbiters[arbiter].handle(), move |_| {
            PartitionActor::new(cfg, proc, index, deps, status2)
        });
        let handle = Arc::new(PartitionHandle {
            id: part.id.clone(),
            config: part,
            addr,
            status,
        });
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle.clone());
        self.changed();
        Ok(handle)
    }

    /// Wakes whoever waits on the partitions (see [`Processor::finished`]).
    pub(super) fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The partitions, in the order they were added.
    pub fn partitions(&self) -> Vec<Arc<PartitionHandle>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn partition(&self, id: &str) -> Option<Arc<PartitionHandle>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|p| p.id == id)
            .cloned()
    }

    fn find(&self, id: &str) -> Result<Arc<PartitionHandle>, ProcessorError> {
        self.partition(id)
            .ok_or_else(|| ProcessorError::NotFound(id.to_string()))
    }

    pub fn snapshots(&self) -> Vec<PartitionSnapshot> {
        self.partitions()
            .iter()
            .map(|p| p.status.snapshot())
            .collect()
    }

    /// Validates and starts a new partition; it resumes from the checkpoints of
    /// an earlier partition of the same id, if any, when its identity is the same
    /// ([`ProcessorError::Identity`] otherwise). With `reset`, it starts over from
    /// offset 0 instead, its earlier rows and partials gone.
    pub async fn add_partition(
        &self,
        part: PartitionConfig,
        reset: bool,
    ) -> Result<Arc<PartitionHandle>, ProcessorError> {
        let _guard = self.changing.lock().await;
        self.refuse_while_draining()?;
        if self.cluster.is_some() {
            return Err(ProcessorError::State {
                id: part.id,
                state:
                    "not in the job: in cluster mode every member is given the same [[partitions]]",
            });
        }
        self.config.validate_new_partition(&part)?;
        if self.partition(&part.id).is_some() {
            return Err(ProcessorError::Exists(part.id));
        }
        let running = self.partitions().len();
        if running >= self.config.processor.max_partitions as usize {
            return Err(ProcessorError::Limit { running });
        }
        let resets = match reset {
            true => vec![part.id.clone()],
            false => Vec::new(),
        };
        self.admit(std::slice::from_ref(&part), &resets).await?;
        self.spawn_partition(part)
    }

    /// Graceful removal: the partition commits what it has read, then its actor
    /// ends. Its committed partials stay in the totals. Answers with the partition
    /// as it was when it left.
    pub async fn remove_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let _guard = self.changing.lock().await;
        let handle = self.find(id)?;
        handle.addr.send(Drain).await.map_err(unavailable)?;
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p.id != id);
        self.changed();
        let snapshot = handle.status.snapshot();
        let _ = handle.addr.send(Retire).await;
        crate::metrics::forget_partition(id);
        Ok(snapshot)
    }

    /// Graceful stop of one partition: it stops reading and commits what it has.
    pub async fn stop_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let _guard = self.changing.lock().await;
        let handle = self.find(id)?;
        if handle.status.lifecycle() == Lifecycle::Stopped {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "already stopped",
            });
        }
        handle.addr.send(Drain).await.map_err(unavailable)?;
        Ok(handle.status.snapshot())
    }

    /// Resumes a stopped partition.
    pub async fn start_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let _guard = self.changing.lock().await;
        let handle = self.find(id)?;
        self.refuse_while_draining()?;
        if self.cluster.is_some() && !self.holds_lease(id) {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "not leased by this member",
            });
        }
        if handle.status.lifecycle() != Lifecycle::Stopped {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "not stopped",
            });
        }
        handle.addr.send(Resume).await.map_err(unavailable)?;
        Ok(handle.status.snapshot())
    }

    /// Starts a stopped or `corrupt` partition over from offset 0 under its
    /// configured identity, as `?reset=true` does for a re-added one: its
    /// snapshots, intents, rows and dead letters are deleted and its partials leave
    /// the totals, then it restores (from nothing) and reads from offset 0.
    pub async fn reset_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let _guard = self.changing.lock().await;
        let handle = self.find(id)?;
        self.refuse_while_draining()?;
        if self.cluster.is_some() {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state:
                    "in a cluster: stop every member, then reset it with ssa run --reset-partition",
            });
        }
        if !matches!(
            handle.status.lifecycle(),
            Lifecycle::Stopped | Lifecycle::Corrupt
        ) {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "neither stopped nor corrupt",
            });
        }
        handle.addr.send(Unload).await.map_err(unavailable)?;
        self.start_over(id, Identity::of(&handle.config)).await?;
        handle.addr.send(Resume).await.map_err(unavailable)?;
        Ok(handle.status.snapshot())
    }

    /// Cluster mode: whether this member holds the partition's lease.
    pub fn holds_lease(&self, id: &str) -> bool {
        let cluster = self.cluster.as_ref();
        cluster
            .and_then(|c| c.fence(id))
            .is_some_and(|f| f.is_held())
    }

    /// Cluster mode: hands a held partition over to the other members (commit,
    /// then release); this member does not take it back for one lease_ttl.
    pub async fn release_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let handle = self.find(id)?;
        let Some(cluster) = self.cluster.clone() else {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "not in a cluster (cluster.enabled = false)",
            });
        };
        let released = cluster
            .hand_over(self, id)
            .await
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        if !released {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "not leased by this member",
            });
        }
        Ok(handle.status.snapshot())
    }

    /// Kills one partition actor (fault injection); false if there is no such id.
    pub fn kill_partition(&self, id: &str) -> bool {
        match self.partition(id) {
            Some(p) => {
                p.addr.do_send(KillPartition);
                true
            }
            None => false,
        }
    }

    /// Tells every replayable partition how many lines the generator's cycle range
    /// `range` holds for it (`SUBSCRIBE index count`), so that an early EOF counts
    /// as a lost connection and lag is known.
    pub fn expect_range(&self, range: std::ops::Range<u64>) {
        for p in self.partitions() {
            if p.config.mode == SourceMode::Replayable {
                let (index, count) = (u64::from(p.config.index), u64::from(p.config.count));
                let lines = crate::gen::partition_lines(range.clone(), index, count);
                p.status.expect_lines(lines);
            }
        }
    }

    pub(super) fn refuse_while_draining(&self) -> Result<(), ProcessorError> {
        if self.is_draining() {
            return Err(ProcessorError::Unavailable(
                "the processor is stopping".into(),
            ));
        }
        Ok(())
    }
}

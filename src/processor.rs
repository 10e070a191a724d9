//! Assembles a running processor: the I/O runtime and Cassandra session, the sink,
//! checkpoint and merger actors, and one supervised partition actor per source,
//! spread over one arbiter per core. `ssa run` and `ssa demo` both use it, and so
//! does the admin API: it reads the same handles and adds, stops, resumes and
//! removes partitions while the processor runs. No partition starts before its
//! identity is checked against the one stored with its checkpoints (or it is reset).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use dashmap::DashMap;

use crate::actors::checkpoint::CheckpointActor;
use crate::actors::merger::{Flush, Merger, Totals};
use crate::actors::partition::{
    Drain, KillPartition, PartitionActor, PartitionDeps, Resume, Retire, Retune,
};
use crate::actors::sink::SinkActor;
use crate::actors::stats::{PartitionSnapshot, PartitionState, PartitionStats};
use crate::actors::tuning::{Tuning, TuningValues};
use crate::cassandra;
use crate::checkpoint::{CassandraStore, CheckpointStore, IdentityMismatch, LocalStore};
use crate::config::{CheckpointStoreKind, Config, ConfigError, PartitionConfig, SinkKind};
use crate::sink::CassandraSink;

mod admission;

/// One partition as the rest of the process sees it.
pub struct PartitionHandle {
    pub id: String,
    pub config: PartitionConfig,
    pub addr: Addr<PartitionActor>,
    pub stats: Arc<PartitionStats>,
}

/// Why a change to the set of partitions or to the tuning was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    #[error("invalid {0}")]
    Invalid(#[from] ConfigError),
    #[error("partition {0} already exists")]
    Exists(String),
    #[error("no partition {0}")]
    NotFound(String),
    #[error("partition {id} is {state}")]
    State { id: String, state: &'static str },
    #[error(
        "no more partition indexes (at most {} partitions over the process's life)",
        u16::MAX
    )]
    IndexesExhausted,
    #[error("already {running} partitions running, the most processor.max_partitions allows")]
    Limit { running: usize },
    #[error(transparent)]
    Identity(#[from] IdentityMismatch),
    #[error("actor unavailable: {0}")]
    Unavailable(String),
}

/// A running processor.
pub struct Processor {
    /// The configuration it started with (live values: [`Processor::tuning`],
    /// [`Processor::partitions`]).
    pub config: Config,
    partitions: RwLock<Vec<Arc<PartitionHandle>>>,
    pub sink: Addr<SinkActor>,
    pub checkpoint: Addr<CheckpointActor>,
    pub merger: Addr<Merger>,
    pub totals: Totals,
    pub cassandra: Option<Arc<CassandraSink>>,
    /// The session, when anything uses Cassandra (readiness probes use it).
    pub session: Option<Arc<scylla::client::session::Session>>,
    pub io: tokio::runtime::Handle,
    pub tuning: Arc<Tuning>,
    deps: PartitionDeps,
    /// Merger index of every partition id ever started: a partition that is
    /// removed and added again keeps its index, so its partials are replaced.
    indexes: Mutex<HashMap<String, u16>>,
    /// Serialises changes to the set of partitions and to the tuning.
    changes: tokio::sync::Mutex<()>,
    arbiters: Vec<Arbiter>,
    next_arbiter: AtomicUsize,
    /// Set by [`Processor::drain`]: fault injection stops.
    draining: AtomicBool,
}

/// A multi-threaded runtime for Cassandra and generator I/O, beside actix's.
pub fn io_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ssa-io")
        .enable_all()
        .build()
        .context("starting the I/O runtime")
}

impl Processor {
    /// Starts everything; call inside an actix `System`. Fails at once when
    /// Cassandra does not answer.
    pub async fn start(config: Config, io: tokio::runtime::Handle) -> anyhow::Result<Processor> {
        Self::start_with(config, io, None, &[]).await
    }

    /// Like [`Processor::start`], but waits for Cassandra for as long as it does
    /// not answer, logging why and reporting it to `startup` (`/ready` reads it);
    /// first resets the partitions named in `reset` (ids of `[[partitions]]`). A
    /// partition whose identity differs from the one stored with its checkpoints is
    /// refused as a [`ConfigError`] naming its key, and nothing is written.
    pub async fn start_waiting(
        config: Config,
        io: tokio::runtime::Handle,
        startup: Arc<cassandra::Startup>,
        reset: &[String],
    ) -> anyhow::Result<Processor> {
        Self::start_with(config, io, Some(startup), reset).await
    }

    async fn start_with(
        config: Config,
        io: tokio::runtime::Handle,
        wait: Option<Arc<cassandra::Startup>>,
        reset: &[String],
    ) -> anyhow::Result<Processor> {
        crate::metrics::init();
        let use_cassandra = config.processor.sink == SinkKind::Cassandra
            || config.processor.checkpoint_store == CheckpointStoreKind::Cassandra;
        let session = if use_cassandra {
            let cfg = config.cassandra.clone();
            let session = io
                .spawn(async move {
                    if let Some(startup) = wait {
                        return cassandra::connect_when_up(&cfg, &startup).await;
                    }
                    let session = cassandra::connect(&cfg).await?;
                    cassandra::schema::ensure(&session, &cfg).await?;
                    Ok::<_, cassandra::CassandraError>(session)
                })
                .await??;
            Some(session)
        } else {
            None
        };

        let keyspace = config.cassandra.keyspace.clone();
        let concurrency = config.processor.sink_concurrency as usize;
        let cassandra_sink = match (&session, config.processor.sink) {
            (Some(session), SinkKind::Cassandra) => {
                let session = session.clone();
                let ks = keyspace.clone();
                Some(Arc::new(
                    io.spawn(async move { CassandraSink::new(session, &ks, concurrency).await })
                        .await??,
                ))
            }
            _ => None,
        };
        let store = match config.processor.checkpoint_store {
            CheckpointStoreKind::Cassandra => {
                let session = session
                    .clone()
                    .context("the Cassandra checkpoint store needs a session")?;
                let ks = keyspace.clone();
                let chunk = config.processor.checkpoint_chunk_bytes;
                CheckpointStore::Cassandra(Box::new(
                    io.spawn(async move { CassandraStore::new(session, &ks, chunk).await })
                        .await??,
                ))
            }
            CheckpointStoreKind::Local => {
                CheckpointStore::Local(LocalStore::new(&config.processor.checkpoint_dir))
            }
        };
        let store = Arc::new(store);

        let raw = config.processor.raw_events;
        let sink = {
            let (s, io) = (cassandra_sink.clone(), io.clone());
            Supervisor::start(move |_| SinkActor::new(s, io, raw))
        };
        let checkpoint = {
            let (store, io, keep) = (
                store.clone(),
                io.clone(),
                config.processor.checkpoint_keep as usize,
            );
            Supervisor::start(move |_| CheckpointActor::new(store, io, keep))
        };
        let totals: Totals = Arc::new(DashMap::with_hasher(Default::default()));
        let merger = {
            let (t, s, io) = (totals.clone(), cassandra_sink.clone(), io.clone());
            Supervisor::start(move |_| Merger::new(t, s, io))
        };

        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let arbiters: Vec<Arbiter> = (0..cores.max(1)).map(|_| Arbiter::new()).collect();
        let tuning = Arc::new(Tuning::new(&config.processor));
        let deps = PartitionDeps {
            sink: sink.clone(),
            cassandra: cassandra_sink.clone(),
            checkpoint: checkpoint.clone(),
            merger: merger.clone(),
            io: io.clone(),
            tuning: tuning.clone(),
        };
        let processor = Processor {
            config,
            partitions: RwLock::new(Vec::new()),
            sink,
            checkpoint,
            merger,
            totals,
            cassandra: cassandra_sink,
            session,
            io,
            tuning,
            deps,
            indexes: Mutex::new(HashMap::new()),
            changes: tokio::sync::Mutex::new(()),
            arbiters,
            next_arbiter: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
        };
        let parts = processor.config.partitions.clone();
        if let Err(e) = processor.admit(&parts, reset).await {
            return Err(match e {
                ProcessorError::Identity(m) => {
                    let i = parts.iter().position(|p| p.id == m.partition).unwrap_or(0);
                    ConfigError::invalid(format!("partitions[{i}].{}", m.field), m.to_string())
                        .into()
                }
                other => anyhow::Error::new(other).context("admitting the partitions"),
            });
        }
        for part in parts {
            processor.spawn_partition(part)?;
        }
        Ok(processor)
    }

    /// The merger index of a partition id, the same for the process's life.
    fn index_of(&self, id: &str) -> Result<u16, ProcessorError> {
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
    fn spawn_partition(
        &self,
        part: PartitionConfig,
    ) -> Result<Arc<PartitionHandle>, ProcessorError> {
        let index = self.index_of(&part.id)?;
        let stats = Arc::new(PartitionStats::new(&part.id, &part.source));
        let (cfg, proc, deps, stats2) = (
            part.clone(),
            self.config.processor.clone(),
            self.deps.clone(),
            stats.clone(),
        );
        let arbiter = self.next_arbiter.fetch_add(1, Relaxed) % self.arbiters.len();
        let addr = Supervisor::start_in_arbiter(&self.arbiters[arbiter].handle(), move |_| {
            PartitionActor::new(cfg, proc, index, deps, stats2)
        });
        let handle = Arc::new(PartitionHandle {
            id: part.id.clone(),
            config: part,
            addr,
            stats,
        });
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle.clone());
        Ok(handle)
    }

    /// The partitions, in the order they were added.
    pub fn partitions(&self) -> Vec<Arc<PartitionHandle>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
        let _guard = self.changes.lock().await;
        self.refuse_while_draining()?;
        self.config.validate_new_partition(&part)?;
        if self.partition(&part.id).is_some() {
            return Err(ProcessorError::Exists(part.id));
        }
        let running = self.partitions().len();
        if running >= self.config.processor.max_partitions as usize {
            return Err(ProcessorError::Limit { running });
        }
        let resets = if reset {
            vec![part.id.clone()]
        } else {
            Vec::new()
        };
        self.admit(std::slice::from_ref(&part), &resets).await?;
        self.spawn_partition(part)
    }

    /// Graceful removal: the partition commits what it has read, then its actor
    /// ends. Its committed partials stay in the totals.
    pub async fn remove_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let _guard = self.changes.lock().await;
        let handle = self
            .partition(id)
            .ok_or_else(|| ProcessorError::NotFound(id.to_string()))?;
        handle
            .addr
            .send(Drain)
            .await
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p.id != id);
        let snapshot = handle.stats.snapshot();
        let _ = handle.addr.send(Retire).await;
        crate::metrics::forget_partition(id);
        Ok(snapshot)
    }

    /// Graceful stop of one partition: it stops reading and commits what it has.
    pub async fn stop_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let _guard = self.changes.lock().await;
        let handle = self
            .partition(id)
            .ok_or_else(|| ProcessorError::NotFound(id.to_string()))?;
        if handle.stats.state() == PartitionState::Stopped {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "already stopped",
            });
        }
        handle
            .addr
            .send(Drain)
            .await
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        Ok(handle.stats.snapshot())
    }

    /// Resumes a stopped partition.
    pub async fn start_partition(&self, id: &str) -> Result<PartitionSnapshot, ProcessorError> {
        let _guard = self.changes.lock().await;
        let handle = self
            .partition(id)
            .ok_or_else(|| ProcessorError::NotFound(id.to_string()))?;
        self.refuse_while_draining()?;
        if handle.stats.state() != PartitionState::Stopped {
            return Err(ProcessorError::State {
                id: id.to_string(),
                state: "not stopped",
            });
        }
        handle
            .addr
            .send(Resume)
            .await
            .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
        Ok(handle.stats.snapshot())
    }

    /// Validates and applies new live values of the tunable knobs.
    pub async fn retune(&self, values: TuningValues) -> Result<TuningValues, ProcessorError> {
        let _guard = self.changes.lock().await;
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
    pub async fn ping_cassandra(&self, timeout: Duration) -> Result<(), String> {
        let Some(session) = self.session.clone() else {
            return Ok(());
        };
        let probe = self.io.spawn(async move {
            tokio::time::timeout(
                timeout,
                session.query_unpaged("SELECT release_version FROM system.local", ()),
            )
            .await
        });
        match probe.await {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e.to_string()),
            Ok(Err(_)) => Err(format!("no answer within {timeout:?}")),
            Err(e) => Err(format!("probe task: {e}")),
        }
    }

    pub fn partition(&self, id: &str) -> Option<Arc<PartitionHandle>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|p| p.id == id)
            .cloned()
    }

    /// Tells every replayable partition how many lines the generator's cycle range
    /// `range` holds for it (`SUBSCRIBE index count`), so that an early EOF counts
    /// as a lost connection and lag is known.
    pub fn expect_range(&self, range: std::ops::Range<u64>) {
        for p in self.partitions() {
            if p.config.mode == crate::config::SourceMode::Replayable {
                let lines = crate::gen::partition_lines(
                    range.clone(),
                    u64::from(p.config.index),
                    u64::from(p.config.count),
                );
                p.stats
                    .expected_lines
                    .store(lines, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Whether every partition has committed everything its source had.
    pub fn all_finished(&self) -> bool {
        self.partitions().iter().all(|p| p.stats.is_finished())
    }

    pub fn snapshots(&self) -> Vec<PartitionSnapshot> {
        self.partitions()
            .iter()
            .map(|p| p.stats.snapshot())
            .collect()
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

    /// Waits until every partition has finished, then until all totals are written.
    pub async fn wait_finished(&self) {
        while !self.all_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.flush().await;
    }

    fn refuse_while_draining(&self) -> Result<(), ProcessorError> {
        if self.is_draining() {
            return Err(ProcessorError::Unavailable(
                "the processor is stopping".into(),
            ));
        }
        Ok(())
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
    }

    /// Resolves once the totals computed so far are written.
    pub async fn flush(&self) {
        let _ = self.merger.send(Flush).await;
    }
}

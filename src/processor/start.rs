//! The running processor and how it starts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};

use actix::prelude::*;
use anyhow::Context as _;
use dashmap::DashMap;
use tokio::sync::watch;

use super::partitions::PartitionHandle;
use super::ProcessorError;
use crate::actors::budget::StateBudget;
use crate::actors::checkpoint::CheckpointActor;
use crate::actors::merger::{Merger, Totals};
use crate::actors::partition::PartitionDeps;
use crate::actors::sink::SinkActor;
use crate::actors::tuning::Tuning;
use crate::cassandra::{self, CassandraError};
use crate::checkpoint::{CassandraStore, CheckpointStore, LocalStore};
use crate::cluster::{Cluster, LeaseStore};
use crate::config::{CheckpointStoreKind, Config, ConfigError, SinkKind};
use crate::runtime::on_io;
use crate::sink::CassandraSink;

/// A running processor.
pub struct Processor {
    /// The configuration it started with (live values: [`Processor::tuning`],
    /// [`Processor::partitions`]).
    pub config: Config,
    pub(super) partitions: RwLock<Vec<Arc<PartitionHandle>>>,
    pub sink: Addr<SinkActor>,
    pub checkpoint: Addr<CheckpointActor>,
    pub merger: Addr<Merger>,
    pub totals: Totals,
    pub cassandra: Option<Arc<CassandraSink>>,
    /// The session, when anything uses Cassandra (readiness probes use it).
    pub session: Option<Arc<scylla::client::session::Session>>,
    pub io: tokio::runtime::Handle,
    pub tuning: Arc<Tuning>,
    /// The state memory budget every partition and the merger report to.
    pub budget: Arc<StateBudget>,
    /// Cluster mode: this process's membership and leases.
    pub cluster: Option<Arc<Cluster>>,
    pub(super) deps: PartitionDeps,
    /// Bumped whenever a partition changes phase or the set of partitions changes.
    pub(super) changes: Arc<watch::Sender<u64>>,
    /// Merger index of every partition id ever started: a partition that is
    /// removed and added again keeps its index, so its partials are replaced.
    pub(super) indexes: Mutex<HashMap<String, u16>>,
    /// Serialises changes to the set of partitions and to the tuning.
    pub(super) changing: tokio::sync::Mutex<()>,
    pub(super) arbiters: Vec<Arbiter>,
    pub(super) next_arbiter: AtomicUsize,
    /// Set by [`Processor::drain`]: fault injection stops.
    pub(super) draining: AtomicBool,
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
        let session = match use_cassandra {
            true => Some(connect(&config, &io, wait).await?),
            false => None,
        };
        let keyspace = config.cassandra.keyspace.clone();
        let cassandra_sink = match (&session, config.processor.sink) {
            (Some(session), SinkKind::Cassandra) => {
                let (session, ks) = (session.clone(), keyspace.clone());
                let concurrency = config.processor.sink_concurrency as usize;
                let sink = on_io(&io, "preparing the sink", async move {
                    CassandraSink::new(session, &ks, concurrency).await
                });
                Some(Arc::new(sink.await?))
            }
            _ => None,
        };
        let store = match config.processor.checkpoint_store {
            CheckpointStoreKind::Cassandra => {
                let session = session
                    .clone()
                    .context("the Cassandra checkpoint store needs a session")?;
                let chunk = config.processor.checkpoint_chunk_bytes;
                let store = on_io(&io, "preparing the checkpoint store", async move {
                    CassandraStore::new(session, &keyspace, chunk).await
                });
                let store = store.await?;
                CheckpointStore::Cassandra(Box::new(store))
            }
            CheckpointStoreKind::Local => {
                CheckpointStore::Local(LocalStore::new(&config.processor.checkpoint_dir))
            }
        };
        let store = Arc::new(store);
        let cluster = match (&session, config.cluster.enabled) {
            (Some(session), true) => {
                let (session, ks) = (session.clone(), config.cassandra.keyspace.clone());
                let serial = config.cassandra.serial_consistency;
                let leases = on_io(&io, "preparing the lease statements", async move {
                    LeaseStore::new(session, &ks, serial).await
                });
                Some(Arc::new(Cluster::new(&config, Arc::new(leases.await?))))
            }
            _ => None,
        };

        let raw = config.processor.raw_events;
        let sink = {
            let (s, io) = (cassandra_sink.clone(), io.clone());
            Supervisor::start(move |_| SinkActor::new(s, io, raw))
        };
        let checkpoint = {
            let keep = config.processor.checkpoint_keep as usize;
            let (store, io) = (store.clone(), io.clone());
            Supervisor::start(move |_| CheckpointActor::new(store, io, keep))
        };
        let totals: Totals = Arc::new(DashMap::with_hasher(Default::default()));
        let budget = StateBudget::new(config.processor.state_memory_limit.bytes());
        let merger = {
            let (t, s, io) = (totals.clone(), cassandra_sink.clone(), io.clone());
            let b = budget.clone();
            let job = cluster.as_ref().map(|c| c.job.clone());
            Supervisor::start(move |_| {
                let merger = Merger::new(t, s, io).with_budget(b.clone());
                match job.clone() {
                    Some(job) => merger.shared(job),
                    None => merger,
                }
            })
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
            budget: budget.clone(),
            cluster: cluster.clone(),
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
            budget,
            cluster,
            deps,
            changes: Arc::new(watch::Sender::new(0)),
            indexes: Mutex::new(HashMap::new()),
            changing: tokio::sync::Mutex::new(()),
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
}

impl Processor {
    /// Cluster mode: starts this member's coordination rounds (heartbeat, renew,
    /// take and hand over leases) on the actix system. Nothing otherwise.
    pub fn start_cluster(self: &Arc<Self>) {
        if let Some(cluster) = self.cluster.clone() {
            tracing::info!(node = %cluster.node, partitions = cluster.job.len(), "joining the cluster");
            actix::spawn(cluster.run(self.clone()));
        }
    }
}

/// The session: at once (failing when no node answers), or waiting for as long
/// as none does when `wait` reports start-up.
async fn connect(
    config: &Config,
    io: &tokio::runtime::Handle,
    wait: Option<Arc<cassandra::Startup>>,
) -> anyhow::Result<Arc<scylla::client::session::Session>> {
    let cfg = config.cassandra.clone();
    let session = on_io(io, "connecting to cassandra", async move {
        if let Some(startup) = wait {
            return cassandra::connect_when_up(&cfg, &startup).await;
        }
        let session = cassandra::connect(&cfg).await?;
        cassandra::schema::ensure(&session, &cfg).await?;
        Ok::<_, CassandraError>(session)
    });
    Ok(session.await?)
}

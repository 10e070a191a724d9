//! Assembles a running processor: the I/O runtime and Cassandra session, the sink,
//! checkpoint and merger actors, and one supervised partition actor per source,
//! spread over one arbiter per core. `ssa run` and `ssa demo` both use it, and so
//! will the admin API (it reads the same handles).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use dashmap::DashMap;

use crate::actors::checkpoint::CheckpointActor;
use crate::actors::merger::{Flush, Merger, Totals};
use crate::actors::partition::{Drain, KillPartition, PartitionActor, PartitionDeps};
use crate::actors::sink::SinkActor;
use crate::actors::stats::{PartitionSnapshot, PartitionStats};
use crate::cassandra;
use crate::checkpoint::{CassandraStore, CheckpointStore, LocalStore};
use crate::config::{CheckpointStoreKind, Config, SinkKind};
use crate::sink::CassandraSink;

/// One partition as the rest of the process sees it.
pub struct PartitionHandle {
    pub id: String,
    pub addr: Addr<PartitionActor>,
    pub stats: Arc<PartitionStats>,
}

/// A running processor.
pub struct Processor {
    pub config: Config,
    pub partitions: Vec<PartitionHandle>,
    pub sink: Addr<SinkActor>,
    pub checkpoint: Addr<CheckpointActor>,
    pub merger: Addr<Merger>,
    pub totals: Totals,
    pub cassandra: Option<Arc<CassandraSink>>,
    pub io: tokio::runtime::Handle,
    _arbiters: Vec<Arbiter>,
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
    /// Starts everything; call inside an actix `System`.
    pub async fn start(config: Config, io: tokio::runtime::Handle) -> anyhow::Result<Processor> {
        crate::metrics::init();
        let use_cassandra = config.processor.sink == SinkKind::Cassandra
            || config.processor.checkpoint_store == CheckpointStoreKind::Cassandra;
        let session = if use_cassandra {
            let cfg = config.cassandra.clone();
            let session = io
                .spawn(async move {
                    let session = cassandra::connect(&cfg).await?;
                    cassandra::schema::apply(&session, &cfg).await?;
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
        let arbiters: Vec<Arbiter> = (0..cores.min(config.partitions.len().max(1)))
            .map(|_| Arbiter::new())
            .collect();
        let deps = PartitionDeps {
            sink: sink.clone(),
            cassandra: cassandra_sink.clone(),
            checkpoint: checkpoint.clone(),
            merger: merger.clone(),
            io: io.clone(),
        };
        let mut partitions = Vec::new();
        for (i, part) in config.partitions.iter().enumerate() {
            let stats = Arc::new(PartitionStats::new(&part.id, &part.source));
            let (cfg, proc, deps2, stats2) = (
                part.clone(),
                config.processor.clone(),
                deps.clone(),
                stats.clone(),
            );
            let index = i as u16;
            let addr =
                Supervisor::start_in_arbiter(&arbiters[i % arbiters.len()].handle(), move |_| {
                    PartitionActor::new(cfg, proc, index, deps2, stats2)
                });
            partitions.push(PartitionHandle {
                id: part.id.clone(),
                addr,
                stats,
            });
        }
        Ok(Processor {
            config,
            partitions,
            sink,
            checkpoint,
            merger,
            totals,
            cassandra: cassandra_sink,
            io,
            _arbiters: arbiters,
        })
    }

    pub fn partition(&self, id: &str) -> Option<&PartitionHandle> {
        self.partitions.iter().find(|p| p.id == id)
    }

    /// Whether every partition has committed everything its source had.
    pub fn all_finished(&self) -> bool {
        self.partitions.iter().all(|p| p.stats.is_finished())
    }

    pub fn snapshots(&self) -> Vec<PartitionSnapshot> {
        self.partitions.iter().map(|p| p.stats.snapshot()).collect()
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

    /// Graceful stop: every partition stops reading and commits what it has.
    pub async fn drain(&self) {
        let drains: Vec<_> = self.partitions.iter().map(|p| p.addr.send(Drain)).collect();
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

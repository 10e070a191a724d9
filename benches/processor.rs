//! Processor figures on this machine (a bench binary that prints, never asserts):
//!
//! 1. ingest + rollup with `--sink none`, 4 partitions, generator in the same run;
//! 2. persisted events/s with Cassandra, against the node's own ceiling measured in
//!    the same run by a plain max-rate writer of the same rows (no actors, sockets
//!    or checkpoints: sealed epochs written straight through the sink);
//! 3. event→commit latency p50/p99 at half the max rate;
//! 4. kill → partition processing again.
//!
//! `cargo bench --bench processor` (needs the node: `scripts/cassandra start`).
//! `SSA_BENCH_EVENTS` sets the events of the Cassandra runs (default 400000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ssa::actors::partition::Lifecycle;
use ssa::config::{CheckpointStoreKind, Config, PartitionConfig, SinkKind, SourceMode};
use ssa::core::{RollupState, StateOptions};
use ssa::format::Format;
use ssa::gen::{serve, CycleRange, ServeMode, ServeOptions, Workload};
use ssa::processor::Processor;
use ssa::runtime::io_runtime;
use ssa::sink::{write_timestamp, CassandraSink, EpochWrite};
use tokio_util::sync::CancellationToken;

fn contact_point() -> String {
    std::env::var("SSA_TEST_CONTACT_POINT").unwrap_or_else(|_| "127.0.0.1:9042".into())
}

fn config(keyspace: &str, sink: SinkKind, partitions: Vec<PartitionConfig>) -> Config {
    let mut c = Config::default();
    c.cassandra.contact_points = vec![contact_point()];
    c.cassandra.keyspace = keyspace.into();
    c.cassandra.consistency = ssa::config::ConsistencyName::One;
    c.processor.sink = sink;
    if sink == SinkKind::None {
        c.processor.checkpoint_store = CheckpointStoreKind::Local;
        c.processor.checkpoint_dir = std::env::temp_dir()
            .join(format!("ssa-bench-{}-{keyspace}", std::process::id()))
            .display()
            .to_string();
    }
    c.admin.enabled = false;
    c.partitions = partitions;
    c
}

fn partitions(addr: std::net::SocketAddr, n: u32) -> Vec<PartitionConfig> {
    (0..n)
        .map(|i| PartitionConfig {
            id: format!("p{i}"),
            source: format!("tcp://{addr}"),
            mode: SourceMode::Replayable,
            format: Format::Seed,
            index: i,
            count: n,
        })
        .collect()
}

struct RunResult {
    events: u64,
    secs: f64,
    latencies: Vec<f64>,
    seal_to_commit: Vec<f64>,
    write: Vec<f64>,
    checkpoint: Vec<f64>,
}

/// Generator + processor in one process until every partition has committed.
fn pipeline(
    io: &tokio::runtime::Runtime,
    keyspace: &str,
    sink: SinkKind,
    events: u64,
    rate: u64,
    n: u32,
) -> RunResult {
    let listener = io
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut opts = ServeOptions::new(
        Workload::default(),
        ServeMode::Partitioned,
        CycleRange::finite(0..events),
    );
    opts.rate = rate;
    let stop = CancellationToken::new();
    io.spawn(serve(listener, opts, stop.clone()));
    let cfg = config(keyspace, sink, partitions(addr, n));
    let handle = io.handle().clone();
    let result = actix::System::new().block_on(async move {
        let p = Processor::start(cfg, handle)
            .await
            .expect("processor starts");
        p.expect_range(0..events);
        let names = [
            "ssa_event_commit_seconds",
            "ssa_epoch_commit_seconds",
            "ssa_cassandra_write_seconds",
            "ssa_checkpoint_seconds",
        ];
        let before: Vec<_> = names.iter().map(|n| histogram_buckets(n)).collect();
        let started = Instant::now();
        p.wait_finished().await;
        let secs = started.elapsed().as_secs_f64();
        let q: Vec<Vec<f64>> = names
            .iter()
            .zip(&before)
            .map(|(n, b)| quantiles_between(b, &histogram_buckets(n), &[0.5, 0.99]))
            .collect();
        let (latencies, seal_to_commit, write, checkpoint) =
            (q[0].clone(), q[1].clone(), q[2].clone(), q[3].clone());
        RunResult {
            events,
            secs,
            latencies,
            seal_to_commit,
            write,
            checkpoint,
        }
    });
    stop.cancel();
    result
}

/// Cumulative bucket counts of a histogram summed over its label values.
fn histogram_buckets(name: &str) -> Vec<(f64, u64)> {
    let families = ssa::metrics::REGISTRY.gather();
    let Some(f) = families.iter().find(|f| f.name() == name) else {
        return Vec::new();
    };
    let mut bounds: Vec<(f64, u64)> = Vec::new();
    for m in f.get_metric() {
        for (i, b) in m.get_histogram().get_bucket().iter().enumerate() {
            if bounds.len() <= i {
                bounds.push((b.upper_bound(), 0));
            }
            bounds[i].1 += b.cumulative_count();
        }
    }
    bounds
}

/// Quantiles of the samples added between two bucket readings, interpolated
/// within buckets (the resolution is the bucket layout's).
fn quantiles_between(before: &[(f64, u64)], after: &[(f64, u64)], qs: &[f64]) -> Vec<f64> {
    let diff: Vec<(f64, u64)> = after
        .iter()
        .enumerate()
        .map(|(i, (ub, c))| (*ub, c - before.get(i).map(|b| b.1).unwrap_or(0)))
        .collect();
    let total = diff.last().map(|d| d.1).unwrap_or(0);
    qs.iter()
        .map(|q| {
            let target = ((q * total as f64).ceil() as u64).max(1);
            let mut prev = (0.0, 0u64);
            for &(ub, c) in &diff {
                if c >= target {
                    let span = (c - prev.1).max(1) as f64;
                    return prev.0 + (ub - prev.0) * ((target - prev.1) as f64 / span);
                }
                prev = (ub, c);
            }
            f64::INFINITY
        })
        .collect()
}

/// The node's ceiling for the same rows: sealed epochs of the same workload,
/// written straight through the sink with its full concurrency, no actor in between.
fn plain_writer(io: &tokio::runtime::Runtime, keyspace: &str, events: u64, n: u32) -> f64 {
    let cfg = config(keyspace, SinkKind::Cassandra, Vec::new());
    io.block_on(async move {
        let session = ssa::cassandra::connect(&cfg.cassandra).await.unwrap();
        ssa::cassandra::schema::apply(&session, &cfg.cassandra)
            .await
            .unwrap();
        let sink = Arc::new(
            CassandraSink::new(session, keyspace, cfg.processor.sink_concurrency as usize)
                .await
                .unwrap(),
        );
        // Seal epochs as the partitions would (same epoch size), before the clock starts.
        let workload = Workload::default();
        let per_epoch = cfg.processor.max_epoch_events;
        let mut epochs = Vec::new();
        for p in 0..n as u64 {
            let mut state = RollupState::new(
                format!("p{p}"),
                StateOptions {
                    keep_raw: true,
                    bucket_horizon_minutes: Some(60),
                },
            );
            let mut line = Vec::new();
            let mut k = 0u64;
            loop {
                let cycle = p + n as u64 * k;
                if cycle >= events {
                    break;
                }
                line.clear();
                workload.write_line(cycle, &mut line);
                let off = state.offset();
                let ev = ssa::core::parse_line(Format::Seed, &line[..line.len() - 1]).unwrap();
                state.record(off, &ev, 0);
                k += 1;
                if state.epoch_events() >= per_epoch {
                    epochs.push((format!("p{p}"), state.seal_epoch()));
                }
            }
            if state.has_unsealed() {
                epochs.push((format!("p{p}"), state.seal_epoch()));
            }
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (p, sealed) in epochs {
            let sink = sink.clone();
            tasks.push(tokio::spawn(async move {
                let w = EpochWrite {
                    partition: Arc::from(p.as_str()),
                    sealed: Arc::new(sealed),
                    dead_letters: Arc::new(Vec::new()),
                    timestamp: write_timestamp(),
                    cancel: Default::default(),
                };
                sink.write_epoch(&w, true).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        events as f64 / started.elapsed().as_secs_f64()
    })
}

fn drop_keyspace(io: &tokio::runtime::Runtime, keyspace: &str) {
    let cfg = config(keyspace, SinkKind::Cassandra, Vec::new());
    io.block_on(async move {
        if let Ok(s) = ssa::cassandra::connect(&cfg.cassandra).await {
            let _ = s
                .query_unpaged(
                    format!("DROP KEYSPACE IF EXISTS {}", cfg.cassandra.keyspace),
                    (),
                )
                .await;
        }
    });
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    if !benching {
        println!(
            "processor bench: run with `cargo bench --bench processor` (needs the Cassandra node)"
        );
        return;
    }
    let events: u64 = std::env::var("SSA_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400_000);
    let io = io_runtime().unwrap();
    let tag = std::process::id();

    let none_events = 20_000_000;
    let r = pipeline(
        &io,
        &format!("bench_none_{tag}"),
        SinkKind::None,
        none_events,
        0,
        4,
    );
    println!(
        "1. ingest + rollup, sink none, 4 partitions, generator in process: {:.2} M events/s ({} events in {:.2} s)",
        r.events as f64 / r.secs / 1e6,
        r.events,
        r.secs
    );

    // The writer runs before and after the pipeline; the better figure is the ceiling.
    let ks_plain = format!("bench_plain_{tag}");
    let first = plain_writer(&io, &ks_plain, events, 4);
    drop_keyspace(&io, &ks_plain);
    let ks_full = format!("bench_full_{tag}");
    let r = pipeline(&io, &ks_full, SinkKind::Cassandra, events, 0, 4);
    drop_keyspace(&io, &ks_full);
    let persisted = r.events as f64 / r.secs;
    let ks_plain2 = format!("bench_plain2_{tag}");
    let second = plain_writer(&io, &ks_plain2, events, 4);
    drop_keyspace(&io, &ks_plain2);
    let ceiling = first.max(second);
    println!(
        "2. persisted with Cassandra: {:.0} events/s; plain max-rate writer of the same rows: {:.0} events/s; ratio {:.1} %",
        persisted,
        ceiling,
        100.0 * persisted / ceiling
    );

    let half = (persisted / 2.0) as u64;
    let ks_lat = format!("bench_lat_{tag}");
    let r = pipeline(
        &io,
        &ks_lat,
        SinkKind::Cassandra,
        (half * 10).max(50_000),
        half,
        4,
    );
    drop_keyspace(&io, &ks_lat);
    let flush = Config::default().processor.flush_interval.as_secs_f64() * 1000.0;
    println!(
        "3. event->commit at half the max rate ({half} events/s): p50 {:.0} ms, p99 {:.0} ms (flush_interval {flush:.0} ms, target p99 <= {:.0} ms)",
        r.latencies[0] * 1000.0,
        r.latencies[1] * 1000.0,
        flush + 50.0
    );
    let ms = |v: &[f64]| format!("p50 {:.0} ms, p99 {:.0} ms", v[0] * 1000.0, v[1] * 1000.0);
    println!(
        "   of which seal->commit {}; one Cassandra write {}; one checkpoint {}",
        ms(&r.seal_to_commit),
        ms(&r.write),
        ms(&r.checkpoint)
    );

    // 4. kill -> processing again
    let listener = io
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut opts = ServeOptions::new(
        Workload::default(),
        ServeMode::Partitioned,
        CycleRange::endless(0),
    );
    opts.rate = 100_000;
    let stop = CancellationToken::new();
    io.spawn(serve(listener, opts, stop.clone()));
    let ks_kill = format!("bench_kill_{tag}");
    let cfg = config(&ks_kill, SinkKind::Cassandra, partitions(addr, 2));
    let handle = io.handle().clone();
    let resumes = actix::System::new().block_on(async move {
        let p = Processor::start(cfg, handle).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut resumes = Vec::new();
        for _ in 0..20 {
            let partitions = p.partitions();
            let part = &partitions[0];
            let restarts = part.status.restarts();
            p.kill_partition(&part.id);
            let status = &part.status;
            let resumed = status.wait_until(|o| {
                status.restarts() != restarts && o.lifecycle() == Lifecycle::Running
            });
            let _ = tokio::time::timeout(Duration::from_secs(10), resumed).await;
            resumes.push(part.status.resumed_after_restart_ms());
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        p.drain().await;
        resumes
    });
    stop.cancel();
    drop_keyspace(&io, &ks_kill);
    let mut sorted = resumes.clone();
    sorted.sort_unstable();
    println!(
        "4. kill -> processing again (restore from checkpoint, repair, re-subscribe), 20 kills: p50 {} ms, max {} ms",
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    );
}

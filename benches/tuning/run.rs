//! One measured run of the sweep: the replayable generator and the processor in
//! this process until every partition has committed, with the latencies read
//! from the same Prometheus histograms Grafana shows.

use std::time::{Duration, Instant};

use ssa::config::{Config, PartitionConfig, SourceMode};
use ssa::format::Format;
use ssa::gen::{serve, CycleRange, ServeMode, ServeOptions, Workload};
use ssa::processor::Processor;
use tokio_util::sync::CancellationToken;

/// The knobs of one run.
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    pub flush_interval: Duration,
    pub max_epoch_events: u64,
    pub max_inflight_epochs: u32,
    pub sink_concurrency: u32,
    pub partitions: u32,
}

impl Default for Knobs {
    /// The shipped defaults (config/default.toml) and the demo's 4 partitions.
    fn default() -> Self {
        let p = Config::default().processor;
        Knobs {
            flush_interval: p.flush_interval,
            max_epoch_events: p.max_epoch_events,
            max_inflight_epochs: p.max_inflight_epochs,
            sink_concurrency: p.sink_concurrency,
            partitions: 4,
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub events: u64,
    pub seconds: f64,
    /// Event arrival → commit of its epoch, p50 and p99, in seconds.
    pub event_commit: [f64; 2],
    /// Epoch seal → commit, p50 and p99, in seconds.
    pub seal_commit: [f64; 2],
    /// Time partitions spent not reading, summed over partitions.
    pub backpressure_seconds: f64,
}

impl Outcome {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

pub fn contact_point() -> String {
    std::env::var("SSA_TEST_CONTACT_POINT").unwrap_or_else(|_| "127.0.0.1:9042".into())
}

fn config(keyspace: &str, ids: &str, knobs: Knobs, addr: std::net::SocketAddr) -> Config {
    let mut c = Config::default();
    c.cassandra.contact_points = vec![contact_point()];
    c.cassandra.keyspace = keyspace.into();
    c.cassandra.consistency = ssa::config::ConsistencyName::One;
    c.processor.flush_interval = knobs.flush_interval;
    c.processor.max_epoch_events = knobs.max_epoch_events;
    c.processor.max_inflight_epochs = knobs.max_inflight_epochs;
    c.processor.sink_concurrency = knobs.sink_concurrency;
    c.admin.enabled = false;
    c.partitions = (0..knobs.partitions)
        .map(|i| PartitionConfig {
            id: format!("{ids}{i}"),
            source: format!("tcp://{addr}"),
            mode: SourceMode::Replayable,
            format: Format::Seed,
            index: i,
            count: knobs.partitions,
        })
        .collect();
    c
}

/// Runs `events` events at `rate` events/s (0 = as fast as possible) with
/// partitions `{ids}0`, `{ids}1`, … (new ids: nothing to resume from).
pub fn run(
    io: &tokio::runtime::Runtime,
    keyspace: &str,
    ids: &str,
    knobs: Knobs,
    events: u64,
    rate: u64,
) -> Outcome {
    let listener = io
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a generator port");
    let addr = listener.local_addr().expect("bound");
    let mut opts = ServeOptions::new(
        Workload::default(),
        ServeMode::Partitioned,
        CycleRange::finite(0..events),
    );
    opts.rate = rate;
    let stop = CancellationToken::new();
    io.spawn(serve(listener, opts, stop.clone()));
    let cfg = config(keyspace, ids, knobs, addr);
    let handle = io.handle().clone();
    let outcome = actix::System::new().block_on(async move {
        let p = Processor::start(cfg, handle)
            .await
            .expect("the processor starts (is the node up?)");
        p.expect_range(0..events);
        let before = (
            histogram("ssa_event_commit_seconds"),
            histogram("ssa_epoch_commit_seconds"),
            counter_sum("ssa_backpressure_seconds_total"),
        );
        let started = Instant::now();
        p.wait_finished().await;
        let seconds = started.elapsed().as_secs_f64();
        let q = |name: &str, before: &[(f64, u64)]| {
            let v = quantiles_between(before, &histogram(name), &[0.5, 0.99]);
            [v[0], v[1]]
        };
        Outcome {
            events,
            seconds,
            event_commit: q("ssa_event_commit_seconds", &before.0),
            seal_commit: q("ssa_epoch_commit_seconds", &before.1),
            backpressure_seconds: counter_sum("ssa_backpressure_seconds_total") - before.2,
        }
    });
    stop.cancel();
    outcome
}

pub fn drop_keyspace(io: &tokio::runtime::Runtime, keyspace: &str) {
    let mut c = Config::default();
    c.cassandra.contact_points = vec![contact_point()];
    c.cassandra.keyspace = keyspace.into();
    io.block_on(async move {
        if let Ok(s) = ssa::cassandra::connect(&c.cassandra).await {
            let _ = s
                .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
                .await;
        }
    });
}

/// Cumulative bucket counts of a histogram, summed over its label values.
fn histogram(name: &str) -> Vec<(f64, u64)> {
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

/// A counter summed over its label values.
fn counter_sum(name: &str) -> f64 {
    let families = ssa::metrics::REGISTRY.gather();
    families
        .iter()
        .find(|f| f.name() == name)
        .map(|f| f.get_metric().iter().map(|m| m.get_counter().value()).sum())
        .unwrap_or(0.0)
}

/// Quantiles of the samples added between two readings, interpolated linearly
/// within a bucket, as Prometheus' `histogram_quantile` does (the buckets
/// double from 1 ms, so that is the resolution).
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
            f64::NAN
        })
        .collect()
}

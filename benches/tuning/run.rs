//! The two measured runs of a sweep point, each with the replayable generator
//! and the processor in this process: steady-state throughput with the
//! generator unthrottled, and latency at a set rate. Latencies come from the
//! same Prometheus histograms Grafana shows.

use std::time::{Duration, Instant};

use ssa::actors::partition::Retire;
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
    /// Committed events per second (saturated: summed over partitions, each
    /// between two of its commits; paced: events over seconds).
    pub events_per_second: f64,
    /// Event arrival → commit of its epoch, p50 and p99, in seconds.
    pub event_commit: [f64; 2],
    /// Epoch seal → commit, p50 and p99, in seconds.
    pub seal_commit: [f64; 2],
    /// Time partitions spent not reading, summed over partitions.
    pub backpressure_seconds: f64,
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

/// The generator serving `cycles` at `rate` (0 = as fast as it can) on a free port.
fn generator(
    io: &tokio::runtime::Runtime,
    cycles: CycleRange,
    rate: u64,
) -> (std::net::SocketAddr, CancellationToken) {
    let listener = io
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a generator port");
    let addr = listener.local_addr().expect("bound");
    let mut opts = ServeOptions::new(Workload::default(), ServeMode::Partitioned, cycles);
    opts.rate = rate;
    let stop = CancellationToken::new();
    io.spawn(serve(listener, opts, stop.clone()));
    (addr, stop)
}

/// The readings a run's outcome is the difference of.
struct Readings {
    at: Instant,
    committed: u64,
    event_commit: Vec<(f64, u64)>,
    seal_commit: Vec<(f64, u64)>,
    backpressure: f64,
}

impl Readings {
    fn take(p: &Processor) -> Readings {
        Readings {
            at: Instant::now(),
            committed: p.snapshots().iter().map(|s| s.committed_offset).sum(),
            event_commit: histogram("ssa_event_commit_seconds"),
            seal_commit: histogram("ssa_epoch_commit_seconds"),
            backpressure: counter_sum("ssa_backpressure_seconds_total"),
        }
    }

    fn outcome_since(&self, before: &Readings) -> Outcome {
        let q = |a: &[(f64, u64)], b: &[(f64, u64)]| {
            let v = quantiles_between(b, a, &[0.5, 0.99]);
            [v[0], v[1]]
        };
        let events = self.committed - before.committed;
        let seconds = self.at.duration_since(before.at).as_secs_f64();
        Outcome {
            events,
            seconds,
            events_per_second: events as f64 / seconds,
            event_commit: q(&self.event_commit, &before.event_commit),
            seal_commit: q(&self.seal_commit, &before.seal_commit),
            backpressure_seconds: self.backpressure - before.backpressure,
        }
    }
}

/// Commit instants of one partition: `(when, committed offset)` at each change.
#[derive(Default)]
struct Commits(Vec<(Instant, u64)>);

impl Commits {
    fn observe(&mut self, at: Instant, offset: u64) {
        if self.0.last().is_none_or(|(_, o)| *o != offset) {
            self.0.push((at, offset));
        }
    }

    /// Events committed between its first and last observed commit, and the time between.
    fn span(&self) -> Option<(u64, f64)> {
        let (first, last) = (self.0.first()?, self.0.last()?);
        let secs = last.0.duration_since(first.0).as_secs_f64();
        (self.0.len() >= 2).then_some((last.1 - first.1, secs))
    }

    /// Whether its commits span at least `window`.
    fn spans(&self, window: Duration) -> bool {
        self.span()
            .is_some_and(|(_, secs)| secs >= window.as_secs_f64())
    }
}

/// Steady-state throughput: the generator as fast as it can, an endless
/// range. Commits come an epoch at a time (often several at once after a
/// slow write), so a partition's rate is taken between two of its own
/// commits at least `window` apart: from its first commit (the pipeline is
/// full by then) to its first commit `window` or more later. The partitions
/// are then retired, not drained.
pub fn saturated(
    io: &tokio::runtime::Runtime,
    keyspace: &str,
    ids: &str,
    knobs: Knobs,
    window: Duration,
) -> Outcome {
    let (addr, stop) = generator(io, CycleRange::endless(0), 0);
    let cfg = config(keyspace, ids, knobs, addr);
    let handle = io.handle().clone();
    let outcome = actix::System::new().block_on(async move {
        let p = Processor::start(cfg, handle)
            .await
            .expect("the processor starts (is the node up?)");
        let parts = p.partitions();
        let mut commits: Vec<Commits> = parts.iter().map(|_| Commits::default()).collect();
        let observe = |commits: &mut Vec<Commits>| {
            let now = Instant::now();
            for (c, part) in commits.iter_mut().zip(&parts) {
                let offset = part.status.committed_offset();
                if offset > 0 {
                    c.observe(now, offset);
                }
            }
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        while commits.iter().any(|c| c.0.is_empty()) {
            assert!(Instant::now() < deadline, "no commit within 600 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
            observe(&mut commits);
        }
        let before = Readings::take(&p);
        while !commits.iter().all(|c| c.spans(window)) {
            assert!(Instant::now() < deadline, "too few commits within 600 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
            observe(&mut commits);
        }
        let mut outcome = Readings::take(&p).outcome_since(&before);
        let spans: Vec<(u64, f64)> = commits.iter().filter_map(Commits::span).collect();
        outcome.events = spans.iter().map(|s| s.0).sum();
        outcome.events_per_second = spans.iter().map(|(e, secs)| *e as f64 / secs).sum();
        for part in &parts {
            let _ = part.addr.send(Retire).await;
        }
        outcome
    });
    stop.cancel();
    outcome
}

/// Latency at a rate the node keeps up with: `events` events served at `rate`
/// events/s, measured until every partition has committed its last event.
pub fn paced(
    io: &tokio::runtime::Runtime,
    keyspace: &str,
    ids: &str,
    knobs: Knobs,
    events: u64,
    rate: u64,
) -> Outcome {
    let (addr, stop) = generator(io, CycleRange::finite(0..events), rate);
    let cfg = config(keyspace, ids, knobs, addr);
    let handle = io.handle().clone();
    let outcome = actix::System::new().block_on(async move {
        let p = Processor::start(cfg, handle)
            .await
            .expect("the processor starts (is the node up?)");
        p.expect_range(0..events);
        let before = Readings::take(&p);
        p.wait_finished().await;
        Readings::take(&p).outcome_since(&before)
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
        .map(|f| {
            f.get_metric()
                .iter()
                .map(|m| m.get_counter().get_value())
                .sum()
        })
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

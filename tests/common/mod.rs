//! Shared helpers for integration tests: the real Cassandra node (started by
//! `scripts/test` / `.ci/run`), unique keyspaces, the `ssa` binary.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use scylla::client::session::Session;
use ssa::config::CassandraConfig;

/// The node tests talk to: `SSA_TEST_CONTACT_POINT`, default 127.0.0.1:9042.
pub fn contact_point() -> String {
    std::env::var("SSA_TEST_CONTACT_POINT").unwrap_or_else(|_| "127.0.0.1:9042".to_string())
}

/// A keyspace name no other test (or earlier run) uses.
pub fn unique_keyspace(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "t_{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn cassandra_config(keyspace: &str) -> CassandraConfig {
    CassandraConfig {
        contact_points: vec![contact_point()],
        keyspace: keyspace.to_string(),
        consistency: ssa::config::ConsistencyName::One,
        ..CassandraConfig::default()
    }
}

pub async fn session(keyspace: &str) -> Arc<Session> {
    ssa::cassandra::connect(&cassandra_config(keyspace))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the test node at {} must be up (scripts/cassandra start): {e}",
                contact_point()
            )
        })
}

/// Creates a fresh keyspace with the full schema.
pub async fn keyspace_with_schema(prefix: &str) -> (Arc<Session>, String) {
    let keyspace = unique_keyspace(prefix);
    let session = session(&keyspace).await;
    ssa::cassandra::schema::apply(&session, &cassandra_config(&keyspace))
        .await
        .expect("schema applies");
    (session, keyspace)
}

pub async fn drop_keyspace(session: &Session, keyspace: &str) {
    let _ = session
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await;
}

/// Path of the built `ssa` binary.
pub fn ssa_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ssa")
}

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use ssa::actors::supervision::RestartCause;

use ssa::commands::verify::{Report, VerifyArgs};
use ssa::commands::workload::WorkloadArgs;
use ssa::config::{Config, PartitionConfig, SourceMode};
use ssa::format::Format;
use ssa::gen::{CycleRange, KeyMode, ServeMode, ServeOptions, Workload};
use ssa::processor::Processor;
use tokio_util::sync::CancellationToken;

/// A configuration for tests: the test node, its own keyspace, fast epochs, no admin.
pub fn test_config(keyspace: &str) -> Config {
    let mut config = Config {
        cassandra: cassandra_config(keyspace),
        ..Config::default()
    };
    config.processor.flush_interval = Duration::from_millis(200);
    config.processor.max_epoch_events = 20_000;
    config.admin.enabled = false;
    config
}

/// Starts `ssa gen` in-process on 127.0.0.1:0.
pub fn start_gen(
    io: &tokio::runtime::Runtime,
    workload: Workload,
    mode: ServeMode,
    cycles: Range<u64>,
    rate: u64,
) -> (SocketAddr, CancellationToken) {
    let listener = io
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut opts = ServeOptions::new(workload, mode, CycleRange::finite(cycles));
    opts.rate = rate;
    let token = CancellationToken::new();
    io.spawn(ssa::gen::serve(listener, opts, token.clone()));
    (addr, token)
}

pub fn replayable_partitions(addr: SocketAddr, n: u32, format: Format) -> Vec<PartitionConfig> {
    (0..n)
        .map(|i| PartitionConfig {
            id: format!("p{i}"),
            source: format!("tcp://{addr}"),
            mode: SourceMode::Replayable,
            format,
            index: i,
            count: n,
        })
        .collect()
}

/// Fault injection while a run goes on. The kills are spread over the run by
/// progress, not by time: kill `j` of `n` lands once `(j + 1) / (n + 1)` of the
/// expected events are committed, so every kill lands while data flows, however
/// fast or slow the machine.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Kill partition actors (in turn) this many times; each kill is made once the
    /// previous one has restarted its actor.
    pub partition_kills: u32,
    pub sink_kills: u32,
    pub checkpoint_kills: u32,
}

/// What a run looked like from inside.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub restarts: u64,
    pub killed_restarts: u64,
    pub lost_events: u64,
    pub committed: u64,
    /// The most uncommitted epochs any partition showed at any change of state.
    pub max_inflight_seen: u64,
}

/// Lines committed by every partition together.
pub fn committed(processor: &Processor) -> u64 {
    processor
        .partitions()
        .iter()
        .map(|p| p.status.committed_offset())
        .sum()
}

/// Waits until `done` holds, re-checked on every change of a partition's phase,
/// backpressure or commit, and every 10 ms for what moves without one (lines
/// read); panics after `limit`.
pub async fn wait_until(
    processor: &Processor,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&Processor) -> bool,
) {
    let mut changes = processor.changes();
    let deadline = tokio::time::Instant::now() + limit;
    while !done(processor) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {limit:?}: {:?}",
            processor.snapshots()
        );
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
}

/// Runs the processor until every partition has finished (or `limit` passes),
/// making the kills of `faults` on the way.
pub fn run_processor(
    config: Config,
    io: &tokio::runtime::Runtime,
    expected: Option<(Range<u64>, u32)>,
    faults: Faults,
    limit: Duration,
) -> RunOutcome {
    let events = expected.as_ref().map(|(range, _)| range.end - range.start);
    run_processor_with(config, io, expected, limit, move |p| {
        inject(p, faults, events, limit)
    })
}

/// Runs the processor, first through `during` (which may wait for states of the
/// run and act on it), then until every partition has finished (or `limit` passes).
pub fn run_processor_with<F, Fut>(
    config: Config,
    io: &tokio::runtime::Runtime,
    expected: Option<(Range<u64>, u32)>,
    limit: Duration,
    during: F,
) -> RunOutcome
where
    F: FnOnce(Arc<Processor>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let handle = io.handle().clone();
    actix::System::new().block_on(async move {
        let processor = Arc::new(
            Processor::start(config, handle)
                .await
                .expect("processor starts"),
        );
        if let Some((range, _)) = &expected {
            processor.expect_range(range.clone());
        }
        let mut max_inflight = 0;
        let sample = async {
            let mut changes = processor.changes();
            loop {
                for s in processor.snapshots() {
                    max_inflight = max_inflight.max(s.uncommitted_epochs);
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
        };
        let run = async {
            during(processor.clone()).await;
            wait_until(&processor, limit, "every partition finishes", |p| {
                p.all_finished()
            })
            .await;
        };
        tokio::select! {
            () = run => {}
            () = sample => unreachable!("the sampler never ends"),
        }
        processor.flush().await;
        let snaps = processor.snapshots();
        RunOutcome {
            restarts: snaps.iter().map(|s| s.restarts).sum(),
            killed_restarts: snaps.iter().map(|s| s.restarts_by_cause["killed"]).sum(),
            lost_events: snaps.iter().map(|s| s.lost_events).sum(),
            committed: snaps.iter().map(|s| s.committed_offset).sum(),
            max_inflight_seen: max_inflight,
        }
    })
}

#[derive(Debug, Clone, Copy)]
enum Kill {
    Partition(u32),
    Sink,
    Checkpoint,
}

/// Makes the kills of `faults`, each once its share of `events` is committed.
async fn inject(processor: Arc<Processor>, faults: Faults, events: Option<u64>, limit: Duration) {
    let kills: Vec<Kill> = (0..faults.partition_kills)
        .map(Kill::Partition)
        .chain((0..faults.sink_kills).map(|_| Kill::Sink))
        .chain((0..faults.checkpoint_kills).map(|_| Kill::Checkpoint))
        .collect();
    if kills.is_empty() {
        return;
    }
    let events = events.expect("kills are spread over an expected range");
    let n = kills.len() as u64;
    for (j, kill) in (0u64..).zip(kills) {
        let due = events * (j + 1) / (n + 1);
        wait_until(&processor, limit, &format!("{due} events committed"), |p| {
            committed(p) >= due
        })
        .await;
        match kill {
            Kill::Partition(i) => {
                let partitions = processor.partitions();
                let p = partitions[i as usize % partitions.len()].clone();
                let killed = || p.status.restarts_of(RestartCause::Killed);
                let before = killed();
                processor.kill_partition(&p.id);
                wait_until(&processor, limit, "the killed partition restarts", |_| {
                    killed() == before + 1
                })
                .await;
            }
            Kill::Sink => processor.sink.do_send(ssa::actors::sink::KillSink),
            Kill::Checkpoint => processor
                .checkpoint
                .do_send(ssa::actors::checkpoint::KillCheckpoint),
        }
    }
}

pub fn verify_args(cycles: Range<u64>, format: Format) -> VerifyArgs {
    VerifyArgs {
        workload: WorkloadArgs {
            cycles: CycleRange::finite(cycles),
            flags: ssa::gen::WorkloadFlags {
                sources: 100,
                format,
                keys: KeyMode::Bounded,
                words: None,
                ts_start_ms: ssa::gen::DEFAULT_TS_START_MS,
                ts_step_ms: 1,
            },
        },
        no_raw: false,
        show: 10,
    }
}

pub fn verify(io: &tokio::runtime::Runtime, keyspace: &str, args: &VerifyArgs) -> Report {
    io.block_on(async {
        let session = session(keyspace).await;
        ssa::commands::verify::verify(&session, keyspace, args)
            .await
            .expect("verify runs")
    })
}

pub fn io_runtime() -> tokio::runtime::Runtime {
    ssa::runtime::io_runtime().unwrap()
}

/// `config` with the keys of a TOML snippet set on top, by their config-file names.
pub fn with_toml(config: Config, toml: &str) -> Config {
    use figment::providers::{Format as _, Serialized, Toml};
    figment::Figment::from(Serialized::defaults(&config))
        .merge(Toml::string(toml))
        .extract()
        .unwrap_or_else(|e| panic!("config keys {toml:?}: {e}"))
}

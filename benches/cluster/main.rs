//! Cluster-mode figures on this machine (a bench binary that prints, never
//! asserts), against the single node and against a 3-node cluster (replication
//! factor 3, QUORUM reads and writes, lightweight transactions at SERIAL) that
//! the bench starts on 127.0.0.71–73 and stops at the end:
//!
//! 1. persisted events/s of one job of 8 replayable partitions run by one
//!    `ssa run` process without cluster mode, then by 1, 2 and 3 cluster
//!    members, the generator at full speed; ratios within the run (the machine
//!    is shared), with where the time went per million events (CPU of ssa, of
//!    Cassandra and of the generator, seal→commit and its parts, rows written,
//!    reads and writes per table on the replicas);
//! 2. takeover after a SIGKILL, over 10 trials: a member holding half of the 8
//!    partitions is killed; measured from its leases' expiry (the write time of
//!    each lease's owner cell, read back after the kill, plus `lease_ttl`: the last
//!    expiry of the four) and from the kill, to every one of its partitions reading
//!    again on the survivor.
//!
//! `cargo bench --bench cluster`. The single node is `SSA_TEST_CONTACT_POINT`
//! (default 127.0.0.1:9042, `scripts/cassandra start`); `SSA_BENCH_TARGETS`
//! picks the targets (default `node,cluster`). `SSA_BENCH_EVENTS` sets the
//! events of each throughput run (default 2400000), measured from the moment
//! the members have settled (every partition leased, each member at its fair
//! share) with a tenth committed, to nine tenths committed;
//! `SSA_BENCH_SETUPS` which runs, in order (default `single,1,2,3`: no
//! cluster mode, then 1, 2 and 3 members); `SSA_BENCH_REPEAT` how many times
//! (default 1; every other time in reverse order; medians reported);
//! `SSA_BENCH_TRIALS` the takeover
//! trials (default 10; 0 skips them). Before each
//! measurement it waits while another benchmark of this repository runs.

mod member;
mod target;
mod usage;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use member::{Lease, Member};
use ssa::gen::{serve, CycleRange, ServeMode, ServeOptions, Workload};
use target::Target;
use tokio_util::sync::CancellationToken;
use usage::{Sample, Usage};

pub const PARTITIONS: u32 = 8;
pub const LEASE_TTL_MS: u64 = 3000;
pub const RENEW_MS: u64 = 1000;

fn contact_point() -> String {
    std::env::var("SSA_TEST_CONTACT_POINT").unwrap_or_else(|_| "127.0.0.1:9042".into())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn wait_for<T>(limit: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll(limit, Duration::from_millis(20), f)
}

/// Calls `f` every `every` until it answers, failing after `limit`.
fn poll<T>(limit: Duration, every: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < limit, "no answer within {limit:?}");
        std::thread::sleep(every);
    }
}

/// Another benchmark of this repository measuring now (its executable's path
/// names it: the memory benchmarks, the processor bench, another run of this
/// one), other than this one.
fn other_bench() -> Option<String> {
    const BENCHES: [&str; 3] = ["bounded_memory", "state_memory", "deps/processor-"];
    let me = std::process::id();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        if pid == me {
            return None;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let mut args = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy);
        let exe = args.next()?.into_owned();
        let bench = args.any(|a| a == "--bench");
        let named = BENCHES.iter().any(|b| exe.contains(b));
        (named || (bench && exe.contains("deps/cluster-"))).then(|| format!("{exe} (pid {pid})"))
    })
}

/// Waits while another benchmark measures, so that two never share the machine.
fn wait_for_quiet() {
    let mut said = false;
    while let Some(other) = other_bench() {
        if !said {
            println!("  waiting: another benchmark runs: {other}");
            said = true;
        }
        std::thread::sleep(Duration::from_secs(10));
    }
}

/// Starts the generator on 127.0.0.1:0.
fn start_gen(
    io: &tokio::runtime::Runtime,
    cycles: CycleRange,
    rate: u64,
) -> (std::net::SocketAddr, CancellationToken) {
    let listener = io
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut opts = ServeOptions::new(Workload::default(), ServeMode::Partitioned, cycles);
    opts.rate = rate;
    let stop = CancellationToken::new();
    io.spawn(serve(listener, opts, stop.clone()));
    (addr, stop)
}

fn keyspace(name: &str) -> String {
    format!(
        "b_cluster_{name}_{}_{}",
        std::process::id(),
        now_ms() % 1_000_000
    )
}

/// Who runs the job in one throughput run.
#[derive(Clone, Copy)]
enum Setup {
    /// One `ssa run` without cluster mode.
    Single,
    /// This many cluster members.
    Members(usize),
}

impl Setup {
    fn label(self) -> String {
        match self {
            Setup::Single => "1 process, no cluster mode".into(),
            Setup::Members(1) => "1 cluster member".into(),
            Setup::Members(n) => format!("{n} cluster members"),
        }
    }
}

/// What one throughput run measured.
struct Rate {
    events_per_s: f64,
    load: (f64, f64),
}

/// Events/s committed, once settled, from a tenth to nine tenths of `events`.
fn throughput(
    io: &tokio::runtime::Runtime,
    dir: &Path,
    target: &Target,
    setup: Setup,
    events: u64,
) -> Rate {
    wait_for_quiet();
    let (gen, stop) = start_gen(io, CycleRange::finite(0..events), 0);
    let ks = keyspace(&match setup {
        Setup::Single => "tp_single".to_string(),
        Setup::Members(n) => format!("tp{n}"),
    });
    target.create(io, &ks);
    let members: Vec<Member> = match setup {
        Setup::Single => vec![Member::start(dir, target, &ks, gen, None, Lease::Default)],
        Setup::Members(n) => (0..n)
            .map(|i| {
                let node = format!("m{n}{i}");
                Member::start(dir, target, &ks, gen, Some(&node), Lease::Default)
            })
            .collect(),
    };
    // Progress from the members' memory (`GET /partitions`), so that watching
    // costs Cassandra nothing; whether the members have settled from the lease
    // rows (`GET /cluster`), until they have.
    let mut settled = matches!(setup, Setup::Single);
    let mut progress = || -> Option<(u64, bool)> {
        if !settled {
            let Setup::Members(n) = setup else {
                unreachable!()
            };
            settled = member::settled(&members[0].get("/cluster")?, n);
        }
        Some((member::committed_by(&members)?, settled))
    };
    let from = events / 10;
    let to = events * 9 / 10;
    let mut start: Option<(Sample, u64)> = None;
    let mut load = (f64::MAX, 0.0f64);
    let mut polled = Instant::now();
    let (end, done) = poll(
        Duration::from_secs(3600),
        Duration::from_millis(100),
        || {
            let (done, settled) = progress()?;
            if start.is_none() && done >= from && settled {
                start = Some((Sample::take(io, target, &members, &ks), done));
            }
            start.as_ref()?;
            if polled.elapsed() >= Duration::from_secs(1) {
                polled = Instant::now();
                let l = usage::load();
                load = (load.0.min(l), load.1.max(l));
            }
            (done >= to).then(|| (Sample::take(io, target, &members, &ks), done))
        },
    );
    let (begin, at) = start.expect("a start sample");
    let l = usage::load();
    let load = (load.0.min(l), load.1.max(l));
    let used = Usage::between(&begin, &end);
    let committed = (done - at) as f64;
    drop(members);
    stop.cancel();
    target.drop_keyspace(io, &ks);
    let rate = Rate {
        events_per_s: committed / used.secs,
        load,
    };
    println!(
        "persisted events/s, {}, {PARTITIONS} partitions: {:.0} (load {:.1}–{:.1})",
        setup.label(),
        rate.events_per_s,
        rate.load.0,
        rate.load.1
    );
    println!("{}", used.report(committed));
    rate
}

/// The latest write time (µs) of the owner cell of `partitions`' leases: when
/// each was last renewed, the latest of them.
async fn last_renewal(
    session: &scylla::client::session::Session,
    ks: &str,
    partitions: &[String],
) -> Option<i64> {
    let rows = session
        .query_unpaged(
            format!("SELECT partition_id, WRITETIME(owner) FROM {ks}.leases"),
            (),
        )
        .await
        .expect("leases read")
        .into_rows_result()
        .expect("rows");
    rows.rows::<(String, Option<i64>)>()
        .expect("typed rows")
        .filter_map(Result::ok)
        .filter(|(p, _)| partitions.contains(p))
        .filter_map(|(_, t)| t)
        .max()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A partition of `/partitions` in its reading phase: `running`, or
/// `backpressured` (reading held back while its epochs wait for the sink, as
/// when the target persists less than the generator's rate).
fn reading(p: &serde_json::Value) -> bool {
    p["state"] == "running" || p["state"] == "backpressured"
}

/// Takeover times over `trials`: (from lease expiry, from the kill), sorted.
fn takeover(
    io: &tokio::runtime::Runtime,
    dir: &Path,
    target: &Target,
    trials: usize,
) -> (Vec<f64>, Vec<f64>, (f64, f64)) {
    wait_for_quiet();
    let (gen, stop) = start_gen(io, CycleRange::endless(0), 20_000);
    let ks = keyspace("takeover");
    target.create(io, &ks);
    let survivor = Member::start(dir, target, &ks, gen, Some("survivor"), Lease::Short);
    let mut from_expiry = Vec::new();
    let mut from_kill = Vec::new();
    let mut load = (f64::MAX, 0.0f64);
    for trial in 0..trials {
        let node = format!("victim{trial}");
        let mut victim = Member::start(dir, target, &ks, gen, Some(&node), Lease::Short);
        // Settled: each member holds 4, all reading.
        let moved: Vec<String> = wait_for(Duration::from_secs(600), || {
            let c = survivor.get("/cluster")?;
            let o = member::owners(&c);
            let mine: Vec<String> = o
                .iter()
                .filter(|(_, w)| w.as_deref() == Some(node.as_str()))
                .map(|(p, _)| p.clone())
                .collect();
            let theirs = o
                .values()
                .filter(|w| w.as_deref() == Some("survivor"))
                .count();
            (mine.len() == 4 && theirs == 4).then_some(mine)
        });
        wait_for(Duration::from_secs(600), || {
            let v = victim.get("/partitions")?;
            let running = v["partitions"]
                .as_array()?
                .iter()
                .filter(|p| reading(p))
                .count();
            (running == 4).then_some(())
        });
        let l = usage::load();
        load = (load.0.min(l), load.1.max(l));
        victim.kill();
        let killed = Instant::now();
        let killed_ms = now_ms();
        // Read before the leases expire (their owner cells are gone after).
        let renewed_us = io
            .block_on(last_renewal(&target.session, &ks, &moved))
            .unwrap_or(killed_ms * 1000);
        let expiry_ms = renewed_us / 1000 + LEASE_TTL_MS as i64;
        wait_for(Duration::from_secs(600), || {
            let v = survivor.get("/partitions")?;
            let all = v["partitions"].as_array()?.iter().all(|p| {
                !moved.contains(&p["id"].as_str().unwrap_or("").to_string()) || reading(p)
            });
            all.then_some(())
        });
        let back = killed.elapsed().as_secs_f64();
        let back_ms = killed_ms + (back * 1000.0) as i64;
        from_kill.push(back);
        from_expiry.push((back_ms - expiry_ms) as f64 / 1000.0);
        println!(
            "trial {trial}: reading again {:.2} s after the kill, {:.2} s after lease expiry",
            back,
            (back_ms - expiry_ms) as f64 / 1000.0
        );
    }
    drop(survivor);
    stop.cancel();
    target.drop_keyspace(io, &ks);
    from_expiry.sort_by(f64::total_cmp);
    from_kill.sort_by(f64::total_cmp);
    for (what, v) in [("lease expiry", &from_expiry), ("SIGKILL", &from_kill)] {
        println!(
            "takeover ({what} → 4 partitions reading again), lease_ttl {LEASE_TTL_MS} ms, renew_every {RENEW_MS} ms, {trials} trials: p50 {:.2} s, max {:.2} s (load {:.1}–{:.1})",
            percentile(v, 0.5),
            v.last().copied().unwrap_or(0.0),
            load.0,
            load.1
        );
    }
    (from_expiry, from_kill, load)
}

/// The figures of one target.
struct Figures {
    name: &'static str,
    /// Each setup with the rates of its repetitions.
    rates: Vec<(Setup, Vec<Rate>)>,
    /// p50 and max, from lease expiry and from the kill.
    takeover: Option<[f64; 4]>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn run_target(
    io: &tokio::runtime::Runtime,
    dir: &Path,
    target: &Target,
    setups: &[Setup],
    repeat: usize,
    events: u64,
    trials: usize,
) -> Figures {
    println!(
        "== {} ({}), {} events per throughput run ==",
        target.name,
        target.contact_points.join(", "),
        events
    );
    let mut rates: Vec<(Setup, Vec<Rate>)> = setups.iter().map(|s| (*s, Vec::new())).collect();
    // Every other repetition in reverse order, so that a setup is not always
    // the one that runs first (or last) while the machine's load drifts.
    for r in 0..repeat {
        let order: Vec<usize> = if r % 2 == 0 {
            (0..setups.len()).collect()
        } else {
            (0..setups.len()).rev().collect()
        };
        for i in order {
            let rate = throughput(io, dir, target, setups[i], events);
            rates[i].1.push(rate);
        }
    }
    println!("ratios: {}", ratios(&rates));
    let takeover = (trials > 0).then(|| {
        let (e, k, _) = takeover(io, dir, target, trials);
        [
            percentile(&e, 0.5),
            e.last().copied().unwrap_or(0.0),
            percentile(&k, 0.5),
            k.last().copied().unwrap_or(0.0),
        ]
    });
    Figures {
        name: target.name,
        rates,
        takeover,
    }
}

/// Each setup's median rate (with the range over repetitions, and the load)
/// and its ratio to the first setup's median.
fn ratios(rates: &[(Setup, Vec<Rate>)]) -> String {
    let med = |v: &[Rate]| median(&v.iter().map(|r| r.events_per_s).collect::<Vec<_>>());
    let Some((_, first)) = rates.first() else {
        return String::new();
    };
    let base = med(first);
    rates
        .iter()
        .map(|(s, v)| {
            let each: Vec<f64> = v.iter().map(|r| r.events_per_s).collect();
            let lo = each.iter().copied().fold(f64::MAX, f64::min);
            let hi = each.iter().copied().fold(0.0, f64::max);
            let load_lo = v.iter().map(|r| r.load.0).fold(f64::MAX, f64::min);
            let load_hi = v.iter().map(|r| r.load.1).fold(0.0, f64::max);
            let range = if v.len() > 1 {
                format!(", {:.1}–{:.1} k over {}", lo / 1e3, hi / 1e3, v.len())
            } else {
                String::new()
            };
            format!(
                "{}: {:.1} k ({:.2}{range}; load {load_lo:.1}–{load_hi:.1})",
                s.label(),
                med(v) / 1e3,
                med(v) / base
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `SSA_BENCH_SETUPS`: `single` (no cluster mode) and member counts, in order.
fn setups() -> Vec<Setup> {
    let list = std::env::var("SSA_BENCH_SETUPS").unwrap_or_else(|_| "single,1,2,3".into());
    list.split(',')
        .map(str::trim)
        .map(|s| match s {
            "single" => Setup::Single,
            n => Setup::Members(
                n.parse()
                    .ok()
                    .filter(|n| (1..=PARTITIONS as usize).contains(n))
                    .unwrap_or_else(|| {
                        panic!("SSA_BENCH_SETUPS: {s:?} is neither `single` nor 1..=8")
                    }),
            ),
        })
        .collect()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // Under `cargo test --all-targets` (or `--list`): the runs take a node,
        // a 3-node cluster and tens of minutes.
        println!(
            "cluster bench: run with `cargo bench --bench cluster` (needs the Cassandra node)"
        );
        return;
    }
    let io = ssa::runtime::io_runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let events = env_u64("SSA_BENCH_EVENTS", 2_400_000);
    let trials = env_u64("SSA_BENCH_TRIALS", 10) as usize;
    let targets = std::env::var("SSA_BENCH_TARGETS").unwrap_or_else(|_| "node,cluster".into());
    let setups = setups();
    let repeat = env_u64("SSA_BENCH_REPEAT", 1).max(1) as usize;
    let mut all = Vec::new();
    for name in targets.split(',').map(str::trim) {
        let target = match name {
            "node" => Target::single(&io, &contact_point()),
            "cluster" => Target::cluster(&io),
            other => panic!("SSA_BENCH_TARGETS: unknown target {other:?} (node, cluster)"),
        };
        all.push(run_target(
            &io,
            dir.path(),
            &target,
            &setups,
            repeat,
            events,
            trials,
        ));
    }
    println!(
        "== summary: persisted events/s, median of {repeat} (ratio to the first setup of the target) =="
    );
    for f in &all {
        println!("{}: {}", f.name, ratios(&f.rates));
        if let Some([e50, emax, k50, kmax]) = f.takeover {
            println!(
                "{}: takeover, SIGKILL → reading again p50 {k50:.2} s, max {kmax:.2} s; lease expiry → reading again p50 {e50:.2} s, max {emax:.2} s",
                f.name
            );
        }
    }
    if let [node, cluster] = &all[..] {
        let med = |v: &[Rate]| median(&v.iter().map(|r| r.events_per_s).collect::<Vec<_>>());
        let each: Vec<String> = cluster
            .rates
            .iter()
            .zip(&node.rates)
            .map(|((s, c), (_, n))| format!("{}: {:.2}", s.label(), med(c) / med(n)))
            .collect();
        println!("{} / {}: {}", cluster.name, node.name, each.join("; "));
    }
}

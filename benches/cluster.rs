//! Cluster-mode figures on this machine (a bench binary that prints, never asserts):
//!
//! 1. persisted events/s of one job of 8 replayable partitions run by 1, 2 and 3
//!    `ssa run` processes, the generator at full speed (ratios within the run: the
//!    machine is shared);
//! 2. takeover after a SIGKILL, over 10 trials: a member holding half of the 8
//!    partitions is killed; measured from its leases' expiry (the write time of
//!    each lease's owner cell, read back after the kill, plus `lease_ttl`: the last
//!    expiry of the four) and from the kill, to every one of its partitions reading
//!    again on the survivor.
//!
//! `cargo bench --bench cluster` (needs the node: `scripts/cassandra start`).
//! `SSA_BENCH_EVENTS` sets the events of each throughput run (default 2400000),
//! measured from the moment the members have settled (every partition leased, each
//! member at its fair share) with a tenth committed, to nine tenths committed;
//! `SSA_BENCH_TRIALS` the takeover trials (default 10).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use ssa::gen::{serve, CycleRange, ServeMode, ServeOptions, Workload};
use tokio_util::sync::CancellationToken;

const PARTITIONS: u32 = 8;
const LEASE_TTL_MS: u64 = 3000;
const RENEW_MS: u64 = 1000;

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

/// One `ssa run` member; killed when dropped.
struct Member {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Member {
    fn start(dir: &Path, keyspace: &str, gen: std::net::SocketAddr, node: &str) -> Member {
        let mut toml = format!(
            "[cassandra]\ncontact_points = [\"{}\"]\nkeyspace = \"{keyspace}\"\nconsistency = \"one\"\n\
             [processor]\nflush_interval = \"200ms\"\nmax_epoch_events = 20000\n\
             [cluster]\nenabled = true\nnode_id = \"{node}\"\nlease_ttl = \"{LEASE_TTL_MS}ms\"\nrenew_every = \"{RENEW_MS}ms\"\n",
            contact_point()
        );
        for i in 0..PARTITIONS {
            toml.push_str(&format!(
                "[[partitions]]\nid = \"p{i}\"\nsource = \"tcp://{gen}\"\nindex = {i}\ncount = {PARTITIONS}\n"
            ));
        }
        let config = dir.join(format!("{node}.toml"));
        std::fs::write(&config, toml).unwrap();
        let log = dir.join(format!("{node}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_ssa"))
            .arg("--config")
            .arg(&config)
            .args(["run", "--admin-listen", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn,ssa::admin=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("ssa starts");
        let addr = wait_for(Duration::from_secs(120), || admin_addr(&log));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Member {
            child,
            base: format!("http://{addr}"),
            agent,
        }
    }

    fn get(&self, path: &str) -> Option<Value> {
        let mut r = self.agent.get(format!("{}{path}", self.base)).call().ok()?;
        if r.status() != 200 {
            return None;
        }
        serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin_addr(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|line| {
        let rest = &line[line.find("admin api listening")?..];
        let rest = &rest[rest.find("addr=")? + 5..];
        rest.split_whitespace().next().map(str::to_string)
    })
}

fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < limit, "no answer within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn owners(cluster: &Value) -> BTreeMap<String, Option<String>> {
    cluster["partitions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let o = p["owner"].as_str().map(str::to_string);
                    (p["partition"].as_str().unwrap_or("").to_string(), o)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn committed(cluster: &Value) -> u64 {
    cluster["partitions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["committed_offset"].as_u64())
                .sum()
        })
        .unwrap_or(0)
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

/// Whether every partition is leased and each of `n` members holds its share.
fn settled(cluster: &Value, n: usize) -> bool {
    let o = owners(cluster);
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for w in o.values() {
        match w {
            Some(w) => *per.entry(w.clone()).or_default() += 1,
            None => return false,
        }
    }
    let share = (PARTITIONS as usize).div_ceil(n);
    o.len() == PARTITIONS as usize && per.len() == n && per.values().all(|c| *c <= share)
}

/// Events/s committed by `n` members, once settled, from a tenth to nine tenths of `events`.
fn throughput(io: &tokio::runtime::Runtime, dir: &Path, n: usize, events: u64) -> f64 {
    let (gen, stop) = start_gen(io, CycleRange::finite(0..events), 0);
    let ks = keyspace(&format!("tp{n}"));
    let members: Vec<Member> = (0..n)
        .map(|i| Member::start(dir, &ks, gen, &format!("m{n}{i}")))
        .collect();
    let from = events / 10;
    let to = events * 9 / 10;
    let mut t0 = None;
    let elapsed = wait_for(Duration::from_secs(1800), || {
        let c = members[0].get("/cluster")?;
        let done = committed(&c);
        if done >= from && t0.is_none() && settled(&c, n) {
            t0 = Some((Instant::now(), done));
        }
        let (t, at) = t0?;
        (done >= to).then(|| (t.elapsed().as_secs_f64(), done - at))
    });
    drop(members);
    stop.cancel();
    io.block_on(drop_keyspace(&ks));
    elapsed.1 as f64 / elapsed.0
}

async fn drop_keyspace(ks: &str) {
    let c = ssa::config::CassandraConfig {
        contact_points: vec![contact_point()],
        ..Default::default()
    };
    if let Ok(session) = ssa::cassandra::connect(&c).await {
        let _ = session
            .query_unpaged(format!("DROP KEYSPACE IF EXISTS {ks}"), ())
            .await;
    }
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

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let io = ssa::runtime::io_runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let events = env_u64("SSA_BENCH_EVENTS", 2_400_000);
    let trials = env_u64("SSA_BENCH_TRIALS", 10) as usize;

    // ---- 1. persisted events/s with 1, 2, 3 processes ---------------------------------
    let mut rates = Vec::new();
    for n in 1..=3 {
        let r = throughput(&io, dir.path(), n, events);
        println!("persisted events/s, {n} process(es), {PARTITIONS} partitions: {r:.0}");
        rates.push(r);
    }
    println!(
        "ratios to 1 process: 2 → {:.2}, 3 → {:.2}",
        rates[1] / rates[0],
        rates[2] / rates[0]
    );

    // ---- 2. takeover after SIGKILL -----------------------------------------------------
    let (gen, stop) = start_gen(&io, CycleRange::endless(0), 20_000);
    let ks = keyspace("takeover");
    let survivor = Member::start(dir.path(), &ks, gen, "survivor");
    let session = io.block_on(async {
        let c = ssa::config::CassandraConfig {
            contact_points: vec![contact_point()],
            keyspace: ks.clone(),
            ..Default::default()
        };
        ssa::cassandra::connect(&c).await.expect("the node answers")
    });
    let mut from_expiry = Vec::new();
    let mut from_kill = Vec::new();
    for trial in 0..trials {
        let node = format!("victim{trial}");
        let mut victim = Member::start(dir.path(), &ks, gen, &node);
        // Settled: each member holds 4, all reading.
        let moved: Vec<String> = wait_for(Duration::from_secs(600), || {
            let c = survivor.get("/cluster")?;
            let o = owners(&c);
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
                .filter(|p| p["state"] == "running")
                .count();
            (running == 4).then_some(())
        });
        victim.kill();
        let killed = Instant::now();
        let killed_ms = now_ms();
        // Read before the leases expire (their owner cells are gone after).
        let renewed_us = io
            .block_on(last_renewal(&session, &ks, &moved))
            .unwrap_or(killed_ms * 1000);
        let expiry_ms = renewed_us / 1000 + LEASE_TTL_MS as i64;
        wait_for(Duration::from_secs(600), || {
            let v = survivor.get("/partitions")?;
            let all = v["partitions"].as_array()?.iter().all(|p| {
                !moved.contains(&p["id"].as_str().unwrap_or("").to_string())
                    || p["state"] == "running"
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
    io.block_on(drop_keyspace(&ks));
    for (what, mut v) in [("lease expiry", from_expiry), ("SIGKILL", from_kill)] {
        v.sort_by(f64::total_cmp);
        println!(
            "takeover ({what} → 4 partitions reading again), lease_ttl {LEASE_TTL_MS} ms, renew_every {RENEW_MS} ms, {trials} trials: p50 {:.2} s, max {:.2} s",
            percentile(&v, 0.5),
            v.last().copied().unwrap_or(0.0)
        );
    }
}

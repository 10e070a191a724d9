//! Cluster mode against the real node: several `ssa run` processes (the built
//! binary) share one job of 8 replayable partitions served by one generator at a
//! fixed rate. Partitions are owned by one process at a time (sampled through
//! every member's admin API), move when a member is SIGKILLed, is SIGSTOPped for
//! longer than the lease or joins, and every run ends EXACT (`ssa verify`: every
//! total and the raw row count against the generator's truth). A deposed owner's
//! commit under its old fencing token is refused by the lease row itself.
//!
//! Waits are on observable state (`GET /cluster`, `GET /partitions`, `/metrics`);
//! their limits only bound a hung run.

mod admin_support;
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use admin_support::SsaProcess;
use serde_json::Value;
use ssa::format::Format;
use ssa::gen::{KeyMode, ServeMode, Workload, WorkloadOptions};

const TOKEN: &str = "cluster-mode-token-9c1e";
const PARTITIONS: u32 = 8;
/// How long any one awaited state may take before the run is taken as hung.
const LIMIT: Duration = Duration::from_secs(180);

/// The runs share two cores: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One job: its keyspace, its generator and the folder of its members' files.
struct Job {
    keyspace: String,
    cycles: u64,
    keys: KeyMode,
    /// Extra `[processor]` keys of every member.
    processor: String,
    /// `lease_ttl` and `renew_every` of every member.
    lease: (&'static str, &'static str),
    gen: std::net::SocketAddr,
    _stop_gen: tokio_util::sync::CancellationToken,
    dir: tempfile::TempDir,
    io: tokio::runtime::Runtime,
}

impl Job {
    fn start(name: &str, cycles: u64, rate: u64) -> Job {
        Job::start_with(name, cycles, rate, KeyMode::Bounded, "")
    }

    /// A job of `keys`, its members with `processor` keys added.
    fn start_with(name: &str, cycles: u64, rate: u64, keys: KeyMode, processor: &str) -> Job {
        let io = common::io_runtime();
        let keyspace = common::unique_keyspace(name);
        let workload = Workload::new(WorkloadOptions {
            keys,
            ..Default::default()
        })
        .unwrap();
        let (gen, stop) = common::start_gen(&io, workload, ServeMode::Partitioned, 0..cycles, rate);
        Job {
            keyspace,
            cycles,
            keys,
            processor: processor.to_string(),
            lease: ("3s", "1s"),
            gen,
            _stop_gen: stop,
            dir: tempfile::tempdir().unwrap(),
            io,
        }
    }

    /// Starts member `node`: the same `[[partitions]]` as every other member.
    fn member(&self, node: &str) -> SsaProcess {
        self.member_with(node, &[])
    }

    fn member_with(&self, node: &str, flags: &[&str]) -> SsaProcess {
        let mut toml = format!(
            "[cassandra]\ncontact_points = [\"{}\"]\nkeyspace = \"{}\"\nconsistency = \"one\"\n\
             [processor]\nflush_interval = \"200ms\"\n{}\
             [admin]\ntoken = \"{TOKEN}\"\n\
             [cluster]\nenabled = true\nnode_id = \"{node}\"\nlease_ttl = \"{}\"\nrenew_every = \"{}\"\n",
            common::contact_point(),
            self.keyspace,
            self.processor,
            self.lease.0,
            self.lease.1,
        );
        for i in 0..PARTITIONS {
            toml.push_str(&format!(
                "[[partitions]]\nid = \"p{i}\"\nsource = \"tcp://{}\"\nindex = {i}\ncount = {PARTITIONS}\n",
                self.gen
            ));
        }
        let config = self.dir.path().join(format!("{node}.toml"));
        std::fs::write(&config, toml).unwrap();
        let log = self.dir.path().join(format!("{node}.log"));
        let mut args = vec![
            "--config",
            config.to_str().unwrap(),
            "run",
            "--admin-listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(flags);
        SsaProcess::spawn(&args, &[], &log, Some(TOKEN))
    }

    fn verify_exact(&self) {
        let mut args = common::verify_args(0..self.cycles, Format::Seed);
        args.workload.flags.keys = self.keys;
        let report = common::verify(&self.io, &self.keyspace, &args);
        assert!(report.is_exact(), "not exact: {report:?}");
        assert_eq!(report.raw_rows, Some(self.cycles));
        self.io.block_on(async {
            let session = common::session(&self.keyspace).await;
            common::drop_keyspace(&session, &self.keyspace).await;
        });
    }
}

fn signal(p: &SsaProcess, sig: libc::c_int) {
    // SAFETY: signals our own child process, which is still running.
    assert_eq!(unsafe { libc::kill(p.child.id() as libc::pid_t, sig) }, 0);
}

/// Lease owner of each partition, from a member's `GET /cluster`.
fn owners(cluster: &Value) -> BTreeMap<String, Option<String>> {
    cluster["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let owner = p["owner"].as_str().map(str::to_string);
            (p["partition"].as_str().unwrap().to_string(), owner)
        })
        .collect()
}

fn committed(cluster: &Value) -> u64 {
    cluster["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["committed_offset"].as_u64().unwrap())
        .sum()
}

/// The partitions a member runs (any lifecycle but stopped), from its own API.
fn running(p: &SsaProcess) -> Vec<String> {
    let v = p.api.get("/partitions").expect(200);
    v["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] != "stopped")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Two samples of every given member, one member after another: no partition
/// runs in two of them at once. Reads are not simultaneous, so a handover
/// between the reads of two members could show a partition in both. A member
/// whose two reads both show a partition ran it for the whole span between
/// them, and since every first read comes before every second one, the spans of
/// any two members overlap: a partition seen twice in each of two members ran
/// in both at once. Returns where each partition runs at the second sample.
fn assert_owned_at_most_once(members: &[&SsaProcess]) -> BTreeMap<String, usize> {
    let first: Vec<Vec<String>> = members.iter().map(|m| running(m)).collect();
    let second: Vec<Vec<String>> = members.iter().map(|m| running(m)).collect();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let mut throughout: BTreeMap<String, usize> = BTreeMap::new();
    for (before, now) in first.iter().zip(&second) {
        for id in now {
            *count.entry(id.clone()).or_default() += 1;
            if before.contains(id) {
                *throughout.entry(id.clone()).or_default() += 1;
            }
        }
    }
    assert!(
        throughout.values().all(|n| *n <= 1),
        "a partition runs in two members at once: {throughout:?} (first sample {first:?}, second {second:?})"
    );
    count
}

/// Waits until every partition is leased by one of `nodes` and runs there
/// (and nowhere else), sampling ownership at every step.
fn wait_settled(members: &[&SsaProcess], nodes: &[&str]) -> Value {
    let started = std::time::Instant::now();
    loop {
        let count = assert_owned_at_most_once(members);
        let cluster = members[0].api.get("/cluster").expect(200);
        let leased = owners(&cluster);
        let all_leased = leased.len() == PARTITIONS as usize
            && leased
                .values()
                .all(|o| o.as_deref().is_some_and(|o| nodes.contains(&o)));
        if all_leased && count.len() == PARTITIONS as usize {
            return cluster;
        }
        assert!(
            started.elapsed() < LIMIT,
            "not settled on {nodes:?}: leases {leased:?}, running {count:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the job's committed offsets reach `at_least` lines.
fn wait_committed(member: &SsaProcess, at_least: u64) {
    member
        .api
        .wait_for("/cluster", LIMIT, "committed lines", |c| {
            committed(c) >= at_least
        });
}

fn held_by(cluster: &Value, node: &str) -> Vec<String> {
    owners(cluster)
        .into_iter()
        .filter(|(_, o)| o.as_deref() == Some(node))
        .map(|(p, _)| p)
        .collect()
}

fn metric(p: &SsaProcess, name: &str) -> f64 {
    let text = p.api.get("/metrics").body;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// Stops the members gracefully (commit, release, leave) and checks they exit 0.
fn stop_all(members: Vec<SsaProcess>) {
    for m in members {
        let log = m.log.clone();
        let (code, _) = m.interrupt();
        assert_eq!(code, 0, "{}", admin_support::tail(&log, 30));
    }
}

fn log_of(dir: &Path, node: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{node}.log"))).unwrap_or_default()
}

#[test]
fn three_members_share_the_job_and_a_killed_ones_partitions_move() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let job = Job::start("cluster_kill", 600_000, 20_000);
    let (a, b, c) = (job.member("a"), job.member("b"), job.member("c"));
    let cluster = wait_settled(&[&a, &b, &c], &["a", "b", "c"]);
    for node in ["a", "b", "c"] {
        let n = held_by(&cluster, node).len();
        assert!((2..=3).contains(&n), "{node} holds {n}: {cluster}");
    }
    wait_committed(&a, job.cycles / 3);

    // The member holding the most partitions dies mid-run.
    let cluster = a.api.get("/cluster").expect(200);
    let victim_node = ["a", "b", "c"]
        .into_iter()
        .max_by_key(|n| held_by(&cluster, n).len())
        .unwrap();
    let moved = held_by(&cluster, victim_node);
    let (victim, survivors): (SsaProcess, Vec<SsaProcess>) = {
        let mut all = vec![a, b, c];
        let i = ["a", "b", "c"]
            .iter()
            .position(|n| *n == victim_node)
            .unwrap();
        (all.remove(i), all)
    };
    signal(&victim, libc::SIGKILL);
    drop(victim);
    let nodes: Vec<&str> = ["a", "b", "c"]
        .into_iter()
        .filter(|n| *n != victim_node)
        .collect();
    let refs: Vec<&SsaProcess> = survivors.iter().collect();
    let cluster = wait_settled(&refs, &nodes);
    for p in &moved {
        let owner = owners(&cluster)[p].clone().unwrap();
        assert!(nodes.contains(&owner.as_str()), "{p} moved to {owner}");
    }
    let takeovers: f64 = refs
        .iter()
        .map(|m| metric(m, "ssa_lease_takeovers_total"))
        .sum();
    assert!(takeovers >= moved.len() as f64, "{takeovers} takeovers");
    let held: f64 = refs.iter().map(|m| metric(m, "ssa_leases_held")).sum();
    assert_eq!(held, f64::from(PARTITIONS));

    wait_committed(&survivors[0], job.cycles);
    assert_owned_at_most_once(&refs);
    // Each member answers for the whole job, not for the partitions it holds.
    for m in &refs {
        assert_rollups_are_the_truth(&job, m);
    }
    stop_all(survivors);
    job.verify_exact();
}

/// `GET /rollups/{franchise}` of `member` is the generator's ground truth for
/// every franchise, and `GET /rollups/{franchise}/{name}` for one key of each.
/// Totals are written from the committed partials a moment after the commit:
/// waited for.
fn assert_rollups_are_the_truth(job: &Job, member: &SsaProcess) {
    let mut truth: BTreeMap<uuid::Uuid, Vec<(String, u64)>> = BTreeMap::new();
    let workload = Workload::new(WorkloadOptions {
        keys: job.keys,
        ..Default::default()
    })
    .unwrap();
    for (f, name, t) in workload.truth(0..job.cycles).iter() {
        truth
            .entry(f)
            .or_default()
            .push((name.to_string(), t.count));
    }
    for (f, keys) in &truth {
        let limit = keys.len();
        member.api.wait_for(
            &format!("/rollups/{f}?limit={limit}"),
            LIMIT,
            "the job's totals",
            |v| {
                let got: Vec<(String, u64)> = v["rollups"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|r| {
                                let name = r["event_name"].as_str().unwrap_or("").to_string();
                                (name, r["count"].as_u64().unwrap_or(0))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                &got == keys
            },
        );
        let (name, count) = &keys[0];
        let one = member.api.get(&format!("/rollups/{f}/{name}")).expect(200);
        assert_eq!(one["count"], *count, "{f}/{name}");
    }
}

#[test]
fn a_member_paused_past_its_lease_is_fenced_off() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let job = Job::start("cluster_pause", 500_000, 20_000);
    let (a, b, c) = (job.member("a"), job.member("b"), job.member("c"));
    wait_settled(&[&a, &b, &c], &["a", "b", "c"]);
    wait_committed(&a, job.cycles / 4);

    // c stops answering anything, its leases expire and a and b take them over.
    let before = held_by(&a.api.get("/cluster").expect(200), "c");
    assert!(!before.is_empty());
    signal(&c, libc::SIGSTOP);
    let cluster = wait_settled(&[&a, &b], &["a", "b"]);
    let tokens: BTreeMap<String, i64> = cluster["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partition"].as_str().unwrap().into(),
                p["token"].as_i64().unwrap(),
            )
        })
        .collect();

    // Resumed, it finds its leases gone: renewals or commits refused under its
    // old tokens, it stops those partitions without committing, and takes a
    // fair share again only through new leases.
    signal(&c, libc::SIGCONT);
    let losses = {
        let started = std::time::Instant::now();
        loop {
            let n = metric(&c, "ssa_lease_losses_total");
            if n >= before.len() as f64 {
                break n;
            }
            assert!(started.elapsed() < LIMIT, "c lost {n} of {before:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    eprintln!(
        "paused member: {losses} leases lost, {} commits refused by fencing",
        metric(&c, "ssa_fenced_commits_refused_total")
    );
    // The partitions it lost stop there (none is run by two members from here),
    // unless it took one back since, under a new token.
    let started = std::time::Instant::now();
    loop {
        let mine = held_by(&c.api.get("/cluster").expect(200), "c");
        let runs = running(&c);
        if before.iter().all(|p| !runs.contains(p) || mine.contains(p)) {
            break;
        }
        assert!(
            started.elapsed() < LIMIT,
            "c still runs {runs:?}, holds {mine:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let cluster = wait_settled(&[&a, &b, &c], &["a", "b", "c"]);
    for (p, token) in &tokens {
        let now = cluster["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["partition"] == p.as_str())
            .unwrap()["token"]
            .as_i64()
            .unwrap();
        assert!(now >= *token, "{p}: token went back from {token} to {now}");
    }
    wait_committed(&a, job.cycles);
    stop_all(vec![a, b, c]);
    job.verify_exact();
    assert!(log_of(job.dir.path(), "c").contains("lease lost"));
}

/// Members under a small state budget evict most keys; one of them is paused past
/// its leases while it holds evicted keys. Whoever takes its partitions restores
/// them from their checkpoints (evicted keys stay in Cassandra, noted in the base
/// snapshots' filters) and reloads revisited keys from the rows it committed;
/// the paused member's later commits are refused, so nothing it evicted or
/// reloaded afterwards counts. The run ends EXACT.
#[test]
fn a_member_fenced_off_while_it_evicts_leaves_its_keys_exact() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let processor = "state_memory_limit = \"16MiB\"\nmax_epoch_events = 20000\n";
    let keys = KeyMode::Revisit(200_000);
    let mut job = Job::start_with("cluster_evict", 300_000, 5_000, keys, processor);
    // Four rows per event (unbounded keys) load the node more than the seed
    // workload does: leases long enough for its lightweight transactions.
    job.lease = ("10s", "2s");
    let (a, b, mut c) = (job.member("a"), job.member("b"), job.member("c"));
    wait_settled(&[&a, &b, &c], &["a", "b", "c"]);
    let started = std::time::Instant::now();
    while metric(&c, "ssa_keys_evicted_total") < 1.0 {
        assert!(started.elapsed() < LIMIT, "c evicts nothing");
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = held_by(&c.api.get("/cluster").expect(200), "c");
    signal(&c, libc::SIGSTOP);
    wait_settled(&[&a, &b], &["a", "b"]);
    signal(&c, libc::SIGCONT);
    // Its server closed the client's kept-alive connection meanwhile.
    let addr = c.api.base.trim_start_matches("http://").parse().unwrap();
    c.api = admin_support::Api::new(addr, Some(TOKEN));
    let started = std::time::Instant::now();
    while metric(&c, "ssa_lease_losses_total") < before.len() as f64 {
        assert!(started.elapsed() < LIMIT, "c keeps leases it lost");
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_settled(&[&a, &b, &c], &["a", "b", "c"]);
    wait_committed(&a, job.cycles);
    let evicted: f64 = [&a, &b, &c]
        .iter()
        .map(|m| metric(m, "ssa_keys_evicted_total"))
        .sum();
    let reloads: f64 = [&a, &b, &c]
        .iter()
        .map(|m| metric(m, "ssa_key_reloads_total"))
        .sum();
    eprintln!("fenced-off member under a budget: {evicted} keys evicted, {reloads} reloaded");
    stop_all(vec![a, b, c]);
    job.verify_exact();
}

#[test]
fn a_member_joining_mid_run_gets_its_fair_share() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let job = Job::start("cluster_join", 500_000, 20_000);
    // Each exits by itself once every partition of the job ended and committed.
    let done = ["--exit-when-done"];
    let (a, b) = (job.member_with("a", &done), job.member_with("b", &done));
    let cluster = wait_settled(&[&a, &b], &["a", "b"]);
    assert_eq!(held_by(&cluster, "a").len(), 4, "{cluster}");
    wait_committed(&a, job.cycles / 4);

    let c = job.member_with("c", &done);
    // 8 partitions over 3 members: shares of 3, 3 and 2.
    let started = std::time::Instant::now();
    loop {
        let cluster = wait_settled(&[&a, &b, &c], &["a", "b", "c"]);
        let counts: Vec<usize> = ["a", "b", "c"]
            .iter()
            .map(|n| held_by(&cluster, n).len())
            .collect();
        if counts.iter().all(|n| (2..=3).contains(n)) {
            break;
        }
        assert!(started.elapsed() < LIMIT, "shares {counts:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for m in [a, b, c] {
        let log = m.log.clone();
        let (code, _) = m.wait(LIMIT);
        assert_eq!(code, 0, "{}", admin_support::tail(&log, 30));
    }
    job.verify_exact();
}

#[test]
fn a_commit_under_an_old_fencing_token_is_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let io = common::io_runtime();
    io.block_on(async {
        let (session, keyspace) = common::keyspace_with_schema("cluster_fence").await;
        let store = ssa::cluster::LeaseStore::new(
            session.clone(),
            &keyspace,
            ssa::config::SerialConsistencyName::Serial,
        )
        .await
        .unwrap();
        use ssa::cluster::Cas;
        let ttl = Duration::from_secs(3);
        store.ensure_rows(&["p".into()]).await.unwrap();
        let seen = store.lease("p").await.unwrap().unwrap();
        assert_eq!((seen.token, seen.owner.as_deref()), (0, None));
        assert_eq!(store.acquire(&seen, "a", ttl).await.unwrap(), Cas::Applied);
        // Held: nobody else takes it, and a's commits go through.
        assert_eq!(store.acquire(&seen, "b", ttl).await.unwrap(), Cas::Refused);
        assert_eq!(store.commit("p", 1, 5, 500).await.unwrap(), Cas::Applied);
        // a stops renewing; once its owner cell expires, b takes the lease over.
        let taken = loop {
            let now = store.lease("p").await.unwrap().unwrap();
            if now.owner.is_none() {
                break now;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!((taken.token, taken.committed_epoch), (1, 5));
        // b's lease outlives the checks below however slow the node answers.
        let long = Duration::from_secs(120);
        assert_eq!(
            store.acquire(&taken, "b", long).await.unwrap(),
            Cas::Applied
        );
        // a, late: its renewal, commit and release under token 1 are all refused.
        assert_eq!(store.renew("p", "a", 1, ttl).await.unwrap(), Cas::Refused);
        assert_eq!(store.commit("p", 1, 6, 600).await.unwrap(), Cas::Refused);
        assert_eq!(store.release("p", 1).await.unwrap(), Cas::Refused);
        let now = store.lease("p").await.unwrap().unwrap();
        assert_eq!(
            (
                now.owner.as_deref(),
                now.token,
                now.committed_epoch,
                now.committed_offset
            ),
            (Some("b"), 2, 5, 500)
        );
        assert_eq!(store.commit("p", 2, 6, 650).await.unwrap(), Cas::Applied);
        common::drop_keyspace(&session, &keyspace).await;
    });
}

//! Bounded state on the real node: `ssa demo` with unbounded keys under a small
//! `processor.state_memory_limit` evicts most keys and still ends exact
//! (`ssa verify`); keys revisited after eviction are reloaded and end with the
//! right counts, also across a partition kill and a SIGKILL of the process
//! during eviction; the seed workload never evicts at the default budget.

mod admin_support;
mod common;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use admin_support::{Api, SsaProcess};

/// How long a run may take before it is taken as hung (a debug build on a
/// loaded machine needs several minutes for 2 M events).
const LIMIT: Duration = Duration::from_secs(1200);

/// The runs of millions of events share two cores with the node: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
const TOKEN: &str = "bounded-state-token-7d1c";

/// `ssa demo` over `cycles` with `keys`, four partitions, `state_memory_limit`
/// = `limit` (`None`: the default), small epochs so that keys commit (and can
/// be evicted) often.
fn demo(
    keyspace: &str,
    cycles: &str,
    keys: &str,
    limit: Option<&str>,
    hold: bool,
    log: &Path,
) -> SsaProcess {
    let cp = common::contact_point();
    let mut args = vec![
        "demo",
        "--cycles",
        cycles,
        "--keys",
        keys,
        "--partitions",
        "4",
        "--keyspace",
        keyspace,
        "--contact-point",
        &cp,
        "--admin-listen",
        "127.0.0.1:0",
        "--quiet",
    ];
    if hold {
        args.push("--hold");
    }
    let mut env = vec![
        ("SSA_PROCESSOR__MAX_EPOCH_EVENTS", "20000"),
        ("SSA_ADMIN_TOKEN", TOKEN),
    ];
    if let Some(l) = limit {
        env.push(("SSA_PROCESSOR__STATE_MEMORY_LIMIT", l));
    }
    SsaProcess::spawn(&args, &env, log, Some(TOKEN))
}

/// The value of an unlabelled series on `/metrics`.
fn metric(api: &Api, name: &str) -> f64 {
    let text = api.get("/metrics").body;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

fn verify_exact(keyspace: &str, cycles: &str, keys: &str) {
    let out = std::process::Command::new(common::ssa_bin())
        .args([
            "verify",
            "--cycles",
            cycles,
            "--keys",
            keys,
            "--keyspace",
            keyspace,
            "--contact-point",
            &common::contact_point(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("EXACT"),
        "ssa verify found differences:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn drop_keyspace(keyspace: &str) {
    common::io_runtime().block_on(async {
        let session = common::session(keyspace).await;
        common::drop_keyspace(&session, keyspace).await;
    });
}

#[test]
fn unbounded_keys_past_the_budget_end_exact() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let keyspace = common::unique_keyspace("bounded_unbounded");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let cycles = "0..2000000";
    let ssa = demo(&keyspace, cycles, "unbounded", Some("48MiB"), true, &log);
    admin_support::wait_for_log(&log, "holding: the console stays up", LIMIT);
    // 2,000,000 keys of which more than half left memory.
    let evicted = metric(&ssa.api, "ssa_keys_evicted_total");
    assert!(evicted > 1_000_000.0, "{evicted} keys evicted");
    let (code, stdout) = ssa.interrupt();
    assert_eq!(code, 0, "{stdout}\n{}", admin_support::tail(&log, 40));
    verify_exact(&keyspace, cycles, "unbounded");
    drop_keyspace(&keyspace);
}

#[test]
fn revisited_keys_reload_and_end_exact_across_a_kill_and_a_sigkill() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let keyspace = common::unique_keyspace("bounded_revisit");
    let dir = tempfile::tempdir().unwrap();
    let (cycles, keys) = ("0..1000000", "revisit:0.2");
    let log = dir.path().join("first.log");
    let mut ssa = demo(&keyspace, cycles, keys, Some("24MiB"), false, &log);
    let api = ssa.api.clone();
    let started = std::time::Instant::now();
    while metric(&api, "ssa_key_reloads_total") < 1.0 {
        assert!(
            started.elapsed() < LIMIT,
            "no reload:\n{}",
            admin_support::tail(&log, 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A partition killed while keys are evicted and reloaded...
    api.post("/partitions/p1/kill", None).expect(200);
    api.wait_for(
        "/partitions/p1",
        LIMIT,
        "the killed partition restarts",
        |p| p["restarts_by_cause"]["killed"] == 1,
    );
    let evicted = metric(&api, "ssa_keys_evicted_total");
    while metric(&api, "ssa_keys_evicted_total") <= evicted {
        assert!(
            started.elapsed() < LIMIT,
            "too few evictions:\n{}",
            admin_support::tail(&log, 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // ...then, once it evicts again, the whole process, with no chance to commit
    // anything more.
    ssa.child.kill().unwrap();
    ssa.child.wait().unwrap();

    // The next run resumes from the checkpoints and ends the range.
    let log = dir.path().join("second.log");
    let ssa = demo(&keyspace, cycles, keys, Some("24MiB"), true, &log);
    admin_support::wait_for_log(&log, "holding: the console stays up", LIMIT);
    let (code, stdout) = ssa.interrupt();
    assert_eq!(code, 0, "{stdout}\n{}", admin_support::tail(&log, 40));
    verify_exact(&keyspace, cycles, keys);
    drop_keyspace(&keyspace);
}

#[test]
fn the_seed_workload_never_evicts_at_the_default_budget() {
    let keyspace = common::unique_keyspace("bounded_seed");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let cycles = "0..300000";
    let ssa = demo(&keyspace, cycles, "bounded", None, true, &log);
    admin_support::wait_for_log(&log, "holding: the console stays up", LIMIT);
    assert_eq!(metric(&ssa.api, "ssa_keys_evicted_total"), 0.0);
    assert_eq!(metric(&ssa.api, "ssa_key_reloads_total"), 0.0);
    let (code, stdout) = ssa.interrupt();
    assert_eq!(code, 0, "{stdout}\n{}", admin_support::tail(&log, 40));
    verify_exact(&keyspace, cycles, "bounded");
    drop_keyspace(&keyspace);
}

//! `ssa run` started while its Cassandra node is down: it says what it waits for
//! (log line, `/ready` 503 naming the cause), `/health` answers, and once the node
//! is started it applies the schema, processes the whole range and ends exact.
//! `ssa schema --apply` and `ssa verify` fail fast instead. Runs its own node on
//! 127.0.0.31 so other tests are not disturbed, and always stops it.

mod admin_support;
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use admin_support::SsaProcess;
use ssa::gen::{ServeMode, Workload};

const ADDRESS: &str = "127.0.0.31";
const CONTACT: &str = "127.0.0.31:9042";
const TOKEN: &str = "late-token";

/// The node on 127.0.0.31, stopped and its data removed when dropped.
struct Node {
    data: PathBuf,
}

impl Node {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cassandra")
    }

    fn command(&self, verb: &str) -> Command {
        let mut cmd = Command::new(Self::script());
        cmd.args([
            verb,
            "--listen-address",
            ADDRESS,
            "--seeds",
            ADDRESS,
            "--data-dir",
        ])
        .arg(&self.data);
        cmd
    }

    fn is_up(&self) -> bool {
        self.command("status")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.command("stop").status();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Polls `done` every 50 ms until it holds, or fails after `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn run_started_before_its_cassandra_waits_then_ends_exact() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node {
        data: dir.path().join("node"),
    };
    assert!(!node.is_up(), "a node already answers at {CONTACT}");

    let io = common::io_runtime();
    let cycles = 0..60_000u64;
    let (gen_addr, gen_stop) = common::start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        cycles.clone(),
        0,
    );
    let keyspace = common::unique_keyspace("late");
    let config = dir.path().join("ssa.toml");
    let mut toml = format!(
        "[cassandra]\ncontact_points = [\"{CONTACT}\"]\nkeyspace = \"{keyspace}\"\nconsistency = \"one\"\n\
         connect_timeout = \"1s\"\n\n[processor]\nflush_interval = \"200ms\"\n"
    );
    for i in 0..2 {
        toml.push_str(&format!(
            "\n[[partitions]]\nid = \"p{i}\"\nsource = \"tcp://{gen_addr}\"\nindex = {i}\ncount = 2\n"
        ));
    }
    std::fs::write(&config, toml).unwrap();

    // The verbs that do not wait fail fast, saying which node is unreachable.
    for args in [
        vec!["schema", "--apply"],
        vec!["verify", "--cycles", "0..60000"],
    ] {
        let out = Command::new(common::ssa_bin())
            .args(&args)
            .args(["--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot reach any contact point: 127.0.0.31:9042"),
            "{args:?}: {stderr}"
        );
    }

    let log = dir.path().join("run.log");
    let ssa = SsaProcess::spawn_early(
        &[
            "run",
            "--exit-when-done",
            "--admin-listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
        &[("SSA_ADMIN_TOKEN", TOKEN)],
        &log,
        Some(TOKEN),
    );
    let waiting = format!("waiting for cassandra at {CONTACT}: ");
    wait_until(Duration::from_secs(60), "the waiting log line", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains(&waiting))
    });
    let api = &ssa.api;
    assert_eq!(api.get("/health").expect(200)["status"], "ok");
    let e = api.get("/ready").expect_error(503, "not_ready");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(&waiting), "{message}");
    api.get("/partitions").expect_error(503, "starting");

    // Now the node comes; the run proceeds on its own and ends once all is committed.
    let status = node
        .command("start")
        .status()
        .expect("scripts/cassandra runs");
    assert!(
        status.success(),
        "scripts/cassandra start on {ADDRESS} failed"
    );
    let (code, _) = ssa.wait(Duration::from_secs(600));
    gen_stop.cancel();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 0, "{}", admin_support::tail(&log, 40));
    assert!(
        text.contains("every source ended and is committed"),
        "{text}"
    );

    let out = Command::new(common::ssa_bin())
        .args(["verify", "--cycles", "0..60000", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.trim() == "EXACT"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("raw rows: 60000 (expected 60000)"),
        "{stdout}"
    );
    drop(node);
}

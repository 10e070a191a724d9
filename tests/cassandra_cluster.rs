//! ssa on a real 3-node Cassandra cluster (`scripts/cassandra cluster`): a keyspace with
//! replication factor 3, reads and writes at QUORUM, lightweight transactions at SERIAL
//! (the session's default profile, as ssa opens it).
//! `ssa demo` and `ssa verify` run as the built binary. A first run ends EXACT; the
//! job then carries on (resuming from its checkpoints) and one node is SIGKILLed
//! while it is under way: two replicas of three still make a quorum, so the run ends
//! EXACT with the node down and lightweight transactions still apply (or not) as
//! their conditions say; reads stay EXACT once the node is back and the others have
//! replayed to it the writes it missed (hints).
//!
//! The cluster runs on 127.0.0.61-63, addresses no other test uses, with its data in
//! a temporary folder; it is stopped at the end, on failure too.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;
use scylla::value::{CqlValue, Row};
use ssa::config::{CassandraConfig, ConsistencyName, SerialConsistencyName};

const FIRST_ADDRESS: &str = "127.0.0.61";
const NODES: [&str; 3] = ["127.0.0.61", "127.0.0.62", "127.0.0.63"];
/// The node killed in the second run (not the seed, which gossip starts from).
const VICTIM: &str = "127.0.0.63";

/// The cluster of this test; stopped and wiped when dropped.
struct Cluster {
    root: PathBuf,
}

impl Cluster {
    fn script(&self, args: &[&str]) -> std::process::Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cassandra");
        Command::new(script)
            .arg("cluster")
            .args(args)
            .args(["--first-address", FIRST_ADDRESS, "--data-root"])
            .arg(&self.root)
            .stdin(Stdio::null())
            .output()
            .expect("scripts/cassandra runs")
    }

    /// `cluster start 3`: starts what is not running and waits until every node sees
    /// every other UP. Exits 0 when the cluster is already up.
    fn start(&self) {
        let out = self.script(&["start", "3"]);
        assert!(
            out.status.success(),
            "scripts/cassandra cluster start 3 failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    }

    /// SIGKILL to one node, by the pid in its pid file; returns once the process is gone.
    fn kill(&self, address: &str) {
        let pid_file = self.root.join(address).join("cassandra.pid");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()))
            .trim()
            .parse()
            .expect("a pid");
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "kill {pid}");
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while proc.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !proc.exists(),
            "node {address} (pid {pid}) outlived SIGKILL"
        );
    }

    /// The clusters of earlier runs of this test that ended without their `Drop` (an
    /// interrupted `cargo test`): their nodes run on in sessions of their own and hold
    /// the addresses. Stopped by their pid files, their folders removed.
    fn stop_leftovers() {
        const PREFIX: &str = "ssa-cluster-test-";
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix(PREFIX) else {
                continue;
            };
            if Path::new("/proc").join(pid).exists() {
                continue; // its test is still running
            }
            eprintln!("stopping the cluster left in {}", entry.path().display());
            drop(Cluster { root: entry.path() });
        }
    }

    fn contact_points() -> Vec<String> {
        NODES.iter().map(|a| format!("{a}:9042")).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The data is thrown away: no need to wait long for a graceful drain.
        let out = self.script(&["stop", "--stop-timeout", "5"]);
        if !out.status.success() {
            eprintln!(
                "cluster stop: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A config file for ssa against the cluster: RF 3, QUORUM, SERIAL, no admin API.
fn write_config(dir: &Path, keyspace: &str) -> PathBuf {
    let points: Vec<String> = Cluster::contact_points()
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect();
    let text = format!(
        "[cassandra]\n\
         contact_points = [{}]\n\
         keyspace = \"{keyspace}\"\n\
         replication_class = \"SimpleStrategy\"\n\
         replication_factor = 3\n\
         consistency = \"quorum\"\n\
         serial_consistency = \"serial\"\n\n\
         [processor]\n\
         flush_interval = \"200ms\"\n\
         retry_backoff_max = \"500ms\"\n\n\
         [admin]\n\
         enabled = false\n",
        points.join(", ")
    );
    let path = dir.join(format!("{keyspace}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `ssa`; killed when dropped, so that a failing test leaves none behind
/// (a demo whose cluster is gone would wait for it forever).
struct Ssa(Child);

impl Drop for Ssa {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `ssa ARGS` in the background, stdout and stderr to files in `dir`.
fn spawn_ssa(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Ssa {
    let mut cmd = Command::new(common::ssa_bin());
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("{name}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ssa(cmd.spawn().expect("ssa starts"))
}

/// Waits for `child` to end (killing it and failing after `limit`); returns its stdout.
fn finish(mut ssa: Ssa, dir: &Path, name: &str, limit: Duration) -> String {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = ssa.0.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            panic!(
                "ssa {name} still running after {limit:?}; stderr:\n{}",
                std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap_or_default();
    assert!(
        status.success(),
        "ssa {name} exited with {status}:\n{stdout}{}",
        std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default()
    );
    stdout
}

/// `ssa verify` over `cycles` with `config`; asserts EXACT with every raw row there.
fn verify_exact(
    dir: &Path,
    name: &str,
    config: &Path,
    cycles: &str,
    events: u64,
    env: &[(&str, &str)],
) {
    let child = spawn_ssa(
        dir,
        name,
        &[
            "verify",
            "--config",
            config.to_str().unwrap(),
            "--cycles",
            cycles,
        ],
        env,
    );
    let stdout = finish(child, dir, name, Duration::from_secs(300));
    assert!(
        stdout.lines().any(|l| l.trim() == "EXACT"),
        "{name}:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("raw rows: {events} (expected {events})")),
        "{name}:\n{stdout}"
    );
}

fn demo_args<'a>(config: &'a Path, cycles: &'a str, rate: &'a str) -> Vec<&'a str> {
    vec![
        "demo",
        "--config",
        config.to_str().unwrap(),
        "--cycles",
        cycles,
        "--partitions",
        "2",
        "--rate",
        rate,
        "--quiet",
    ]
}

async fn cluster_session(keyspace: &str) -> Arc<Session> {
    let config = CassandraConfig {
        contact_points: Cluster::contact_points(),
        keyspace: keyspace.to_string(),
        consistency: ConsistencyName::Quorum,
        serial_consistency: SerialConsistencyName::Serial,
        ..CassandraConfig::default()
    };
    ssa::cassandra::connect(&config)
        .await
        .expect("the cluster answers")
}

/// The replication of `keyspace` as the cluster's schema tables hold it.
async fn replication(session: &Session, keyspace: &str) -> String {
    let rows = session
        .query_unpaged(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?",
            (keyspace,),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let (map,): (std::collections::BTreeMap<String, String>,) = rows.single_row().unwrap();
    format!("{map:?}")
}

/// The highest offset partition `p0` has committed (0 before its first checkpoint).
async fn committed_p0(session: &Session, keyspace: &str) -> i64 {
    let q = session
        .query_unpaged(
            format!("SELECT max(offset) FROM {keyspace}.checkpoints WHERE partition_id = 'p0'"),
            (),
        )
        .await;
    match q.ok().and_then(|r| r.into_rows_result().ok()) {
        Some(rows) => rows
            .single_row::<(Option<i64>,)>()
            .ok()
            .and_then(|(o,)| o)
            .unwrap_or(0),
        None => 0,
    }
}

/// Runs a lightweight transaction (its Paxos round at the session's serial
/// consistency) and returns its `[applied]`.
async fn applied(session: &Session, cql: String) -> bool {
    let rows = session
        .query_unpaged(cql.clone(), ())
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"))
        .into_rows_result()
        .unwrap();
    let row: Row = rows.first_row().unwrap();
    match row.columns.first() {
        Some(Some(CqlValue::Boolean(applied))) => *applied,
        other => panic!("{cql}: no [applied] column but {other:?}"),
    }
}

/// How many nodes `node` still holds hints for (writes it took for a node that was
/// down); `system_views.pending_hints` is node-local, so the query goes to `node`.
async fn pending_hints(session: &Session, node: &str) -> Result<usize, String> {
    let mut statement = Statement::new("SELECT address FROM system_views.pending_hints");
    statement.set_consistency(Consistency::One);
    statement.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(
        NodeIdentifier::NodeAddress(format!("{node}:9042").parse().unwrap()),
        None,
    )));
    let rows = session
        .query_unpaged(statement, ())
        .await
        .map_err(|e| e.to_string())?
        .into_rows_result()
        .map_err(|e| e.to_string())?;
    Ok(rows.rows_num())
}

#[test]
fn three_nodes_at_quorum_stay_exact_through_the_loss_of_one() {
    let started = Instant::now();
    Cluster::stop_leftovers();
    let cluster = Cluster {
        root: std::env::temp_dir().join(format!("ssa-cluster-test-{}", std::process::id())),
    };
    cluster.start();
    eprintln!("cluster up after {:.1} s", started.elapsed().as_secs_f64());
    let dir = tempfile::tempdir().unwrap();
    let io = common::io_runtime();

    // 1. All three nodes up: a run as fast as the cluster takes it, then verify.
    let keyspace = common::unique_keyspace("cluster");
    let config = write_config(dir.path(), &keyspace);
    let demo = spawn_ssa(
        dir.path(),
        "demo1",
        &demo_args(&config, "0..40000", "0"),
        &[],
    );
    let out = finish(demo, dir.path(), "demo1", Duration::from_secs(300));
    assert!(
        out.contains("demo done: 40000 events committed by 2 partitions"),
        "{out}"
    );
    eprint!("{out}");
    let session = io.block_on(cluster_session(&keyspace));
    let repl = io.block_on(replication(&session, &keyspace));
    assert!(
        repl.contains("\"replication_factor\": \"3\"") && repl.contains("SimpleStrategy"),
        "{repl}"
    );
    verify_exact(dir.path(), "verify1", &config, "0..40000", 40_000, &[]);
    io.block_on(async {
        session
            .query_unpaged(
                format!("CREATE TABLE {keyspace}.lwt_probe (k text PRIMARY KEY, v int)"),
                (),
            )
            .await
            .unwrap();
        // Lightweight transactions at SERIAL with every node up (a CAS right after a
        // node is killed can time out before the others mark it down, so not then).
        let table = format!("{keyspace}.lwt_probe");
        let insert = format!("INSERT INTO {table} (k, v) VALUES ('a', 1) IF NOT EXISTS");
        assert!(applied(&session, insert.clone()).await, "first insert");
        assert!(!applied(&session, insert).await, "the row exists");
        let update = format!("UPDATE {table} SET v = 2 WHERE k = 'a' IF v = 1");
        assert!(applied(&session, update.clone()).await, "v was 1");
        assert!(!applied(&session, update).await, "v is 2 now");
    });
    eprintln!(
        "first run verified after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. The same job carried on to 200000 cycles (each partition resumes at its
    //    committed 20000), the generator's rate keeping it going for about 20 s; one
    //    node SIGKILLed once p0 commits past where it resumed. QUORUM needs 2 of 3:
    //    the run ends EXACT.
    let cycles = "0..200000";
    let demo = spawn_ssa(
        dir.path(),
        "demo2",
        &demo_args(&config, cycles, "8000"),
        &[],
    );
    let committed_at_kill = io.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(Instant::now() < deadline, "no commit within 120 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
            let offset = committed_p0(&session, &keyspace).await;
            if offset > 23_000 {
                return offset;
            }
        }
    });
    cluster.kill(VICTIM);
    eprintln!(
        "{VICTIM} killed after {:.1} s, p0 at {committed_at_kill}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        committed_at_kill < 100_000,
        "the kill must land while p0 still has events to commit ({committed_at_kill} of 100000)"
    );
    let out = finish(demo, dir.path(), "demo2", Duration::from_secs(300));
    assert!(
        out.contains("demo done: 200000 events committed by 2 partitions"),
        "{out}"
    );
    eprint!("{out}");
    // Read at QUORUM with the node still down.
    verify_exact(
        dir.path(),
        "verify2_node_down",
        &config,
        cycles,
        200_000,
        &[],
    );
    eprintln!(
        "second run verified after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 3. The node back: `cluster start` starts only what is down and waits until
    //    every node sees every other UP. It missed most of the run's writes.
    cluster.start();
    eprintln!("node back after {:.1} s", started.elapsed().as_secs_f64());
    // The others replay to it the writes it missed (hints); then quorum reads that
    // include it find the same rows as the others instead of repairing on the way.
    io.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let mut left = Vec::new();
            for node in NODES {
                match pending_hints(&session, node).await {
                    Ok(0) => {}
                    Ok(n) => left.push(format!("{node}: hints for {n} node(s)")),
                    Err(e) => left.push(format!("{node}: {e}")),
                }
            }
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "hints not delivered within 180 s: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    eprintln!(
        "hints delivered after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    verify_exact(
        dir.path(),
        "verify3_node_back",
        &config,
        cycles,
        200_000,
        &[],
    );
    eprintln!(
        "cluster test: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
    drop(session);
}

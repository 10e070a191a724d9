//! A partition's identity (source kind, mode, format, index, count) is stored with
//! its checkpoints: coming back under the same id with another one is refused and
//! writes nothing, over the admin API and at the start of `ssa run`; an explicit
//! reset starts it over and takes its old counts out of the totals. Real node,
//! real sockets, exact results (`ssa verify`).

mod admin_support;
mod common;

use std::collections::BTreeMap;
use std::ops::Range;
use std::process::{Command, Output};
use std::time::Duration;

use admin_support::{Api, Harness};
use serde_json::{json, Value};
use ssa::format::Format;
use ssa::gen::{partition_lines, ServeMode, Workload};

const TOKEN: &str = "identity-test-token";
const LIMIT: Duration = Duration::from_secs(180);

/// Everything one partition has in the tables, for "nothing was written" checks.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    identity: Option<(String, String, i32, i32, String, bool)>,
    checkpoint_rows: i64,
    newest_seq: Option<i64>,
    intents: i64,
    raw_rows: i64,
    partials: i64,
    /// Events counted in its partial rollups and in its minute buckets.
    partial_events: i64,
    minute_events: i64,
    minute_rows: i64,
    dead_letters: i64,
}

fn footprint(io: &tokio::runtime::Runtime, keyspace: &str, partition: &str) -> Footprint {
    io.block_on(async {
        let s = common::session(keyspace).await;
        let count = |cql: String| {
            let s = s.clone();
            async move {
                s.query_unpaged(cql, (partition,))
                    .await
                    .unwrap()
                    .into_rows_result()
                    .unwrap()
                    .single_row::<(i64,)>()
                    .unwrap()
                    .0
            }
        };
        let identity = s
            .query_unpaged(
                format!(
                    "SELECT source_kind, mode, part_index, part_count, format, reset_pending \
                     FROM {keyspace}.partition_identity WHERE partition_id = ?"
                ),
                (partition,),
            )
            .await
            .ok()
            .and_then(|r| r.into_rows_result().ok()?.maybe_first_row().ok()?);
        let newest_seq = s
            .query_unpaged(
                format!("SELECT max(seq) FROM {keyspace}.checkpoints WHERE partition_id = ?"),
                (partition,),
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap()
            .single_row::<(Option<i64>,)>()
            .unwrap()
            .0;
        Footprint {
            identity,
            checkpoint_rows: count(format!(
                "SELECT count(*) FROM {keyspace}.checkpoints WHERE partition_id = ?"
            ))
            .await,
            newest_seq,
            intents: count(format!(
                "SELECT count(*) FROM {keyspace}.epoch_intents WHERE partition_id = ?"
            ))
            .await,
            // The tests' offsets stay in raw bucket 0.
            raw_rows: count(format!(
                "SELECT count(*) FROM {keyspace}.events_raw WHERE partition_id = ? AND bucket = 0"
            ))
            .await,
            partials: count(format!(
                "SELECT count(*) FROM {keyspace}.rollups_by_partition WHERE partition_id = ? ALLOW FILTERING"
            ))
            .await,
            partial_events: count(format!(
                "SELECT sum(count) FROM {keyspace}.rollups_by_partition WHERE partition_id = ? ALLOW FILTERING"
            ))
            .await,
            minute_events: count(format!(
                "SELECT sum(count) FROM {keyspace}.rollups_by_minute WHERE partition_id = ? ALLOW FILTERING"
            ))
            .await,
            minute_rows: count(format!(
                "SELECT count(*) FROM {keyspace}.rollups_by_minute WHERE partition_id = ? ALLOW FILTERING"
            ))
            .await,
            dead_letters: count(format!(
                "SELECT count(*) FROM {keyspace}.dead_letters WHERE partition_id = ?"
            ))
            .await,
        }
    })
}

fn all_finished(api: &Api, n: usize) -> Value {
    api.wait_for("/partitions", LIMIT, "every partition finishes", |v| {
        let parts = v["partitions"].as_array().unwrap();
        parts.len() == n && parts.iter().all(|p| p["state"] == "finished")
    })
}

/// The sum of every key's count in the admin API's totals (memory).
fn counted_in_memory(api: &Api, workload: &Workload, cycles: Range<u64>) -> u64 {
    let mut franchises: BTreeMap<uuid::Uuid, ()> = BTreeMap::new();
    for (f, _, _) in workload.truth(cycles).iter() {
        franchises.insert(f, ());
    }
    franchises
        .keys()
        .map(|f| {
            api.get(&format!("/rollups/{f}?limit=1")).expect(200)["count"]
                .as_u64()
                .unwrap()
        })
        .sum()
}

#[test]
fn a_partition_re_added_under_another_identity_is_refused_and_a_reset_starts_it_over() {
    let io = common::io_runtime();
    let (session, keyspace) = io.block_on(common::keyspace_with_schema("identity_api"));
    let workload = Workload::default();
    let cycles = 0..40_000u64;
    let (gen_addr, gen_stop) = common::start_gen(
        &io,
        workload.clone(),
        ServeMode::Partitioned,
        cycles.clone(),
        0,
    );
    let source = format!("tcp://{gen_addr}");
    let mut config = common::test_config(&keyspace);
    config.partitions = common::replayable_partitions(gen_addr, 2, Format::Seed);
    let h = Harness::start(config, &io, Some(TOKEN));
    let api = &h.api;
    all_finished(api, 2);

    // p1 (index 1 of 2) leaves; its committed counts stay in the totals.
    api.send("DELETE", "/partitions/p1", None).expect(200);
    io.block_on(h.processor.flush());
    let before = footprint(&io, &keyspace, "p1");

    // Back as index 0 of 2: its offsets would mean another stream.
    let as_index_0 = json!({"id": "p1", "source": source, "index": 0, "count": 2}).to_string();
    let e = api
        .post("/partitions", Some(&as_index_0))
        .expect_error(409, "partition_identity");
    assert_eq!(e["field"], "index", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("partition p1") && message.contains("index = 1, not 0"),
        "{message}"
    );
    let as_1_of_4 = json!({"id": "p1", "source": source, "index": 1, "count": 4}).to_string();
    let e = api
        .post("/partitions", Some(&as_1_of_4))
        .expect_error(409, "partition_identity");
    assert_eq!(e["field"], "count", "{e}");
    assert!(e["message"].as_str().unwrap().contains("count = 2, not 4"));
    let as_csv =
        json!({"id": "p1", "source": source, "index": 1, "count": 2, "format": "csv"}).to_string();
    let e = api
        .post("/partitions", Some(&as_csv))
        .expect_error(409, "partition_identity");
    assert_eq!(e["field"], "format", "{e}");

    // Refused means no actor (so nothing can write later) and nothing written now.
    api.get("/partitions/p1").expect_error(404, "not_found");
    assert_eq!(
        before.identity,
        Some((
            "connect".into(),
            "replayable".into(),
            1,
            2,
            "seed".into(),
            false
        ))
    );
    assert_eq!(before.raw_rows, 20_000);
    assert_eq!(
        (before.partial_events, before.minute_events),
        (20_000, 20_000)
    );
    assert!(
        before.checkpoint_rows > 0 && before.partials > 0,
        "{before:?}"
    );

    assert_eq!(footprint(&io, &keyspace, "p1"), before);
    let report = common::verify(
        &io,
        &keyspace,
        &common::verify_args(cycles.clone(), Format::Seed),
    );
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.raw_rows, Some(40_000));

    // The operator re-partitions on purpose: p1 starts over as index 1 of 4 and a new
    // p3 takes index 3 of 4; p0 (index 0 of 2) keeps cycles 0 and 2 mod 4.
    let r = api.post("/partitions?reset=true", Some(&as_1_of_4));
    assert_eq!(r.location.as_deref(), Some("/partitions/p1"));
    r.expect(201);
    let p3 = json!({"id": "p3", "source": source, "index": 3, "count": 4}).to_string();
    api.post("/partitions", Some(&p3)).expect(201);
    let list = all_finished(api, 3);
    let committed: BTreeMap<String, u64> = list["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["committed_offset"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(committed["p0"], partition_lines(cycles.clone(), 0, 2));
    assert_eq!(committed["p1"], partition_lines(cycles.clone(), 1, 4));
    assert_eq!(committed["p3"], partition_lines(cycles.clone(), 3, 4));
    io.block_on(h.processor.flush());

    let after = footprint(&io, &keyspace, "p1");
    assert_eq!(
        after.identity,
        Some((
            "connect".into(),
            "replayable".into(),
            1,
            4,
            "seed".into(),
            false
        ))
    );
    assert_eq!(
        after.raw_rows, 10_000,
        "only the new stream's raw rows remain"
    );
    assert_eq!(
        (
            after.partial_events,
            after.minute_events,
            after.dead_letters
        ),
        (10_000, 10_000, 0),
        "only the new stream's rollups remain"
    );
    let report = common::verify(
        &io,
        &keyspace,
        &common::verify_args(cycles.clone(), Format::Seed),
    );
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.raw_rows, Some(40_000));
    assert_eq!(counted_in_memory(api, &workload, cycles), 40_000);

    drop(h);
    gen_stop.cancel();
    io.block_on(common::drop_keyspace(&session, &keyspace));
}

fn write_config(
    dir: &std::path::Path,
    name: &str,
    keyspace: &str,
    parts: &[(&str, u32, u32)],
    gen: std::net::SocketAddr,
    processor: &str,
) -> std::path::PathBuf {
    let mut toml = format!(
        "[cassandra]\ncontact_points = [\"{}\"]\nkeyspace = \"{keyspace}\"\nconsistency = \"one\"\n\n\
         [processor]\nflush_interval = \"200ms\"\nmax_epoch_events = 20000\n{processor}\n\n[admin]\nenabled = false\n",
        common::contact_point()
    );
    for (id, index, count) in parts {
        toml.push_str(&format!(
            "\n[[partitions]]\nid = \"{id}\"\nsource = \"tcp://{gen}\"\nmode = \"replayable\"\nindex = {index}\ncount = {count}\n"
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path
}

/// `ssa run --exit-when-done --config FILE EXTRA…`, bounded in time.
fn run_ssa(config: &std::path::Path, extra: &[&str]) -> Output {
    let mut child = Command::new(common::ssa_bin())
        .args(["run", "--exit-when-done", "--config"])
        .arg(config)
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ssa run did not exit within {LIMIT:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_restart_under_a_changed_identity_exits_2_and_reset_partition_starts_it_over() {
    let io = common::io_runtime();
    let keyspace = common::unique_keyspace("identity_run");
    let cycles = 0..40_000u64;
    let (gen, gen_stop) = common::start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        cycles.clone(),
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let halves = write_config(
        dir.path(),
        "halves.toml",
        &keyspace,
        &[("p0", 0, 2), ("p1", 1, 2)],
        gen,
        "",
    );
    let out = run_ssa(&halves, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = common::verify(
        &io,
        &keyspace,
        &common::verify_args(cycles.clone(), Format::Seed),
    );
    assert!(report.is_exact(), "{report:?}");

    // p1 becomes index 1 of 4 and p3 takes index 3 of 4.
    let quarters = write_config(
        dir.path(),
        "quarters.toml",
        &keyspace,
        &[("p0", 0, 2), ("p1", 1, 4), ("p3", 3, 4)],
        gen,
        "",
    );
    let before: Vec<Footprint> = ["p0", "p1"]
        .iter()
        .map(|p| footprint(&io, &keyspace, p))
        .collect();
    let out = run_ssa(&quarters, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("partitions[1].count")
            && stderr.contains("partition p1")
            && stderr.contains("count = 2, not 4"),
        "{stderr}"
    );
    let after: Vec<Footprint> = ["p0", "p1"]
        .iter()
        .map(|p| footprint(&io, &keyspace, p))
        .collect();
    assert_eq!(after, before, "nothing was written");
    let p3 = footprint(&io, &keyspace, "p3");
    assert_eq!(p3.identity, None, "{p3:?}");
    assert_eq!((p3.checkpoint_rows, p3.raw_rows, p3.intents), (0, 0, 0));

    let out = run_ssa(&quarters, &["--reset-partition", "p1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = common::verify(
        &io,
        &keyspace,
        &common::verify_args(cycles.clone(), Format::Seed),
    );
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.raw_rows, Some(40_000));
    let p1 = footprint(&io, &keyspace, "p1");
    assert_eq!(p1.raw_rows as u64, partition_lines(cycles.clone(), 1, 4));
    assert_eq!(
        p1.partial_events as u64,
        partition_lines(cycles.clone(), 1, 4)
    );
    assert_eq!(p1.minute_events as u64, partition_lines(cycles, 1, 4));
    assert_eq!(p1.identity.map(|i| (i.2, i.3, i.5)), Some((1, 4, false)));

    // A reset of an id that is not configured is refused before anything starts.
    let out = run_ssa(&quarters, &["--reset-partition", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reset-partition"));

    gen_stop.cancel();
    io.block_on(async {
        let s = common::session(&keyspace).await;
        common::drop_keyspace(&s, &keyspace).await;
    });
}

/// The newest committed offset of a partition in a local checkpoint folder.
fn local_offset(io: &tokio::runtime::Runtime, dir: &std::path::Path, partition: &str) -> u64 {
    let chain = io
        .block_on(ssa::checkpoint::LocalStore::new(dir).load(partition))
        .unwrap();
    chain
        .deltas
        .last()
        .or(chain.base.as_ref())
        .map(|s| s.offset)
        .unwrap_or(0)
}

/// Every file under `dir` with its bytes.
fn files(dir: &std::path::Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn the_local_checkpoint_store_keeps_the_identity_too() {
    let io = common::io_runtime();
    let cycles = 0..20_000u64;
    let (gen, gen_stop) = common::start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        cycles.clone(),
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    let local = format!(
        "checkpoint_store = \"local\"\ncheckpoint_dir = \"{}\"",
        ckpt.display()
    );
    // No Cassandra at all: rows go nowhere, snapshots to the folder.
    let keyspace = "unused";
    let halves = write_config(
        dir.path(),
        "halves.toml",
        keyspace,
        &[("p0", 0, 2), ("p1", 1, 2)],
        gen,
        &local,
    );
    let out = run_ssa(&halves, &["--sink", "none"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        local_offset(&io, &ckpt, "p1"),
        partition_lines(cycles.clone(), 1, 2)
    );
    let identity: Value =
        serde_json::from_slice(&std::fs::read(ckpt.join("p1/identity.json")).unwrap()).unwrap();
    assert_eq!(identity["identity"]["index"], 1, "{identity}");
    assert_eq!(identity["identity"]["count"], 2, "{identity}");

    let before = files(&ckpt);
    let quarters = write_config(
        dir.path(),
        "quarters.toml",
        keyspace,
        &[("p0", 0, 2), ("p1", 1, 4)],
        gen,
        &local,
    );
    let out = run_ssa(&quarters, &["--sink", "none"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("partitions[1].count"), "{stderr}");
    assert_eq!(files(&ckpt), before, "nothing was written");

    let out = run_ssa(&quarters, &["--sink", "none", "--reset-partition", "p1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        local_offset(&io, &ckpt, "p1"),
        partition_lines(cycles, 1, 4)
    );
    let identity: Value =
        serde_json::from_slice(&std::fs::read(ckpt.join("p1/identity.json")).unwrap()).unwrap();
    assert_eq!(identity["identity"]["count"], 4, "{identity}");
    assert_eq!(identity["reset_pending"], false, "{identity}");
    gen_stop.cancel();
}

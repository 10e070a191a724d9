//! Kills over the admin API while `ssa demo` runs (each partition, the sink, the
//! checkpoint actor, each once the one before has restarted, then chaos mode):
//! the run still ends exact (`ssa verify`).

mod admin_support;
mod common;

use std::time::Duration;

use admin_support::SsaProcess;
use serde_json::Value;

const TOKEN: &str = "exact-run-token-4f2a";
/// How long any one awaited state of the run may take.
const LIMIT: Duration = Duration::from_secs(120);

/// Restarts of `actor` by kill, from `GET /actors`.
fn killed(actors: &Value, actor: &str) -> u64 {
    actors["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actor"] == actor)
        .and_then(|a| a["restarts_by_cause"]["killed"].as_u64())
        .unwrap_or_else(|| panic!("no {actor} in {actors}"))
}

#[test]
fn kills_over_rest_leave_the_run_exact() {
    let keyspace = common::unique_keyspace("admin_exact");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let cycles = "0..200000";
    let ssa = SsaProcess::spawn(
        &[
            "demo",
            "--cycles",
            cycles,
            "--partitions",
            "4",
            "--rate",
            "20000",
            "--keyspace",
            &keyspace,
            "--contact-point",
            &common::contact_point(),
            "--admin-listen",
            "127.0.0.1:0",
            "--hold",
            "--quiet",
        ],
        &[("SSA_ADMIN_TOKEN", TOKEN)],
        &log,
        Some(TOKEN),
    );
    let api = ssa.api.clone();
    api.wait_for("/partitions", LIMIT, "every partition commits", |v| {
        v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["committed_offset"].as_u64().unwrap() > 0)
    });

    // Each kill is made once the one before it has restarted its actor.
    for i in 0..4 {
        let id = format!("p{i}");
        let k = api
            .post(&format!("/partitions/{id}/kill"), None)
            .expect(200);
        assert_eq!(k["killed"], "partition");
        assert_eq!(k["id"], id.as_str());
        api.wait_for(
            &format!("/partitions/{id}"),
            LIMIT,
            "the killed partition restarts",
            |p| p["restarts_by_cause"]["killed"] == 1,
        );
    }
    for n in 1..=2 {
        for actor in ["sink", "checkpoint"] {
            let k = api.post(&format!("/actors/{actor}/kill"), None).expect(200);
            assert_eq!(k["killed"], actor);
            api.wait_for("/actors", LIMIT, "the killed actor restarts", |v| {
                killed(v, actor) == n
            });
        }
    }
    let parts = api.get("/partitions").expect(200);
    let parts = parts["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 4);
    for p in parts {
        assert_eq!(p["restarts_by_cause"]["killed"], 1, "{p}");
    }
    let actors = api.get("/actors").expect(200);
    assert_eq!(
        (killed(&actors, "partition"), killed(&actors, "merger")),
        (4, 0)
    );

    let chaos = api
        .post(
            "/chaos",
            Some(r#"{"interval_ms": 150, "targets": ["partition", "sink", "checkpoint"], "seed": 7}"#),
        )
        .expect(200);
    assert_eq!(chaos["running"], true);
    api.wait_for("/chaos", LIMIT, "chaos kills six actors", |c| {
        c["kills"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_u64)
            .sum::<u64>()
            >= 6
    });
    let stopped = api.send("DELETE", "/chaos", None).expect(200);
    assert_eq!(stopped["running"], false);

    // `--hold` keeps the demo up however quickly its run ends; it exits on Ctrl-C.
    let (code, stdout) = ssa.interrupt_held();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        code,
        0,
        "demo failed:\n{stdout}\n{}",
        admin_support::tail(&log, 40)
    );
    assert!(
        stdout.contains("demo done: 200000 events committed by 4 partitions"),
        "{stdout}"
    );
    assert!(!log_text.contains(TOKEN), "the admin token reached the log");

    let verify = std::process::Command::new(common::ssa_bin())
        .args([
            "verify",
            "--cycles",
            cycles,
            "--keyspace",
            &keyspace,
            "--contact-point",
            &common::contact_point(),
        ])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "ssa verify found differences:\n{}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    let io = common::io_runtime();
    io.block_on(async {
        let session = common::session(&keyspace).await;
        common::drop_keyspace(&session, &keyspace).await;
    });
}

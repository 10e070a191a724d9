//! Kills over the admin API while `ssa demo` runs (each partition, the sink, the
//! checkpoint actor, then chaos mode): the run still ends exact (`ssa verify`).

mod admin_support;
mod common;

use std::time::Duration;

use admin_support::SsaProcess;
use serde_json::Value;

const TOKEN: &str = "exact-run-token-4f2a";

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
            "--quiet",
        ],
        &[("SSA_ADMIN_TOKEN", TOKEN)],
        &log,
        Some(TOKEN),
    );
    let api = ssa.api.clone();
    api.wait_for(
        "/partitions",
        Duration::from_secs(120),
        "every partition commits",
        |v| {
            v["partitions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["committed_offset"].as_u64().unwrap() > 0)
        },
    );

    for i in 0..4 {
        let k = api
            .post(&format!("/partitions/p{i}/kill"), None)
            .expect(200);
        assert_eq!(k["killed"], "partition");
        assert_eq!(k["id"], format!("p{i}"));
        std::thread::sleep(Duration::from_millis(150));
    }
    for _ in 0..2 {
        assert_eq!(
            api.post("/actors/sink/kill", None).expect(200)["killed"],
            "sink"
        );
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(
            api.post("/actors/checkpoint/kill", None).expect(200)["killed"],
            "checkpoint"
        );
        std::thread::sleep(Duration::from_millis(150));
    }
    let parts = api.wait_for(
        "/partitions",
        Duration::from_secs(60),
        "kills are counted",
        |v| {
            v["partitions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["restarts_by_cause"]["killed"].as_u64().unwrap() >= 1)
        },
    );
    assert_eq!(parts["partitions"].as_array().unwrap().len(), 4);

    let chaos = api
        .post(
            "/chaos",
            Some(r#"{"interval_ms": 150, "targets": ["partition", "sink", "checkpoint"], "seed": 7}"#),
        )
        .expect(200);
    assert_eq!(chaos["running"], true);
    api.wait_for(
        "/chaos",
        Duration::from_secs(60),
        "chaos kills six actors",
        |c| {
            c["kills"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(Value::as_u64)
                .sum::<u64>()
                >= 6
        },
    );
    let stopped = api.send("DELETE", "/chaos", None).expect(200);
    assert_eq!(stopped["running"], false);

    let (code, stdout) = ssa.wait(Duration::from_secs(600));
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

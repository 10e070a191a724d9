//! The web console in headless Chromium: `ssa demo` runs against the real node,
//! and `tests/console/console_test.py` (Playwright for Python, from the venv
//! `scripts/setup test` makes; `scripts/test` puts it on PATH) drives the page:
//! every partition rendered, read-only without a token, the 401 message for a
//! wrong one, kill / stop / start / chaos / flush_interval through the buttons,
//! the verify panel turning EXACT, and no error in the browser log.
//!
//! `SSA_CONSOLE_SCREENSHOT=docs/console.png` also saves a screenshot of the page.

mod admin_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use admin_support::{Api, SsaProcess};
use ssa::gen::Workload;

const TOKEN: &str = "console-test-token-5d71";

/// The `python3` on PATH, once it is known to have Playwright.
fn python_with_playwright() -> PathBuf {
    let python = admin_support::require_tool("python3");
    let probe = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "{} cannot import playwright: run `scripts/setup test` and put .tools/venv/bin first on PATH \
         (scripts/test does)\n{}",
        python.display(),
        String::from_utf8_lossy(&probe.stderr)
    );
    python
}

/// Runs the browser script and fails with its output unless it exits 0.
fn run_browser_script(args: &[&str], token: Option<&str>) {
    let python = python_with_playwright();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console/console_test.py");
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .args(args)
        .env_remove("SSA_CONSOLE_TEST_TOKEN");
    if let Some(t) = token {
        cmd.env("SSA_CONSOLE_TEST_TOKEN", t);
    }
    let out = cmd.output().expect("the browser script starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "the browser script failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// The read-only routes the page polled, checked with exact numbers once the
/// run has ended (the page saw EXACT): the ground truth's totals, the kills made.
fn check_read_only_views(api: &Api, events: u64) {
    let truth = Workload::default().truth(0..events);
    let verify = api.get("/verify").expect(200);
    assert_eq!(verify["status"], "exact", "{verify}");
    assert_eq!(verify["committed_events"], events);
    assert_eq!(verify["expected_events"], events);
    assert_eq!(verify["expected_keys"], truth.len() as u64);
    assert_eq!(verify["matching_keys"], truth.len() as u64);
    assert_eq!(verify["keys"], truth.len() as u64);

    let mut expected: Vec<(u64, String, String)> = truth
        .iter()
        .map(|(f, n, t)| (t.count, f.to_string(), n.to_string()))
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.1, &a.2).cmp(&(&b.1, &b.2))));
    let top = api.get("/keys/top?limit=5").expect(200);
    assert_eq!(top["keys"], truth.len() as u64);
    assert_eq!(top["count"], events);
    let got: Vec<(u64, String, String)> = top["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (
                r["count"].as_u64().unwrap(),
                s("franchise_id"),
                s("event_name"),
            )
        })
        .collect();
    assert_eq!(got, expected[..5].to_vec());
    api.get("/keys/top?limit=0")
        .expect_error(400, "invalid_field");

    let actors = api.get("/actors").expect(200);
    let killed = |actor: &str| {
        actors["actors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["actor"] == actor)
            .map(|a| a["restarts_by_cause"]["killed"].as_u64().unwrap())
            .unwrap_or_else(|| panic!("no {actor} in {actors}"))
    };
    // One kill of p1, of the checkpoint actor and of the sink by hand; chaos,
    // on the sink only, killed it as many times as its status counts.
    let chaos = api.get("/chaos").expect(200);
    let chaos_sink = chaos["kills"]["sink"].as_u64().unwrap();
    assert!(chaos_sink >= 1, "{chaos}");
    assert_eq!(chaos["kills"]["partition"], 0, "{chaos}");
    assert_eq!(chaos["kills"]["checkpoint"], 0, "{chaos}");
    assert_eq!(killed("partition"), 1, "{actors}");
    assert_eq!(killed("checkpoint"), 1, "{actors}");
    assert_eq!(killed("sink"), 1 + chaos_sink, "{actors}\n{chaos}");
    assert_eq!(killed("merger"), 0, "{actors}");

    let history = api.get("/throughput?seconds=600").expect(200);
    let samples = history["samples"].as_array().unwrap();
    assert!(!samples.is_empty() && samples.len() <= 600);
    assert!(samples
        .iter()
        .all(|s| s["in_per_second"].as_f64().unwrap() >= 0.0));
    api.get("/throughput?seconds=601")
        .expect_error(400, "invalid_field");
    let partitions = api.get("/partitions").expect(200);
    for p in partitions["partitions"].as_array().unwrap() {
        assert!(p["backpressure_seconds"].as_f64().unwrap() >= 0.0, "{p}");
    }
}

#[test]
fn console_drives_a_demo_run_in_headless_chromium() {
    let keyspace = common::unique_keyspace("console");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let events = 300_000u64;
    let cycles = format!("0..{events}");
    let ssa = SsaProcess::spawn(
        &[
            "demo",
            "--cycles",
            &cycles,
            "--partitions",
            "4",
            "--rate",
            "15000",
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
    let url = format!("{}/console", ssa.api.base);
    let events_arg = events.to_string();
    let mut args = vec![
        "--url",
        url.as_str(),
        "--partitions",
        "p0,p1,p2,p3",
        "--events",
        &events_arg,
    ];
    let screenshot = std::env::var("SSA_CONSOLE_SCREENSHOT").ok();
    if let Some(path) = &screenshot {
        args.extend(["--screenshot", path.as_str()]);
    }
    run_browser_script(&args, Some(TOKEN));
    check_read_only_views(&ssa.api, events);

    let log_path = ssa.log.clone();
    let (code, stdout) = ssa.interrupt_held();
    assert_eq!(
        code,
        0,
        "demo failed:\n{stdout}\n{}",
        admin_support::tail(&log_path, 40)
    );
    assert!(
        stdout.starts_with(&format!("console: {url}\n")),
        "the demo does not print the console's address first:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "demo done: {events} events committed by 4 partitions"
        )),
        "{stdout}"
    );
    let log_text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log_text.contains(TOKEN), "the admin token reached the log");

    let io = common::io_runtime();
    io.block_on(async {
        let session = common::session(&keyspace).await;
        common::drop_keyspace(&session, &keyspace).await;
    });
}

#[test]
fn console_is_read_only_when_the_server_has_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let checkpoints = dir.path().join("checkpoints");
    let ssa = SsaProcess::spawn(
        &[
            "demo",
            "--cycles",
            "0..",
            "--partitions",
            "2",
            "--rate",
            "2000",
            "--sink",
            "none",
            "--admin-listen",
            "127.0.0.1:0",
            "--quiet",
        ],
        &[
            ("SSA_PROCESSOR__CHECKPOINT_STORE", "local"),
            (
                "SSA_PROCESSOR__CHECKPOINT_DIR",
                checkpoints.to_str().unwrap(),
            ),
        ],
        &log,
        None,
    );
    let url = format!("{}/console", ssa.api.base);
    run_browser_script(
        &[
            "--url",
            url.as_str(),
            "--partitions",
            "p0,p1",
            "--no-server-token",
        ],
        None,
    );
    let (code, stdout) = ssa.interrupt();
    assert_eq!(code, 0, "{stdout}\n{}", admin_support::tail(&log, 40));
}

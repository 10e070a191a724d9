//! schemathesis against the running admin API: `ssa run` on a free port with a
//! token and a real keyspace, every check (`--checks all`), every phase, a bounded
//! number of examples per operation; 0 failures. schemathesis comes from PATH
//! (`scripts/setup test` installs it into .tools/venv, which `scripts/test` puts on
//! PATH). `tests/schemathesis.toml` holds the two documented expectations that
//! differ from schemathesis's defaults, and `tests/schemathesis_hooks.py` keeps
//! fuzzed partition sources off the machine's other ports. No operation is
//! excluded: none of them can stop the process (kills and chaos hit supervised
//! actors, which restart).

mod admin_support;
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use admin_support::{require_tool, tail, SsaProcess};

const TOKEN: &str = "schemathesis-token";
/// Examples per operation and phase: enough to find what the document and the
/// server disagree on, small enough for CI (about 30 s here).
const MAX_EXAMPLES: &str = "50";

#[test]
fn schemathesis_finds_no_failure_in_the_admin_api() {
    let st = require_tool("schemathesis");
    let dir = tempfile::tempdir().unwrap();
    let keyspace = common::unique_keyspace("schemathesis");
    let log = dir.path().join("run.log");
    let ssa = SsaProcess::spawn(
        &[
            "run",
            "--admin-listen",
            "127.0.0.1:0",
            "--keyspace",
            &keyspace,
            "--contact-point",
            &common::contact_point(),
        ],
        &[("SSA_ADMIN_TOKEN", TOKEN)],
        &log,
        Some(TOKEN),
    );
    ssa.api
        .wait_for("/ready", Duration::from_secs(120), "ready", |_| true);

    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let started = Instant::now();
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(tests.join("schemathesis.toml"))
        .args([
            "run",
            &format!("{}/openapi.json", ssa.api.base),
            "--header",
            &format!("Authorization: Bearer {TOKEN}"),
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "20261126",
            "--request-timeout",
            "30",
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", tests.join("schemathesis_hooks.py"))
        .current_dir(dir.path())
        .output()
        .expect("schemathesis runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis failed ({}) after {elapsed:?}:\n{stdout}\n{stderr}\n--- ssa log ---\n{}",
        out.status,
        tail(&log, 40)
    );
    assert!(stdout.contains(" passed"), "{stdout}");
    eprintln!(
        "schemathesis: {} in {elapsed:.0?}",
        stdout
            .lines()
            .filter(|l| l.contains("generated") || l.contains("Selected"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ")
    );
    drop(ssa);
    let io = common::io_runtime();
    io.block_on(async {
        let session = common::session(&keyspace).await;
        common::drop_keyspace(&session, &keyspace).await;
    });
}

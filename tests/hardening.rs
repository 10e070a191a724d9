//! Hardening of what an operator hands `ssa` and reads back: every duration and
//! count has a range (a zero backoff made the process spin), partition ids cannot
//! name a path, secrets never appear in an error, TLS files and `--config` itself
//! are checked before use, and output off a terminal is plain text whose progress
//! line headlines the committed rate. The binary on real sockets and the real node.

mod admin_support;
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use admin_support::SsaProcess;
use serde_json::json;

const TOKEN: &str = "hardening-token";

/// What a finished `ssa` run printed.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `ssa ARGS` to its end; a run still going after `limit` is killed and fails the test.
fn ssa(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut cmd = Command::new(common::ssa_bin());
    cmd.args(args)
        .env_remove("SSA_ADMIN_TOKEN")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("ssa starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ssa {args:?} still running after {limit:?}; stderr so far:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// `ssa run --config FILE` with `text` as the file (admin off, nothing else
/// configured): a configuration refused at validation exits 2 at once.
fn run_with(dir: &Path, text: &str) -> Outcome {
    let path = dir.join("ssa.toml");
    std::fs::write(&path, text).unwrap();
    ssa(
        &["run", "--config", path.to_str().unwrap()],
        &[],
        Duration::from_secs(60),
    )
}

/// Asserts exit 2 and that stderr holds every one of `needles`.
fn refused(out: &Outcome, needles: &[&str], what: &str) {
    assert_eq!(out.code, 2, "{what}: exit code; stderr: {}", out.stderr);
    for n in needles {
        assert!(
            out.stderr.contains(n),
            "{what}: stderr lacks `{n}`:\n{}",
            out.stderr
        );
    }
}

const ADMIN_OFF: &str = "[admin]\nenabled = false\n";

#[test]
fn values_that_make_the_process_spin_are_refused_naming_key_and_bound() {
    let dir = tempfile::tempdir().unwrap();
    // (section, key, value, the bound the error must name)
    let cases = [
        (
            "processor",
            "restart_backoff_min",
            "\"0ms\"",
            "minimum of 1ms",
        ),
        (
            "processor",
            "restart_backoff_max",
            "\"0ms\"",
            "minimum of 100ms",
        ),
        (
            "processor",
            "retry_backoff_max",
            "\"0ms\"",
            "minimum of 100ms",
        ),
        ("processor", "flush_interval", "\"0ms\"", "minimum of 10ms"),
        ("processor", "flush_interval", "\"2h\"", "maximum of 1h"),
        ("processor", "minute_horizon", "\"0s\"", "minimum of 1m"),
        ("processor", "max_epoch_events", "0", "minimum of 1"),
        ("processor", "max_inflight_epochs", "0", "minimum of 1"),
        ("processor", "max_line_bytes", "0", "minimum of 64"),
        ("processor", "sink_concurrency", "0", "minimum of 1"),
        ("processor", "checkpoint_compact_every", "0", "minimum of 1"),
        ("processor", "checkpoint_keep", "0", "minimum of 1"),
        (
            "processor",
            "checkpoint_chunk_bytes",
            "0",
            "minimum of 1024",
        ),
        (
            "processor",
            "dead_letters_per_partition",
            "100000001",
            "maximum of 100000000",
        ),
        (
            "cassandra",
            "connect_timeout",
            "\"0ms\"",
            "minimum of 100ms",
        ),
        (
            "cassandra",
            "request_timeout",
            "\"0ms\"",
            "minimum of 100ms",
        ),
        ("cassandra", "replication_factor", "0", "minimum of 1"),
    ];
    for (section, key, value, bound) in cases {
        let out = run_with(
            dir.path(),
            &format!("{ADMIN_OFF}[{section}]\n{key} = {value}\n"),
        );
        let full = format!("`{section}.{key}`");
        refused(&out, &[&full, bound], &format!("{section}.{key} = {value}"));
    }
    // The same through the environment layer.
    let out = ssa(
        &["run"],
        &[
            ("SSA_PROCESSOR__RESTART_BACKOFF_MIN", "0ms"),
            ("SSA_ADMIN__ENABLED", "false"),
        ],
        Duration::from_secs(60),
    );
    refused(
        &out,
        &["`processor.restart_backoff_min`", "minimum of 1ms"],
        "env",
    );
    // A quoted value with a multi-byte character before an escape (it once made
    // the environment reader panic) is read and refused like any other.
    let out = ssa(
        &["run"],
        &[
            ("SSA_CASSANDRA__KEYSPACE", "\"\u{e9}t\u{e9}\\n\""),
            ("SSA_ADMIN__ENABLED", "false"),
        ],
        Duration::from_secs(60),
    );
    refused(&out, &["`cassandra.keyspace`"], "env with an escape");
    // A flag that would spin the demo's fault injection.
    let out = ssa(&["demo", "--kill-every", "0"], &[], Duration::from_secs(60));
    refused(&out, &["--kill-every"], "demo --kill-every 0");

    // At run time, PATCH /config refuses the same values, naming the field and bound.
    let keyspace = common::unique_keyspace("spin");
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
    let api = &ssa.api;
    for (body, field, bound) in [
        (json!({"flush_interval": "5ms"}), "flush_interval", "10ms"),
        (json!({"flush_interval": "0ms"}), "flush_interval", "10ms"),
        (json!({"flush_interval": "2h"}), "flush_interval", "1h"),
        (json!({"max_epoch_events": 0}), "max_epoch_events", "1"),
        (
            json!({"max_inflight_epochs": 0}),
            "max_inflight_epochs",
            "1",
        ),
        (
            json!({"max_inflight_epochs": 1025}),
            "max_inflight_epochs",
            "1024",
        ),
        (json!({"sink_concurrency": 0}), "sink_concurrency", "1"),
    ] {
        let e = api
            .send("PATCH", "/config", Some(&body.to_string()))
            .expect_error(400, "invalid_field");
        assert_eq!(e["field"], field, "{body}: {e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(bound), "{body}: {message}");
    }
    let live = api.get("/config").expect(200);
    assert_eq!(live["processor"]["flush_interval"], "500ms");
    assert_eq!(live["processor"]["max_inflight_epochs"], 4);
    drop(ssa);
    drop_keyspace(&keyspace);
}

#[test]
fn partition_ids_that_could_name_a_path_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let long = "p".repeat(65);
    let bad = ["..", ".", "a/b", "../../etc", "p.1", "", "é", "a b", &long];
    let keyspace = common::unique_keyspace("ids");
    let checkpoint_dir = dir.path().join("ckpt");
    let base = format!(
        "[cassandra]\nkeyspace = \"{keyspace}\"\ncontact_points = [\"{}\"]\n\
         [processor]\ncheckpoint_store = \"local\"\ncheckpoint_dir = \"{}\"\n{ADMIN_OFF}",
        common::contact_point(),
        checkpoint_dir.display()
    );
    for id in bad {
        let out = run_with(
            dir.path(),
            &format!(
                "{base}[[partitions]]\nid = {}\nsource = \"tcp://127.0.0.1:1\"\nmode = \"shared\"\n",
                toml_string(id)
            ),
        );
        refused(&out, &["`partitions[0].id`"], &format!("id {id:?}"));
    }

    // Over the API: 400 naming the field, and nothing written anywhere.
    let config = dir.path().join("api.toml");
    std::fs::write(
        &config,
        format!(
            "[cassandra]\nkeyspace = \"{keyspace}\"\ncontact_points = [\"{}\"]\n\
             [processor]\ncheckpoint_store = \"local\"\ncheckpoint_dir = \"{}\"\n",
            common::contact_point(),
            checkpoint_dir.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("run.log");
    let ssa = SsaProcess::spawn(
        &[
            "run",
            "--admin-listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
        &[("SSA_ADMIN_TOKEN", TOKEN)],
        &log,
        Some(TOKEN),
    );
    let api = &ssa.api;
    for id in bad {
        let body = json!({"id": id, "source": "tcp://127.0.0.1:1", "mode": "shared"});
        let e = api
            .post("/partitions", Some(&body.to_string()))
            .expect_error(400, "invalid_field");
        assert_eq!(e["field"], "id", "{id:?}: {e}");
    }
    assert_eq!(api.get("/partitions").expect(200)["partitions"], json!([]));
    let entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "ssa.toml" && n != "api.toml" && n != "run.log")
        .collect();
    assert!(
        entries.is_empty(),
        "nothing may be written beside the config: {entries:?}"
    );
    // A good id is taken.
    let body = json!({"id": "p_1-A", "source": "tcp://127.0.0.1:1", "mode": "shared"});
    api.post("/partitions", Some(&body.to_string())).expect(201);
    drop(ssa);
    drop_keyspace(&keyspace);
}

#[test]
fn secrets_are_never_echoed_and_tls_and_config_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2-8d1f";

    // A secret of the wrong type, or a syntax error on its line: the key, never the value.
    for (text, key) in [
        (format!("{ADMIN_OFF}token = 918273645\n"), "admin.token"),
        (format!("{ADMIN_OFF}token = {secret}\n"), "admin.token"),
        (
            format!("{ADMIN_OFF}[cassandra]\nusername = \"u\"\npassword = \"{secret}\n"),
            "cassandra.password",
        ),
        (
            format!("{ADMIN_OFF}[cassandra]\nusername = \"u\"\npassword = [\"{secret}\"]\n"),
            "cassandra.password",
        ),
    ] {
        let out = run_with(dir.path(), &text);
        refused(&out, &[key], &text);
        for leak in [secret, "918273645"] {
            assert!(
                !out.stderr.contains(leak) && !out.stdout.contains(leak),
                "the secret leaked:\n{}",
                out.stderr
            );
        }
    }
    // A TOML error names the file (and the line and key).
    let out = run_with(dir.path(), "[processor\nflush_interval = \"1s\"\n");
    let path = dir.path().join("ssa.toml");
    refused(&out, &[path.to_str().unwrap(), "line 1"], "syntax");
    let out = run_with(dir.path(), "[processor]\nflush_interval = 1s\n");
    refused(
        &out,
        &[path.to_str().unwrap(), "line 2", "processor.flush_interval"],
        "syntax",
    );
    // A numeric password from the environment is a string, not a type error.
    let out = ssa(
        &["schema"],
        &[
            ("SSA_CASSANDRA__USERNAME", "u"),
            ("SSA_CASSANDRA__PASSWORD", "918273645"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("918273645"));

    // A blank token is refused, from the file or the environment.
    let out = run_with(dir.path(), &format!("{ADMIN_OFF}token = \"   \"\n"));
    refused(&out, &["admin.token", "blank"], "blank token");
    let out = ssa(
        &["run"],
        &[("SSA_ADMIN_TOKEN", " \t "), ("SSA_ADMIN__ENABLED", "false")],
        Duration::from_secs(60),
    );
    refused(&out, &["admin.token", "blank"], "blank SSA_ADMIN_TOKEN");

    // TLS misconfiguration: refused at validation, naming the key.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let garbage = garbage.display().to_string();
    for (tls, key, why) in [
        (
            "enabled = true\n".to_string(),
            "cassandra.tls.ca_file",
            "required",
        ),
        (
            "enabled = true\nca_file = \"/nonexistent/ca.pem\"\n".to_string(),
            "cassandra.tls.ca_file",
            "/nonexistent/ca.pem",
        ),
        (
            format!("enabled = true\nca_file = \"{garbage}\"\n"),
            "cassandra.tls.ca_file",
            "no PEM certificate",
        ),
        (
            format!("enabled = true\nca_file = \"{garbage}\"\nkey_file = \"{garbage}\"\n"),
            "cassandra.tls.cert_file",
            "mutual TLS needs both",
        ),
    ] {
        let out = run_with(dir.path(), &format!("{ADMIN_OFF}[cassandra.tls]\n{tls}"));
        refused(&out, &[key, why], &tls);
    }

    // --config must be a small regular file; it is refused before being read whole.
    let out = ssa(
        &["run", "--config", "/dev/zero"],
        &[],
        Duration::from_secs(30),
    );
    refused(&out, &["/dev/zero", "not a regular file"], "/dev/zero");
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
    let out = ssa(
        &["run", "--config", big.to_str().unwrap()],
        &[],
        Duration::from_secs(30),
    );
    refused(&out, &["big.toml", "1 MiB"], "2 MiB file");
}

#[test]
fn output_off_a_terminal_is_plain_and_headlines_the_committed_rate() {
    let keyspace = common::unique_keyspace("output");
    let cp = common::contact_point();
    let cycles = "0..200000";
    let out = ssa(
        &[
            "demo",
            "--cycles",
            cycles,
            "--partitions",
            "2",
            "--rate",
            "40000",
            "--keyspace",
            &keyspace,
            "--contact-point",
            &cp,
            "--admin-listen",
            "127.0.0.1:0",
        ],
        &[],
        Duration::from_secs(300),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("demo done: 200000 events committed by 2 partitions"),
        "{}",
        out.stdout
    );
    // stderr is a file here: not one colour code, in the log lines or the status lines.
    assert!(
        !out.stderr.contains('\u{1b}'),
        "escape codes in a log file:\n{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(" INFO ssa::admin::server: admin api listening"),
        "{}",
        out.stderr
    );
    let status: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(" events/s committed | read "))
        .collect();
    assert!(!status.is_empty(), "no status line:\n{}", out.stderr);
    for line in &status {
        let headline = line.split(" events/s committed").next().unwrap().trim();
        assert!(
            headline.parse::<u64>().is_ok(),
            "the line starts with the committed rate: {line}"
        );
    }
    let verify = ssa(
        &[
            "verify",
            "--cycles",
            cycles,
            "--keyspace",
            &keyspace,
            "--contact-point",
            &cp,
        ],
        &[],
        Duration::from_secs(300),
    );
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.lines().any(|l| l.trim() == "EXACT"),
        "{}",
        verify.stdout
    );
    assert!(!verify.stderr.contains('\u{1b}'), "{}", verify.stderr);
    drop_keyspace(&keyspace);
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn drop_keyspace(keyspace: &str) {
    let io = common::io_runtime();
    io.block_on(async {
        let session = common::session(keyspace).await;
        common::drop_keyspace(&session, keyspace).await;
    });
}

//! Limits and line hygiene on the real node with real sockets: cumulative
//! `bad_lines`, `processor.max_partitions`, idle `listen://` producers, a line cut
//! at the connection limit, non-loopback producers, CRLF and control bytes.

mod admin_support;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use admin_support::{Api, Harness};
use serde_json::json;
use ssa::config::{PartitionConfig, SourceMode};
use ssa::format::Format;
use ssa::gen::Workload;

const TOKEN: &str = "limits-test-token";
const LIMIT: Duration = Duration::from_secs(120);

fn listen_partition(id: &str, port: u16) -> PartitionConfig {
    PartitionConfig {
        id: id.into(),
        source: format!("listen://127.0.0.1:{port}"),
        mode: SourceMode::Shared,
        format: Format::Seed,
        index: 0,
        count: 1,
    }
}

/// A producer connected to a `listen://` partition (which may still be binding).
fn producer(port: u16) -> TcpStream {
    let started = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return s,
            Err(e) => {
                assert!(started.elapsed() < LIMIT, "no listener on {port}: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn lines(workload: &Workload, cycles: Range<u64>) -> Vec<u8> {
    let mut buf = Vec::new();
    for c in cycles {
        workload.write_line(c, &mut buf);
    }
    buf
}

/// Blocks until the server closes the connection (EOF or reset).
fn wait_closed_by_server(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the server never closed the producer's connection: {e}"),
        }
    }
}

fn wait_committed(api: &Api, id: &str, offset: u64) -> serde_json::Value {
    api.wait_for(
        &format!("/partitions/{id}"),
        LIMIT,
        &format!("{id} commits offset {offset}"),
        |p| p["committed_offset"] == offset,
    )
}

fn dead_letters(
    io: &tokio::runtime::Runtime,
    keyspace: &str,
    id: &str,
) -> Vec<(i64, String, i64, Vec<u8>)> {
    io.block_on(async {
        let s = common::session(keyspace).await;
        s.query_unpaged(
            format!("SELECT offset, reason, line_len, line_prefix FROM {keyspace}.dead_letters WHERE partition_id = ?"),
            (id,),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .rows::<(i64, String, i64, Vec<u8>)>()
        .unwrap()
        .map(Result::unwrap)
        .collect()
    })
}

fn exact(io: &tokio::runtime::Runtime, keyspace: &str, cycles: Range<u64>) {
    let report = common::verify(io, keyspace, &common::verify_args(cycles, Format::Seed));
    assert!(report.is_exact(), "{report:?}");
}

fn drop_keyspace(io: &tokio::runtime::Runtime, keyspace: &str) {
    io.block_on(async {
        let s = common::session(keyspace).await;
        common::drop_keyspace(&s, keyspace).await;
    });
}

#[test]
fn bad_lines_in_the_partition_list_add_up_over_epochs() {
    let io = common::io_runtime();
    let keyspace = common::unique_keyspace("badcount");
    let port = admin_support::free_port();
    let mut config = common::test_config(&keyspace);
    config.partitions = vec![listen_partition("push", port)];
    let h = Harness::start(config, &io, Some(TOKEN));
    let workload = Workload::default();

    // Two producers, each committed before the next: at least two epochs.
    let mut first = lines(&workload, 0..1000);
    first.extend_from_slice(b"bad one\n\nbad three\n");
    producer(port).write_all(&first).unwrap();
    wait_committed(&h.api, "push", 1003);
    let mut second = b"bad four\n".to_vec();
    second.extend(lines(&workload, 1000..1500));
    second.extend_from_slice(b"bad five\n");
    producer(port).write_all(&second).unwrap();
    let p = wait_committed(&h.api, "push", 1505);
    assert_eq!(p["bad_lines"], 5, "{p}");
    assert_eq!(p["events_in"], 1505, "{p}");
    let listed = h.api.get("/partitions").expect(200);
    assert_eq!(listed["partitions"][0]["bad_lines"], 5);
    drop(h);
    exact(&io, &keyspace, 0..1500);
    drop_keyspace(&io, &keyspace);
}

fn write_config(dir: &std::path::Path, keyspace: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join("ssa.toml");
    let toml = format!(
        "[cassandra]\ncontact_points = [\"{}\"]\nkeyspace = \"{keyspace}\"\nconsistency = \"one\"\n\n\
         [admin]\nenabled = false\n\n{body}",
        common::contact_point()
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// `ssa run --exit-when-done --config FILE`, killed after `limit`.
fn run_ssa(config: &std::path::Path, limit: Duration) -> Output {
    let mut child = Command::new(common::ssa_bin())
        .args(["run", "--exit-when-done", "--config"])
        .arg(config)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ssa run did not exit within {limit:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn max_partitions_is_enforced_over_the_api_and_at_start() {
    let io = common::io_runtime();
    let keyspace = common::unique_keyspace("maxparts");
    let mut config = common::with_toml(
        common::test_config(&keyspace),
        "[processor]\nmax_partitions = 2\n",
    );
    let ports: Vec<u16> = (0..3).map(|_| admin_support::free_port()).collect();
    config.partitions = vec![
        listen_partition("l0", ports[0]),
        listen_partition("l1", ports[1]),
    ];
    let h = Harness::start(config, &io, Some(TOKEN));
    let third =
        json!({"id": "l2", "source": format!("listen://127.0.0.1:{}", ports[2]), "mode": "shared"})
            .to_string();
    let e = h
        .api
        .post("/partitions", Some(&third))
        .expect_error(409, "partition_limit");
    assert!(
        e["message"].as_str().unwrap().contains("max_partitions"),
        "{e}"
    );
    h.api.get("/partitions/l2").expect_error(404, "not_found");
    h.api.send("DELETE", "/partitions/l1", None).expect(200);
    h.api.post("/partitions", Some(&third)).expect(201);
    drop(h);

    let dir = tempfile::tempdir().unwrap();
    let mut body = "[processor]\nmax_partitions = 2\n".to_string();
    for (i, port) in ports.iter().enumerate() {
        body.push_str(&format!(
            "\n[[partitions]]\nid = \"l{i}\"\nsource = \"listen://127.0.0.1:{port}\"\nmode = \"shared\"\n"
        ));
    }
    let out = run_ssa(&write_config(dir.path(), &keyspace, &body), LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`partitions`") && stderr.contains("processor.max_partitions (2)"),
        "{stderr}"
    );
    drop_keyspace(&io, &keyspace);
}

#[test]
fn an_idle_listen_producer_is_cut_and_the_next_one_gets_in() {
    let io = common::io_runtime();
    let keyspace = common::unique_keyspace("idlecut");
    let port = admin_support::free_port();
    let mut config = common::with_toml(
        common::test_config(&keyspace),
        "[processor]\nlisten_idle_timeout = \"500ms\"\n",
    );
    config.partitions = vec![listen_partition("push", port)];
    let h = Harness::start(config, &io, Some(TOKEN));
    let workload = Workload::default();

    // The first producer sends its lines and then says nothing, connection open.
    let mut idle = producer(port);
    idle.write_all(&lines(&workload, 0..1000)).unwrap();
    wait_closed_by_server(&mut idle);
    wait_committed(&h.api, "push", 1000);

    let mut next = producer(port);
    next.write_all(&lines(&workload, 1000..1500)).unwrap();
    drop(next);
    let p = wait_committed(&h.api, "push", 1500);
    assert_eq!(p["restarts"], 0, "{p}");
    drop(idle);
    drop(h);
    exact(&io, &keyspace, 0..1500);
    drop_keyspace(&io, &keyspace);
}

#[test]
fn a_line_cut_at_the_connection_limit_is_dead_lettered_and_the_rest_committed() {
    let io = common::io_runtime();
    let keyspace = common::unique_keyspace("cutline");
    let port = admin_support::free_port();
    let mut config = common::test_config(&keyspace);
    config.partitions = vec![listen_partition("push", port)];
    let h = Harness::start(config, &io, Some(TOKEN));
    let workload = Workload::default();

    // 100 lines, then garbage without a newline past the connection limit
    // (16 × max(max_line_bytes, 1 MiB) = 16 MiB).
    let mut garbage = producer(port);
    garbage.write_all(&lines(&workload, 0..100)).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..40 {
        if garbage.write_all(&chunk).is_err() {
            break; // the server cut the connection
        }
    }
    wait_closed_by_server(&mut garbage);
    let p = wait_committed(&h.api, "push", 101);
    assert_eq!(p["bad_lines"], 1, "{p}");
    let dead = dead_letters(&io, &keyspace, "push");
    assert_eq!(dead.len(), 1, "{dead:?}");
    let (offset, reason, len, prefix) = &dead[0];
    assert_eq!((*offset, reason.as_str()), (100, "oversized"));
    assert!(*len > 16 << 20, "line_len {len}");
    assert_eq!(prefix, &vec![b'x'; 256]);

    let mut next = producer(port);
    next.write_all(&lines(&workload, 100..150)).unwrap();
    drop(next);
    wait_committed(&h.api, "push", 151);
    drop(h);
    exact(&io, &keyspace, 0..150);
    drop_keyspace(&io, &keyspace);
}

#[test]
fn a_non_loopback_listen_address_needs_allow_remote_producers() {
    let io = common::io_runtime();
    let keyspace = common::unique_keyspace("remote");
    let port = admin_support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "[[partitions]]\nid = \"open\"\nsource = \"listen://0.0.0.0:{port}\"\nmode = \"shared\"\n"
    );
    let out = run_ssa(
        &write_config(dir.path(), &keyspace, &body),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("partitions[0].source")
            && stderr.contains("processor.allow_remote_producers = true"),
        "{stderr}"
    );

    let h = Harness::start(common::test_config(&keyspace), &io, Some(TOKEN));
    let open =
        json!({"id": "open", "source": format!("listen://0.0.0.0:{port}"), "mode": "shared"})
            .to_string();
    let e = h
        .api
        .post("/partitions", Some(&open))
        .expect_error(422, "invalid_combination");
    assert_eq!(e["field"], "source");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("processor.allow_remote_producers"),
        "{e}"
    );
    h.api.get("/partitions/open").expect_error(404, "not_found");
    drop(h);
    drop_keyspace(&io, &keyspace);
}

#[test]
fn crlf_lines_count_and_names_with_control_bytes_are_dead_lettered() {
    let io = common::io_runtime();
    let keyspace = common::unique_keyspace("hygiene");
    let port = admin_support::free_port();
    let mut config = common::test_config(&keyspace);
    config.partitions = vec![listen_partition("push", port)];
    let h = Harness::start(config, &io, Some(TOKEN));
    let workload = Workload::default();
    let id = workload.line(0)[..36].to_string();

    // Every good line ends in CRLF; four names hold a control byte.
    let bad: [&[u8]; 4] = [b"na\0me", b"x\r\r", b"a\tb", b"\x1b[31mred"];
    let mut buf = Vec::new();
    let mut expected_dead = Vec::new();
    let mut offset = 0i64;
    for c in 0..2000u64 {
        if c % 500 == 250 {
            let mut line = format!("{id}-").into_bytes();
            line.extend_from_slice(bad[(c / 500) as usize]);
            expected_dead.push((
                offset,
                "bad_name".to_string(),
                line.len() as i64,
                line.clone(),
            ));
            buf.extend_from_slice(&line);
            buf.push(b'\n');
            offset += 1;
        }
        buf.extend_from_slice(workload.line(c).trim_end_matches('\n').as_bytes());
        buf.extend_from_slice(b"\r\n");
        offset += 1;
    }
    producer(port).write_all(&buf).unwrap();
    let p = wait_committed(&h.api, "push", 2004);
    assert_eq!(p["bad_lines"], 4, "{p}");
    let mut dead = dead_letters(&io, &keyspace, "push");
    dead.sort();
    assert_eq!(dead, expected_dead);
    drop(h);
    exact(&io, &keyspace, 0..2000);
    drop_keyspace(&io, &keyspace);
}

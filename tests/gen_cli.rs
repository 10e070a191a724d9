//! `ssa gen` as a user runs it: the built binary, real sockets on 127.0.0.1.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ssa::format::Format;
use ssa::gen::{Workload, WorkloadOptions};

fn ssa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssa"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ssa")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_cycles_are_refused_naming_the_flag_and_value() {
    for value in ["5..3", "x..", "..", "12", "1..y"] {
        let out = ssa(&["gen", "--cycles", value, "--quiet"]);
        assert_eq!(out.status.code(), Some(2), "--cycles {value}");
        let err = stderr(&out);
        assert!(err.contains("--cycles"), "{err}");
        assert!(err.contains(&format!("'{value}'")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_listen_is_refused_naming_the_flag_and_value() {
    for value in ["nope", "127.0.0.1", "127.0.0.1:99999", ""] {
        let out = ssa(&["gen", "--listen", value, "--cycles", "0..1", "--quiet"]);
        assert_eq!(out.status.code(), Some(2), "--listen {value}");
        let err = stderr(&out);
        assert!(err.contains(&format!("'{value}' for '--listen")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn an_address_in_use_is_refused_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = ssa(&["gen", "--listen", &addr, "--cycles", "0..1", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot bind --listen {addr}")),
        "{err}"
    );
}

#[test]
fn truth_prints_the_expected_rollups() {
    let out = ssa(&["gen", "--truth", "--cycles", "100..5100", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let w = Workload::new(WorkloadOptions {
        format: Format::Csv,
        ..WorkloadOptions::default()
    })
    .expect("workload");
    let mut expected = Vec::new();
    w.truth(100..5100).write_csv(&mut expected).expect("csv");
    assert_eq!(out.stdout, expected);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut rows = text.lines();
    assert_eq!(
        rows.next(),
        Some("franchise_id,event_name,count,sum,min,max")
    );
    let total: u64 = rows
        .map(|r| {
            r.split(',')
                .nth(2)
                .expect("count")
                .parse::<u64>()
                .expect("number")
        })
        .sum();
    assert_eq!(total, 5000);
}

#[test]
fn truth_of_an_endless_range_is_refused() {
    let out = ssa(&["gen", "--truth", "--cycles", "0.."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--truth needs a finite cycle range (A..B), got '0..'"));
}

#[test]
fn a_missing_word_list_is_named() {
    let out = ssa(&[
        "gen",
        "--truth",
        "--cycles",
        "0..3",
        "--words",
        "/nonexistent/words.txt",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read word list /nonexistent/words.txt"));
}

#[test]
fn serves_a_finite_shared_range_then_exits() {
    // A free port: bind, note it, release it for the child.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssa"))
        .args([
            "gen", "--listen", &addr, "--mode", "shared", "--cycles", "0..20000", "--quiet",
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn ssa gen");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        match TcpStream::connect(&addr) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                let _ = child.kill();
                panic!("cannot connect to ssa gen: {e}");
            }
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut got = Vec::new();
    stream.read_to_end(&mut got).expect("read to EOF");
    drop(stream);
    let w = Workload::default();
    let mut expected = Vec::new();
    for c in 0..20_000 {
        w.write_line(c, &mut expected);
    }
    assert_eq!(got, expected);
    let status = child.wait().expect("ssa gen exits");
    assert!(status.success());
}

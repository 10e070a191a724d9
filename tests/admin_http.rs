//! HTTP conformance of the admin API, over raw sockets against `ssa run` on the
//! real node: what the HTTP layer answers by itself (malformed request, head too
//! large) carries the JSON error body with a stable code and is logged at debug,
//! not ERROR; 405 carries `Allow`; HEAD and OPTIONS behave as documented; 413 and
//! 415 are JSON; the OpenAPI document states the real formats, bounds and statuses.

mod admin_support;
mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use admin_support::{strip_ansi, SsaProcess};
use serde_json::Value;

const TOKEN: &str = "http-token";

/// One answer read off a raw connection.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a JSON error answer with this status and code.
    fn error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{:?} {}", self.headers, self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{:?}",
            self.headers
        );
        let v: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body));
        assert_eq!(v["error"]["code"], code, "{}", self.body);
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
    }
}

/// Sends `request` as is and reads the first answer (the server closes after
/// an error of the HTTP layer; a reset after the answer is fine).
fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(request);
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if let Some(answer) = parse(&got) {
            if answer.body.len() >= content_length(&answer) {
                return answer;
            }
        }
    }
    parse(&got).unwrap_or_else(|| panic!("no answer: {:?}", String::from_utf8_lossy(&got)))
}

fn content_length(r: &Raw) -> usize {
    r.header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn parse(bytes: &[u8]) -> Option<Raw> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Raw {
        status,
        headers,
        body: body.to_string(),
    })
}

fn get(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Raw {
    raw(
        addr,
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n")
            .as_bytes(),
    )
}

fn statuses(doc: &Value, path: &str, method: &str) -> BTreeSet<String> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} has no responses"))
        .keys()
        .cloned()
        .collect()
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

#[test]
fn the_admin_api_is_conformant_http_with_json_errors_and_an_exact_document() {
    let dir = tempfile::tempdir().unwrap();
    let keyspace = common::unique_keyspace("http");
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
        &[
            ("SSA_ADMIN_TOKEN", TOKEN),
            ("RUST_LOG", "info,ssa::admin=debug"),
        ],
        &log,
        Some(TOKEN),
    );
    let addr: SocketAddr = ssa.api.base.trim_start_matches("http://").parse().unwrap();
    ssa.api
        .wait_for("/ready", Duration::from_secs(120), "ready", |_| true);

    // ---- what the HTTP layer answers by itself, unauthenticated ----------------------
    raw(addr, b"GARBAGE\r\n\r\n").error(400, "malformed_request");
    raw(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    )
    .error(400, "malformed_request");
    raw(
        addr,
        b"POST /chaos HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    )
    .error(400, "malformed_request");
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    raw(
        addr,
        format!("GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .error(431, "headers_too_large");
    let huge = "a".repeat(140 * 1024);
    raw(
        addr,
        format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n").as_bytes(),
    )
    .error(431, "headers_too_large");
    // Two good requests and a bad one on one connection: the bad one's answer is JSON too.
    let piped = raw(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n",
    );
    assert_eq!(piped.status, 200);

    // ---- routing: 404, 405 with Allow, HEAD, OPTIONS ---------------------------------
    get(addr, "GET", "/no/such/route", "").error(404, "not_found");
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    for (method, path, allow) in [
        ("PUT", "/health", "GET, HEAD, OPTIONS"),
        ("DELETE", "/partitions", "GET, HEAD, POST, OPTIONS"),
        ("GET", "/actors/sink/kill", "POST, OPTIONS"),
        ("POST", "/config", "GET, HEAD, PATCH, OPTIONS"),
    ] {
        let r = get(addr, method, path, &auth);
        r.error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        let o = get(addr, "OPTIONS", path, "");
        assert_eq!(o.status, 204, "OPTIONS {path}: {}", o.body);
        assert_eq!(o.header("allow"), Some(allow), "OPTIONS {path}");
        assert!(o.body.is_empty());
    }
    let head = get(addr, "HEAD", "/health", "");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "{}", head.body);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert!(content_length(&head) > 0);
    let head = get(addr, "HEAD", "/partitions/nope", "");
    assert_eq!(head.status, 404);
    assert!(head.body.is_empty());

    // ---- bodies: 400 malformed JSON, 413 too large, 415 not JSON ---------------------
    let post = |body: &str, content_type: &str| {
        raw(
            addr,
            format!(
                "POST /chaos HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
    };
    post("{\"interval_ms\": ", "application/json").error(400, "invalid_body");
    post(&" ".repeat(70_000), "application/json").error(413, "payload_too_large");
    post("{\"interval_ms\": 500}", "text/plain").error(415, "unsupported_media_type");
    assert_eq!(ssa.api.get("/chaos").expect(200)["running"], false);

    // ---- the OpenAPI document says what the server does -------------------------------
    let doc = ssa.api.get("/openapi.json").expect(200);
    for path in [
        "/rollups/{franchise_id}",
        "/rollups/{franchise_id}/{event_name}",
    ] {
        let p = &doc["paths"][path]["get"]["parameters"][0];
        assert_eq!(p["name"], "franchise_id");
        assert_eq!(p["schema"]["format"], "uuid", "{path}");
    }
    // A franchise id the document calls invalid is refused; a valid one is looked up.
    ssa.api
        .get("/rollups/0123456789abcdef0123456789abcdef")
        .expect_error(400, "invalid_field");
    ssa.api
        .get("/rollups/01234567-89ab-cdef-0123-456789abcdef")
        .expect_error(404, "not_found");
    let schemas = &doc["components"]["schemas"];
    for (schema, field, min, max) in [
        ("ConfigPatch", "max_epoch_events", 1, 100_000_000u64),
        ("ConfigPatch", "max_inflight_epochs", 1, 1024),
        ("ConfigPatch", "sink_concurrency", 1, 4096),
        ("ChaosRequest", "interval_ms", 10, 3_600_000),
        ("NewPartition", "count", 1, 1_000_000),
        ("NewPartition", "index", 0, 999_999),
    ] {
        let p = &schemas[schema]["properties"][field];
        assert_eq!(p["minimum"], min, "{schema}.{field}: {p}");
        assert_eq!(p["maximum"], max, "{schema}.{field}: {p}");
    }
    assert_eq!(
        schemas["NewPartition"]["properties"]["id"]["pattern"],
        "^[A-Za-z0-9_-]{1,64}$"
    );
    assert_eq!(
        statuses(&doc, "/partitions", "post"),
        set(&["201", "400", "401", "403", "409", "413", "415", "422", "503"])
    );
    assert_eq!(
        statuses(&doc, "/config", "patch"),
        set(&["200", "400", "401", "403", "413", "415", "503"])
    );
    assert_eq!(
        statuses(&doc, "/rollups/{franchise_id}", "get"),
        set(&["200", "400", "404", "503"])
    );
    assert_eq!(
        statuses(&doc, "/partitions/{id}/kill", "post"),
        set(&["200", "401", "403", "404", "503"])
    );
    assert_eq!(statuses(&doc, "/ready", "get"), set(&["200", "503"]));

    // ---- logging: the malformed requests above are debug lines, never ERROR ---------
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<String> = text.lines().map(strip_ansi).collect();
    assert!(
        !lines.iter().any(|l| l.contains(" ERROR ")),
        "ERROR lines in the log:\n{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains(" DEBUG ")
            && l.contains("refused a request the HTTP layer could not take")
            && l.contains("status=\"431\"")),
        "no debug line for the refused requests:\n{text}"
    );
    drop(ssa);
    let io = common::io_runtime();
    io.block_on(async {
        let session = common::session(&keyspace).await;
        common::drop_keyspace(&session, &keyspace).await;
    });
}

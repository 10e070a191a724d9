//! The admin API over real HTTP on 127.0.0.1, against the processor on the real
//! Cassandra node: every endpoint, its errors (400, 401, 403, 404, 405, 409,
//! 422, 503), and rollups equal to the generator's ground truth. Each case runs
//! its own processor in its own keyspace.

mod admin_support;
mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use admin_support::{Api, Harness};
use serde_json::{json, Value};
use ssa::config::{CheckpointStoreKind, SinkKind};
use ssa::format::Format;
use ssa::gen::{partition_lines, ServeMode, Workload};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "test-admin-token";
/// How long any one awaited state may take.
const LIMIT: Duration = Duration::from_secs(120);
const CYCLES: std::ops::Range<u64> = 0..40_000;

/// The Prometheus registry is shared by every test of this binary: the cases
/// that kill actors or compare counters before and after hold this lock, so
/// that what they count is theirs alone.
static COUNTERS: Mutex<()> = Mutex::new(());

fn counters() -> MutexGuard<'static, ()> {
    COUNTERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn partition(api: &Api, id: &str) -> Value {
    api.get(&format!("/partitions/{id}")).expect(200)
}

fn restarts_killed(api: &Api, id: &str) -> u64 {
    partition(api, id)["restarts_by_cause"]["killed"]
        .as_u64()
        .unwrap()
}

/// The value of one sample line of a scrape, e.g. `ssa_actor_restarts_total{actor="sink",cause="killed"}`.
fn sample(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} in the scrape"))
        .trim()
        .parse()
        .unwrap()
}

/// The ground truth of [`CYCLES`]: each franchise's keys and counts, in order.
fn truth_by_franchise() -> BTreeMap<uuid::Uuid, Vec<(String, u64)>> {
    let mut by_franchise: BTreeMap<uuid::Uuid, Vec<(String, u64)>> = BTreeMap::new();
    for (f, name, t) in Workload::default().truth(CYCLES).iter() {
        by_franchise
            .entry(f)
            .or_default()
            .push((name.to_string(), t.count));
    }
    by_franchise
}

/// One key of the ground truth and its count.
fn first_key() -> (uuid::Uuid, String, u64) {
    let by_franchise = truth_by_franchise();
    let (f, keys) = by_franchise.iter().next().unwrap();
    let (name, count) = &keys[0];
    (*f, name.clone(), *count)
}

/// A processor with its admin API in a fresh keyspace, whose two replayable
/// partitions have read and committed every line of [`CYCLES`].
struct Run {
    harness: Option<Harness>,
    gen_addr: std::net::SocketAddr,
    generators: Vec<CancellationToken>,
    session: Arc<scylla::client::session::Session>,
    keyspace: String,
    io: tokio::runtime::Runtime,
}

impl Run {
    fn start(prefix: &str) -> Run {
        let io = common::io_runtime();
        let (session, keyspace) = io.block_on(common::keyspace_with_schema(prefix));
        let (gen_addr, gen_stop) =
            common::start_gen(&io, Workload::default(), ServeMode::Partitioned, CYCLES, 0);
        let mut config = common::test_config(&keyspace);
        config.partitions = common::replayable_partitions(gen_addr, 2, Format::Seed);
        let harness = Harness::start(config, &io, Some(TOKEN));
        for (i, p) in harness.processor.partitions().iter().enumerate() {
            p.status.expect_lines(partition_lines(CYCLES, i as u64, 2));
        }
        let run = Run {
            harness: Some(harness),
            gen_addr,
            generators: vec![gen_stop],
            session,
            keyspace,
            io,
        };
        run.all_finished("both partitions finish");
        run
    }

    fn api(&self) -> &Api {
        &self.harness.as_ref().expect("running").api
    }

    /// Waits until every partition has finished.
    fn all_finished(&self, what: &str) -> Value {
        self.api().wait_for("/partitions", LIMIT, what, |v| {
            v["partitions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["state"] == "finished")
        })
    }

    /// The address of an endless replayable generator at 5,000 lines a second.
    fn live_source(&mut self) -> String {
        let (addr, stop) = common::start_gen(
            &self.io,
            Workload::default(),
            ServeMode::Partitioned,
            0..1_000_000_000,
            5_000,
        );
        self.generators.push(stop);
        format!("tcp://{addr}")
    }

    /// Adds replayable partition `id` of a live source; waits for its first commit.
    fn add_live(&mut self, id: &str) {
        let source = self.live_source();
        let body =
            json!({"id": id, "source": source, "mode": "replayable", "index": 0, "count": 1});
        self.api()
            .post("/partitions", Some(&body.to_string()))
            .expect(201);
        self.api()
            .wait_for(&format!("/partitions/{id}"), LIMIT, "it commits", |p| {
                p["committed_offset"].as_u64().unwrap() > 0
            });
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        drop(self.harness.take());
        for stop in &self.generators {
            stop.cancel();
        }
        self.io
            .block_on(common::drop_keyspace(&self.session, &self.keyspace));
    }
}

#[test]
fn health_readiness_and_the_partition_list() {
    let run = Run::start("api_list");
    let api = run.api();
    let health = api.get("/health").expect(200);
    assert_eq!(health["status"], "ok");
    let list = run.all_finished("both partitions finish");
    let parts = list["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    for (i, p) in parts.iter().enumerate() {
        let expected = partition_lines(CYCLES, i as u64, 2);
        assert_eq!(p["id"], format!("p{i}"));
        assert_eq!(p["source"], format!("tcp://{}", run.gen_addr));
        assert_eq!(p["mode"], "replayable");
        assert_eq!(p["format"], "seed");
        assert_eq!(p["offset"], expected);
        assert_eq!(p["committed_offset"], expected);
        assert_eq!(p["lag"], 0);
        assert_eq!(p["uncommitted_epochs"], 0);
        assert_eq!(p["restarts"], 0);
        assert!(p["last_committed_epoch"].as_u64().unwrap() >= 1, "{p}");
        assert!(p["events_per_second"].is_number(), "{p}");
        for cause in ["killed", "connection", "restore"] {
            assert_eq!(p["restarts_by_cause"][cause], 0, "{p}");
        }
    }
    let ready = api.get("/ready").expect(200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["cassandra"], "reachable");
    assert_eq!(ready["partitions"], 2);
    api.get("/partitions/nope").expect_error(404, "not_found");
}

#[test]
fn rollups_are_the_ground_truth() {
    let run = Run::start("api_rollups");
    let api = run.api();
    let by_franchise = truth_by_franchise();
    let mut total = 0u64;
    for (f, keys) in &by_franchise {
        let v = api.get(&format!("/rollups/{f}")).expect(200);
        assert_eq!(v["keys"], keys.len(), "{f}");
        assert_eq!(v["truncated"], false);
        let got: Vec<(String, u64)> = v["rollups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["event_name"].as_str().unwrap().to_string(),
                    r["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(&got, keys, "franchise {f}");
        total += v["count"].as_u64().unwrap();
    }
    assert_eq!(total, CYCLES.end);
    let (f, name, count) = first_key();
    let keys = by_franchise[&f].len();
    let one = api.get(&format!("/rollups/{f}/{name}")).expect(200);
    assert_eq!(one["count"], count);
    assert_eq!(one["event_name"], name.as_str());
    assert_eq!(one["sum"], Value::Null);
    let limited = api.get(&format!("/rollups/{f}?limit=2")).expect(200);
    assert_eq!(limited["rollups"].as_array().unwrap().len(), 2);
    assert_eq!(limited["truncated"], true);
    assert_eq!(limited["keys"], keys);
    let e = api
        .get("/rollups/not-a-uuid")
        .expect_error(400, "invalid_field");
    assert_eq!(e["field"], "franchise_id");
    let e = api
        .get(&format!("/rollups/{f}?limit=0"))
        .expect_error(400, "invalid_field");
    assert_eq!(e["field"], "limit");
    api.get(&format!("/rollups/{f}?colour=red"))
        .expect_error(400, "invalid_parameter");
    api.get(&format!("/rollups/{}", uuid::Uuid::nil()))
        .expect_error(404, "not_found");
    api.get(&format!("/rollups/{f}/no-such-word"))
        .expect_error(404, "not_found");
}

#[test]
fn mutating_calls_need_the_bearer_token() {
    let run = Run::start("api_auth");
    let api = run.api();
    let r = api.call("POST", "/partitions/p0/kill", None, None);
    r.expect_error(401, "unauthorized");
    assert!(r.www_authenticate.unwrap().starts_with("Bearer"));
    api.call("POST", "/partitions/p0/kill", Some("Bearer wrong"), None)
        .expect_error(401, "unauthorized");
    api.call(
        "POST",
        "/partitions/p0/kill",
        Some(&format!("Basic {TOKEN}")),
        None,
    )
    .expect_error(401, "unauthorized");
    api.call("DELETE", "/partitions/p0", None, None)
        .expect_error(401, "unauthorized");
    api.call("PATCH", "/config", None, Some(r#"{"sink_concurrency": 4}"#))
        .expect_error(401, "unauthorized");
    api.call("POST", "/chaos", None, Some(r#"{"interval_ms": 100}"#))
        .expect_error(401, "unauthorized");
    api.call("POST", "/actors/sink/kill", Some("Bearer"), None)
        .expect_error(401, "unauthorized");
    assert_eq!(restarts_killed(api, "p0"), 0, "a refused kill killed");
}

#[test]
fn kills_restart_exactly_the_killed_actors() {
    let _counters = counters();
    let run = Run::start("api_kills");
    let api = run.api();
    let before = api.get("/metrics").body;
    let killed = api.post("/partitions/p0/kill", None).expect(200);
    assert_eq!(killed["killed"], "partition");
    assert_eq!(killed["id"], "p0");
    api.wait_for(
        "/partitions/p0",
        LIMIT,
        "p0 restarts and finishes again",
        |p| p["restarts_by_cause"]["killed"] == 1 && p["state"] == "finished",
    );
    api.post("/partitions/nope/kill", None)
        .expect_error(404, "not_found");
    let killed = api.post("/actors/sink/kill", None).expect(200);
    assert_eq!(killed["killed"], "sink");
    let killed = api.post("/actors/checkpoint/kill", None).expect(200);
    assert_eq!(killed["killed"], "checkpoint");
    // Once each actor has restarted, its counter has moved by exactly one kill.
    let series = [
        r#"ssa_actor_restarts_total{actor="partition",cause="killed"}"#,
        r#"ssa_actor_restarts_total{actor="sink",cause="killed"}"#,
        r#"ssa_actor_restarts_total{actor="checkpoint",cause="killed"}"#,
    ];
    let moved = |after: &str, s: &str| sample(after, s) - sample(&before, s);
    let started = Instant::now();
    let after = loop {
        let after = api.get("/metrics").body;
        if series.iter().all(|s| moved(&after, s) >= 1.0) {
            break after;
        }
        assert!(
            started.elapsed() < LIMIT,
            "the killed actors never restarted"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for s in series {
        assert_eq!(moved(&after, s), 1.0, "{s}");
    }
    // The partition recovered its exact counts.
    let p0 = partition(api, "p0");
    assert_eq!(p0["committed_offset"], partition_lines(CYCLES, 0, 2));
    let (f, name, count) = first_key();
    let one_again = api.get(&format!("/rollups/{f}/{name}")).expect(200);
    assert_eq!(one_again["count"], count);
}

#[test]
fn adding_a_partition_checks_its_body() {
    let mut run = Run::start("api_add");
    let source = run.live_source();
    let api = run.api();
    let bad_bodies = [
        (r#"{"id": "p2"}"#, None),
        (
            r#"{"id": "p2", "source": "tcp://127.0.0.1:1", "colour": 1}"#,
            None,
        ),
        ("not json", None),
        (r#"[1, 2]"#, None),
        (
            r#"{"id": "p 2", "source": "tcp://127.0.0.1:1"}"#,
            Some("id"),
        ),
        (
            r#"{"id": "p2", "source": "udp://127.0.0.1:1"}"#,
            Some("source"),
        ),
        (
            r#"{"id": "p2", "source": "tcp://127.0.0.1:1", "mode": "sideways"}"#,
            None,
        ),
    ];
    for (body, field) in bad_bodies {
        let r = api.post("/partitions", Some(body));
        match field {
            Some(field) => {
                let e = r.expect_error(400, "invalid_field");
                assert_eq!(e["field"], field, "{body}");
            }
            None => {
                r.expect_error(400, "invalid_body");
            }
        }
    }
    // Each field valid alone, not together: 422 naming the field.
    for (body, field) in [
        (
            r#"{"id": "p2", "source": "tcp://127.0.0.1:1", "index": 3, "count": 2}"#,
            "index",
        ),
        (r#"{"id": "p2", "source": "listen://127.0.0.1:0"}"#, "mode"),
    ] {
        let e = api
            .post("/partitions", Some(body))
            .expect_error(422, "invalid_combination");
        assert_eq!(e["field"], field, "{body}");
    }
    let dup = json!({"id": "p0", "source": source}).to_string();
    api.post("/partitions", Some(&dup))
        .expect_error(409, "partition_exists");
    let body = json!({"id": "p2", "source": source, "mode": "replayable", "index": 0, "count": 1});
    let r = api.post("/partitions", Some(&body.to_string()));
    assert_eq!(r.location.as_deref(), Some("/partitions/p2"));
    let p2 = r.expect(201);
    assert_eq!(p2["id"], "p2");
    api.wait_for("/partitions/p2", LIMIT, "p2 commits", |p| {
        p["committed_offset"].as_u64().unwrap() > 0
    });
    assert_eq!(
        api.get("/partitions").expect(200)["partitions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn live_configuration_takes_effect_without_a_restart() {
    let mut run = Run::start("api_config");
    run.add_live("tuned");
    let api = run.api();
    let config = api.get("/config").expect(200);
    assert_eq!(config["processor"]["flush_interval"], "200ms");
    assert_eq!(config["admin"]["token"], "<redacted>");
    assert_eq!(config["cassandra"]["keyspace"], run.keyspace.as_str());
    assert_eq!(config["partitions"].as_array().unwrap().len(), 3);
    assert!(!config.to_string().contains(TOKEN));
    for (body, field) in [
        (r#"{"flush_interval": "0ms"}"#, "flush_interval"),
        (r#"{"flush_interval": "soon"}"#, "flush_interval"),
        (r#"{"flush_interval": 5}"#, "flush_interval"),
        (r#"{"sink_concurrency": 0}"#, "sink_concurrency"),
        (r#"{"sink_concurrency": 5000}"#, "sink_concurrency"),
        (r#"{"max_epoch_events": "many"}"#, "max_epoch_events"),
        (r#"{"max_inflight_epochs": 0}"#, "max_inflight_epochs"),
        (
            r#"{"sink_concurrency": 64, "raw_events": false}"#,
            "raw_events",
        ),
        (
            r#"{"sink_concurrency": 64, "max_epoch_events": 0}"#,
            "max_epoch_events",
        ),
    ] {
        let e = api
            .send("PATCH", "/config", Some(body))
            .expect_error(400, "invalid_field");
        assert_eq!(e["field"], field, "{body}");
    }
    api.send("PATCH", "/config", Some("{"))
        .expect_error(400, "invalid_body");
    // Nothing of a refused patch was applied.
    let config = api.get("/config").expect(200);
    assert_eq!(config["processor"]["sink_concurrency"], 128);
    assert_eq!(config["processor"]["max_epoch_events"], 20_000);
    // Stop sealing by time or size: the partition keeps reading but commits nothing …
    let t = api
        .send(
            "PATCH",
            "/config",
            Some(
                r#"{"flush_interval": "1h", "max_epoch_events": 100000000, "sink_concurrency": 8}"#,
            ),
        )
        .expect(200);
    assert_eq!(t["flush_interval"], "1h");
    assert_eq!(t["max_epoch_events"], 100_000_000);
    assert_eq!(t["sink_concurrency"], 8);
    assert_eq!(t["max_inflight_epochs"], 4);
    let frozen = api.wait_for("/partitions/tuned", LIMIT, "idle of commits", |p| {
        p["uncommitted_epochs"] == 0
    })["committed_offset"]
        .as_u64()
        .unwrap();
    api.wait_for(
        "/partitions/tuned",
        LIMIT,
        "it reads past its last commit",
        |p| p["offset"].as_u64().unwrap() > frozen + 5_000,
    );
    assert_eq!(partition(api, "tuned")["committed_offset"], frozen);
    // … until a short interval takes effect at once, without a restart.
    let t = api
        .send("PATCH", "/config", Some(r#"{"flush_interval": "100ms", "max_epoch_events": 20000, "max_inflight_epochs": 3}"#))
        .expect(200);
    assert_eq!(t["flush_interval"], "100ms");
    assert_eq!(t["max_inflight_epochs"], 3);
    api.wait_for("/partitions/tuned", LIMIT, "it commits again", |p| {
        p["committed_offset"].as_u64().unwrap() > frozen
    });
    assert_eq!(partition(api, "tuned")["restarts"], 0);
    let config = api.get("/config").expect(200);
    assert_eq!(config["processor"]["flush_interval"], "100ms");
    assert_eq!(config["processor"]["sink_concurrency"], 8);
}

#[test]
fn stop_kill_start_and_remove_a_partition() {
    let _counters = counters();
    let mut run = Run::start("api_stop");
    run.add_live("paused");
    let api = run.api();
    // A stop answers once everything read is committed.
    let stopped = api.post("/partitions/paused/stop", None).expect(200);
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(stopped["uncommitted_epochs"], 0);
    assert_eq!(stopped["committed_offset"], stopped["offset"]);
    api.post("/partitions/paused/stop", None)
        .expect_error(409, "partition_state");
    // Killed while stopped, it restarts and stays stopped, having read nothing more.
    api.post("/partitions/paused/kill", None).expect(200);
    let p = api.wait_for(
        "/partitions/paused",
        LIMIT,
        "it restarts, still stopped",
        |p| p["restarts_by_cause"]["killed"] == 1 && p["state"] == "stopped",
    );
    assert_eq!(p["committed_offset"], stopped["committed_offset"]);
    assert_eq!(p["offset"], stopped["offset"]);
    let started = api.post("/partitions/paused/start", None).expect(200);
    assert_ne!(started["state"], "stopped");
    api.post("/partitions/paused/start", None)
        .expect_error(409, "partition_state");
    let resumed_from = stopped["committed_offset"].as_u64().unwrap();
    api.wait_for("/partitions/paused", LIMIT, "it reads again", |p| {
        p["committed_offset"].as_u64().unwrap() > resumed_from
    });
    api.post("/partitions/nope/stop", None)
        .expect_error(404, "not_found");
    api.post("/partitions/nope/start", None)
        .expect_error(404, "not_found");
    let removed = api.send("DELETE", "/partitions/paused", None).expect(200);
    assert_eq!(removed["removed"]["id"], "paused");
    assert_eq!(
        removed["removed"]["committed_offset"],
        removed["removed"]["offset"]
    );
    api.get("/partitions/paused").expect_error(404, "not_found");
    api.send("DELETE", "/partitions/paused", None)
        .expect_error(404, "not_found");
    assert!(!api.get("/metrics").body.contains(r#"partition="paused""#));
}

#[test]
fn readiness_names_a_partition_that_cannot_reach_its_source() {
    let run = Run::start("api_ready");
    let api = run.api();
    let unreachable =
        json!({"id": "dead", "source": format!("tcp://127.0.0.1:{}", admin_support::free_port())});
    api.post("/partitions", Some(&unreachable.to_string()))
        .expect(201);
    let started_at = Instant::now();
    let not_ready = loop {
        let r = api.get("/ready");
        if r.status == 503 {
            break r;
        }
        assert!(started_at.elapsed() < LIMIT, "never unready: {}", r.body);
        std::thread::sleep(Duration::from_millis(20));
    };
    let e = not_ready.expect_error(503, "not_ready");
    assert!(
        e["message"].as_str().unwrap().contains("partition dead"),
        "{e}"
    );
    api.send("DELETE", "/partitions/dead", None).expect(200);
    api.get("/ready").expect(200);
}

#[test]
fn a_listen_partition_waiting_for_its_producer_obeys_every_call() {
    let _counters = counters();
    let run = Run::start("api_listen");
    let api = run.api();
    let port = admin_support::free_port();
    let waiting =
        json!({"id": "waiting", "source": format!("listen://127.0.0.1:{port}"), "mode": "shared"});
    api.post("/partitions", Some(&waiting.to_string()))
        .expect(201);
    let listening = || std::net::TcpListener::bind(("127.0.0.1", port)).is_err();
    let started_at = Instant::now();
    while !listening() {
        assert!(started_at.elapsed() < LIMIT, "port {port} never bound");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        api.post("/partitions/waiting/stop", None).expect(200)["state"],
        "stopped"
    );
    api.post("/partitions/waiting/start", None).expect(200);
    api.post("/partitions/waiting/kill", None).expect(200);
    api.wait_for("/partitions/waiting", LIMIT, "waiting restarts", |p| {
        p["restarts_by_cause"]["killed"] == 1
    });
    api.send("DELETE", "/partitions/waiting", None).expect(200);
    let started_at = Instant::now();
    while listening() {
        assert!(
            started_at.elapsed() < LIMIT,
            "port {port} still bound after removal"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    api.get("/ready").expect(200);
}

#[test]
fn chaos_mode_counts_every_kill_and_the_counts_stay_exact() {
    let _counters = counters();
    let run = Run::start("api_chaos");
    let api = run.api();
    let idle = api.get("/chaos").expect(200);
    assert_eq!(idle["running"], false);
    for (body, field) in [
        (r#"{"interval_ms": 1}"#, Some("interval_ms")),
        (r#"{"interval_ms": 100, "targets": []}"#, Some("targets")),
        (r#"{"interval_ms": 100, "targets": ["merger"]}"#, None),
        (r#"{"targets": ["sink"]}"#, None),
        (r#"{"interval_ms": -5}"#, None),
    ] {
        let r = api.post("/chaos", Some(body));
        match field {
            Some(field) => assert_eq!(r.expect_error(400, "invalid_field")["field"], field),
            None => {
                r.expect_error(400, "invalid_body");
            }
        }
    }
    api.send("DELETE", "/chaos", None)
        .expect_error(409, "chaos_not_running");
    let before = api.get("/metrics").body;
    let started = api
        .post(
            "/chaos",
            Some(r#"{"interval_ms": 50, "targets": ["sink", "checkpoint", "partition"], "seed": 42}"#),
        )
        .expect(200);
    assert_eq!(started["running"], true);
    assert_eq!(started["seed"], 42);
    api.post("/chaos", Some(r#"{"interval_ms": 50}"#))
        .expect_error(409, "chaos_running");
    api.wait_for("/chaos", LIMIT, "chaos kills five actors", |c| {
        c["kills"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
            >= 5
    });
    // The stop answers once the last kill is counted: nothing moves after it.
    let stopped = api.send("DELETE", "/chaos", None).expect(200);
    assert_eq!(stopped["running"], false);
    assert!(stopped["last_kill"].is_string());
    assert_eq!(api.get("/chaos").expect(200), stopped);
    let after = api.get("/metrics").body;
    for target in ["partition", "sink", "checkpoint"] {
        let series = format!(r#"ssa_chaos_kills_total{{target="{target}"}}"#);
        assert_eq!(
            sample(&after, &series) - sample(&before, &series),
            stopped["kills"][target].as_f64().unwrap(),
            "{series}"
        );
    }
    // Whatever chaos killed, every count is still exact once the partitions settle.
    run.all_finished("partitions settle after chaos");
    let (f, name, count) = first_key();
    let one_again = api.get(&format!("/rollups/{f}/{name}")).expect(200);
    assert_eq!(one_again["count"], count);
}

#[test]
fn routes_openapi_and_metrics() {
    let run = Run::start("api_routes");
    let api = run.api();
    api.get("/no/such/route").expect_error(404, "not_found");
    api.send("PUT", "/health", None)
        .expect_error(405, "method_not_allowed");
    api.get("/partitions/p0/kill")
        .expect_error(405, "method_not_allowed");
    api.send("PATCH", "/partitions", Some("{}"))
        .expect_error(405, "method_not_allowed");
    let doc = api.get("/openapi.json").expect(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 14, "{}", paths.len());
    assert_eq!(
        doc["paths"]["/config"]["patch"]["security"][0]["bearer"],
        json!([])
    );
    let metrics = api.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .content_type
        .starts_with("text/plain; version=0.0.4"));
    assert!(metrics.body.contains("ssa_events_in_total"));
}

#[test]
fn without_a_token_mutating_calls_are_refused() {
    let io = common::io_runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config("unused");
    config.processor.sink = SinkKind::None;
    config.processor.checkpoint_store = CheckpointStoreKind::Local;
    config.processor.checkpoint_dir = dir.path().display().to_string();
    let h = Harness::start(config, &io, None);
    let api = &h.api;
    let ready = api.get("/ready").expect(200);
    assert_eq!(ready["cassandra"], "not used");
    assert_eq!(ready["partitions"], 0);
    assert_eq!(api.get("/partitions").expect(200)["partitions"], json!([]));
    for (method, path) in [
        ("POST", "/actors/sink/kill"),
        ("POST", "/actors/checkpoint/kill"),
        ("POST", "/partitions"),
        ("DELETE", "/chaos"),
        ("PATCH", "/config"),
    ] {
        let e = api
            .call(method, path, Some("Bearer anything"), Some("{}"))
            .expect_error(403, "mutations_disabled");
        assert!(
            e["message"].as_str().unwrap().contains("SSA_ADMIN_TOKEN"),
            "{e}"
        );
    }
    let config = api.get("/config").expect(200);
    assert_eq!(config["admin"]["token"], "");
}

#[test]
fn a_public_address_without_a_token_is_refused() {
    let out = std::process::Command::new(common::ssa_bin())
        .args(["run", "--admin-listen", "0.0.0.0:0"])
        .env_remove("SSA_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("admin.token"), "{stderr}");
}

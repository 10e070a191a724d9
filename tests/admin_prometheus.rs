//! `/metrics` against the real Prometheus tools: a scrape of `ssa demo` under
//! load passes `promtool check metrics`, and a real Prometheus scraping it
//! returns data for every query of the Grafana dashboard.

mod admin_support;
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use admin_support::{free_port, require_tool, SsaProcess};
use serde_json::{json, Value};

const TOKEN: &str = "prometheus-test-token";
/// What the dashboard's `$__rate_interval` stands for in these queries.
const RATE_INTERVAL: &str = "30s";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every PromQL expression of the dashboard, with the panel it belongs to.
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("?").to_string();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.clone(), expr.to_string()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// A real Prometheus on a free port with a temporary data folder; killed on drop.
struct Prometheus {
    child: Child,
    base: String,
    agent: ureq::Agent,
    log: PathBuf,
}

impl Prometheus {
    fn start(dir: &Path, target: &str) -> Prometheus {
        let bin = require_tool("prometheus");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: ssa\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let log = dir.join("prometheus.log");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("prometheus starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut p = Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!(
                    "prometheus exited with {status}:\n{}",
                    admin_support::tail(&p.log, 30)
                );
            }
            let ready = p
                .agent
                .get(format!("{}/-/ready", p.base))
                .call()
                .map(|r| r.status().as_u16() == 200)
                .unwrap_or(false);
            if ready {
                return p;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "prometheus not ready:\n{}",
                admin_support::tail(&p.log, 30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An instant query; the `data.result` array.
    fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let mut resp = self
            .agent
            .get(format!("{}/api/v1/query", self.base))
            .query("query", expr)
            .call()
            .map_err(|e| e.to_string())?;
        let body: Value = serde_json::from_str(
            &resp
                .body_mut()
                .read_to_string()
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(body.to_string());
        }
        Ok(body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    fn label_values(&self, label: &str, series: &str) -> Vec<String> {
        let mut resp = self
            .agent
            .get(format!("{}/api/v1/label/{label}/values", self.base))
            .query("match[]", series)
            .call()
            .expect("label values");
        let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a vector result holds at least one finite sample.
fn has_finite_sample(result: &[Value]) -> bool {
    result.iter().any(|r| {
        r["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    })
}

/// Feeds a shared `listen://` partition good and bad lines, so malformed-line
/// series carry real counts.
fn feed_bad_partition(api: &admin_support::Api) {
    let port = free_port();
    let body =
        json!({"id": "pushed", "source": format!("listen://127.0.0.1:{port}"), "mode": "shared"});
    api.post("/partitions", Some(&body.to_string())).expect(201);
    let started = Instant::now();
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "no listener: {e}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    let good = ssa::gen::Workload::default().line(1);
    let mut lines = String::new();
    for i in 0..50 {
        lines.push_str(&good);
        lines.push_str(if i % 2 == 0 {
            "not-a-uuid-word\n"
        } else {
            "\n"
        });
    }
    stream.write_all(lines.as_bytes()).unwrap();
    api.wait_for(
        "/partitions/pushed",
        Duration::from_secs(60),
        "pushed lines are read",
        |p| p["bad_lines"].as_u64().unwrap() == 50,
    );
    // Keep the producer connected: the partition stays running.
    std::mem::forget(stream);
}

#[test]
fn metrics_pass_promtool_and_every_dashboard_query_returns_data() {
    let promtool = require_tool("promtool");
    require_tool("prometheus");
    let dir = tempfile::tempdir().unwrap();
    let keyspace = common::unique_keyspace("admin_prom");
    let ssa = SsaProcess::spawn(
        &[
            "demo",
            "--cycles",
            "0..",
            "--partitions",
            "2",
            "--rate",
            "4000",
            "--keyspace",
            &keyspace,
            "--contact-point",
            &common::contact_point(),
            "--admin-listen",
            "127.0.0.1:0",
            "--quiet",
        ],
        &[("SSA_ADMIN_TOKEN", TOKEN)],
        &dir.path().join("demo.log"),
        Some(TOKEN),
    );
    let api = ssa.api.clone();
    api.wait_for(
        "/partitions",
        Duration::from_secs(120),
        "partitions commit",
        |v| {
            v["partitions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["last_committed_epoch"].as_u64().unwrap() >= 2)
        },
    );
    feed_bad_partition(&api);
    api.post("/partitions/p0/kill", None).expect(200);
    api.post("/actors/sink/kill", None).expect(200);
    api.post("/actors/checkpoint/kill", None).expect(200);
    api.wait_for(
        "/partitions/p0",
        Duration::from_secs(60),
        "p0 is back",
        |p| p["restarts_by_cause"]["killed"] == 1 && p["state"] == "running",
    );

    // ---- promtool check metrics on a scrape -------------------------------------------
    let scrape = api.get("/metrics");
    assert_eq!(scrape.status, 200);
    for name in [
        "ssa_events_in_total",
        "ssa_malformed_lines_total",
        "ssa_raw_rows_written_total",
        "ssa_rollup_rows_written_total",
        "ssa_cassandra_write_seconds_bucket",
        "ssa_epoch_commit_seconds_bucket",
        "ssa_event_commit_seconds_bucket",
        "ssa_checkpoint_seconds_bucket",
        "ssa_checkpoint_bytes",
        "ssa_inflight_epochs",
        "ssa_backpressure_seconds_total",
        "ssa_actor_restarts_total",
        "ssa_live_keys",
        "ssa_source_lag",
    ] {
        assert!(scrape.body.contains(name), "{name} missing from the scrape");
    }
    let mut check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.body.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The demo's Prometheus configuration is valid too.
    let out = Command::new(&promtool)
        .args(["check", "config"])
        .arg(repo().join("grafana/prometheus.yml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // ---- a real Prometheus scrapes ssa under load ----------------------------------------
    let target = api.base.trim_start_matches("http://").to_string();
    let prom = Prometheus::start(dir.path(), &target);
    let started = Instant::now();
    loop {
        let up = prom.query(r#"up{job="ssa"}"#).unwrap_or_default();
        let samples = prom
            .query("count_over_time(ssa_live_keys[1m])")
            .unwrap_or_default();
        let enough = samples
            .first()
            .and_then(|r| r["value"][1].as_str()?.parse::<f64>().ok())
            .is_some_and(|n| n >= 10.0);
        if up.first().map(|r| r["value"][1] == "1").unwrap_or(false) && enough {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "prometheus did not scrape ssa: up = {up:?}\n{}",
            admin_support::tail(&prom.log, 20)
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // ---- every query of the dashboard returns data ----------------------------------------
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("grafana/dashboards/ssa.json")).unwrap(),
    )
    .unwrap();
    let provisioning =
        std::fs::read_to_string(repo().join("grafana/provisioning/datasources/ssa.yaml")).unwrap();
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 25, "{} queries", queries.len());
    let mut failures = Vec::new();
    for (panel, expr) in &queries {
        let promql = expr
            .replace("$__rate_interval", RATE_INTERVAL)
            .replace("$partition", ".*");
        assert!(!promql.contains('$'), "unsubstituted variable in {expr}");
        match prom.query(&promql) {
            Ok(result) if has_finite_sample(&result) => {}
            Ok(result) => failures.push(format!("{panel}: {promql} -> {result:?}")),
            Err(e) => failures.push(format!("{panel}: {promql} -> error {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "dashboard queries without data:\n{}",
        failures.join("\n")
    );
    for panel in dashboard["panels"].as_array().unwrap() {
        if panel["type"] != "row" {
            let uid = panel["datasource"]["uid"].as_str().unwrap();
            assert!(provisioning.contains(&format!("uid: {uid}")), "{uid}");
        }
    }
    // The template variable's values (label_values(ssa_events_in_total, partition)).
    let mut partitions = prom.label_values("partition", "ssa_events_in_total");
    partitions.sort();
    assert_eq!(partitions, vec!["p0", "p1", "pushed"]);
    // The malformed-lines panel shows the pushed bad lines by reason.
    let bad = prom
        .query(r#"sum by (reason) (ssa_malformed_lines_total{partition="pushed"})"#)
        .unwrap();
    let by_reason: std::collections::BTreeMap<String, String> = bad
        .iter()
        .map(|r| {
            (
                r["metric"]["reason"].as_str().unwrap().to_string(),
                r["value"][1].as_str().unwrap().to_string(),
            )
        })
        .filter(|(_, v)| v != "0")
        .collect();
    assert_eq!(
        by_reason,
        [
            ("bad_uuid".to_string(), "25".to_string()),
            ("empty".to_string(), "25".to_string())
        ]
        .into_iter()
        .collect()
    );

    drop(prom);
    drop(ssa);
    let io = common::io_runtime();
    io.block_on(async {
        let session = common::session(&keyspace).await;
        common::drop_keyspace(&session, &keyspace).await;
    });
}

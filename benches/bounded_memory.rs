//! Resident memory of a real run under a state budget: `ssa demo` (the release
//! binary) against the Cassandra node, with `--keys unbounded` (and a revisit
//! workload) under `processor.state_memory_limit`, its RSS sampled from
//! `/proc/PID/status` every 250 ms. Prints the peak RSS, the RSS at each tenth of
//! the run (flat once the budget is reached), events persisted per second, and
//! keys evicted and reloaded (from `/metrics`).
//!
//! Run: `cargo build --release && cargo bench --bench bounded_memory -- [EVENTS]
//! [LIMIT] [KEYS...]` (default 20,000,000 events, `256MiB`, `unbounded` then
//! `revisit:0.1`). Needs the node at `SSA_TEST_CONTACT_POINT` (default
//! 127.0.0.1:9042); each run uses a keyspace of its own, dropped after.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ssa() -> String {
    let exe = std::env::current_exe().expect("bench path");
    // target/release/deps/bounded_memory-… → target/release/ssa
    let release = exe.parent().and_then(|d| d.parent()).expect("target dir");
    release.join("ssa").to_string_lossy().into_owned()
}

/// The admin address from the demo's log line `admin api listening addr=…`.
fn admin_addr(log: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|l| {
        let rest = &l[l.find("admin api listening")?..];
        let addr = &rest[rest.find("addr=")? + 5..];
        Some(addr.split_whitespace().next()?.to_string())
    })
}

fn metric(addr: &str, name: &str) -> f64 {
    let body = ureq::get(&format!("http://{addr}/metrics"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn run(events: u64, limit: &str, keys: &str) {
    let contact = std::env::var("SSA_TEST_CONTACT_POINT").unwrap_or("127.0.0.1:9042".into());
    let keyspace = format!(
        "bench_mem_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let cycles = format!("0..{events}");
    let mut child = Command::new(ssa())
        .args([
            "demo",
            "--cycles",
            &cycles,
            "--keys",
            keys,
            "--partitions",
            "4",
            "--fresh",
            "--keyspace",
            &keyspace,
            "--contact-point",
            &contact,
            "--admin-listen",
            "127.0.0.1:0",
            "--hold",
            "--quiet",
        ])
        .env("SSA_PROCESSOR__STATE_MEMORY_LIMIT", limit)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("ssa demo starts");
    let pid = child.id();
    let started = Instant::now();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut addr = None;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        if let Some(k) = rss_kib(pid) {
            samples.push((started.elapsed().as_secs_f64(), k));
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if addr.is_none() {
            addr = admin_addr(&log);
        }
        if text.contains("holding: the console stays up") {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ssa demo exited with {status}:\n{text}");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let addr = addr.expect("admin address");
    let evicted = metric(&addr, "ssa_keys_evicted_total");
    let reloads = metric(&addr, "ssa_key_reloads_total");
    let fps = metric(&addr, "ssa_reload_false_positives_total");
    // SAFETY: signals our own child, still running.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
    let mut out = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    let _ = child.wait();
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    println!("--keys {keys}, {events} events, 4 partitions, state_memory_limit = {limit}:");
    println!("  peak RSS {:.0} MiB", peak as f64 / 1024.0);
    let tenths: Vec<String> = (1..=10)
        .filter_map(|t| {
            let at = elapsed * f64::from(t) / 10.0;
            samples
                .iter()
                .rev()
                .find(|s| s.0 <= at)
                .map(|s| format!("{:.0}", s.1 as f64 / 1024.0))
        })
        .collect();
    println!("  RSS at each tenth of the run (MiB): {}", tenths.join(" "));
    println!(
        "  {:.0} events/s persisted ({events} in {elapsed:.1} s, start-up included)",
        events as f64 / elapsed
    );
    println!("  keys evicted {evicted:.0}, reloaded {reloads:.0}, filter false positives {fps:.0}");
    print!(
        "{}",
        out.lines()
            .filter(|l| l.contains("demo done"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    println!();
    drop_keyspace(&contact, &keyspace);
}

fn drop_keyspace(contact: &str, keyspace: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let session = scylla::client::session_builder::SessionBuilder::new()
            .known_node(contact)
            .build()
            .await;
        let dropped = match session {
            Ok(s) => s
                .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
                .await
                .is_ok(),
            Err(_) => false,
        };
        if !dropped {
            println!("  (keyspace {keyspace} left behind)");
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !std::env::args().any(|a| a == "--bench") {
        // Under `cargo test --all-targets`: nothing to run without a node.
        return;
    }
    let events: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000_000);
    let limit = args.get(1).cloned().unwrap_or_else(|| "256MiB".into());
    let keys: Vec<String> = if args.len() > 2 {
        args[2..].to_vec()
    } else {
        vec!["unbounded".into(), "revisit:0.1".into()]
    };
    for k in keys {
        run(events, &limit, &k);
    }
}

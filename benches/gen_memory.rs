//! Generator memory under a long endless run: partitioned mode, `--cycles 0..`,
//! `--rate 0`, four subscribers reading as fast as they can. Prints the resident set
//! size (VmRSS) after warm-up, every 5 s and at the end.
//!
//! `cargo bench --bench gen_memory`; `GEN_MEMORY_SECS=60` for a one-minute run
//! (default 20).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssa::gen::{serve, CycleRange, ServeMode, ServeOptions, Subscribe, Workload};
use tokio_util::sync::CancellationToken;

const CONSUMERS: u64 = 4;

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this is a
    // one-second smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let secs: u64 = std::env::var("GEN_MEMORY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 20 } else { 1 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let opts = ServeOptions::new(
        Workload::default(),
        ServeMode::Partitioned,
        CycleRange::endless(0),
    );
    let counters = Arc::clone(&opts.counters);
    let server = runtime.spawn(serve(listener, opts, shutdown.clone()));

    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|p| {
            let (stop, received) = (stop.clone(), received.clone());
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                let request = Subscribe {
                    partition: p,
                    partitions: CONSUMERS,
                    offset: 0,
                };
                stream
                    .write_all(request.to_string().as_bytes())
                    .expect("subscribe");
                let mut buf = vec![0u8; 256 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    let n = stream.read(&mut buf).expect("read");
                    if n == 0 {
                        break;
                    }
                    let lines = buf[..n].iter().filter(|&&b| b == b'\n').count();
                    received.fetch_add(lines as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(2));
    let start_rss = status_kib("VmRSS");
    let start = Instant::now();
    let start_lines = counters.lines_served();
    println!("rss after 2 s warm-up: {start_rss} KiB ({CONSUMERS} partitioned consumers, --cycles 0.., --rate 0)");
    let mut max_rss = start_rss;
    while start.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(5));
        let rss = status_kib("VmRSS");
        max_rss = max_rss.max(rss);
        println!(
            "  t={:>3.0} s rss {rss} KiB, {} lines served",
            start.elapsed().as_secs_f64(),
            counters.lines_served()
        );
    }
    let end_rss = status_kib("VmRSS");
    let lines = counters.lines_served() - start_lines;
    let took = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    shutdown.cancel();
    runtime
        .block_on(server)
        .expect("server task")
        .expect("server result");
    for c in consumers {
        let _ = c.join();
    }
    println!(
        "rss start {start_rss} KiB, end {end_rss} KiB (change {:+} KiB), max sampled {max_rss} KiB; {:.2} M lines/s over {took:.0} s, {} lines received",
        end_rss as i64 - start_rss as i64,
        lines as f64 / took / 1e6,
        received.load(Ordering::Relaxed),
    );
}

/// A `kB` field of /proc/self/status, 0 if unreadable.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

//! Generator throughput: `serve` with `--rate 0` to one local consumer that only
//! counts bytes and newlines, plus the bare line-writing speed without a socket.
//!
//! `cargo bench --bench gen_throughput`; `GEN_BENCH_SECS` sets the seconds per case
//! (default 5).

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ssa::format::Format;
use ssa::gen::{
    serve, CycleRange, KeyMode, ServeMode, ServeOptions, Subscribe, Workload, WorkloadOptions,
};
use tokio_util::sync::CancellationToken;

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this is a
    // one-second smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let secs: u64 = std::env::var("GEN_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 5 } else { 1 });
    let run_for = Duration::from_secs(secs);

    println!("line writing, no socket:");
    for (name, w) in cases() {
        let (lines, bytes, took) = write_only(&w, run_for.min(Duration::from_secs(2)));
        report(name, lines, bytes, took);
    }

    println!("served over 127.0.0.1 to one counting consumer, --rate 0:");
    for (name, w) in cases() {
        for mode in [ServeMode::Shared, ServeMode::Partitioned] {
            let (lines, bytes, took) = over_tcp(w.clone(), mode, 0, run_for);
            report(
                &format!("{name} {mode:?}").to_lowercase(),
                lines,
                bytes,
                took,
            );
        }
    }

    println!("rate limit honoured (seed, shared, one consumer):");
    for rate in [10_000u64, 1_000_000] {
        let took = run_for.min(Duration::from_secs(3));
        let (lines, bytes, took) = over_tcp(Workload::default(), ServeMode::Shared, rate, took);
        report(&format!("--rate {rate}"), lines, bytes, took);
    }
}

fn cases() -> Vec<(&'static str, Workload)> {
    let make = |format, keys| {
        Workload::new(WorkloadOptions {
            format,
            keys,
            ..WorkloadOptions::default()
        })
        .expect("valid workload")
    };
    vec![
        ("seed", make(Format::Seed, KeyMode::Bounded)),
        ("seed unbounded", make(Format::Seed, KeyMode::Unbounded)),
        ("csv", make(Format::Csv, KeyMode::Bounded)),
        ("json", make(Format::Json, KeyMode::Bounded)),
    ]
}

fn report(name: &str, lines: u64, bytes: u64, took: Duration) {
    let s = took.as_secs_f64();
    println!(
        "  {name:<26} {:>7.2} M lines/s {:>8.1} MB/s  ({lines} lines in {s:.1} s)",
        lines as f64 / s / 1e6,
        bytes as f64 / s / 1e6,
    );
}

fn write_only(w: &Workload, run_for: Duration) -> (u64, u64, Duration) {
    let mut buf = Vec::with_capacity(ssa::gen::BUFFER_BYTES + w.max_line_len());
    let start = Instant::now();
    let (mut cycle, mut bytes) = (0u64, 0u64);
    while start.elapsed() < run_for {
        buf.clear();
        for _ in 0..4096 {
            w.write_line(cycle, &mut buf);
            cycle += 1;
        }
        bytes += std::hint::black_box(&buf).len() as u64;
    }
    (cycle, bytes, start.elapsed())
}

/// Runs the server (at `rate`, 0 = unlimited) on a one-worker runtime and counts, on this thread, what one
/// client receives in `run_for`.
fn over_tcp(w: Workload, mode: ServeMode, rate: u64, run_for: Duration) -> (u64, u64, Duration) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let mut opts = ServeOptions::new(w, mode, CycleRange::endless(0));
    opts.rate = rate;
    let server = runtime.spawn(serve(listener, opts, shutdown.clone()));

    let mut stream = TcpStream::connect(addr).expect("connect");
    if mode == ServeMode::Partitioned {
        use std::io::Write;
        let request = Subscribe {
            partition: 0,
            partitions: 1,
            offset: 0,
        };
        stream
            .write_all(request.to_string().as_bytes())
            .expect("subscribe");
    }
    let (lines, bytes, took) = count(&mut stream, run_for);
    drop(stream);
    shutdown.cancel();
    runtime
        .block_on(server)
        .expect("server task")
        .expect("server result");
    (lines, bytes, took)
}

/// Reads for `run_for` (after a short warm-up), counting bytes and newlines.
fn count(stream: &mut TcpStream, run_for: Duration) -> (u64, u64, Duration) {
    let mut buf = vec![0u8; 1 << 20];
    let warm_up = Instant::now() + Duration::from_millis(300);
    while Instant::now() < warm_up {
        if stream.read(&mut buf).expect("read") == 0 {
            break;
        }
    }
    let start = Instant::now();
    let (mut lines, mut bytes) = (0u64, 0u64);
    while start.elapsed() < run_for {
        let n = stream.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    (lines, bytes, start.elapsed())
}

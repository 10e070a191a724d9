//! Ingest throughput of the pure core on one core: socket-sized reads through
//! `ChunkCodec` and `ingest_frame` (`parse_line` + `RollupState::record`),
//! sealing an epoch every 100,000 events, as a partition actor does between its
//! socket and the sink.
//!
//! Data: the seed workload's shape, 100 franchise UUIDs × 73 words (~7,300 keys),
//! word picked by a hashed normal(50, 20) draw. Run: `cargo bench --bench core_ingest`.
//! Optional argument: number of lines (default 2,000,000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio_util::codec::Decoder;
use uuid::Uuid;

use ssa::core::{ingest_frame, parse_line, ChunkCodec, Frame, RollupState, StateOptions};
use ssa::format::Format;

/// Counts heap allocations, to show the hot path does not allocate per event.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const READ_BYTES: usize = 64 * 1024;
const MAX_CHUNK_BYTES: usize = 256 * 1024;
const MAX_LINE_BYTES: usize = 4096;
const EPOCH_EVENTS: u64 = 100_000;
const RUNS: usize = 5;

/// SplitMix64: a small fixed PRNG so every run sees the same lines.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Normal draw by Box-Muller.
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

fn words(rng: &mut Rng) -> Vec<String> {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ber", "dan", "fel", "gor", "hin", "jor",
        "mar", "zen",
    ];
    (0..73)
        .map(|_| {
            let n = 2 + rng.next() % 3;
            (0..n).map(|_| SYL[(rng.next() % 16) as usize]).collect()
        })
        .collect()
}

fn seed_lines(n: usize) -> Vec<u8> {
    let mut rng = Rng(0x55a_2024);
    let ids: Vec<Uuid> = (0..100)
        .map(|_| Uuid::from_u64_pair(rng.next(), rng.next()))
        .collect();
    let words = words(&mut rng);
    let mut out = Vec::with_capacity(n * 48);
    for _ in 0..n {
        let id = ids[(rng.next() % 100) as usize];
        let draw = rng.normal(50.0, 20.0).round() as i64;
        let word =
            &words[(draw.rem_euclid(1 << 20) as u64).wrapping_mul(0x9e37_79b9) as usize % 73];
        out.extend_from_slice(format!("{}-{}\n", id.hyphenated(), word).as_bytes());
    }
    out
}

fn csv_lines(n: usize) -> Vec<u8> {
    let mut rng = Rng(7);
    let ids: Vec<Uuid> = (0..100)
        .map(|_| Uuid::from_u64_pair(rng.next(), rng.next()))
        .collect();
    let words = words(&mut rng);
    let mut out = Vec::with_capacity(n * 72);
    for i in 0..n {
        let id = ids[(rng.next() % 100) as usize];
        let word = &words[(rng.next() % 73) as usize];
        let ts = 1_700_000_000_000 + i as i64 * 3;
        let value = (rng.next() % 1000) as i64 - 500;
        out.extend_from_slice(format!("{},{word},{ts},{value}\n", id.hyphenated()).as_bytes());
    }
    out
}

/// CPU time of the calling thread: rates per core stay meaningful when other
/// processes share the machine's cores.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall and thread-CPU time of one run.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

impl Timing {
    fn start() -> (Instant, Duration) {
        (Instant::now(), thread_cpu())
    }

    fn since((wall, cpu): (Instant, Duration)) -> Timing {
        Timing {
            wall: wall.elapsed(),
            cpu: thread_cpu().saturating_sub(cpu),
        }
    }

    fn best(self, other: Timing) -> Timing {
        Timing {
            wall: self.wall.min(other.wall),
            cpu: self.cpu.min(other.cpu),
        }
    }

    const MAX: Timing = Timing {
        wall: Duration::MAX,
        cpu: Duration::MAX,
    };
}

struct Outcome {
    events: u64,
    keys: usize,
    timing: Timing,
    allocations: u64,
}

/// The partition actor's loop, minus the actor: reads → chunks → lines → state.
fn ingest(input: &[u8], format: Format, keep_raw: bool) -> Outcome {
    let mut codec = ChunkCodec::new(MAX_CHUNK_BYTES, MAX_LINE_BYTES);
    let mut state = RollupState::new(
        "bench",
        StateOptions {
            keep_raw,
            ..StateOptions::default()
        },
    );
    let mut buf = BytesMut::with_capacity(MAX_CHUNK_BYTES);
    let mut ingest_ms = 1_700_000_000_000i64;
    let mut events = 0u64;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Timing::start();
    for read in input.chunks(READ_BYTES) {
        buf.extend_from_slice(read);
        while let Some(frame) = codec.decode(&mut buf).expect("decode") {
            ingest_ms += 1;
            ingest_frame(&mut state, format, &frame, ingest_ms, |_, _, _| {});
            if state.epoch_events() >= EPOCH_EVENTS {
                events += state.epoch_events();
                black_box(state.seal_epoch());
            }
        }
    }
    events += state.epoch_events();
    black_box(state.seal_epoch());
    let timing = Timing::since(start);
    Outcome {
        events,
        keys: state.len(),
        timing,
        allocations: ALLOCATIONS.load(Ordering::Relaxed) - allocations,
    }
}

/// Codec and parser only, to see where the time goes.
fn decode_and_parse(input: &[u8], format: Format) -> (u64, Timing) {
    let mut codec = ChunkCodec::new(MAX_CHUNK_BYTES, MAX_LINE_BYTES);
    let mut buf = BytesMut::with_capacity(MAX_CHUNK_BYTES);
    let mut ok = 0u64;
    let start = Timing::start();
    for read in input.chunks(READ_BYTES) {
        buf.extend_from_slice(read);
        while let Some(Frame::Lines(chunk)) = codec.decode(&mut buf).expect("decode") {
            for line in chunk.lines() {
                ok += u64::from(black_box(parse_line(format, line)).is_ok());
            }
        }
    }
    (ok, Timing::since(start))
}

fn report(label: &str, events: u64, best: Timing) {
    let per_cpu = events as f64 / best.cpu.as_secs_f64();
    let per_wall = events as f64 / best.wall.as_secs_f64();
    println!(
        "{label:<40} {events:>9} events  {:>6.2} M events/s per core (cpu {:>6.1} ms, {:>5.1} ns/event; wall {:>6.1} ms, {:>5.2} M/s)",
        per_cpu / 1e6,
        best.cpu.as_secs_f64() * 1e3,
        1e9 / per_cpu,
        best.wall.as_secs_f64() * 1e3,
        per_wall / 1e6,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this is a
    // quick smoke run instead.
    let benching = std::env::args().any(|a| a == "--bench");
    let runs = if benching { RUNS } else { 1 };
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 2_000_000 } else { 20_000 });
    let seed = seed_lines(n);
    let csv = csv_lines(n);
    println!(
        "{n} lines; seed {:.1} MB, csv {:.1} MB; best of {runs} runs",
        seed.len() as f64 / 1e6,
        csv.len() as f64 / 1e6
    );

    let cases = [
        (
            "seed: codec+parse+record, keep_raw off",
            &seed,
            Format::Seed,
            false,
        ),
        (
            "seed: codec+parse+record, keep_raw on",
            &seed,
            Format::Seed,
            true,
        ),
        (
            "csv: codec+parse+record, keep_raw off",
            &csv,
            Format::Csv,
            false,
        ),
    ];
    for (label, input, format, keep_raw) in cases {
        let mut best = Timing::MAX;
        let mut last = None;
        for _ in 0..runs {
            let out = ingest(input, format, keep_raw);
            best = best.best(out.timing);
            last = Some(out);
        }
        let out = last.expect("at least one run");
        assert_eq!(out.events, n as u64, "every line is an event");
        report(label, out.events, best);
        println!(
            "{:<40} {} keys, {:.4} heap allocations/event (mostly seal-time key copies)",
            "",
            out.keys,
            out.allocations as f64 / out.events as f64
        );
    }
    let mut best = Timing::MAX;
    let mut ok = 0;
    for _ in 0..runs {
        let (o, t) = decode_and_parse(&seed, Format::Seed);
        best = best.best(t);
        ok = o;
    }
    report("seed: codec+parse only", ok, best);
}

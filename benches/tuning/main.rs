//! The sweep behind `docs/tuning.md`: for each knob (`flush_interval`,
//! `max_epoch_events`, `max_inflight_epochs`, `sink_concurrency`, partitions),
//! every other knob at its default, two runs per value against the real node,
//! in a keyspace of their own:
//!
//! - saturated: the generator as fast as it can (`rate 0`), `SSA_TUNING_EVENTS`
//!   events (default 600,000): persisted events/s (every epoch committed);
//! - paced: `SSA_TUNING_RATE` events/s (default 25,000) for
//!   max(`SSA_TUNING_SECONDS` (default 8), 4 × flush_interval): event→commit
//!   latency p50/p99 at a rate the node keeps up with.
//!
//! The whole sweep is repeated `SSA_TUNING_REPEAT` times (default 2), each
//! repetition over every value in turn, so that a slow minute of a shared
//! machine does not land on one value only; the plots show the mean of the
//! repetitions, the CSV every run. It writes `docs/tuning/<knob>.csv` and
//! `docs/tuning/<knob>.svg`.
//!
//! `cargo bench --bench tuning` (needs the node: `scripts/cassandra start`);
//! `SSA_TUNING_ONLY=flush_interval,partitions` runs some sweeps only. About
//! 15 minutes on the 2-core development machine.

mod plot;
mod run;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use plot::{Panel, Series};
use run::{Knobs, Outcome};

/// One knob's sweep.
struct Sweep {
    knob: &'static str,
    axis: &'static str,
    values: Vec<(String, Knobs)>,
}

fn with(f: impl Fn(&mut Knobs)) -> Knobs {
    let mut k = Knobs::default();
    f(&mut k);
    k
}

fn sweeps() -> Vec<Sweep> {
    let ms = Duration::from_millis;
    vec![
        Sweep {
            knob: "flush_interval",
            axis: "flush_interval",
            values: [100, 250, 500, 1000, 2000, 5000]
                .into_iter()
                .map(|v| {
                    let label = if v < 1000 {
                        format!("{v}ms")
                    } else {
                        format!("{}s", v / 1000)
                    };
                    (label, with(|k| k.flush_interval = ms(v)))
                })
                .collect(),
        },
        Sweep {
            knob: "max_epoch_events",
            axis: "max_epoch_events",
            values: [10_000u64, 30_000, 100_000, 1_000_000]
                .into_iter()
                .map(|v| (plot::short(v as f64), with(|k| k.max_epoch_events = v)))
                .collect(),
        },
        Sweep {
            knob: "max_inflight_epochs",
            axis: "max_inflight_epochs",
            values: [1u32, 2, 4, 16]
                .into_iter()
                .map(|v| (v.to_string(), with(|k| k.max_inflight_epochs = v)))
                .collect(),
        },
        Sweep {
            knob: "sink_concurrency",
            axis: "sink_concurrency",
            values: [8u32, 32, 128, 512]
                .into_iter()
                .map(|v| (v.to_string(), with(|k| k.sink_concurrency = v)))
                .collect(),
        },
        Sweep {
            knob: "partitions",
            axis: "partitions (source connections)",
            values: [1u32, 2, 4, 8]
                .into_iter()
                .map(|v| (v.to_string(), with(|k| k.partitions = v)))
                .collect(),
        },
    ]
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

const CSV_HEADER: &str = "knob,value,repetition,mode,rate,events,seconds,events_per_second,event_commit_p50_ms,event_commit_p99_ms,seal_commit_p50_ms,seal_commit_p99_ms,backpressure_seconds";

fn csv_row(knob: &str, value: &str, rep: u64, mode: &str, rate: u64, o: &Outcome) -> String {
    let ms = |s: f64| format!("{:.1}", s * 1000.0);
    format!(
        "{knob},{value},{rep},{mode},{rate},{},{:.3},{:.0},{},{},{},{},{:.3}",
        o.events,
        o.seconds,
        o.events_per_second(),
        ms(o.event_commit[0]),
        ms(o.event_commit[1]),
        ms(o.seal_commit[0]),
        ms(o.seal_commit[1]),
        o.backpressure_seconds
    )
}

/// The mean over repetitions of `f`, for each value of a sweep.
fn means(runs: &[Vec<Outcome>], f: impl Fn(&Outcome) -> f64) -> Vec<f64> {
    runs.iter()
        .map(|r| r.iter().map(&f).sum::<f64>() / r.len().max(1) as f64)
        .collect()
}

/// The measurements of one sweep: per value, one outcome per repetition.
struct Results {
    saturated: Vec<Vec<Outcome>>,
    paced: Vec<Vec<Outcome>>,
    rows: Vec<String>,
}

fn chart(sweep: &Sweep, r: &Results, rate: u64, repeat: u64) -> String {
    let (saturated, paced) = (&r.saturated, &r.paced);
    let ms = |v: &[Vec<Outcome>], i: usize| means(v, |o| o.event_commit[i] * 1000.0);
    let throughput = Panel {
        title: "persisted events/s (saturated)".into(),
        y_label: "events/s".into(),
        plain: false,
        series: vec![Series {
            name: "committed events/s, generator unthrottled".into(),
            color: "#1f6feb",
            dashed: false,
            values: means(saturated, Outcome::events_per_second),
        }],
    };
    let latency = Panel {
        title: format!(
            "event→commit latency at {} events/s",
            plot::short(rate as f64)
        ),
        y_label: "milliseconds".into(),
        plain: true,
        series: vec![
            Series {
                name: "p50".into(),
                color: "#1a7f37",
                dashed: false,
                values: ms(paced, 0),
            },
            Series {
                name: "p99".into(),
                color: "#c62828",
                dashed: false,
                values: ms(paced, 1),
            },
        ],
    };
    let ticks: Vec<String> = sweep.values.iter().map(|(l, _)| l.clone()).collect();
    let note = format!(
        "ssa tuning sweep: {} (others at their defaults), mean of {repeat} runs per point; Cassandra node, generator and ssa on one shared 2-core machine; {}",
        sweep.knob,
        today_utc()
    );
    plot::figure(&[throughput, latency], sweep.axis, &ticks, &note)
}

/// Today's date (UTC) without a date crate: days since the epoch to y-m-d.
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("tuning sweep: run with `cargo bench --bench tuning` (needs the Cassandra node)");
        return;
    }
    let events = env_u64("SSA_TUNING_EVENTS", 600_000);
    let rate = env_u64("SSA_TUNING_RATE", 25_000);
    let min_secs = env_u64("SSA_TUNING_SECONDS", 8);
    let repeat = env_u64("SSA_TUNING_REPEAT", 2).max(1);
    let only: Option<Vec<String>> = std::env::var("SSA_TUNING_ONLY")
        .ok()
        .map(|s| s.split(',').map(|k| k.trim().to_string()).collect());
    let out_dir = std::env::var("SSA_TUNING_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/tuning"));
    std::fs::create_dir_all(&out_dir).expect("the output directory");
    let io = ssa::processor::io_runtime().expect("an I/O runtime");
    let tag = std::process::id();
    let started = Instant::now();
    let sweeps: Vec<Sweep> = sweeps()
        .into_iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.iter().any(|k| k == s.knob)))
        .collect();
    let mut results: Vec<Results> = sweeps
        .iter()
        .map(|s| Results {
            saturated: vec![Vec::new(); s.values.len()],
            paced: vec![Vec::new(); s.values.len()],
            rows: vec![CSV_HEADER.to_string()],
        })
        .collect();
    let mut n = 0;
    for rep in 1..=repeat {
        for (sweep, res) in sweeps.iter().zip(results.iter_mut()) {
            for (i, (label, knobs)) in sweep.values.iter().enumerate() {
                n += 1;
                // One keyspace per point: the two runs use partition ids of their own.
                let ks = format!("tuning_{tag}_{n}");
                let s = run::run(&io, &ks, "s", *knobs, events, 0);
                let secs = min_secs.max(4 * knobs.flush_interval.as_secs());
                let p = run::run(&io, &ks, "p", *knobs, rate * secs, rate);
                run::drop_keyspace(&io, &ks);
                println!(
                    "[{rep}/{repeat}] {:>19} = {label:<5} saturated {:>7.0} events/s (backpressure {:>4.1} s) | at {rate}/s: event->commit p50 {:>5.0} ms, p99 {:>5.0} ms | {:>4.0} s",
                    sweep.knob,
                    s.events_per_second(),
                    s.backpressure_seconds,
                    p.event_commit[0] * 1000.0,
                    p.event_commit[1] * 1000.0,
                    started.elapsed().as_secs_f64()
                );
                res.rows
                    .push(csv_row(sweep.knob, label, rep, "saturated", 0, &s));
                res.rows
                    .push(csv_row(sweep.knob, label, rep, "paced", rate, &p));
                res.saturated[i].push(s);
                res.paced[i].push(p);
            }
        }
    }
    for (sweep, res) in sweeps.iter().zip(&results) {
        let csv = out_dir.join(format!("{}.csv", sweep.knob));
        std::fs::write(&csv, res.rows.join("\n") + "\n").expect("writing the CSV");
        let svg = out_dir.join(format!("{}.svg", sweep.knob));
        std::fs::write(&svg, chart(sweep, res, rate, repeat)).expect("writing the SVG");
        println!("wrote {} and {}", csv.display(), svg.display());
    }
    println!(
        "tuning sweep done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

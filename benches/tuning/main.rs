//! The sweep behind `docs/tuning.md`: for each knob (`flush_interval`,
//! `max_epoch_events`, `max_inflight_epochs`, `sink_concurrency`, partitions),
//! every other knob at its default, two runs per value against the real node:
//!
//! - saturated: the generator as fast as it can (`rate 0`), `SSA_TUNING_EVENTS`
//!   events (default 1,000,000): persisted events/s (every epoch committed);
//! - paced: `SSA_TUNING_RATE` events/s (default 50,000) for
//!   max(`SSA_TUNING_SECONDS` (default 10), 5 × flush_interval): event→commit
//!   latency p50/p99 at a rate the node keeps up with.
//!
//! It writes `docs/tuning/<knob>.csv` and `docs/tuning/<knob>.svg`.
//! `cargo bench --bench tuning` (needs the node: `scripts/cassandra start`);
//! `SSA_TUNING_ONLY=flush_interval,partitions` runs some sweeps only. About
//! 12 minutes on the 2-core development machine.

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
            values: [10_000u64, 30_000, 100_000, 300_000, 1_000_000]
                .into_iter()
                .map(|v| (plot::short(v as f64), with(|k| k.max_epoch_events = v)))
                .collect(),
        },
        Sweep {
            knob: "max_inflight_epochs",
            axis: "max_inflight_epochs",
            values: [1u32, 2, 4, 8, 16]
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

const CSV_HEADER: &str = "knob,value,mode,rate,events,seconds,events_per_second,event_commit_p50_ms,event_commit_p99_ms,seal_commit_p50_ms,seal_commit_p99_ms,backpressure_seconds";

fn csv_row(knob: &str, value: &str, mode: &str, rate: u64, o: &Outcome) -> String {
    let ms = |s: f64| format!("{:.1}", s * 1000.0);
    format!(
        "{knob},{value},{mode},{rate},{},{:.3},{:.0},{},{},{},{},{:.3}",
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

fn chart(sweep: &Sweep, saturated: &[Outcome], paced: &[Outcome], rate: u64) -> String {
    let ms = |v: &[Outcome], i: usize| v.iter().map(|o| o.event_commit[i] * 1000.0).collect();
    let throughput = Panel {
        title: "persisted events/s (saturated)".into(),
        y_label: "events/s".into(),
        plain: false,
        series: vec![Series {
            name: "committed events/s, generator unthrottled".into(),
            color: "#1f6feb",
            dashed: false,
            values: saturated.iter().map(Outcome::events_per_second).collect(),
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
        "ssa tuning sweep: {} (others at their defaults); Cassandra node, generator and ssa on one 2-core machine; {}",
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
    let events = env_u64("SSA_TUNING_EVENTS", 1_000_000);
    let rate = env_u64("SSA_TUNING_RATE", 50_000);
    let min_secs = env_u64("SSA_TUNING_SECONDS", 10);
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
    let mut n = 0;

    for sweep in sweeps() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|k| k == sweep.knob))
        {
            continue;
        }
        let mut rows = vec![CSV_HEADER.to_string()];
        let (mut saturated, mut paced) = (Vec::new(), Vec::new());
        for (label, knobs) in &sweep.values {
            n += 1;
            let ks = format!("tuning_{tag}_{n}");
            let s = run::run(&io, &ks, *knobs, events, 0);
            let secs = min_secs.max(5 * knobs.flush_interval.as_secs().max(1));
            let p = run::run(&io, &format!("{ks}_paced"), *knobs, rate * secs, rate);
            println!(
                "{:>20} = {label:<6} saturated {:>8.0} events/s (backpressure {:.1} s) | paced at {rate}/s: event->commit p50 {:.0} ms, p99 {:.0} ms | {:.0} s elapsed",
                sweep.knob,
                s.events_per_second(),
                s.backpressure_seconds,
                p.event_commit[0] * 1000.0,
                p.event_commit[1] * 1000.0,
                started.elapsed().as_secs_f64()
            );
            rows.push(csv_row(sweep.knob, label, "saturated", 0, &s));
            rows.push(csv_row(sweep.knob, label, "paced", rate, &p));
            saturated.push(s);
            paced.push(p);
        }
        let csv = out_dir.join(format!("{}.csv", sweep.knob));
        std::fs::write(&csv, rows.join("\n") + "\n").expect("writing the CSV");
        let svg = out_dir.join(format!("{}.svg", sweep.knob));
        std::fs::write(&svg, chart(&sweep, &saturated, &paced, rate)).expect("writing the SVG");
        println!("wrote {} and {}", csv.display(), svg.display());
    }
    println!(
        "tuning sweep done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

//! The sweep behind `docs/tuning.md`: for each knob (`flush_interval`,
//! `max_epoch_events`, `max_inflight_epochs`, `sink_concurrency`, partitions),
//! every other knob at its default, two runs per value against the real node,
//! in a keyspace of their own:
//!
//! - saturated: the generator as fast as it can and an endless range, for at
//!   least `SSA_TUNING_WINDOW` seconds (default 12) after every partition's
//!   first commit: steady-state persisted events/s, each partition's rate taken
//!   between two of its commits (commits come an epoch at a time);
//! - paced: `SSA_TUNING_RATE` events/s (default 25,000) for
//!   max(`SSA_TUNING_SECONDS` (default 8), 4 × flush_interval) seconds of
//!   events, until all are committed: event→commit latency p50/p99 at a rate
//!   the node keeps up with.
//!
//! `SSA_TUNING_REPEAT=n` (default 1) repeats the whole sweep n times, each
//! repetition over every value in turn, so that a slow minute of a shared
//! machine does not land on one value only; the plots then show the mean and
//! each run. It writes `docs/tuning/<knob>.csv` (every run) and
//! `docs/tuning/<knob>.svg`.
//!
//! `cargo bench --bench tuning` (needs the node: `scripts/cassandra start`):
//! 19 minutes on the 2-core development machine while other builds shared it,
//! about 13 of them in the saturated runs (`SSA_TUNING_WINDOW=6` shortens those);
//! `SSA_TUNING_ONLY=flush_interval,partitions` runs some sweeps only;
//! `SSA_TUNING_REPLOT=1` redraws the SVGs from the CSVs without running.

mod plot;
mod report;
mod run;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use report::Results;
use run::Knobs;

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
            values: [10_000u64, 30_000, 100_000, 300_000]
                .into_iter()
                .map(|v| (plot::short(v as f64), with(|k| k.max_epoch_events = v)))
                .collect(),
        },
        Sweep {
            knob: "max_inflight_epochs",
            axis: "max_inflight_epochs",
            values: [1u32, 2, 4, 8]
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

/// Where the figures come from, printed under each plot.
const MACHINE: &str = "Cassandra node, generator and ssa on one shared 2-core machine";

fn replot(sweeps: &[Sweep], out_dir: &std::path::Path) {
    for sweep in sweeps {
        let csv = out_dir.join(format!("{}.csv", sweep.knob));
        let Ok(text) = std::fs::read_to_string(&csv) else {
            println!("no {}: skipped", csv.display());
            continue;
        };
        let (results, rate) = Results::parse(&text)
            .unwrap_or_else(|| panic!("{} is not a CSV of this sweep", csv.display()));
        let svg = out_dir.join(format!("{}.svg", sweep.knob));
        let figure = report::chart(sweep.knob, sweep.axis, &results, rate, MACHINE);
        std::fs::write(&svg, figure).expect("writing the SVG");
        println!("wrote {}", svg.display());
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("tuning sweep: run with `cargo bench --bench tuning` (needs the Cassandra node)");
        return;
    }
    let window = Duration::from_secs(env_u64("SSA_TUNING_WINDOW", 12));
    let rate = env_u64("SSA_TUNING_RATE", 25_000);
    let min_secs = env_u64("SSA_TUNING_SECONDS", 8);
    let repeat = env_u64("SSA_TUNING_REPEAT", 1).max(1);
    let only: Option<Vec<String>> = std::env::var("SSA_TUNING_ONLY")
        .ok()
        .map(|s| s.split(',').map(|k| k.trim().to_string()).collect());
    let out_dir = std::env::var("SSA_TUNING_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/tuning"));
    std::fs::create_dir_all(&out_dir).expect("the output directory");
    let sweeps: Vec<Sweep> = sweeps()
        .into_iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.iter().any(|k| k == s.knob)))
        .collect();
    if std::env::var_os("SSA_TUNING_REPLOT").is_some() {
        replot(&sweeps, &out_dir);
        return;
    }
    let io = ssa::runtime::io_runtime().expect("an I/O runtime");
    let tag = std::process::id();
    let started = Instant::now();
    let mut results: Vec<Results> = sweeps
        .iter()
        .map(|s| Results::new(s.values.iter().map(|(l, _)| l.clone()).collect()))
        .collect();
    let mut n = 0;
    for rep in 1..=repeat {
        for (sweep, res) in sweeps.iter().zip(results.iter_mut()) {
            for (i, (label, knobs)) in sweep.values.iter().enumerate() {
                n += 1;
                // One keyspace per point: the two runs use partition ids of their own.
                let ks = format!("tuning_{tag}_{n}");
                let s = run::saturated(&io, &ks, "s", *knobs, window);
                let secs = min_secs.max(4 * knobs.flush_interval.as_secs());
                let p = run::paced(&io, &ks, "p", *knobs, rate * secs, rate);
                run::drop_keyspace(&io, &ks);
                println!(
                    "[{rep}/{repeat}] {:>19} = {label:<5} steady state {:>7.0} events/s | at {rate}/s: event->commit p50 {:>5.0} ms, p99 {:>5.0} ms, backpressure {:>4.1} s | {:>4.0} s",
                    sweep.knob,
                    s.events_per_second,
                    p.event_commit[0] * 1000.0,
                    p.event_commit[1] * 1000.0,
                    p.backpressure_seconds,
                    started.elapsed().as_secs_f64()
                );
                res.add(sweep.knob, i, rep, "saturated", 0, s);
                res.add(sweep.knob, i, rep, "paced", rate, p);
            }
        }
    }
    for (sweep, res) in sweeps.iter().zip(&results) {
        let csv = out_dir.join(format!("{}.csv", sweep.knob));
        std::fs::write(&csv, res.csv()).expect("writing the CSV");
        let svg = out_dir.join(format!("{}.svg", sweep.knob));
        let figure = report::chart(sweep.knob, sweep.axis, res, rate, MACHINE);
        std::fs::write(&svg, figure).expect("writing the SVG");
        println!("wrote {} and {}", csv.display(), svg.display());
    }
    println!(
        "tuning sweep done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

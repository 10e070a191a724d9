//! What a sweep writes: one CSV row per run, read back for `SSA_TUNING_REPLOT`,
//! and the SVG figure of a knob (steady-state throughput beside latency).

use crate::plot::{self, Panel, Series};
use crate::run::Outcome;

pub const CSV_HEADER: &str = "knob,value,repetition,mode,rate,events,seconds,events_per_second,event_commit_p50_ms,event_commit_p99_ms,seal_commit_p50_ms,seal_commit_p99_ms,backpressure_seconds";

/// The runs of one knob: per swept value, one outcome per repetition.
pub struct Results {
    pub labels: Vec<String>,
    pub saturated: Vec<Vec<Outcome>>,
    pub paced: Vec<Vec<Outcome>>,
    pub rows: Vec<String>,
}

impl Results {
    pub fn new(labels: Vec<String>) -> Self {
        let n = labels.len();
        Results {
            labels,
            saturated: vec![Vec::new(); n],
            paced: vec![Vec::new(); n],
            rows: vec![CSV_HEADER.to_string()],
        }
    }

    /// Records one run (`mode` is `saturated` or `paced`).
    pub fn add(&mut self, knob: &str, i: usize, rep: u64, mode: &str, rate: u64, o: Outcome) {
        let ms = |s: f64| format!("{:.1}", s * 1000.0);
        self.rows.push(format!(
            "{knob},{},{rep},{mode},{rate},{},{:.3},{:.0},{},{},{},{},{:.3}",
            self.labels[i],
            o.events,
            o.seconds,
            o.events_per_second,
            ms(o.event_commit[0]),
            ms(o.event_commit[1]),
            ms(o.seal_commit[0]),
            ms(o.seal_commit[1]),
            o.backpressure_seconds
        ));
        let runs = if mode == "saturated" {
            &mut self.saturated
        } else {
            &mut self.paced
        };
        runs[i].push(o);
    }

    pub fn csv(&self) -> String {
        self.rows.join("\n") + "\n"
    }

    /// Reads back a CSV this module wrote; returns the results and the paced rate.
    pub fn parse(text: &str) -> Option<(Results, u64)> {
        let mut labels: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 13 {
                return None;
            }
            if !labels.iter().any(|l| l == f[1]) {
                labels.push(f[1].to_string());
            }
            rows.push(f.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        let mut r = Results::new(labels);
        let mut rate = 0;
        for f in rows {
            let num = |i: usize| f[i].parse::<f64>().ok();
            let o = Outcome {
                events: num(5)? as u64,
                seconds: num(6)?,
                events_per_second: num(7)?,
                event_commit: [num(8)? / 1000.0, num(9)? / 1000.0],
                seal_commit: [num(10)? / 1000.0, num(11)? / 1000.0],
                backpressure_seconds: num(12)?,
            };
            let i = r.labels.iter().position(|l| *l == f[1])?;
            let rep = num(2)? as u64;
            if f[3] == "paced" {
                rate = num(4)? as u64;
            }
            r.add(&f[0], i, rep, &f[3], num(4)? as u64, o);
        }
        Some((r, rate))
    }
}

/// The mean over repetitions of `f`, for each swept value.
fn means(runs: &[Vec<Outcome>], f: impl Fn(&Outcome) -> f64) -> Vec<f64> {
    runs.iter()
        .map(|r| r.iter().map(&f).sum::<f64>() / r.len().max(1) as f64)
        .collect()
}

/// Every single run of `f`, one series per repetition (points only).
fn each_run(
    runs: &[Vec<Outcome>],
    f: impl Fn(&Outcome) -> f64,
    color: &'static str,
) -> Vec<Series> {
    let reps = runs.iter().map(Vec::len).max().unwrap_or(0);
    if reps < 2 {
        return Vec::new();
    }
    (0..reps)
        .map(|k| Series {
            name: String::new(),
            color,
            dashed: false,
            points_only: true,
            values: runs
                .iter()
                .map(|r| r.get(k).map(&f).unwrap_or(f64::NAN))
                .collect(),
        })
        .collect()
}

fn line(name: String, color: &'static str, values: Vec<f64>) -> Series {
    Series {
        name,
        color,
        dashed: false,
        points_only: false,
        values,
    }
}

/// The figure of one knob.
pub fn chart(knob: &str, axis: &str, r: &Results, rate: u64, machine: &str) -> String {
    let reps = r.saturated.iter().map(Vec::len).max().unwrap_or(1);
    let of = if reps > 1 {
        format!(" (mean of {reps} runs; dots: each run)")
    } else {
        String::new()
    };
    let tput = |o: &Outcome| o.events_per_second;
    let mut throughput = vec![line(
        format!("committed events/s, generator unthrottled{of}"),
        "#1f6feb",
        means(&r.saturated, tput),
    )];
    throughput.extend(each_run(&r.saturated, tput, "#1f6feb"));
    let p50 = |o: &Outcome| o.event_commit[0] * 1000.0;
    let p99 = |o: &Outcome| o.event_commit[1] * 1000.0;
    let mut latency = vec![
        line(format!("p50{of}"), "#1a7f37", means(&r.paced, p50)),
        line("p99".into(), "#c62828", means(&r.paced, p99)),
    ];
    latency.extend(each_run(&r.paced, p50, "#1a7f37"));
    latency.extend(each_run(&r.paced, p99, "#c62828"));
    let sat_p50 = |o: &Outcome| o.event_commit[0];
    let sat_p99 = |o: &Outcome| o.event_commit[1];
    let mut queued = vec![
        line("p50".into(), "#1a7f37", means(&r.saturated, sat_p50)),
        line(
            "p99 (missing: beyond the last bucket, 32 s)".into(),
            "#c62828",
            means(&r.saturated, sat_p99),
        ),
    ];
    queued.extend(each_run(&r.saturated, sat_p50, "#1a7f37"));
    queued.extend(each_run(&r.saturated, sat_p99, "#c62828"));
    let panels = [
        Panel {
            title: "persisted events/s, steady state".into(),
            y_label: "events/s".into(),
            plain: false,
            series: throughput,
        },
        Panel {
            title: format!(
                "event→commit latency at {} events/s",
                plot::short(rate as f64)
            ),
            y_label: "milliseconds".into(),
            plain: true,
            series: latency,
        },
        Panel {
            title: "event→commit latency, steady state".into(),
            y_label: "seconds".into(),
            plain: true,
            series: queued,
        },
    ];
    let note = format!(
        "ssa tuning sweep: {knob} (others at their defaults); {machine}; {}",
        today_utc()
    );
    plot::figure(&panels, axis, &r.labels, &note)
}

/// Today's date (UTC), from days since the epoch (no date crate for one line).
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

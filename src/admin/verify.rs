//! `GET /verify`: the console's verify panel. For `ssa demo` with a finite
//! range, the generator's ground truth is computed once (in the background)
//! and every call compares the committed totals in memory with it. Committed
//! totals never run ahead of the truth in a correct run, so a count above its
//! expected value or an unexpected key is a difference at any time; the rest
//! is only a difference once the run has ended and settled.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use actix_web::web;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::state::AdminState;
use super::views::{VerifyStatus, VerifyView};
use crate::core::{Key, Rollup};
use crate::gen::{KeyMode, Truth, Workload};

/// Above this many cycles an unbounded-key run has too many keys to hold its
/// truth in memory beside the processor; `ssa verify` still checks it.
const MAX_UNBOUNDED_CYCLES: u64 = 2_000_000;
/// Differences listed at most.
const SHOW: usize = 5;

struct Ready {
    cycles: Range<u64>,
    truth: Truth,
    has_values: bool,
}

enum Phase {
    None,
    Computing(Range<u64>),
    Ready(Arc<Ready>),
    Unavailable(String),
}

/// The ground truth of the run, when there is one.
pub struct Expected {
    phase: Mutex<Phase>,
    settled: AtomicBool,
}

impl Default for Expected {
    fn default() -> Self {
        Expected {
            phase: Mutex::new(Phase::None),
            settled: AtomicBool::new(false),
        }
    }
}

impl Expected {
    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = phase;
    }

    /// Computes the truth of `cycles` on a thread of its own.
    pub fn compute(self: &Arc<Self>, workload: Workload, cycles: Range<u64>) {
        if workload.keys() == KeyMode::Unbounded && cycles.end - cycles.start > MAX_UNBOUNDED_CYCLES
        {
            self.set(Phase::Unavailable(format!(
                "{} unbounded keys are too many to hold beside the processor; run ssa verify",
                cycles.end - cycles.start
            )));
            return;
        }
        self.set(Phase::Computing(cycles.clone()));
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("ssa-truth".into())
            .spawn(move || {
                let truth = workload.truth(cycles.clone());
                let has_values = workload.format().has_time_and_value();
                this.set(Phase::Ready(Arc::new(Ready {
                    cycles,
                    truth,
                    has_values,
                })));
            });
        if let Err(e) = spawned {
            self.set(Phase::Unavailable(format!(
                "could not start computing the truth: {e}"
            )));
        }
    }

    /// The run has ended and every total is written: what differs now stays.
    pub fn settle(&self) {
        self.settled.store(true, Relaxed);
    }
}

/// How the committed totals compare with the truth.
#[derive(Debug, Default, PartialEq, Eq)]
struct Comparison {
    /// Keys whose total equals the truth.
    matching: u64,
    /// Truth keys that have a total.
    found: u64,
    /// Keys counted beyond the truth (wrong whatever happens next).
    over: u64,
    /// Keys below the truth or with other values.
    under: u64,
    over_list: Vec<String>,
    under_list: Vec<String>,
}

fn compare(
    truth: &Truth,
    has_values: bool,
    lookup: impl Fn(Uuid, &str) -> Option<Rollup>,
) -> Comparison {
    let mut c = Comparison::default();
    for (fid, name, t) in truth.iter() {
        let Some(r) = lookup(fid, name) else {
            c.under += 1;
            if c.under_list.len() < SHOW {
                c.under_list
                    .push(format!("missing {fid} {name} (expected count {})", t.count));
            }
            continue;
        };
        c.found += 1;
        let count = r.count as u64;
        let values_equal =
            !has_values || (r.sum(), r.min(), r.max()) == (Some(t.sum), Some(t.min), Some(t.max));
        if count == t.count && values_equal {
            c.matching += 1;
            continue;
        }
        let line = format!("{fid} {name}: count {count} (expected {})", t.count);
        if count > t.count {
            c.over += 1;
            if c.over_list.len() < SHOW {
                c.over_list.push(line);
            }
        } else {
            c.under += 1;
            if c.under_list.len() < SHOW {
                c.under_list.push(line);
            }
        }
    }
    c
}

/// Counts of the run beside the comparison.
struct Observed {
    expected_events: u64,
    committed_events: u64,
    keys: u64,
    settled: bool,
}

fn judge(o: &Observed, c: Comparison, expected_keys: u64) -> (VerifyStatus, String, Vec<String>) {
    let extra = o.keys.saturating_sub(c.found);
    let mut definite = c.over_list;
    if o.committed_events > o.expected_events {
        definite.insert(
            0,
            format!(
                "{} events committed, more than the {} of the range",
                o.committed_events, o.expected_events
            ),
        );
    }
    if extra > 0 {
        definite.push(format!("{extra} keys the ground truth does not have"));
    }
    if !definite.is_empty() {
        let msg = format!(
            "{} keys counted beyond the truth, {extra} unexpected keys",
            c.over
        );
        return (VerifyStatus::Differs, msg, definite);
    }
    if o.committed_events == o.expected_events && c.matching == expected_keys {
        let msg = format!(
            "all {} events committed; every one of the {expected_keys} totals equals the ground truth",
            o.expected_events
        );
        return (VerifyStatus::Exact, msg, Vec::new());
    }
    if o.settled {
        let msg = format!(
            "the run has ended with {} of {} events committed and {} keys off",
            o.committed_events, o.expected_events, c.under
        );
        return (VerifyStatus::Differs, msg, c.under_list);
    }
    let msg = format!(
        "{} of {} events committed; {} of {expected_keys} totals complete",
        o.committed_events, o.expected_events, c.matching
    );
    (VerifyStatus::Running, msg, Vec::new())
}

/// The committed totals against the generator's ground truth (`ssa demo`
/// with a finite range only); `EXACT` once they are equal.
#[utoipa::path(
    get,
    operation_id = "verify_run",
    path = "/verify",
    tag = "rollups",
    responses(
        (status = 200, body = VerifyView),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn verify(state: web::Data<AdminState>) -> Result<web::Json<VerifyView>, ApiError> {
    let processor = state.processor()?;
    let committed_events: u64 = processor
        .snapshots()
        .iter()
        .map(|s| s.committed_offset)
        .sum();
    let keys = processor.totals.len() as u64;
    let mut view = VerifyView {
        status: VerifyStatus::Unavailable,
        message: String::new(),
        cycles: None,
        expected_events: None,
        committed_events,
        expected_keys: None,
        keys,
        matching_keys: 0,
        differences: Vec::new(),
    };
    let ready = {
        let phase = state
            .expected
            .phase
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match &*phase {
            Phase::None => {
                view.message =
                    "no ground truth: the verify panel needs ssa demo with a finite --cycles range"
                        .into();
                None
            }
            Phase::Unavailable(why) => {
                view.message = why.clone();
                None
            }
            Phase::Computing(cycles) => {
                view.status = VerifyStatus::Computing;
                view.cycles = Some(format!("{}..{}", cycles.start, cycles.end));
                view.expected_events = Some(cycles.end - cycles.start);
                view.message = "computing the expected totals".into();
                None
            }
            Phase::Ready(ready) => Some(ready.clone()),
        }
    };
    let Some(ready) = ready else {
        return Ok(web::Json(view));
    };
    let expected_events = ready.cycles.end - ready.cycles.start;
    let expected_keys = ready.truth.len() as u64;
    let totals = &processor.totals;
    let comparison = compare(&ready.truth, ready.has_values, |fid, name| {
        totals.get(&Key::new(fid, name)).map(|e| e.total)
    });
    let observed = Observed {
        expected_events,
        committed_events,
        keys,
        settled: state.expected.settled.load(Relaxed),
    };
    let matching = comparison.matching;
    let (status, message, differences) = judge(&observed, comparison, expected_keys);
    view.status = status;
    view.message = message;
    view.cycles = Some(format!("{}..{}", ready.cycles.start, ready.cycles.end));
    view.expected_events = Some(expected_events);
    view.expected_keys = Some(expected_keys);
    view.matching_keys = matching;
    view.differences = differences;
    Ok(web::Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn truth() -> Truth {
        Workload::default().truth(0..5000)
    }

    fn totals_of(truth: &Truth) -> HashMap<(Uuid, String), Rollup> {
        truth
            .iter()
            .map(|(f, n, t)| {
                let r = Rollup {
                    count: t.count as i64,
                    values: None,
                };
                ((f, n.to_string()), r)
            })
            .collect()
    }

    fn run(
        totals: &HashMap<(Uuid, String), Rollup>,
        committed: u64,
        settled: bool,
    ) -> (VerifyStatus, String, Vec<String>) {
        let truth = truth();
        let c = compare(&truth, false, |f, n| {
            totals.get(&(f, n.to_string())).copied()
        });
        let o = Observed {
            expected_events: 5000,
            committed_events: committed,
            keys: totals.len() as u64,
            settled,
        };
        judge(&o, c, truth.len() as u64)
    }

    #[test]
    fn exact_only_when_every_total_and_event_is_there() {
        let truth = truth();
        let mut totals = totals_of(&truth);
        assert_eq!(run(&totals, 5000, false).0, VerifyStatus::Exact);
        assert_eq!(run(&totals, 4999, false).0, VerifyStatus::Running);
        let some_key = totals.keys().next().unwrap().clone();
        totals.get_mut(&some_key).unwrap().count -= 1;
        assert_eq!(run(&totals, 5000, false).0, VerifyStatus::Running);
        let (status, _, diffs) = run(&totals, 5000, true);
        assert_eq!(status, VerifyStatus::Differs);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
    }

    #[test]
    fn a_count_beyond_the_truth_or_an_extra_key_differs_at_once() {
        let truth = truth();
        let mut totals = totals_of(&truth);
        let some_key = totals.keys().next().unwrap().clone();
        totals.get_mut(&some_key).unwrap().count += 1;
        let (status, _, diffs) = run(&totals, 10, false);
        assert_eq!(status, VerifyStatus::Differs);
        assert!(diffs[0].contains("expected"), "{diffs:?}");

        let mut totals = totals_of(&truth);
        totals.insert((Uuid::nil(), "nope".into()), Rollup::default());
        assert_eq!(run(&totals, 10, false).0, VerifyStatus::Differs);
        assert_eq!(
            run(&totals_of(&truth), 5001, false).0,
            VerifyStatus::Differs
        );
    }

    #[test]
    fn an_empty_run_is_running() {
        let (status, message, _) = run(&HashMap::new(), 0, false);
        assert_eq!(status, VerifyStatus::Running);
        assert!(
            message.starts_with("0 of 5000 events committed"),
            "{message}"
        );
    }
}

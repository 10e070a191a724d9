//! Target `intent`: an epoch intent blob as read back from `epoch_intents`, then
//! the repair plan a restarted partition derives from it: the raw-row ranges to
//! delete from the committed offset on, and the keys and minute buckets to
//! rewrite.
//!
//! Input: the committed offset (8 bytes, LE), then the blob.

use ssa::core::{Intent, Key, RepairPlan, RollupState, StateOptions, RAW_BUCKET_SIZE};
use uuid::Uuid;

use super::input::Input;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let committed = input.u64();
    let intent = match Intent::decode(input.rest()) {
        Ok(intent) => intent,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(Intent::decode(&intent.encode()).ok(), Some(intent.clone()));

    let state = RollupState::new("p0", StateOptions::default());
    let plan = RepairPlan::new(std::slice::from_ref(&intent), &state, committed);
    let size = i128::from(RAW_BUCKET_SIZE);
    let mut next: Option<i64> = None;
    for r in &plan.raw {
        let (b, lo, hi) = (i128::from(r.bucket), i128::from(r.start), i128::from(r.end));
        assert!(lo < hi, "empty range {lo}..{hi}");
        assert!(
            lo >= b * size && hi <= (b + 1) * size,
            "{lo}..{hi} is not in bucket {b}"
        );
        assert!(lo >= i128::from(intent.offset_start.max(committed)));
        assert!(hi <= i128::from(intent.offset_end));
        if let Some(expected) = next {
            assert_eq!(r.start, expected, "ranges leave a gap");
        }
        next = Some(r.end);
    }
    // Nothing is committed in an empty state: every touched row goes back to the
    // committed value the epoch reloaded (its prior), or is deleted; each key and
    // minute bucket once.
    let key_at = |i: u32| {
        intent
            .keys
            .get(i as usize)
            .map(|(f, n)| Key::new(Uuid::from_u128(*f), n.as_str()))
    };
    for (key, value) in &plan.keys {
        if let Some(v) = value {
            assert!(intent
                .priors
                .iter()
                .any(|(i, r)| r == v && key_at(*i).as_ref() == Some(key)));
        }
    }
    for (key, minute, value) in &plan.minutes {
        if let Some(v) = value {
            assert!(intent
                .minute_priors
                .iter()
                .any(|(i, m, r)| r == v && m == minute && key_at(*i).as_ref() == Some(key)));
        }
    }
    assert!(plan.keys.len() <= intent.keys.len());
    assert!(plan.minutes.len() <= intent.minutes.len());
}

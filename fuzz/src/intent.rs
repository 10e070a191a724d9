//! Target `intent`: an epoch intent blob as read back from `epoch_intents`, then
//! the repair plan a restarted partition derives from it: the raw-row ranges to
//! delete from the committed offset on, and the keys and minute buckets to
//! rewrite.
//!
//! Input: the committed offset (8 bytes, LE), then the blob.

use ssa::core::{Intent, RepairPlan, RollupState, StateOptions, RAW_BUCKET_SIZE};

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
    // Nothing is committed in an empty state: every touched row is deleted, each
    // key and minute bucket once.
    assert!(plan.keys.iter().all(|(_, value)| value.is_none()));
    assert!(plan.minutes.iter().all(|(_, _, value)| value.is_none()));
    assert!(plan.keys.len() <= intent.keys.len());
    assert!(plan.minutes.len() <= intent.minutes.len());
}

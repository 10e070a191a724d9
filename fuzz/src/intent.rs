//! Target `intent`: an epoch intent blob as read back from `epoch_intents`, then
//! the repair plan a restarted partition derives from it: the raw-row ranges to
//! delete from the committed offset on, and the keys and minute buckets to
//! rewrite.
//!
//! Input: the committed offset (8 bytes, LE), then the blob.

use ssa::cassandra::schema::RAW_BUCKET_SIZE;
use ssa::core::Key;
use ssa::sink::Intent;
use uuid::Uuid;

use super::input::Input;

/// Ranges checked per intent; a real epoch spans far fewer raw buckets.
const MAX_RANGES: usize = 100_000;

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

    let mut next: Option<i64> = None;
    for (bucket, lo, hi) in intent.raw_ranges(committed).take(MAX_RANGES) {
        let (b, lo_w, hi_w) = (i128::from(bucket), i128::from(lo), i128::from(hi));
        let size = i128::from(RAW_BUCKET_SIZE);
        assert!(lo < hi, "empty range {lo}..{hi}");
        assert!(
            lo_w >= b * size && hi_w <= (b + 1) * size,
            "{lo}..{hi} is not in bucket {bucket}"
        );
        assert!(lo_w >= i128::from(intent.offset_start.max(committed)));
        assert!(hi_w <= i128::from(intent.offset_end));
        if let Some(expected) = next {
            assert_eq!(lo, expected, "ranges leave a gap");
        }
        next = Some(hi);
    }

    let keys: Vec<Key> = intent
        .keys
        .iter()
        .map(|(id, name)| Key::new(Uuid::from_u128(*id), name.as_str()))
        .collect();
    for (index, _minute) in &intent.minutes {
        let _ = keys.get(*index as usize);
    }
}

//! A partition state as plain sorted data, to compare two states.

use ssa::core::{Key, Rollup, RollupState};

/// Keys with rollups, buckets with rollups (both sorted), epoch and offset.
pub type View = (Vec<(Key, Rollup)>, Vec<(Key, i64, Rollup)>, u64, u64);

pub fn view(state: &RollupState) -> View {
    let mut keys: Vec<(Key, Rollup)> = state.iter().map(|(k, r)| (k.clone(), r)).collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let mut minutes: Vec<(Key, i64, Rollup)> =
        state.minutes().map(|(k, m, r)| (k.clone(), m, r)).collect();
    minutes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    (keys, minutes, state.epoch(), state.offset())
}

//! The partition actor's exclusive state: cumulative rollups per key and per
//! key and minute, cut into epochs. Pure: no I/O, no locks, no clock.
//!
//! - `rollups`: [`RollupState`] — record events, seal epochs.
//! - `index`: the hash tables of key slots and minute buckets.
//! - `restore`: what snapshots and restores read and set.

mod index;
#[cfg(test)]
mod properties;
mod restore;
mod rollups;
#[cfg(test)]
mod tests;

pub use rollups::{RollupState, StateOptions};

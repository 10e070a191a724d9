//! The partition actor's exclusive state: cumulative rollups per key and per
//! key and minute, cut into epochs. Pure: no I/O, no locks, no clock.
//!
//! - `rollups`: [`RollupState`] — record events, seal epochs.
//! - `index`: the hash tables of key slots and minute buckets.
//! - `evict`: what the state costs in bytes, and evicting idle keys.
//! - `reload`: counting an event whose key (or bucket) must be read back first.
//! - `restore`: what snapshots and restores read and set.

mod evict;
mod index;
#[cfg(test)]
mod properties;
mod reload;
mod restore;
mod rollups;
#[cfg(test)]
mod tests;

pub use reload::{Reload, Reloaded};
pub use rollups::{RollupState, StateOptions};

//! The bodies of the fuzz targets, one module per target: `<target>::run(data)` is
//! exactly what the libFuzzer target of that name runs. The main crate's
//! `tests/fuzz_regressions.rs` runs the same functions on stable over the committed
//! seeds (`fuzz/seeds/<target>/`) and every input that once failed
//! (`fuzz/regressions/<target>/`).
//!
//! Each `run` feeds the input to a decoder and panics only when an invariant of
//! its answer breaks: any input must give a value or a clear error, never a
//! panic, a hang or an unbounded allocation.

pub mod admin_bodies;
pub mod config;
pub mod input;
pub mod intent;
pub mod lines;
pub mod snapshot;
pub mod snapshot_chain;
pub mod state_view;
pub mod subscribe;

/// What a target runs on one input.
pub type Run = fn(&[u8]);

/// Every target, by name (the names of `fuzz_targets/*.rs`).
pub const TARGETS: [(&str, Run); 7] = [
    ("admin_bodies", admin_bodies::run),
    ("config", config::run),
    ("intent", intent::run),
    ("lines", lines::run),
    ("snapshot", snapshot::run),
    ("snapshot_chain", snapshot_chain::run),
    ("subscribe", subscribe::run),
];

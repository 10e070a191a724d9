//! ssa — Simple Streaming Analytics.
//!
//! Layout:
//! - `cli`: the `ssa` command line (verbs `gen`, `run`, `demo`, `verify`, `schema`).
//! - `config`: layered configuration (file, `SSA_` env, flags) and its validation.
//! - `cassandra`: the shared `scylla` session and the CQL schema.
//! - `gen`: the deterministic data generator and its TCP server.
//! - `format`: the line formats shared by generator and processor.
//! - `core`: pure logic — line parsing, cumulative rollup state, epochs, snapshots.

pub mod core;
pub mod format;
pub mod gen;

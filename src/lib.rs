//! ssa — Simple Streaming Analytics.
//!
//! Layout:
//! - `cli`: the `ssa` command line (global flags, dispatch to verbs).
//! - `commands`: one file per verb (`schema`, `gen`, `run`, `demo`, `verify`).
//! - `config`: layered configuration (file, `SSA_` env, flags) and its validation.
//! - `cassandra`: the shared `scylla` session and the CQL schema.
//! - `format`: the line formats shared by generator and processor.
//! - `gen`: the deterministic data generator and its TCP server.
//! - `core`: pure logic — line parsing, cumulative rollup state, epochs, snapshots.
//! - `admin`: the admin REST API (actix-web), `/metrics`, chaos mode and the web console.

pub mod actors;
pub mod admin;
pub mod cassandra;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod format;
pub mod gen;
pub mod metrics;
pub mod processor;
pub mod sink;

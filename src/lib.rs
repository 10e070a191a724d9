//! ssa — Simple Streaming Analytics: reads lines from TCP sources, keeps exact
//! cumulative rollups per key, and writes them to Cassandra, exactly once from a
//! replayable source.
//!
//! Layout:
//! - `cli`: the `ssa` command line (global flags, logging, dispatch to verbs).
//! - `commands`: one file per verb (`schema`, `run`, `demo`, `verify`; `ssa gen` is
//!   in `gen`) and the workload flags they share.
//! - `config`: layered configuration (file, `SSA_` env, flags) and its validation.
//! - `format`: the line formats shared by generator and processor.
//! - `gen`: the deterministic data generator, its ground truth and its TCP server.
//! - `core`: pure logic — framing, line parsing, cumulative rollup state cut into
//!   epochs, snapshots, intents and the repair plan.
//! - `actors`: the partition actors (a state machine each), the sink, checkpoint
//!   and merger actors, supervision, backoff and live tuning.
//! - `processor`: assembles and runs the actors; adds, stops and removes partitions.
//! - `runtime`: the I/O runtime beside actix's, and the one bridge to it.
//! - `sink`: writing sealed epochs, repairs and totals to Cassandra.
//! - `checkpoint`: where snapshots and identities are kept (Cassandra or a folder).
//! - `cassandra`: the shared `scylla` session, TLS, the CQL schema, waiting for the cluster.
//! - `cluster`: several processes on one job — partition leases by lightweight
//!   transactions, fencing tokens, membership and fair shares.
//! - `metrics`: every Prometheus metric, with its help text and labels.
//! - `admin`: the admin REST API (actix-web), `/metrics`, chaos mode and the web console.

pub mod actors;
pub mod admin;
pub mod cassandra;
pub mod checkpoint;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod core;
pub mod format;
pub mod gen;
pub mod metrics;
pub mod processor;
pub mod runtime;
pub mod sink;

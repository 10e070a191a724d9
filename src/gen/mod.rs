//! The deterministic data generator and its TCP server (`ssa gen`).
//!
//! - `hash`, `normal`, `words`: the stable functions a cycle's fields are drawn from.
//! - `workload`: cycle → event.
//! - `line`: an event's line, in the seed, CSV or JSON layout.
//! - `truth`: the expected rollups of a cycle range (`ssa verify`, `--truth`).
//! - `cycles`: cycle ranges and the cycles of a partition.
//! - `subscribe`: the partitioned mode's request line.
//! - `rate`: the token bucket shared by all clients.
//! - `server`: the shared and partitioned serving modes.
//! - `cli`: `ssa gen`'s arguments and entry points.

mod cli;
mod cycles;
mod error;
mod hash;
mod line;
mod normal;
mod rate;
mod server;
mod subscribe;
mod truth;
mod words;
mod workload;

pub use cli::{run, run_async, GenArgs, WorkloadFlags};
pub use cycles::{partition_cycle, partition_lines, CycleRange};
pub use error::GenError;
pub use hash::{hash64, hashed_uuid, mix64};
pub use server::{
    serve, ServeCounters, ServeMode, ServeOptions, ServeStats, BUFFER_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
};
pub use subscribe::{request_line, Subscribe, MAX_REQUEST_BYTES};
pub use truth::{KeyTruth, Truth};
pub use words::{Words, DEFAULT_WORDS};
pub use workload::{
    franchise_uuid, Event, KeyMode, Workload, WorkloadOptions, DEFAULT_TS_START_MS, VALUE_MODULUS,
};

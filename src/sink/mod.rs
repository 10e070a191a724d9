//! Where sealed epochs go: Cassandra through the `scylla` driver.
//!
//! - `cassandra`: the sink — session, concurrency cap, batches.
//! - `statements`: the statements it prepares once.
//! - `epoch`: writing a sealed epoch (intent, raw rows, rollups, dead letters).
//! - `repair`: reading intents and executing a repair plan after a restore.
//! - `totals`: writing `rollups_total`.
//! - `reload`: reading back the committed rows of evicted keys.
//! - `shared_totals`: cluster mode's totals, recomputed from every partition's partial.
//! - `purge`: deleting every row of a partition that is reset.
//! - `clock`: the write timestamps every row carries.

mod cassandra;
mod clock;
mod epoch;
mod error;
mod purge;
mod reload;
mod repair;
mod shared_totals;
mod statements;
mod totals;

pub use cassandra::CassandraSink;
pub use clock::write_timestamp;
pub use epoch::{DeadLetter, EpochWrite};
pub use error::SinkError;

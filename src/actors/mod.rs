//! The actors of `ssa run`: one partition actor per source, the sink, the
//! checkpoint actor and the merger, each under an `actix::Supervisor`.
//!
//! - `partition`: one source connection and its state, as a state machine.
//! - `sink`: hands sealed epochs to the Cassandra sink.
//! - `checkpoint`: persists snapshots and identities, restores partitions.
//! - `merger`: totals over partitions, for the API and `rollups_total`.
//! - `supervision`: actor kinds, restart causes, chaos targets.
//! - `backoff`: the one retry and restart schedule.
//! - `tuning`: the knobs that change while running.

pub mod backoff;
pub mod checkpoint;
pub mod merger;
pub mod partition;
pub mod sink;
pub mod supervision;
pub mod tuning;

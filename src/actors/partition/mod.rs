//! The partition actor: owns one source connection and that partition's state.
//!
//! Per epoch: seal → (sink) intent, raw rows, rollups → (checkpoint actor) snapshot
//! → commit. Epochs commit in order; while they are written the actor keeps
//! reading, up to `max_inflight_epochs` uncommitted, past which it stops reading
//! its socket. When it dies the supervisor restarts it: it reloads its last
//! committed snapshot, repairs what uncommitted epochs may have written, and
//! re-subscribes at the committed offset.
//!
//! - `actor`: the actix shell — fields, supervision hooks, stream handler.
//! - `messages`: kill, drain, resume, unload (before a reset), retire, retune,
//!   revoke (cluster mode: the lease is lost).
//! - `phase`: the lifecycle as one enum with pure transitions.
//! - `incarnation`: what a restart drops and rebuilds.
//! - `epochs`: the uncommitted epochs, written → checkpointing → committed (pure).
//! - `restore`: loading the committed state and repairing uncommitted epochs.
//! - `source`: connecting, listening and subscribing (plain async functions).
//! - `reading`: attaching the source and counting chunks of lines (the hot path).
//! - `reload`: reading evicted keys back before counting their events, and
//!   evicting idle keys over the memory budget.
//! - `gate`, `idle`: TCP backpressure, and cutting an idle `listen://` producer.
//! - `commit`: seal → write → checkpoint → commit, and backpressure.
//! - `fenced`: cluster mode's commit point, conditional on the lease's token.
//! - `status`, `meters`: the observable state and the Prometheus series.
//! - `error`: why an incarnation stops.

mod actor;
mod commit;
mod epochs;
mod error;
mod fenced;
mod gate;
mod idle;
mod incarnation;
mod messages;
mod meters;
mod phase;
mod reading;
mod reload;
mod restore;
mod source;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use actix::Addr;

use super::budget::StateBudget;
use super::checkpoint::CheckpointActor;
use super::merger::Merger;
use super::sink::SinkActor;
use super::tuning::Tuning;
use crate::cluster::Cluster;
use crate::sink::CassandraSink;

pub use actor::PartitionActor;
pub use epochs::{EpochQueue, Stage};
pub use error::PartitionError;
pub use messages::{Drain, KillPartition, Resume, Retire, Retune, Revoke, Unload};
pub use phase::{Phase, Resume as ResumePoint, Start};
pub use source::SourceError;
pub use status::{Lifecycle, Observed, PartitionSnapshot, PartitionStatus};

/// What a partition actor needs from the rest of the process.
#[derive(Clone)]
pub struct PartitionDeps {
    pub sink: Addr<SinkActor>,
    /// For restore-time repair (`None` with `--sink none`).
    pub cassandra: Option<Arc<CassandraSink>>,
    pub checkpoint: Addr<CheckpointActor>,
    pub merger: Addr<Merger>,
    pub io: tokio::runtime::Handle,
    /// Live values of the knobs `PATCH /config` may change.
    pub tuning: Arc<Tuning>,
    /// The state memory budget this partition reports to and evicts for.
    pub budget: Arc<StateBudget>,
    /// Cluster mode: this process's membership, and each partition's lease.
    pub cluster: Option<Arc<Cluster>>,
}

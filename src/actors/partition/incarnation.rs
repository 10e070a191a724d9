//! What one incarnation of a partition actor holds. A restart drops it whole and
//! starts again from `Incarnation::default()`: nothing of it survives by accident.

use std::sync::Arc;
use std::time::Instant;

use actix::SpawnHandle;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;

use super::epochs::EpochQueue;
use super::gate::Gate;
use crate::actors::supervision::RestartCause;
use crate::core::{RollupState, SealedEpoch, Snapshot};
use crate::sink::DeadLetter;

/// A sealed epoch on its way to commit.
#[derive(Debug)]
pub(super) struct Sealed {
    pub sealed: Arc<SealedEpoch>,
    pub snapshot: Arc<Snapshot>,
    /// The encoded snapshot.
    pub bytes: Arc<Vec<u8>>,
    pub dead_letters: Arc<Vec<DeadLetter>>,
    /// The `USING TIMESTAMP` of every row of the epoch, fixed at seal time.
    pub timestamp: i64,
    pub sealed_at: Instant,
    /// When each chunk of the epoch arrived, for event→commit latency.
    pub arrivals: Vec<Instant>,
}

/// The state, connection, timers and epochs of one incarnation.
#[derive(Debug, Default)]
pub(super) struct Incarnation {
    /// The rollup state, once restored.
    pub state: Option<RollupState>,
    pub epochs: EpochQueue<Sealed>,
    /// Holds the socket back (TCP backpressure), once attached.
    pub gate: Option<Gate>,
    /// The socket's write half: kept to cut an idle `listen://` producer.
    pub writer: Option<OwnedWriteHalf>,
    /// Bad lines of the open epoch.
    pub dead_letters: Vec<DeadLetter>,
    /// When each chunk of the open epoch arrived.
    pub arrivals: Vec<Instant>,
    pub seal_timer: Option<SpawnHandle>,
    pub idle_timer: Option<SpawnHandle>,
    /// Since when reading is held back for uncommitted epochs.
    pub backpressured_since: Option<Instant>,
    /// Deltas since the last base snapshot; `None`: the next one is a base (the
    /// first after a restore, since the chain restarts there).
    pub deltas_since_base: Option<u32>,
    /// A background repair runs; intents are not forgotten meanwhile.
    pub repairing: bool,
    /// Why this incarnation stops, once it does.
    pub cause: Option<RestartCause>,
    /// Cancelled when the incarnation ends: its writes and repair are abandoned.
    pub cancel: CancellationToken,
}

impl Drop for Incarnation {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

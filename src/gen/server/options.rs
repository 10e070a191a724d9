//! What [`serve`](super::serve) serves and how, and the counters it keeps while it runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::gen::cycles::CycleRange;
use crate::gen::workload::Workload;

/// Bytes of lines gathered before each write.
pub const BUFFER_BYTES: usize = 256 * 1024;
/// How long a partitioned client has to send its full request line.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client that got EOF has to close its end before the server does.
pub(super) const LINGER: Duration = Duration::from_secs(5);

/// How cycles are handed out to clients.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ServeMode {
    /// One sequence of cycles; each line goes to exactly one connected client.
    #[default]
    Shared,
    /// Each client subscribes to a partition and an offset; replayable.
    Partitioned,
}

/// What [`serve`] serves and how.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub workload: Arc<Workload>,
    pub mode: ServeMode,
    pub cycles: CycleRange,
    /// Events per second over all clients; 0 = as fast as possible.
    pub rate: u64,
    /// Time a partitioned client has to send its request (10 s by default).
    pub request_timeout: Duration,
    /// Live counters; keep a clone to watch the server while it runs.
    pub counters: Arc<ServeCounters>,
}

impl ServeOptions {
    /// Options with no rate limit, the default request timeout and fresh counters.
    pub fn new(workload: Workload, mode: ServeMode, cycles: CycleRange) -> Self {
        Self {
            workload: Arc::new(workload),
            mode,
            cycles,
            rate: 0,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            counters: Arc::default(),
        }
    }
}

/// Counters updated by the server as it runs, once per buffer written.
#[derive(Debug, Default)]
pub struct ServeCounters {
    lines_served: AtomicU64,
    bytes_served: AtomicU64,
    pub(super) clients_connected: AtomicU64,
    pub(super) clients_total: AtomicU64,
    pub(super) requests_refused: AtomicU64,
}

impl ServeCounters {
    /// Lines handed to the kernel for sending, over all clients.
    pub fn lines_served(&self) -> u64 {
        self.lines_served.load(Ordering::Relaxed)
    }

    /// Clients connected right now.
    pub fn clients_connected(&self) -> u64 {
        self.clients_connected.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> ServeStats {
        ServeStats {
            lines_served: self.lines_served(),
            bytes_served: self.bytes_served.load(Ordering::Relaxed),
            clients_connected: self.clients_connected(),
            clients_total: self.clients_total.load(Ordering::Relaxed),
            requests_refused: self.requests_refused.load(Ordering::Relaxed),
        }
    }

    pub(super) fn served(&self, lines: u64, bytes: usize) {
        self.lines_served.fetch_add(lines, Ordering::Relaxed);
        self.bytes_served.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// A snapshot of [`ServeCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeStats {
    pub lines_served: u64,
    pub bytes_served: u64,
    pub clients_connected: u64,
    /// Clients accepted since the start.
    pub clients_total: u64,
    /// Partitioned requests answered with `ERR`.
    pub requests_refused: u64,
}

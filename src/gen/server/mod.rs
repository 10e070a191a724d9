//! The TCP server: streams workload lines to connected clients.
//!
//! - **shared**: clients claim batches of cycles from one atomic counter, so each
//!   cycle of the range goes to exactly one client; at the end of the range every
//!   client gets EOF and, once none is left, `serve` returns.
//! - **partitioned**: a client sends `SUBSCRIBE <p> <P> <offset>` and gets the lines
//!   of cycles `A + p + P·k`, `k = offset, offset + 1, …`, in order, then EOF; the
//!   server runs until shut down.
//!
//! Each client has its own task and buffer, so a slow or dropped client holds back
//! only itself. Lines are written in buffers of about [`BUFFER_BYTES`].
//!
//! - `options`: what to serve and how, and the live counters.
//! - `accept`: the accept loop and each client's task (pacing, writing, closing).
//! - `shared`: one sequence of cycles claimed in batches by every client.
//! - `partitioned`: a subscriber's request line and its partition's lines.

mod accept;
mod options;
mod partitioned;
mod shared;

pub use accept::serve;
pub use options::{
    ServeCounters, ServeMode, ServeOptions, ServeStats, BUFFER_BYTES, DEFAULT_REQUEST_TIMEOUT,
};

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

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::cycles::CycleRange;
use super::rate::RateLimiter;
use super::subscribe::{request_line, Subscribe, MAX_REQUEST_BYTES};
use super::workload::Workload;

/// Bytes of lines gathered before each write.
pub const BUFFER_BYTES: usize = 256 * 1024;
/// How long a partitioned client has to send its full request line.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client that got EOF has to close its end before the server does.
const LINGER: Duration = Duration::from_secs(5);

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
    clients_connected: AtomicU64,
    clients_total: AtomicU64,
    requests_refused: AtomicU64,
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

    fn served(&self, lines: u64, bytes: usize) {
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

/// State shared by the accept loop and the client tasks.
struct Server {
    opts: ServeOptions,
    limiter: RateLimiter,
    /// Next unclaimed cycle (shared mode).
    next_cycle: AtomicU64,
    /// Cycles per buffer.
    max_batch: u64,
}

impl Server {
    /// Claims up to `n` cycles of the shared sequence; `None` once the range is done.
    fn claim(&self, n: u64) -> Option<Range<u64>> {
        let end = self.opts.cycles.end.unwrap_or(u64::MAX);
        let start = self
            .next_cycle
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (c < end).then(|| c.saturating_add(n).min(end))
            })
            .ok()?;
        Some(start..start.saturating_add(n).min(end))
    }

    fn shared_range_done(&self) -> bool {
        self.opts
            .cycles
            .end
            .is_some_and(|end| self.next_cycle.load(Ordering::Relaxed) >= end)
    }
}

/// Serves `opts` on `listener` until the range is done and no client is left
/// (shared mode, finite range) or until `shutdown` is cancelled. Then it closes every
/// connection, waits for the client tasks and returns the final counters.
pub async fn serve(
    listener: TcpListener,
    opts: ServeOptions,
    shutdown: CancellationToken,
) -> io::Result<ServeStats> {
    let max_batch = (BUFFER_BYTES / opts.workload.max_line_len().max(1)).max(1) as u64;
    let server = Arc::new(Server {
        limiter: RateLimiter::new(opts.rate),
        next_cycle: AtomicU64::new(opts.cycles.start),
        max_batch,
        opts,
    });
    let counters = server.opts.counters.clone();
    let clients_stop = shutdown.child_token();
    let mut clients = JoinSet::new();
    tracing::info!(
        addr = %listener.local_addr()?,
        mode = ?server.opts.mode,
        cycles = %server.opts.cycles,
        rate = server.opts.rate,
        "generator serving"
    );
    loop {
        if server.opts.mode == ServeMode::Shared && server.shared_range_done() && clients.is_empty()
        {
            tracing::info!("cycle range done, no client left");
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(joined) = clients.join_next(), if !clients.is_empty() => {
                if let Err(e) = joined {
                    tracing::warn!(error = %e, "client task failed");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    counters.clients_total.fetch_add(1, Ordering::Relaxed);
                    let server = server.clone();
                    let stop = clients_stop.clone();
                    clients.spawn(async move { serve_client(stream, peer, &server, stop).await });
                }
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    clients_stop.cancel();
    while let Some(joined) = clients.join_next().await {
        if let Err(e) = joined {
            tracing::warn!(error = %e, "client task failed");
        }
    }
    Ok(counters.snapshot())
}

/// Decrements the connected-clients gauge however the client task ends.
struct Connected<'a>(&'a ServeCounters);

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.0.clients_connected.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_client(
    mut stream: TcpStream,
    peer: SocketAddr,
    server: &Server,
    stop: CancellationToken,
) {
    let counters = &*server.opts.counters;
    counters.clients_connected.fetch_add(1, Ordering::Relaxed);
    let _connected = Connected(counters);
    tracing::debug!(%peer, "client connected");
    let result = match server.opts.mode {
        ServeMode::Shared => stream_shared(&mut stream, server, &stop).await,
        ServeMode::Partitioned => stream_partition(&mut stream, server, &stop).await,
    };
    match result {
        Ok(Outcome::Finished) => {
            tracing::debug!(%peer, "client done");
            close(&mut stream, &stop).await;
        }
        Ok(Outcome::Stopped) => tracing::debug!(%peer, "client stopped by shutdown"),
        Err(e) => tracing::debug!(%peer, error = %e, "client gone"),
    }
}

enum Outcome {
    /// Every line due was written.
    Finished,
    /// Shutdown came first.
    Stopped,
}

/// Sends EOF, then waits (bounded) for the client to close its end so that no unread
/// input turns the close into a reset that could discard lines still in flight.
async fn close(stream: &mut TcpStream, stop: &CancellationToken) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let drain = async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::select! {
        _ = drain => {}
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(LINGER) => {}
    }
}

/// Writes `buf` unless shutdown comes first.
async fn write(stream: &mut TcpStream, buf: &[u8], stop: &CancellationToken) -> io::Result<bool> {
    tokio::select! {
        written = stream.write_all(buf) => written.map(|()| true),
        _ = stop.cancelled() => Ok(false),
    }
}

/// Waits for the rate limiter unless shutdown comes first.
async fn pace(server: &Server, n: u64, stop: &CancellationToken) -> bool {
    if !server.limiter.is_limited() {
        return true;
    }
    tokio::select! {
        _ = server.limiter.acquire(n) => true,
        _ = stop.cancelled() => false,
    }
}

async fn stream_shared(
    stream: &mut TcpStream,
    server: &Server,
    stop: &CancellationToken,
) -> io::Result<Outcome> {
    let workload = &*server.opts.workload;
    let mut buf = Vec::with_capacity(BUFFER_BYTES + workload.max_line_len());
    loop {
        if stop.is_cancelled() {
            return Ok(Outcome::Stopped);
        }
        let Some(cycles) = server.claim(server.limiter.batch(server.max_batch)) else {
            return Ok(Outcome::Finished);
        };
        let n = cycles.end - cycles.start;
        if !pace(server, n, stop).await {
            return Ok(Outcome::Stopped);
        }
        buf.clear();
        for cycle in cycles {
            workload.write_line(cycle, &mut buf);
        }
        if !write(stream, &buf, stop).await? {
            return Ok(Outcome::Stopped);
        }
        server.opts.counters.served(n, buf.len());
    }
}

async fn stream_partition(
    stream: &mut TcpStream,
    server: &Server,
    stop: &CancellationToken,
) -> io::Result<Outcome> {
    let request = tokio::select! {
        request = tokio::time::timeout(server.opts.request_timeout, read_request(stream)) => request,
        _ = stop.cancelled() => return Ok(Outcome::Stopped),
    };
    let subscribe = match request {
        Ok(Ok(line)) => Subscribe::parse(&line),
        Ok(Err(RequestError::Io(e))) => return Err(e),
        Ok(Err(RequestError::Refused(reason))) => Err(reason),
        Err(_) => Err(format!(
            "no full request line within {} ms",
            server.opts.request_timeout.as_millis()
        )),
    };
    let subscribe = match subscribe {
        Ok(s) => s,
        Err(reason) => {
            server
                .opts
                .counters
                .requests_refused
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%reason, "subscribe refused");
            let line = format!("ERR {}\n", reason.replace(['\n', '\r'], " "));
            write(stream, line.as_bytes(), stop).await?;
            return Ok(Outcome::Finished);
        }
    };
    tracing::debug!(
        partition = subscribe.partition,
        partitions = subscribe.partitions,
        offset = subscribe.offset,
        "subscribed"
    );

    let workload = &*server.opts.workload;
    let end = server.opts.cycles.end;
    let step = subscribe.partitions;
    // First cycle due, or None if the partition has nothing left.
    let mut next = super::cycles::partition_cycle(
        server.opts.cycles.start,
        subscribe.partition,
        step,
        subscribe.offset,
    )
    .filter(|&c| end.is_none_or(|end| c < end));
    let mut buf = Vec::with_capacity(BUFFER_BYTES + workload.max_line_len());
    while let Some(first) = next {
        if stop.is_cancelled() {
            return Ok(Outcome::Stopped);
        }
        let batch = server.limiter.batch(server.max_batch);
        buf.clear();
        let mut cycle = first;
        let mut n = 0;
        next = loop {
            workload.write_line(cycle, &mut buf);
            n += 1;
            let following = cycle
                .checked_add(step)
                .filter(|&c| end.is_none_or(|end| c < end));
            match following {
                Some(c) if n < batch => cycle = c,
                other => break other,
            }
        };
        if !pace(server, n, stop).await {
            return Ok(Outcome::Stopped);
        }
        if !write(stream, &buf, stop).await? {
            return Ok(Outcome::Stopped);
        }
        server.opts.counters.served(n, buf.len());
    }
    Ok(Outcome::Finished)
}

enum RequestError {
    Io(io::Error),
    Refused(String),
}

/// Reads one request line, without its newline.
async fn read_request(stream: &mut TcpStream) -> Result<Vec<u8>, RequestError> {
    let mut line = Vec::with_capacity(64);
    let mut chunk = [0u8; MAX_REQUEST_BYTES];
    loop {
        let n = stream.read(&mut chunk).await.map_err(RequestError::Io)?;
        if n == 0 {
            return Err(RequestError::Refused(
                "connection closed before a full request line".into(),
            ));
        }
        line.extend_from_slice(&chunk[..n]);
        match request_line(&line) {
            Ok(Some(request)) => {
                let len = request.len();
                line.truncate(len);
                return Ok(line);
            }
            Ok(None) => {}
            Err(reason) => return Err(RequestError::Refused(reason)),
        }
    }
}

//! The accept loop and each client's task: pacing, writing and closing are the
//! same in both modes.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::options::{ServeCounters, ServeMode, ServeOptions, ServeStats, BUFFER_BYTES, LINGER};
use super::partitioned::stream_partition;
use super::shared::stream_shared;
use crate::gen::rate::RateLimiter;

/// State shared by the accept loop and the client tasks.
pub(super) struct Server {
    pub opts: ServeOptions,
    pub limiter: RateLimiter,
    /// Next unclaimed cycle (shared mode).
    next_cycle: AtomicU64,
    /// Cycles per buffer.
    pub max_batch: u64,
}

impl Server {
    /// Claims up to `n` cycles of the shared sequence; `None` once the range is done.
    pub fn claim(&self, n: u64) -> Option<Range<u64>> {
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

pub(super) enum Outcome {
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
pub(super) async fn write(
    stream: &mut TcpStream,
    buf: &[u8],
    stop: &CancellationToken,
) -> io::Result<bool> {
    tokio::select! {
        written = stream.write_all(buf) => written.map(|()| true),
        _ = stop.cancelled() => Ok(false),
    }
}

/// Waits for the rate limiter unless shutdown comes first.
pub(super) async fn pace(server: &Server, n: u64, stop: &CancellationToken) -> bool {
    if !server.limiter.is_limited() {
        return true;
    }
    tokio::select! {
        _ = server.limiter.acquire(n) => true,
        _ = stop.cancelled() => false,
    }
}

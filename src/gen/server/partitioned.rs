//! Partitioned mode: a client sends `SUBSCRIBE <p> <P> <offset>` and gets its
//! partition's lines from that offset on, in order, then EOF.

use std::io;
use std::sync::atomic::Ordering;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::accept::{pace, write, Outcome, Server};
use super::options::BUFFER_BYTES;
use crate::gen::subscribe::{request_line, Subscribe, MAX_REQUEST_BYTES};

pub(super) async fn stream_partition(
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
    let mut next = crate::gen::cycles::partition_cycle(
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

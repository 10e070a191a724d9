//! Shared mode: every client claims batches of the one sequence of cycles, so
//! each line goes to exactly one of them.

use std::io;

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::accept::{pace, write, Outcome, Server};
use super::options::BUFFER_BYTES;

pub(super) async fn stream_shared(
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

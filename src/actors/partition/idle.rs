//! Cutting an idle `listen://` producer. A listen partition takes one producer at
//! a time, so one that connects and then sends nothing would keep every other
//! producer out for good.

use std::net::Shutdown;
use std::time::{Duration, Instant};

use tokio::net::tcp::OwnedWriteHalf;

/// When the current producer last sent a complete line.
#[derive(Debug)]
pub struct IdleWatch {
    timeout: Duration,
    last: Instant,
}

impl IdleWatch {
    pub fn new(timeout: Duration) -> Self {
        IdleWatch {
            timeout,
            last: Instant::now(),
        }
    }

    /// The producer sent something (or the partition was not reading): start over.
    pub fn touch(&mut self) {
        self.last = Instant::now();
    }

    pub fn expired(&self) -> bool {
        self.last.elapsed() >= self.timeout
    }

    /// The periodic check: cuts the producer's socket once it has been idle while
    /// the partition was `reading` (time not reading does not count).
    pub fn check(&mut self, reading: bool, writer: Option<&OwnedWriteHalf>, partition: &str) {
        if !reading {
            return self.touch();
        }
        if let (true, Some(writer)) = (self.expired(), writer) {
            tracing::warn!(partition, timeout = ?self.timeout, "producer idle; disconnecting it so the next one can connect");
            if let Err(e) = cut(writer) {
                tracing::debug!(partition, error = %e, "cutting the producer's socket failed");
            }
        }
    }

    /// How often to look: often enough that a cut comes at most a quarter late.
    pub fn check_every(&self) -> Duration {
        (self.timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// Shuts the producer's socket down both ways: our reads end as at end of stream
/// (buffered bytes are still handed out) and the producer sees the close.
pub fn cut(writer: &OwnedWriteHalf) -> std::io::Result<()> {
    socket2::SockRef::from(writer.as_ref()).shutdown(Shutdown::Both)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_the_timeout_and_touch_starts_over() {
        let mut w = IdleWatch::new(Duration::from_millis(40));
        assert!(!w.expired());
        w.last -= Duration::from_millis(50);
        assert!(w.expired());
        w.touch();
        assert!(!w.expired());
        assert_eq!(w.check_every(), Duration::from_millis(10));
        assert_eq!(
            IdleWatch::new(Duration::from_secs(30)).check_every(),
            Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn a_cut_ends_our_reads_and_closes_the_peer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut peer = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (ours, _) = listener.accept().await.unwrap();
        let (mut read, write) = ours.into_split();
        peer.write_all(b"abc").await.unwrap();
        let mut got = [0u8; 3];
        read.read_exact(&mut got).await.unwrap();
        cut(&write).unwrap();
        let mut rest = Vec::new();
        assert_eq!(read.read_to_end(&mut rest).await.unwrap(), 0);
        let mut buf = [0u8; 1];
        assert_eq!(peer.read(&mut buf).await.unwrap(), 0);
    }
}

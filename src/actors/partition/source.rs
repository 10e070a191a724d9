//! Opening a partition's source, as plain async functions: connect to a server
//! (and subscribe at an offset, for a replayable one), or listen for a pushing
//! producer, keeping the listener for the next one.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::config::SourceAddr;

/// How long a `tcp://` source has to accept the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A failed step of opening a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("connecting to {addr}: no answer within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("accepting on {addr}: {source}")]
    Accept {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("subscribing: {0}")]
    Subscribe(#[source] std::io::Error),
}

/// `SUBSCRIBE index count offset`: the lines of a replayable source from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    pub index: u32,
    pub count: u32,
    pub offset: u64,
}

impl Subscription {
    pub fn line(&self) -> String {
        format!("SUBSCRIBE {} {} {}\n", self.index, self.count, self.offset)
    }
}

/// An open source: the stream, and for `listen://` the listener to keep.
#[derive(Debug)]
pub struct Opened {
    pub stream: TcpStream,
    pub listener: Option<Arc<TcpListener>>,
}

/// Opens `source`: connects (then subscribes, if asked) or accepts the next
/// producer on `listener` (bound now when there is none yet).
pub async fn open(
    source: SourceAddr,
    listener: Option<Arc<TcpListener>>,
    subscription: Option<Subscription>,
) -> Result<Opened, SourceError> {
    let (mut stream, listener) = match source {
        SourceAddr::Connect(addr) => (connect(&addr, CONNECT_TIMEOUT).await?, None),
        SourceAddr::Listen(addr) => {
            let listener = match listener {
                Some(l) => l,
                None => Arc::new(listen(&addr).await?),
            };
            (accept(&addr, &listener).await?, Some(listener))
        }
    };
    let _ = stream.set_nodelay(true);
    if let Some(s) = subscription {
        subscribe(&mut stream, &s).await?;
    }
    Ok(Opened { stream, listener })
}

/// Connects to `addr`, giving up after `timeout`.
pub async fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, SourceError> {
    tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| SourceError::Timeout {
            addr: addr.to_string(),
            timeout,
        })?
        .map_err(|source| SourceError::Connect {
            addr: addr.to_string(),
            source,
        })
}

/// Binds the listener of a `listen://` source.
pub async fn listen(addr: &str) -> Result<TcpListener, SourceError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SourceError::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// Waits for the next producer.
pub async fn accept(addr: &str, listener: &TcpListener) -> Result<TcpStream, SourceError> {
    let (stream, _) = listener
        .accept()
        .await
        .map_err(|source| SourceError::Accept {
            addr: addr.to_string(),
            source,
        })?;
    Ok(stream)
}

/// Sends the subscription line of a replayable source.
pub async fn subscribe(stream: &mut TcpStream, s: &Subscription) -> Result<(), SourceError> {
    stream
        .write_all(s.line().as_bytes())
        .await
        .map_err(SourceError::Subscribe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;

    #[tokio::test]
    async fn a_connect_source_subscribes_at_its_offset() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap().to_string();
        let sub = Subscription {
            index: 2,
            count: 4,
            offset: 17,
        };
        let opened = open(SourceAddr::Connect(addr), None, Some(sub));
        let (opened, accepted) = tokio::join!(opened, server.accept());
        assert!(opened.unwrap().listener.is_none());
        let mut line = String::new();
        tokio::io::BufReader::new(accepted.unwrap().0)
            .read_line(&mut line)
            .await
            .unwrap();
        assert_eq!(line, "SUBSCRIBE 2 4 17\n");
    }

    #[tokio::test]
    async fn a_listen_source_keeps_its_listener_for_the_next_producer() {
        let listener = Arc::new(listen("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let source = SourceAddr::Listen(addr.to_string());
        for _ in 0..2 {
            let opened = open(source.clone(), Some(listener.clone()), None);
            let (opened, producer) = tokio::join!(opened, TcpStream::connect(addr));
            producer.unwrap();
            let kept = opened.unwrap().listener.unwrap();
            assert!(Arc::ptr_eq(&kept, &listener));
        }
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_address() {
        let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = free.local_addr().unwrap().to_string();
        drop(free);
        let err = connect(&addr, CONNECT_TIMEOUT).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("connecting to {addr}: ")),
            "{err}"
        );
    }
}

//! TCP backpressure: a stream wrapper that stops polling its socket while the
//! gate is closed, so the kernel's receive window fills and the sender blocks.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;

/// Opens and closes a [`Gated`] stream.
#[derive(Debug)]
pub struct Gate {
    tx: watch::Sender<bool>,
}

impl Gate {
    pub fn new() -> (Gate, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(true);
        (Gate { tx }, rx)
    }

    pub fn set_open(&self, open: bool) {
        self.tx.send_if_modified(|v| {
            let changed = *v != open;
            *v = open;
            changed
        });
    }
}

/// Yields the inner stream's items only while the gate is open.
pub struct Gated<S> {
    inner: S,
    open: bool,
    changes: WatchStream<bool>,
}

impl<S> Gated<S> {
    pub fn new(inner: S, rx: watch::Receiver<bool>) -> Self {
        let open = *rx.borrow();
        Gated {
            inner,
            open,
            changes: WatchStream::from_changes(rx),
        }
    }
}

impl<S: Stream + Unpin> Stream for Gated<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        while let Poll::Ready(Some(open)) = Pin::new(&mut self.changes).poll_next(cx) {
            self.open = open;
        }
        if !self.open {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn closed_gate_holds_items_back() {
        let (gate, rx) = Gate::new();
        let mut s = Gated::new(futures::stream::iter(1..=3), rx);
        assert_eq!(s.next().await, Some(1));
        gate.set_open(false);
        let held = tokio::time::timeout(std::time::Duration::from_millis(50), s.next()).await;
        assert!(held.is_err(), "no item while closed");
        gate.set_open(true);
        assert_eq!(s.next().await, Some(2));
        assert_eq!(s.next().await, Some(3));
        assert_eq!(s.next().await, None);
    }
}

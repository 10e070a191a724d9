//! The processor's second runtime: actors run on actix's arbiters, while Cassandra,
//! checkpoint-store and generator I/O run on a multi-threaded tokio runtime.
//! [`on_io`] is the one bridge from the first to the second.

use std::future::Future;

use anyhow::Context as _;
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinError;

/// A multi-threaded runtime for Cassandra and generator I/O, beside actix's.
pub fn io_runtime() -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ssa-io")
        .enable_all()
        .build()
        .context("starting the I/O runtime")
}

/// An I/O task ended without an answer: it panicked, or the runtime shut down.
#[derive(Debug, thiserror::Error)]
#[error("{what}: the i/o task ended without an answer: {source}")]
pub struct TaskFailed {
    pub what: &'static str,
    #[source]
    pub source: JoinError,
}

/// Starts `fut` on the I/O runtime at once and returns a future of its result,
/// which any executor (an actor's arbiter included) may await. A task that ends
/// without an answer becomes the caller's own error type.
pub fn on_io<T, E, F>(
    io: &Handle,
    what: &'static str,
    fut: F,
) -> impl Future<Output = Result<T, E>> + 'static
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<TaskFailed> + Send + 'static,
{
    let join = io.spawn(fut);
    async move {
        join.await
            .unwrap_or_else(|source| Err(TaskFailed { what, source }.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Failure {
        #[error("{0}")]
        Task(#[from] TaskFailed),
        #[error("no")]
        No,
    }

    #[test]
    fn answers_and_failures_cross_the_bridge() {
        let io = io_runtime().unwrap();
        let local = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ok = local.block_on(on_io(io.handle(), "adding", async {
            Ok::<_, Failure>(2 + 2)
        }));
        assert_eq!(ok.unwrap(), 4);
        let no = local.block_on(on_io(io.handle(), "refusing", async {
            Err::<(), _>(Failure::No)
        }));
        assert!(matches!(no, Err(Failure::No)));
        let panicked = local.block_on(on_io(io.handle(), "panicking", async {
            if true {
                panic!("boom");
            }
            Ok::<(), Failure>(())
        }));
        let err = panicked.unwrap_err();
        assert!(matches!(err, Failure::Task(_)));
        assert!(
            err.to_string().starts_with("panicking: the i/o task ended"),
            "{err}"
        );
    }
}

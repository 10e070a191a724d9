//! The Cassandra sink: one shared session, statements prepared once, writes capped
//! by a semaphore. Every row is an idempotent upsert with `USING TIMESTAMP`, so an
//! epoch can be written again (retry, replay) without changing the result. What
//! it writes is in the sibling modules: epochs, repairs, totals, resets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use tokio::sync::Semaphore;

use super::statements::Statements;
use super::SinkError;
use crate::core::Rollup;
use crate::metrics;

/// Writes epochs, repairs, totals and dead letters.
pub struct CassandraSink {
    pub(super) session: Arc<Session>,
    pub(super) keyspace: String,
    pub(super) st: Statements,
    permits: Arc<Semaphore>,
    /// The cap the permits add up to; changed live by [`CassandraSink::set_concurrency`].
    concurrency: AtomicUsize,
}

/// A value column that may be absent (left unset, not written as null).
pub(super) fn opt(v: Option<i64>) -> MaybeUnset<i64> {
    match v {
        Some(v) => MaybeUnset::Set(v),
        None => MaybeUnset::Unset,
    }
}

/// The value columns of a rollup row.
pub(super) fn sum_min_max(r: &Rollup) -> (MaybeUnset<i64>, MaybeUnset<i64>, MaybeUnset<i64>) {
    (opt(r.sum()), opt(r.min()), opt(r.max()))
}

impl CassandraSink {
    /// Prepares every statement once.
    pub async fn new(
        session: Arc<Session>,
        keyspace: &str,
        concurrency: usize,
    ) -> Result<Self, SinkError> {
        let st = Statements::prepare(&session, keyspace).await?;
        Ok(CassandraSink {
            session,
            keyspace: keyspace.to_string(),
            st,
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency: AtomicUsize::new(concurrency),
        })
    }

    /// Changes the number of writes in flight. Growing takes effect at once;
    /// shrinking forgets idle permits now and returns a future that takes the
    /// rest out of circulation as writes in flight finish (spawn it).
    pub fn set_concurrency(
        &self,
        concurrency: usize,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let old = self.concurrency.swap(concurrency, Ordering::SeqCst);
        if concurrency > old {
            self.permits.add_permits(concurrency - old);
            return None;
        }
        let cut = old - concurrency;
        let rest = cut - self.permits.forget_permits(cut);
        let rest = u32::try_from(rest).ok().filter(|r| *r > 0)?;
        let permits = self.permits.clone();
        Some(async move {
            if let Ok(taken) = permits.acquire_many_owned(rest).await {
                taken.forget();
            }
        })
    }

    pub(super) fn write_err<'a>(
        what: &'static str,
        partition: &'a str,
    ) -> impl Fn(scylla::errors::ExecutionError) -> SinkError + 'a {
        move |source| SinkError::Write {
            what,
            partition: partition.to_string(),
            source: Box::new(source),
        }
    }

    /// Runs one prepared statement; a failure names `what` and the partition.
    pub(super) async fn exec(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
        what: &'static str,
        partition: &str,
    ) -> Result<(), SinkError> {
        self.session
            .execute_unpaged(statement, values)
            .await
            .map(|_| ())
            .map_err(Self::write_err(what, partition))
    }

    /// Runs one unlogged batch of `statement`, once per row of `values` (all rows
    /// in one Cassandra partition).
    pub(super) async fn batch_of<V: SerializeRow>(
        &self,
        statement: &PreparedStatement,
        values: Vec<V>,
        what: &'static str,
        partition: &str,
    ) -> Result<(), SinkError> {
        let mut batch = Batch::new(BatchType::Unlogged);
        for _ in 0..values.len() {
            batch.append_statement(statement.clone());
        }
        self.session
            .batch(&batch, values)
            .await
            .map(|_| ())
            .map_err(Self::write_err(what, partition))
    }

    /// Runs `futs` with at most the sink's concurrency in flight (the semaphore
    /// also caps all epochs and partitions together).
    pub(super) async fn run_all<'a>(
        &'a self,
        futs: Vec<BoxFuture<'a, Result<(), SinkError>>>,
    ) -> Result<(), SinkError> {
        let mut running = FuturesUnordered::new();
        let mut queued = futs.into_iter();
        loop {
            while running.len() < self.concurrency.load(Ordering::Relaxed) {
                match queued.next() {
                    Some(f) => running.push(self.timed(f)),
                    None => break,
                }
            }
            match running.next().await {
                Some(result) => result?,
                None => return Ok(()),
            }
        }
    }

    async fn timed(&self, f: BoxFuture<'_, Result<(), SinkError>>) -> Result<(), SinkError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SinkError::Closed)?;
        let started = std::time::Instant::now();
        let out = f.await;
        metrics::CASSANDRA_WRITE_SECONDS.observe(started.elapsed().as_secs_f64());
        if out.is_err() {
            metrics::CASSANDRA_ERRORS.inc();
        }
        out
    }
}

//! The Cassandra sink: one shared session, statements prepared once, writes capped
//! by a semaphore. Every row is an idempotent upsert with `USING TIMESTAMP`, so an
//! epoch can be written again (retry, replay) without changing the result.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlTimestamp, MaybeUnset};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::{Intent, SinkError};
use crate::cassandra::schema::RAW_BUCKET_SIZE;
use crate::core::{Key, Rollup, SealedEpoch};
use crate::metrics;

/// Raw rows per single-partition unlogged batch.
const RAW_BATCH_ROWS: usize = 32;

/// A line that could not be used, kept in `dead_letters`.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub offset: u64,
    pub reason: &'static str,
    pub len: u64,
    pub prefix: Bytes,
}

/// One sealed epoch of one partition, ready to be written.
#[derive(Debug, Clone)]
pub struct EpochWrite {
    pub partition: Arc<str>,
    pub sealed: Arc<SealedEpoch>,
    pub dead_letters: Arc<Vec<DeadLetter>>,
    /// The `USING TIMESTAMP` of every row of this epoch, fixed at seal time.
    pub timestamp: i64,
    /// Cancelled when the partition restarts: its uncommitted epochs' writes are
    /// abandoned (the restarted partition repairs and rewrites them), so that
    /// orphaned writes do not pile up behind the sink's concurrency cap.
    pub cancel: tokio_util::sync::CancellationToken,
}

struct Statements {
    raw: PreparedStatement,
    partial: PreparedStatement,
    partial_delete: PreparedStatement,
    minute: PreparedStatement,
    minute_delete: PreparedStatement,
    total: PreparedStatement,
    total_delete: PreparedStatement,
    raw_delete_range: PreparedStatement,
    intent: PreparedStatement,
    intents_select: PreparedStatement,
    intents_delete: PreparedStatement,
    intent_delete_one: PreparedStatement,
    dead_letter: PreparedStatement,
}

/// Writes epochs, repairs, totals and dead letters.
pub struct CassandraSink {
    pub(super) session: Arc<Session>,
    pub(super) keyspace: String,
    st: Statements,
    permits: Arc<Semaphore>,
    /// The cap the permits add up to; changed live by [`CassandraSink::set_concurrency`].
    concurrency: AtomicUsize,
}

fn opt(v: Option<i64>) -> MaybeUnset<i64> {
    match v {
        Some(v) => MaybeUnset::Set(v),
        None => MaybeUnset::Unset,
    }
}

fn sum_min_max(r: &Rollup) -> (MaybeUnset<i64>, MaybeUnset<i64>, MaybeUnset<i64>) {
    (opt(r.sum()), opt(r.min()), opt(r.max()))
}

impl CassandraSink {
    /// Prepares every statement once.
    pub async fn new(
        session: Arc<Session>,
        keyspace: &str,
        concurrency: usize,
    ) -> Result<Self, SinkError> {
        let ks = keyspace;
        let prep = |what: &'static str, cql: String| {
            let session = session.clone();
            async move {
                session
                    .prepare(cql)
                    .await
                    .map_err(|source| SinkError::Prepare {
                        what,
                        source: Box::new(source),
                    })
            }
        };
        let st = Statements {
            raw: prep("events_raw insert", format!(
                "INSERT INTO {ks}.events_raw (partition_id, bucket, offset, franchise_id, event_name, ts, value, epoch) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            partial: prep("rollups_by_partition upsert", format!(
                "INSERT INTO {ks}.rollups_by_partition (partition_id, franchise_id, event_name, count, sum, min, max, epoch) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            partial_delete: prep("rollups_by_partition delete", format!(
                "DELETE FROM {ks}.rollups_by_partition USING TIMESTAMP ? \
                 WHERE partition_id = ? AND franchise_id = ? AND event_name = ?")).await?,
            minute: prep("rollups_by_minute upsert", format!(
                "INSERT INTO {ks}.rollups_by_minute (franchise_id, minute, event_name, partition_id, count, sum, min, max) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            minute_delete: prep("rollups_by_minute delete", format!(
                "DELETE FROM {ks}.rollups_by_minute USING TIMESTAMP ? \
                 WHERE franchise_id = ? AND minute = ? AND event_name = ? AND partition_id = ?")).await?,
            total: prep("rollups_total upsert", format!(
                "INSERT INTO {ks}.rollups_total (franchise_id, event_name, count, sum, min, max, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            total_delete: prep("rollups_total delete", format!(
                "DELETE FROM {ks}.rollups_total USING TIMESTAMP ? \
                 WHERE franchise_id = ? AND event_name = ?")).await?,
            raw_delete_range: prep("events_raw range delete", format!(
                "DELETE FROM {ks}.events_raw USING TIMESTAMP ? \
                 WHERE partition_id = ? AND bucket = ? AND offset >= ? AND offset < ?")).await?,
            intent: prep("epoch_intents insert", format!(
                "INSERT INTO {ks}.epoch_intents (partition_id, epoch, written_at, offset_start, offset_end, keys, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
            intents_select: prep("epoch_intents select", format!(
                "SELECT written_at, keys FROM {ks}.epoch_intents WHERE partition_id = ? AND epoch > ?")).await?,
            intent_delete_one: prep("epoch_intents delete one", format!(
                "DELETE FROM {ks}.epoch_intents WHERE partition_id = ? AND epoch = ? AND written_at = ?")).await?,
            intents_delete: prep("epoch_intents delete", format!(
                "DELETE FROM {ks}.epoch_intents USING TIMESTAMP ? WHERE partition_id = ? AND epoch <= ?")).await?,
            dead_letter: prep("dead_letters insert", format!(
                "INSERT INTO {ks}.dead_letters (partition_id, offset, reason, line_len, line_prefix, seen_at) \
                 VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")).await?,
        };
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

    /// Runs one unlogged batch of `statement`, once per row of `values` (all rows
    /// in one Cassandra partition).
    async fn batch_of<V: scylla::serialize::row::SerializeRow>(
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
            .map_err(|_| SinkError::internal("sink closed"))?;
        let started = std::time::Instant::now();
        let out = f.await;
        metrics::CASSANDRA_WRITE_SECONDS.observe(started.elapsed().as_secs_f64());
        if out.is_err() {
            metrics::CASSANDRA_ERRORS.inc();
        }
        out
    }

    /// Records the epoch's intent, then writes its raw rows, partial rollups,
    /// minute buckets and dead letters.
    pub async fn write_epoch(&self, w: &EpochWrite, raw_rows: bool) -> Result<(), SinkError> {
        let p: &str = &w.partition;
        let s = &*w.sealed;
        let ts = w.timestamp;
        let intent = intent_of(s);
        self.session
            .execute_unpaged(
                &self.st.intent,
                (
                    p,
                    s.epoch as i64,
                    ts,
                    s.offset_start as i64,
                    s.offset_end as i64,
                    intent.encode(),
                    CqlTimestamp(ts / 1000),
                    ts,
                ),
            )
            .await
            .map_err(Self::write_err("epoch intent", p))?;

        let raw = if raw_rows { &s.raw[..] } else { &[][..] };
        let raw_batches = raw_batches(raw).map(|rows| async move {
            let mut values = Vec::with_capacity(rows.len());
            for r in rows {
                let key = &s.touched[r.key as usize].0;
                values.push((
                    p,
                    r.offset as i64 / RAW_BUCKET_SIZE,
                    r.offset as i64,
                    key.franchise_id,
                    &*key.event_name,
                    match r.ts_ms {
                        Some(t) => MaybeUnset::Set(CqlTimestamp(t)),
                        None => MaybeUnset::Unset,
                    },
                    opt(r.value),
                    s.epoch as i64,
                    ts,
                ));
            }
            self.batch_of(&self.st.raw, values, "raw events", p).await
        });
        // Rollup rows go in single-partition batches: one per franchise for the
        // partials, one per (franchise, minute) for the buckets.
        let partial_groups = group_by(s.touched.iter().enumerate(), |(_, (k, _))| k.franchise_id);
        let partials = partial_groups.into_iter().map(|rows| async move {
            let mut values = Vec::with_capacity(rows.len());
            for (_, (key, r)) in rows {
                let (sum, min, max) = sum_min_max(r);
                values.push((
                    p,
                    key.franchise_id,
                    &*key.event_name,
                    r.count,
                    sum,
                    min,
                    max,
                    s.epoch as i64,
                    ts,
                ));
            }
            self.batch_of(&self.st.partial, values, "partial rollups", p)
                .await
        });
        let minute_groups = group_by(s.minutes.iter(), |(idx, minute, _)| {
            (s.touched[*idx as usize].0.franchise_id, *minute)
        });
        let minutes = minute_groups.into_iter().map(|rows| async move {
            let mut values = Vec::with_capacity(rows.len());
            for (idx, minute, r) in rows {
                let key = &s.touched[*idx as usize].0;
                let (sum, min, max) = sum_min_max(r);
                values.push((
                    key.franchise_id,
                    CqlTimestamp(*minute),
                    &*key.event_name,
                    p,
                    r.count,
                    sum,
                    min,
                    max,
                    ts,
                ));
            }
            self.batch_of(&self.st.minute, values, "minute rollups", p)
                .await
        });
        let dead = w.dead_letters.iter().map(|d| async move {
            self.session
                .execute_unpaged(
                    &self.st.dead_letter,
                    (
                        p,
                        d.offset as i64,
                        d.reason,
                        d.len as i64,
                        &d.prefix[..],
                        CqlTimestamp(ts / 1000),
                        ts,
                    ),
                )
                .await
                .map(|_| ())
                .map_err(Self::write_err("dead letters", p))
        });
        let mut all: Vec<BoxFuture<'_, Result<(), SinkError>>> = Vec::new();
        all.extend(raw_batches.map(|f| f.boxed()));
        all.extend(partials.map(|f| f.boxed()));
        all.extend(minutes.map(|f| f.boxed()));
        all.extend(dead.map(|f| f.boxed()));
        self.run_all(all).await?;
        metrics::RAW_ROWS_WRITTEN.inc_by(raw.len() as u64);
        metrics::ROLLUP_ROWS_WRITTEN.inc_by((s.touched.len() + s.minutes.len()) as u64);
        Ok(())
    }

    /// The intents of epochs after `committed` that may have left rows behind.
    pub async fn pending_intents(
        &self,
        partition: &str,
        committed: u64,
    ) -> Result<Vec<Intent>, SinkError> {
        let rows = self
            .session
            .execute_unpaged(&self.st.intents_select, (partition, committed as i64))
            .await
            .map_err(Self::write_err("epoch intents (read)", partition))?
            .into_rows_result()
            .map_err(|e| SinkError::Read {
                what: "epoch intents",
                partition: partition.into(),
                message: e.to_string(),
            })?;
        let mut out = Vec::new();
        for row in rows
            .rows::<(Option<i64>, Vec<u8>)>()
            .map_err(|e| SinkError::Read {
                what: "epoch intents",
                partition: partition.into(),
                message: e.to_string(),
            })?
        {
            let (written_at, bytes) = row.map_err(|e| SinkError::Read {
                what: "epoch intents",
                partition: partition.into(),
                message: e.to_string(),
            })?;
            let mut intent = Intent::decode(&bytes).map_err(|e| SinkError::Decode {
                what: "epoch intent",
                partition: partition.into(),
                message: e.to_string(),
            })?;
            intent.written_at = written_at.unwrap_or(0);
            out.push(intent);
        }
        Ok(out)
    }

    /// Undoes what uncommitted epochs may have written: raw rows past the committed
    /// offset are deleted; every rollup row they touched is rewritten from the
    /// restored state (or deleted if the restored state has no such key/bucket).
    /// `ts` is taken before the partition resumes, so every row the resumed
    /// partition writes wins over the repair, whichever lands first.
    #[allow(clippy::too_many_arguments)]
    pub async fn repair<F, G>(
        &self,
        partition: &str,
        committed_epoch: u64,
        committed_offset: u64,
        intents: &[Intent],
        ts: i64,
        lookup: F,
        lookup_minute: G,
    ) -> Result<usize, SinkError>
    where
        F: Fn(&Key) -> Option<Rollup>,
        G: Fn(&Key, i64) -> Option<Rollup>,
    {
        let p = partition;
        let mut repaired = 0;
        for intent in intents {
            for (bucket, lo, hi) in intent.raw_ranges(committed_offset) {
                self.session
                    .execute_unpaged(&self.st.raw_delete_range, (ts, p, bucket, lo, hi))
                    .await
                    .map_err(Self::write_err("raw repair", p))?;
            }
            let keys: Vec<Key> = intent
                .keys
                .iter()
                .map(|(fid, name)| Key::new(Uuid::from_u128(*fid), name.as_str()))
                .collect();
            let partial_futs = keys.iter().map(|key| {
                let current = lookup(key);
                async move {
                    let res = match current {
                        Some(r) => {
                            let (sum, min, max) = sum_min_max(&r);
                            self.session
                                .execute_unpaged(
                                    &self.st.partial,
                                    (
                                        p,
                                        key.franchise_id,
                                        &*key.event_name,
                                        r.count,
                                        sum,
                                        min,
                                        max,
                                        committed_epoch as i64,
                                        ts,
                                    ),
                                )
                                .await
                        }
                        None => {
                            self.session
                                .execute_unpaged(
                                    &self.st.partial_delete,
                                    (ts, p, key.franchise_id, &*key.event_name),
                                )
                                .await
                        }
                    };
                    res.map(|_| ()).map_err(Self::write_err("rollup repair", p))
                }
            });
            self.run_all(partial_futs.map(|f| f.boxed()).collect())
                .await?;
            let minute_futs = intent.minutes.iter().filter_map(|(idx, minute)| {
                let key = keys.get(*idx as usize)?;
                let current = lookup_minute(key, *minute);
                Some(async move {
                    let res = match current {
                        Some(r) => {
                            let (sum, min, max) = sum_min_max(&r);
                            self.session
                                .execute_unpaged(
                                    &self.st.minute,
                                    (
                                        key.franchise_id,
                                        CqlTimestamp(*minute),
                                        &*key.event_name,
                                        p,
                                        r.count,
                                        sum,
                                        min,
                                        max,
                                        ts,
                                    ),
                                )
                                .await
                        }
                        None => {
                            self.session
                                .execute_unpaged(
                                    &self.st.minute_delete,
                                    (
                                        ts,
                                        key.franchise_id,
                                        CqlTimestamp(*minute),
                                        &*key.event_name,
                                        p,
                                    ),
                                )
                                .await
                        }
                    };
                    res.map(|_| ()).map_err(Self::write_err("minute repair", p))
                })
            });
            self.run_all(minute_futs.map(|f| f.boxed()).collect())
                .await?;
            repaired += keys.len();
        }
        Ok(repaired)
    }

    /// Forgets intents that were repaired (each attempt by its own row).
    pub async fn forget_repaired(
        &self,
        partition: &str,
        intents: &[Intent],
    ) -> Result<(), SinkError> {
        for i in intents {
            self.session
                .execute_unpaged(
                    &self.st.intent_delete_one,
                    (partition, i.epoch as i64, i.written_at),
                )
                .await
                .map_err(Self::write_err(
                    "epoch intents (forget repaired)",
                    partition,
                ))?;
        }
        Ok(())
    }

    /// Forgets intents up to `epoch` (their epochs are committed).
    pub async fn forget_intents(&self, partition: &str, epoch: u64) -> Result<(), SinkError> {
        self.session
            .execute_unpaged(
                &self.st.intents_delete,
                (super::write_timestamp(), partition, epoch as i64),
            )
            .await
            .map(|_| ())
            .map_err(Self::write_err("epoch intents (forget)", partition))
    }

    /// Writes totals (absolute values) for the given keys; a key without a total
    /// (no partition has counted it any more) loses its row.
    pub async fn write_totals(&self, rows: &[(Key, Option<Rollup>)]) -> Result<(), SinkError> {
        let ts = super::write_timestamp();
        let deletes = rows.iter().filter(|(_, r)| r.is_none()).map(|(key, _)| {
            async move {
                self.session
                    .execute_unpaged(
                        &self.st.total_delete,
                        (ts, key.franchise_id, &*key.event_name),
                    )
                    .await
                    .map(|_| ())
                    .map_err(Self::write_err("totals (delete)", "*"))
            }
            .boxed()
        });
        let present = rows.iter().filter_map(|(k, r)| r.as_ref().map(|r| (k, r)));
        let groups = group_by(present, |(k, _)| k.franchise_id);
        let futs = groups.into_iter().map(|group| async move {
            let mut values = Vec::with_capacity(group.len());
            for (key, r) in group {
                let (sum, min, max) = sum_min_max(r);
                values.push((
                    key.franchise_id,
                    &*key.event_name,
                    r.count,
                    sum,
                    min,
                    max,
                    CqlTimestamp(ts / 1000),
                    ts,
                ));
            }
            self.batch_of(&self.st.total, values, "totals", "*").await
        });
        let mut all: Vec<BoxFuture<'_, Result<(), SinkError>>> = deletes.collect();
        all.extend(futs.map(|f| f.boxed()));
        self.run_all(all).await?;
        metrics::TOTAL_ROWS_WRITTEN.inc_by(rows.len() as u64);
        Ok(())
    }
}

/// The intent of a sealed epoch: its offsets, keys and minute buckets.
pub fn intent_of(s: &SealedEpoch) -> Intent {
    Intent {
        epoch: s.epoch,
        offset_start: s.offset_start,
        offset_end: s.offset_end,
        keys: s
            .touched
            .iter()
            .map(|(k, _)| (k.franchise_id.as_u128(), k.event_name.to_string()))
            .collect(),
        minutes: s.minutes.iter().map(|(i, m, _)| (*i, *m)).collect(),
        written_at: 0,
    }
}

/// Cuts raw rows into batches that each stay inside one `events_raw` partition.
fn raw_batches(raw: &[crate::core::RawRow]) -> impl Iterator<Item = &[crate::core::RawRow]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let bucket = rest[0].offset as i64 / RAW_BUCKET_SIZE;
        let mut n = 1;
        while n < rest.len()
            && n < RAW_BATCH_ROWS
            && rest[n].offset as i64 / RAW_BUCKET_SIZE == bucket
        {
            n += 1;
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    })
}

/// Rows per single-partition rollup batch.
const ROLLUP_BATCH_ROWS: usize = 64;

/// Groups items by a Cassandra partition key, in chunks of at most
/// `ROLLUP_BATCH_ROWS`, keeping first-seen order.
fn group_by<T, K: std::hash::Hash + Eq>(
    items: impl Iterator<Item = T>,
    key: impl Fn(&T) -> K,
) -> Vec<Vec<T>> {
    let mut index: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut groups: Vec<Vec<T>> = Vec::new();
    for item in items {
        let k = key(&item);
        let slot = match index.get(&k) {
            Some(&i) if groups[i].len() < ROLLUP_BATCH_ROWS => i,
            _ => {
                groups.push(Vec::new());
                index.insert(k, groups.len() - 1);
                groups.len() - 1
            }
        };
        groups[slot].push(item);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_keys_together_and_cap_their_size() {
        let items: Vec<(u8, u32)> = (0..200).map(|i| ((i % 2) as u8, i)).collect();
        let groups = group_by(items.iter(), |(k, _)| *k);
        assert_eq!(groups.len(), 4);
        assert!(groups.iter().all(|g| g.len() <= ROLLUP_BATCH_ROWS));
        assert!(groups.iter().all(|g| g.iter().all(|(k, _)| *k == g[0].0)));
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 200);
    }
}

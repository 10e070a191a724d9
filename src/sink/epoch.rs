//! Writing one sealed epoch: its intent first, then its raw rows, partial
//! rollups, minute buckets and dead letters, in single-partition batches.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use scylla::value::{CqlTimestamp, MaybeUnset};

use super::cassandra::{opt, sum_min_max};
use super::{CassandraSink, SinkError};
use crate::core::{raw_bucket, Intent, RawRow, SealedEpoch};
use crate::metrics;

/// Raw rows per single-partition unlogged batch.
const RAW_BATCH_ROWS: usize = 32;
/// Rows per single-partition rollup batch.
const ROLLUP_BATCH_ROWS: usize = 64;

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

impl CassandraSink {
    /// Records the epoch's intent, then writes its raw rows, partial rollups,
    /// minute buckets and dead letters.
    pub async fn write_epoch(&self, w: &EpochWrite, raw_rows: bool) -> Result<(), SinkError> {
        let p: &str = &w.partition;
        let s = &*w.sealed;
        let ts = w.timestamp;
        let epoch = s.epoch as i64;
        let intent = Intent::of(s).encode();
        let (start, end) = (s.offset_start as i64, s.offset_end as i64);
        let created = CqlTimestamp(ts / 1000);
        let values = (p, epoch, ts, start, end, intent, created, ts);
        self.exec(&self.st.intent, values, "epoch intent", p)
            .await?;

        let raw = if raw_rows { &s.raw[..] } else { &[][..] };
        let raw_batches = raw_batches(raw).map(|rows| async move {
            let mut values = Vec::with_capacity(rows.len());
            for r in rows {
                let key = &s.touched[r.key as usize].0;
                let at = match r.ts_ms {
                    Some(t) => MaybeUnset::Set(CqlTimestamp(t)),
                    None => MaybeUnset::Unset,
                };
                let (bucket, offset) = (raw_bucket(r.offset), r.offset as i64);
                let name = &*key.event_name;
                values.push((
                    p,
                    bucket,
                    offset,
                    key.franchise_id,
                    name,
                    at,
                    opt(r.value),
                    epoch,
                    ts,
                ));
            }
            self.batch_of(&self.st.raw, values, "raw events", p).await
        });
        // Rollup rows go in single-partition batches: one per franchise for the
        // partials, one per (franchise, minute) for the buckets.
        let partial_groups = group_by(s.touched.iter(), |(k, _)| k.franchise_id);
        let partials = partial_groups.into_iter().map(|rows| async move {
            let mut values = Vec::with_capacity(rows.len());
            for (key, r) in rows {
                let (sum, min, max) = sum_min_max(r);
                let name = &*key.event_name;
                values.push((p, key.franchise_id, name, r.count, sum, min, max, epoch, ts));
            }
            let what = "partial rollups";
            self.batch_of(&self.st.partial, values, what, p).await
        });
        let minute_groups = group_by(s.minutes.iter(), |(idx, minute, _)| {
            (s.touched[*idx as usize].0.franchise_id, *minute)
        });
        let minutes = minute_groups.into_iter().map(|rows| async move {
            let mut values = Vec::with_capacity(rows.len());
            for (idx, minute, r) in rows {
                let key = &s.touched[*idx as usize].0;
                let (sum, min, max) = sum_min_max(r);
                let (fid, name) = (key.franchise_id, &*key.event_name);
                values.push((
                    fid,
                    CqlTimestamp(*minute),
                    name,
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
            let (offset, len) = (d.offset as i64, d.len as i64);
            let values = (p, offset, d.reason, len, &d.prefix[..], created, ts);
            self.exec(&self.st.dead_letter, values, "dead letters", p)
                .await
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
}

/// Cuts raw rows into batches that each stay inside one `events_raw` partition.
fn raw_batches(raw: &[RawRow]) -> impl Iterator<Item = &[RawRow]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let bucket = raw_bucket(rest[0].offset);
        let mut n = 1;
        while n < rest.len() && n < RAW_BATCH_ROWS && raw_bucket(rest[n].offset) == bucket {
            n += 1;
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    })
}

/// Groups items by a Cassandra partition key, in chunks of at most
/// `ROLLUP_BATCH_ROWS`, keeping first-seen order.
pub(super) fn group_by<T, K: std::hash::Hash + Eq>(
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

    #[test]
    fn raw_batches_stay_in_one_bucket_and_cap_their_size() {
        let row = |offset| RawRow {
            offset,
            key: 0,
            ts_ms: None,
            value: None,
            minute_ms: 0,
        };
        let rows: Vec<RawRow> = (99_950..100_050).map(row).collect();
        let sizes: Vec<usize> = raw_batches(&rows).map(|b| b.len()).collect();
        assert_eq!(sizes, [32, 18, 32, 18]);
        assert!(raw_batches(&rows)
            .all(|b| raw_bucket(b[0].offset) == raw_bucket(b[b.len() - 1].offset)));
    }
}

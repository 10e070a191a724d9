//! A partition's reset, on the Cassandra side: every row it ever wrote — raw
//! events, partial and minute rollups, intents, dead letters — is deleted with a
//! write timestamp newer than any of them, so that nothing of its old stream is
//! left and whatever it writes after the reset wins.
//!
//! The rows are found by scanning (`SELECT DISTINCT` over partition keys, a
//! filtered scan of `rollups_by_minute`), not from the checkpoints: a reset must
//! also clear what an uncommitted epoch or an evicted minute bucket left. A reset is
//! rare and asked for by an operator; its cost grows with the tables, not the rate.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use scylla::statement::unprepared::Statement;
use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::statements::prepare;
use super::{CassandraSink, SinkError};
use crate::core::Key;

fn scan(cql: String) -> Statement {
    let mut s = Statement::new(cql);
    s.set_request_timeout(Some(Duration::from_secs(120)));
    s.set_page_size(5000);
    s
}

impl CassandraSink {
    /// Deletes every row of `partition`; returns the keys it had partials for, whose
    /// totals must be recomputed without it.
    pub async fn purge_partition(&self, partition: &str) -> Result<Vec<Key>, SinkError> {
        let ks = &self.keyspace;
        let p = partition;
        let ts = super::write_timestamp();
        let read_err = |what: &'static str| {
            move |e: &dyn std::fmt::Display| SinkError::Read {
                what,
                partition: p.to_string(),
                message: e.to_string(),
            }
        };

        for (what, table) in [
            ("epoch intents (reset)", "epoch_intents"),
            ("dead letters (reset)", "dead_letters"),
        ] {
            self.session
                .query_unpaged(
                    format!("DELETE FROM {ks}.{table} USING TIMESTAMP ? WHERE partition_id = ?"),
                    (ts, p),
                )
                .await
                .map_err(Self::write_err(what, p))?;
        }

        let err = read_err("events_raw partitions");
        let buckets: Vec<i64> = self
            .session
            .query_iter(
                scan(format!(
                    "SELECT DISTINCT partition_id, bucket FROM {ks}.events_raw"
                )),
                (),
            )
            .await
            .map_err(|e| err(&e))?
            .rows_stream::<(String, i64)>()
            .map_err(|e| err(&e))?
            .try_filter_map(|(id, bucket)| async move { Ok((id == p).then_some(bucket)) })
            .try_collect()
            .await
            .map_err(|e| err(&e))?;

        let err = read_err("rollups_by_partition partitions");
        let franchises: Vec<Uuid> = self
            .session
            .query_iter(
                scan(format!(
                    "SELECT DISTINCT partition_id, franchise_id FROM {ks}.rollups_by_partition"
                )),
                (),
            )
            .await
            .map_err(|e| err(&e))?
            .rows_stream::<(String, Uuid)>()
            .map_err(|e| err(&e))?
            .try_filter_map(|(id, f)| async move { Ok((id == p).then_some(f)) })
            .try_collect()
            .await
            .map_err(|e| err(&e))?;
        let mut keys = Vec::new();
        let err = read_err("partial rollups");
        for f in &franchises {
            let names: Vec<(String,)> = self
                .session
                .query_iter(
                    scan(format!(
                        "SELECT event_name FROM {ks}.rollups_by_partition \
                         WHERE partition_id = ? AND franchise_id = ?"
                    )),
                    (p, *f),
                )
                .await
                .map_err(|e| err(&e))?
                .rows_stream::<(String,)>()
                .map_err(|e| err(&e))?
                .try_collect()
                .await
                .map_err(|e| err(&e))?;
            keys.extend(names.into_iter().map(|(n,)| Key::new(*f, n.as_str())));
        }

        let err = read_err("minute rollups");
        let minutes: Vec<(Uuid, CqlTimestamp, String)> = self
            .session
            .query_iter(
                scan(format!(
                    "SELECT franchise_id, minute, event_name FROM {ks}.rollups_by_minute \
                     WHERE partition_id = ? ALLOW FILTERING"
                )),
                (p,),
            )
            .await
            .map_err(|e| err(&e))?
            .rows_stream::<(Uuid, CqlTimestamp, String)>()
            .map_err(|e| err(&e))?
            .try_collect()
            .await
            .map_err(|e| err(&e))?;

        let session = &*self.session;
        let raw = prepare(
            session,
            "events_raw reset",
            format!(
                "DELETE FROM {ks}.events_raw USING TIMESTAMP ? WHERE partition_id = ? AND bucket = ?"
            ),
        )
        .await?;
        let partials = prepare(
            session,
            "rollups_by_partition reset",
            format!(
                "DELETE FROM {ks}.rollups_by_partition USING TIMESTAMP ? \
                 WHERE partition_id = ? AND franchise_id = ?"
            ),
        )
        .await?;
        let minute = prepare(
            session,
            "rollups_by_minute reset",
            format!(
                "DELETE FROM {ks}.rollups_by_minute USING TIMESTAMP ? \
                 WHERE franchise_id = ? AND minute = ? AND event_name = ? AND partition_id = ?"
            ),
        )
        .await?;
        let (raw, partials, minute) = (&raw, &partials, &minute);
        let mut deletes: Vec<BoxFuture<'_, Result<(), SinkError>>> = Vec::new();
        deletes.extend(
            buckets
                .iter()
                .map(|b| self.exec(raw, (ts, p, *b), "raw events (reset)", p).boxed()),
        );
        deletes.extend(franchises.iter().map(|f| {
            self.exec(partials, (ts, p, *f), "partial rollups (reset)", p)
                .boxed()
        }));
        deletes.extend(minutes.iter().map(|(f, m, name)| {
            let values = (ts, *f, *m, name.as_str(), p);
            self.exec(minute, values, "minute rollups (reset)", p)
                .boxed()
        }));
        self.run_all(deletes).await?;
        tracing::info!(
            partition = p,
            raw_buckets = buckets.len(),
            keys = keys.len(),
            minute_rows = minutes.len(),
            "partition's rows deleted"
        );
        Ok(keys)
    }
}

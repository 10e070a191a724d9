//! Cluster mode's totals. A process holds the partials of its own partitions
//! only, so a total is recomputed from every partition's partial as stored in
//! `rollups_by_partition` (single-partition reads of the dirty names, per
//! franchise and partition of the job) and written with `USING TIMESTAMP` the sum
//! of the write times of the partials it was computed from. Every partial's write time only grows, so a
//! recomputation that saw newer partials always carries the larger timestamp and
//! wins, whichever lands last; two that saw the same partials write the same row.
//! (The newest partial's time alone would tie when two members commit the same
//! key at once.)

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::cassandra::opt;
use super::{CassandraSink, SinkError};
use crate::core::Key;
use crate::metrics;

/// A total as summed from partials, with the sum of their write times.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SharedTotal {
    pub count: i64,
    pub sum: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub version: i64,
}

impl SharedTotal {
    /// Adds one partition's partial, written at `written`.
    pub fn add(
        &mut self,
        count: i64,
        sum: Option<i64>,
        min: Option<i64>,
        max: Option<i64>,
        written: i64,
    ) {
        self.count = self.count.wrapping_add(count);
        self.sum = match (self.sum, sum) {
            (Some(a), Some(b)) => Some(a.wrapping_add(b)),
            (a, b) => a.or(b),
        };
        self.min = match (self.min, min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.version = self.version.wrapping_add(written);
    }
}

type PartialRow = (
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Franchises read at once.
const FRANCHISES_IN_FLIGHT: usize = 8;
/// Event names per read: a read costs what its names cost, not what the
/// franchise holds (millions of names with unbounded keys).
const NAMES_PER_READ: usize = 100;

impl CassandraSink {
    /// The partials of one franchise's `names` in every partition of `job`, summed.
    async fn shared_totals_of(
        &self,
        job: &[String],
        franchise: Uuid,
        names: HashSet<String>,
    ) -> Result<(Uuid, HashMap<String, SharedTotal>), SinkError> {
        let mut out: HashMap<String, SharedTotal> = HashMap::new();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for p in job {
            let read_err = |e: &dyn std::fmt::Display| SinkError::Read {
                what: "partials for totals",
                partition: p.clone(),
                message: e.to_string(),
            };
            for chunk in names.chunks(NAMES_PER_READ) {
                let rows = self
                    .session
                    .execute_unpaged(&self.st.partials_select, (p.as_str(), franchise, chunk))
                    .await
                    .map_err(Self::write_err("partials for totals (read)", p))?
                    .into_rows_result()
                    .map_err(|e| read_err(&e))?;
                for row in rows.rows::<PartialRow>().map_err(|e| read_err(&e))? {
                    let (name, count, sum, min, max, written) = row.map_err(|e| read_err(&e))?;
                    let total = out.entry(name).or_default();
                    total.add(count.unwrap_or(0), sum, min, max, written.unwrap_or(0));
                }
            }
        }
        Ok((franchise, out))
    }

    /// Recomputes and writes the totals of `keys` from every partition's partial.
    /// A key no partition has a partial of keeps its row: no timestamp a delete
    /// could carry orders it after a later recomputation.
    pub async fn write_shared_totals(&self, job: &[String], keys: &[Key]) -> Result<(), SinkError> {
        let mut by_franchise: HashMap<Uuid, HashSet<String>> = HashMap::new();
        for k in keys {
            by_franchise
                .entry(k.franchise_id)
                .or_default()
                .insert(k.event_name.to_string());
        }
        let mut stream = futures::stream::iter(by_franchise)
            .map(|(f, names)| self.shared_totals_of(job, f, names))
            .buffer_unordered(FRANCHISES_IN_FLIGHT);
        let mut writes: Vec<BoxFuture<'_, Result<(), SinkError>>> = Vec::new();
        let mut rows = 0u64;
        let updated = CqlTimestamp(super::write_timestamp() / 1000);
        while let Some(res) = stream.next().await {
            let (f, totals) = res?;
            rows += totals.len() as u64;
            let values: Vec<_> = totals
                .into_iter()
                .map(|(name, t)| {
                    (
                        f,
                        name,
                        t.count,
                        opt(t.sum),
                        opt(t.min),
                        opt(t.max),
                        updated,
                        t.version,
                    )
                })
                .collect();
            for chunk in values.chunks(64) {
                let chunk = chunk.to_vec();
                writes.push(
                    async move { self.batch_of(&self.st.total, chunk, "totals", "*").await }
                        .boxed(),
                );
            }
        }
        drop(stream);
        self.run_all(writes).await?;
        metrics::TOTAL_ROWS_WRITTEN.inc_by(rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_partials_always_carry_a_larger_version() {
        let mut older = SharedTotal::default();
        older.add(3, None, None, None, 100);
        older.add(2, None, None, None, 100);
        let mut newer = SharedTotal::default();
        newer.add(3, None, None, None, 100);
        newer.add(4, None, None, None, 101);
        assert!(newer.version > older.version);
        assert_eq!((older.count, newer.count), (5, 7));
        let mut values = SharedTotal::default();
        values.add(1, Some(5), Some(5), Some(5), 1);
        values.add(1, Some(-2), Some(-2), Some(-2), 1);
        values.add(1, None, None, None, 1);
        assert_eq!(
            (values.sum, values.min, values.max, values.count),
            (Some(3), Some(-2), Some(5), 3)
        );
    }
}

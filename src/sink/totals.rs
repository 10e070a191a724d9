//! Writing totals to `rollups_total`: absolute values, one batch per franchise.

use futures::future::BoxFuture;
use futures::FutureExt;
use scylla::value::CqlTimestamp;

use super::cassandra::sum_min_max;
use super::epoch::group_by;
use super::{CassandraSink, SinkError};
use crate::core::{Key, Rollup};
use crate::metrics;

impl CassandraSink {
    /// Writes totals (absolute values) for the given keys; a key without a total
    /// (no partition has counted it any more) loses its row.
    pub async fn write_totals(&self, rows: &[(Key, Option<Rollup>)]) -> Result<(), SinkError> {
        let ts = super::write_timestamp();
        let deletes = rows.iter().filter(|(_, r)| r.is_none()).map(|(key, _)| {
            let values = (ts, key.franchise_id, &*key.event_name);
            self.exec(&self.st.total_delete, values, "totals (delete)", "*")
                .boxed()
        });
        let present = rows.iter().filter_map(|(k, r)| r.as_ref().map(|r| (k, r)));
        let groups = group_by(present, |(k, _)| k.franchise_id);
        let updated = CqlTimestamp(ts / 1000);
        let batches = groups.into_iter().map(|group| async move {
            let mut values = Vec::with_capacity(group.len());
            for (key, r) in group {
                let (sum, min, max) = sum_min_max(r);
                let (fid, name) = (key.franchise_id, &*key.event_name);
                values.push((fid, name, r.count, sum, min, max, updated, ts));
            }
            self.batch_of(&self.st.total, values, "totals", "*").await
        });
        let mut all: Vec<BoxFuture<'_, Result<(), SinkError>>> = deletes.collect();
        all.extend(batches.map(|f| f.boxed()));
        self.run_all(all).await?;
        metrics::TOTAL_ROWS_WRITTEN.inc_by(rows.len() as u64);
        Ok(())
    }
}

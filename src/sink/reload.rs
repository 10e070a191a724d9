//! Reading back committed rows: a partition's partials and minute buckets of keys
//! it evicted, and totals of keys the merger no longer holds. Single-row reads by
//! primary key, many at once (capped like writes).

use futures::stream::{self, StreamExt, TryStreamExt};
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::{CassandraSink, SinkError};
use crate::core::{Key, Reload, Reloaded, Rollup, ValueStats};

/// Reads in flight at once per call.
const READS_IN_FLIGHT: usize = 64;

/// A rollup row's value columns.
type Columns = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// The rollup of a row. The number of values is not stored: a row with values
/// is taken as every record having had one (it is never written nor shown).
pub fn rollup_of((count, sum, min, max): Columns) -> Rollup {
    let count = count.unwrap_or(0);
    let values = match (sum, min, max) {
        (Some(sum), Some(min), Some(max)) => Some(ValueStats {
            count,
            sum,
            min,
            max,
        }),
        _ => None,
    };
    Rollup { count, values }
}

impl CassandraSink {
    async fn read_one(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
        what: &'static str,
        partition: &str,
    ) -> Result<Option<Rollup>, SinkError> {
        let read_err = |e: &dyn std::fmt::Display| SinkError::Read {
            what,
            partition: partition.into(),
            message: e.to_string(),
        };
        let rows = self
            .session
            .execute_unpaged(statement, values)
            .await
            .map_err(|e| read_err(&e))?
            .into_rows_result()
            .map_err(|e| read_err(&e))?;
        let row = rows
            .maybe_first_row::<Columns>()
            .map_err(|e| read_err(&e))?;
        Ok(row.map(rollup_of))
    }

    /// The committed partials and buckets `reloads` ask for, of `partition`.
    pub async fn reload(
        &self,
        partition: &str,
        reloads: Vec<Reload>,
    ) -> Result<Vec<Reloaded>, SinkError> {
        // A key's partial and bucket are read at once: the partition waits for
        // the slower of the two, not their sum.
        let one = |r: Reload| async move {
            let (fid, name) = (r.key.franchise_id, &*r.key.event_name);
            let partial = async {
                if !r.partial {
                    return Ok(None);
                }
                let values = (partition, fid, name);
                let what = "rollups_by_partition (reload)";
                let row = self.read_one(&self.st.partial_select, values, what, partition);
                Ok::<_, SinkError>(Some(row.await?))
            };
            let bucket = async {
                let Some(minute) = r.minute else {
                    return Ok(None);
                };
                let values = (fid, CqlTimestamp(minute), name, partition);
                let what = "rollups_by_minute (reload)";
                let row = self.read_one(&self.st.minute_select, values, what, partition);
                Ok::<_, SinkError>(Some((minute, row.await?)))
            };
            let (partial, bucket) = futures::try_join!(partial, bucket)?;
            Ok::<_, SinkError>(Reloaded {
                key: r.key,
                partial,
                bucket,
            })
        };
        stream::iter(reloads)
            .map(one)
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect()
            .await
    }

    /// The stored total of one key.
    pub async fn read_total(&self, key: &Key) -> Result<Option<Rollup>, SinkError> {
        let values = (key.franchise_id, &*key.event_name);
        self.read_one(&self.st.total_select, values, "rollups_total (read)", "*")
            .await
    }

    /// The stored totals of one franchise, by event name.
    pub async fn read_franchise_totals(
        &self,
        franchise_id: Uuid,
    ) -> Result<Vec<(String, Rollup)>, SinkError> {
        let read_err = |e: &dyn std::fmt::Display| SinkError::Read {
            what: "rollups_total (franchise)",
            partition: "*".into(),
            message: e.to_string(),
        };
        let rows = self
            .session
            .execute_iter(self.st.franchise_totals_select.clone(), (franchise_id,))
            .await
            .map_err(|e| read_err(&e))?
            .rows_stream::<(String, Option<i64>, Option<i64>, Option<i64>, Option<i64>)>()
            .map_err(|e| read_err(&e))?;
        rows.map_ok(|(name, count, sum, min, max)| (name, rollup_of((count, sum, min, max))))
            .try_collect()
            .await
            .map_err(|e| read_err(&e))
    }

    /// The committed partial of one key in each of `partitions`.
    pub async fn read_partials(
        &self,
        key: &Key,
        partitions: &[(u16, std::sync::Arc<str>)],
    ) -> Result<Vec<(u16, Rollup)>, SinkError> {
        let one = |(index, id): &(u16, std::sync::Arc<str>)| {
            let (index, id) = (*index, id.clone());
            async move {
                let values = (&*id, key.franchise_id, &*key.event_name);
                let what = "rollups_by_partition (total)";
                let row = self
                    .read_one(&self.st.partial_select, values, what, &id)
                    .await?;
                Ok::<_, SinkError>(row.map(|r| (index, r)))
            }
        };
        let rows: Vec<Option<(u16, Rollup)>> = stream::iter(partitions)
            .map(one)
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(rows.into_iter().flatten().collect())
    }
}

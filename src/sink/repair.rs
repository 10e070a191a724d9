//! The Cassandra side of a restore: reading the intents of epochs that never
//! committed, executing the [`RepairPlan`] computed from them, and forgetting
//! intents once repaired or committed.

use futures::FutureExt;
use scylla::value::CqlTimestamp;

use super::cassandra::sum_min_max;
use super::{CassandraSink, SinkError};
use crate::core::{Intent, RepairPlan};

impl CassandraSink {
    /// The intents of epochs after `committed` that may have left rows behind.
    pub async fn pending_intents(
        &self,
        partition: &str,
        committed: u64,
    ) -> Result<Vec<Intent>, SinkError> {
        let read_err = |e: &dyn std::fmt::Display| SinkError::Read {
            what: "epoch intents",
            partition: partition.into(),
            message: e.to_string(),
        };
        let rows = self
            .session
            .execute_unpaged(&self.st.intents_select, (partition, committed as i64))
            .await
            .map_err(Self::write_err("epoch intents (read)", partition))?
            .into_rows_result()
            .map_err(|e| read_err(&e))?;
        let mut out = Vec::new();
        for row in rows
            .rows::<(Option<i64>, Vec<u8>)>()
            .map_err(|e| read_err(&e))?
        {
            let (written_at, bytes) = row.map_err(|e| read_err(&e))?;
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

    /// Executes a repair plan: raw rows first, then every rollup row set to its
    /// committed value or deleted. `ts` is taken before the partition resumes, so
    /// every row the resumed partition writes wins over the repair, whichever
    /// lands first; partials carry `committed_epoch`.
    pub async fn repair(
        &self,
        partition: &str,
        committed_epoch: u64,
        plan: &RepairPlan,
        ts: i64,
    ) -> Result<(), SinkError> {
        let p = partition;
        for r in &plan.raw {
            let values = (ts, p, r.bucket, r.start, r.end);
            self.exec(&self.st.raw_delete_range, values, "raw repair", p)
                .await?;
        }
        let epoch = committed_epoch as i64;
        let keys = plan.keys.iter().map(|(key, value)| {
            let (fid, name) = (key.franchise_id, &*key.event_name);
            async move {
                match value {
                    Some(r) => {
                        let (sum, min, max) = sum_min_max(r);
                        let values = (p, fid, name, r.count, sum, min, max, epoch, ts);
                        self.exec(&self.st.partial, values, "rollup repair", p)
                            .await
                    }
                    None => {
                        let values = (ts, p, fid, name);
                        let st = &self.st.partial_delete;
                        self.exec(st, values, "rollup repair", p).await
                    }
                }
            }
            .boxed()
        });
        self.run_all(keys.collect()).await?;
        let minutes = plan.minutes.iter().map(|(key, minute, value)| {
            let (fid, name, at) = (key.franchise_id, &*key.event_name, CqlTimestamp(*minute));
            async move {
                match value {
                    Some(r) => {
                        let (sum, min, max) = sum_min_max(r);
                        let values = (fid, at, name, p, r.count, sum, min, max, ts);
                        self.exec(&self.st.minute, values, "minute repair", p).await
                    }
                    None => {
                        let values = (ts, fid, at, name, p);
                        let st = &self.st.minute_delete;
                        self.exec(st, values, "minute repair", p).await
                    }
                }
            }
            .boxed()
        });
        self.run_all(minutes.collect()).await
    }

    /// Forgets intents that were repaired (each attempt by its own row).
    pub async fn forget_repaired(
        &self,
        partition: &str,
        intents: &[Intent],
    ) -> Result<(), SinkError> {
        let what = "epoch intents (forget repaired)";
        for i in intents {
            let values = (partition, i.epoch as i64, i.written_at);
            self.exec(&self.st.intent_delete_one, values, what, partition)
                .await?;
        }
        Ok(())
    }

    /// Forgets intents up to `epoch` (their epochs are committed).
    pub async fn forget_intents(&self, partition: &str, epoch: u64) -> Result<(), SinkError> {
        let values = (super::write_timestamp(), partition, epoch as i64);
        let what = "epoch intents (forget)";
        self.exec(&self.st.intents_delete, values, what, partition)
            .await
    }
}

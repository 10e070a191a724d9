//! The `leases` and `cluster_members` tables. Every change of a lease row is a
//! lightweight transaction at the configured serial consistency, conditional on
//! the fencing token: acquiring bumps the token, renewing, releasing and
//! committing succeed only while it is unchanged. Membership rows are plain
//! writes with a TTL.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::response::query_result::QueryResult;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::{CqlTimestamp, CqlValue, Row};

use super::ClusterError;
use crate::config::SerialConsistencyName;
use crate::metrics;

/// One partition's lease row as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub partition: String,
    /// The live owner; `None` once its TTL ran out or it was released.
    pub owner: Option<String>,
    /// The fencing token: bumped by every acquisition, never expires.
    pub token: i64,
    /// The last epoch committed under a token, and its offset.
    pub committed_epoch: i64,
    pub committed_offset: i64,
    /// The committed offset at which its source ended, once it did.
    pub finished_offset: Option<i64>,
    /// When the current token was taken (ms since the Unix epoch).
    pub acquired_at: Option<i64>,
}

/// One live member as read from its heartbeat row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub node_id: String,
    /// Its admin API address, as it was configured.
    pub admin: Option<String>,
    pub started_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
}

/// What a conditional statement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    Applied,
    /// The condition did not hold: the token (or the owner) changed.
    Refused,
}

type LeaseTuple = (
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<CqlTimestamp>,
);

pub struct LeaseStore {
    pub(super) session: Arc<Session>,
    ensure: PreparedStatement,
    select: PreparedStatement,
    select_serial: PreparedStatement,
    take_owner: PreparedStatement,
    take_token: PreparedStatement,
    renew: PreparedStatement,
    release: PreparedStatement,
    commit: PreparedStatement,
    finish: PreparedStatement,
    pub(super) heartbeat: PreparedStatement,
    pub(super) members: PreparedStatement,
    pub(super) leave: PreparedStatement,
}

pub(super) fn err(what: &'static str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Store {
        what,
        message: e.to_string(),
    }
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(super) fn ttl_secs(ttl: Duration) -> i32 {
    // TTLs are whole seconds: round up so a lease never ends before `ttl`.
    i32::try_from(ttl.as_millis().div_ceil(1000)).unwrap_or(i32::MAX)
}

/// Whether a conditional statement applied: the first column of its one row.
fn applied(what: &'static str, result: QueryResult) -> Result<Cas, ClusterError> {
    let rows = result.into_rows_result().map_err(|e| err(what, e))?;
    let row: Row = rows.first_row().map_err(|e| err(what, e))?;
    match row.columns.first() {
        Some(Some(CqlValue::Boolean(true))) => Ok(Cas::Applied),
        Some(Some(CqlValue::Boolean(false))) => Ok(Cas::Refused),
        _ => Err(err(what, "no [applied] column in the answer")),
    }
}

impl LeaseStore {
    pub async fn new(
        session: Arc<Session>,
        keyspace: &str,
        serial: SerialConsistencyName,
    ) -> Result<Self, ClusterError> {
        let ks = keyspace;
        let prep = |cql: String| {
            let session = session.clone();
            async move {
                session
                    .prepare(cql)
                    .await
                    .map_err(|e| err("preparing lease statements", e))
            }
        };
        let cols = "partition_id, owner, fencing, committed_epoch, committed_offset, finished_offset, acquired_at";
        let mut select_serial = prep(format!(
            "SELECT {cols} FROM {ks}.leases WHERE partition_id = ?"
        ))
        .await?;
        // A read at SERIAL sees every accepted Paxos round, finishing any left open.
        select_serial.set_consistency(match serial {
            SerialConsistencyName::Serial => Consistency::Serial,
            SerialConsistencyName::LocalSerial => Consistency::LocalSerial,
        });
        Ok(LeaseStore {
            ensure: prep(format!(
                "INSERT INTO {ks}.leases (partition_id, fencing, committed_epoch, committed_offset) \
                 VALUES (?, 0, 0, 0) IF NOT EXISTS"
            ))
            .await?,
            select: prep(format!("SELECT {cols} FROM {ks}.leases")).await?,
            select_serial,
            take_owner: prep(format!(
                "UPDATE {ks}.leases USING TTL ? SET owner = ? WHERE partition_id = ? \
                 IF fencing = ? AND committed_epoch = ? AND owner = ?"
            ))
            .await?,
            take_token: prep(format!(
                "UPDATE {ks}.leases SET fencing = ?, acquired_at = ? WHERE partition_id = ?"
            ))
            .await?,
            renew: prep(format!(
                "UPDATE {ks}.leases USING TTL ? SET owner = ? WHERE partition_id = ? \
                 IF fencing = ? AND owner = ?"
            ))
            .await?,
            release: prep(format!(
                "UPDATE {ks}.leases SET owner = null WHERE partition_id = ? IF fencing = ?"
            ))
            .await?,
            commit: prep(format!(
                "UPDATE {ks}.leases SET committed_epoch = ?, committed_offset = ? \
                 WHERE partition_id = ? IF fencing = ?"
            ))
            .await?,
            finish: prep(format!(
                "UPDATE {ks}.leases SET finished_offset = ? WHERE partition_id = ? IF fencing = ?"
            ))
            .await?,
            heartbeat: prep(format!(
                "INSERT INTO {ks}.cluster_members (node_id, admin, started_at, heartbeat_at) \
                 VALUES (?, ?, ?, ?) USING TTL ?"
            ))
            .await?,
            members: prep(format!(
                "SELECT node_id, admin, started_at, heartbeat_at FROM {ks}.cluster_members"
            ))
            .await?,
            leave: prep(format!(
                "DELETE FROM {ks}.cluster_members WHERE node_id = ?"
            ))
            .await?,
            session,
        })
    }

    /// Creates the lease row of each partition that has none (token 0).
    pub async fn ensure_rows(&self, partitions: &[String]) -> Result<(), ClusterError> {
        for p in partitions {
            self.session
                .execute_unpaged(&self.ensure, (p.as_str(),))
                .await
                .map_err(|e| err("creating lease rows", e))?;
        }
        Ok(())
    }

    fn row(t: LeaseTuple) -> LeaseRow {
        LeaseRow {
            partition: t.0,
            owner: t.1,
            token: t.2.unwrap_or(0),
            committed_epoch: t.3.unwrap_or(0),
            committed_offset: t.4.unwrap_or(0),
            finished_offset: t.5,
            acquired_at: t.6.map(|ts| ts.0),
        }
    }

    /// Every lease row (the table holds one row per partition of the job).
    pub async fn leases(&self) -> Result<Vec<LeaseRow>, ClusterError> {
        let what = "reading leases";
        let pager = self
            .session
            .execute_iter(self.select.clone(), ())
            .await
            .map_err(|e| err(what, e))?;
        let rows: Vec<LeaseTuple> = pager
            .rows_stream::<LeaseTuple>()
            .map_err(|e| err(what, e))?
            .try_collect()
            .await
            .map_err(|e| err(what, e))?;
        Ok(rows.into_iter().map(Self::row).collect())
    }

    /// One lease row read at the serial consistency.
    pub async fn lease(&self, partition: &str) -> Result<Option<LeaseRow>, ClusterError> {
        let what = "reading a lease";
        let rows = self
            .session
            .execute_unpaged(&self.select_serial, (partition,))
            .await
            .map_err(|e| err(what, e))?
            .into_rows_result()
            .map_err(|e| err(what, e))?;
        let row = rows
            .maybe_first_row::<LeaseTuple>()
            .map_err(|e| err(what, e))?;
        Ok(row.map(Self::row))
    }

    /// Takes the lease `seen` describes, if it is still as seen: free (or held by
    /// `node` itself, after an answer that was lost), same token, same commit.
    /// The new owner is written with the TTL, the bumped token without one.
    pub async fn acquire(
        &self,
        seen: &LeaseRow,
        node: &str,
        ttl: Duration,
    ) -> Result<Cas, ClusterError> {
        let mut batch = Batch::new(BatchType::Logged);
        batch.append_statement(self.take_owner.clone());
        batch.append_statement(self.take_token.clone());
        let p = seen.partition.as_str();
        let owner = seen.owner.as_deref();
        let values = (
            (
                ttl_secs(ttl),
                node,
                p,
                seen.token,
                seen.committed_epoch,
                owner,
            ),
            (seen.token + 1, CqlTimestamp(now_ms()), p),
        );
        let started = std::time::Instant::now();
        let result = self.session.batch(&batch, values).await;
        metrics::record_lease_op("acquire", started);
        let result = result.map_err(|e| err("acquiring a lease", e))?;
        applied("acquiring a lease", result)
    }

    /// Extends the lease while it is still `node`'s under `token`: a lease that
    /// expired or was released is not revived (its partition restores again).
    pub async fn renew(
        &self,
        partition: &str,
        node: &str,
        token: i64,
        ttl: Duration,
    ) -> Result<Cas, ClusterError> {
        let started = std::time::Instant::now();
        let result = self
            .session
            .execute_unpaged(&self.renew, (ttl_secs(ttl), node, partition, token, node))
            .await;
        metrics::record_lease_op("renew", started);
        let result = result.map_err(|e| err("renewing a lease", e))?;
        applied("renewing a lease", result)
    }

    /// Gives the lease up (the token stays, for the next owner to bump).
    pub async fn release(&self, partition: &str, token: i64) -> Result<Cas, ClusterError> {
        let started = std::time::Instant::now();
        let result = self
            .session
            .execute_unpaged(&self.release, (partition, token))
            .await;
        metrics::record_lease_op("release", started);
        let result = result.map_err(|e| err("releasing a lease", e))?;
        applied("releasing a lease", result)
    }

    /// The commit point of an epoch: the pointer moves only under `token`.
    pub async fn commit(
        &self,
        partition: &str,
        token: i64,
        epoch: u64,
        offset: u64,
    ) -> Result<Cas, ClusterError> {
        let values = (epoch as i64, offset as i64, partition, token);
        let started = std::time::Instant::now();
        let result = self.session.execute_unpaged(&self.commit, values).await;
        metrics::record_lease_op("commit", started);
        let result = result.map_err(|e| err("committing an epoch", e))?;
        applied("committing an epoch", result)
    }

    /// Records that the partition's source ended at `offset`, all of it committed.
    pub async fn finish(
        &self,
        partition: &str,
        token: i64,
        offset: u64,
    ) -> Result<Cas, ClusterError> {
        let result = self
            .session
            .execute_unpaged(&self.finish, (offset as i64, partition, token))
            .await
            .map_err(|e| err("recording a finished partition", e))?;
        applied("recording a finished partition", result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_up_to_whole_seconds() {
        assert_eq!(ttl_secs(Duration::from_millis(1500)), 2);
        assert_eq!(ttl_secs(Duration::from_secs(10)), 10);
        assert_eq!(ttl_secs(Duration::from_millis(1)), 1);
    }
}

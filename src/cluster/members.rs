//! The membership table, `cluster_members`: one heartbeat row per live member,
//! written with a TTL of `lease_ttl`, so a member that stops writing it is gone
//! from the list within one lease's life.

use std::time::Duration;

use futures::TryStreamExt;
use scylla::value::CqlTimestamp;

use super::store::{err, now_ms, ttl_secs, LeaseStore, Member};
use super::ClusterError;

impl LeaseStore {
    /// This member's heartbeat, alive for `ttl`.
    pub async fn heartbeat(
        &self,
        node: &str,
        admin: Option<&str>,
        started_at: i64,
        ttl: Duration,
    ) -> Result<(), ClusterError> {
        let values = (
            node,
            admin,
            CqlTimestamp(started_at),
            CqlTimestamp(now_ms()),
            ttl_secs(ttl),
        );
        self.session
            .execute_unpaged(&self.heartbeat, values)
            .await
            .map_err(|e| err("writing the heartbeat", e))?;
        Ok(())
    }

    /// The live members (their heartbeat rows have not expired).
    pub async fn members(&self) -> Result<Vec<Member>, ClusterError> {
        let what = "reading members";
        type M = (
            String,
            Option<String>,
            Option<CqlTimestamp>,
            Option<CqlTimestamp>,
        );
        let pager = self
            .session
            .execute_iter(self.members.clone(), ())
            .await
            .map_err(|e| err(what, e))?;
        let rows: Vec<M> = pager
            .rows_stream::<M>()
            .map_err(|e| err(what, e))?
            .try_collect()
            .await
            .map_err(|e| err(what, e))?;
        Ok(rows
            .into_iter()
            .map(|(node_id, admin, started, beat)| Member {
                node_id,
                admin,
                started_at: started.map(|t| t.0),
                heartbeat_at: beat.map(|t| t.0),
            })
            .collect())
    }

    /// Leaves the membership at once (a graceful stop).
    pub async fn leave(&self, node: &str) -> Result<(), ClusterError> {
        self.session
            .execute_unpaged(&self.leave, (node,))
            .await
            .map_err(|e| err("leaving the membership", e))?;
        Ok(())
    }
}

//! What `GET /cluster` answers: the live members with their heartbeats and the
//! partitions each owns, and every lease of the job with its fencing token and
//! committed position.

use serde::Serialize;
use utoipa::ToSchema;

use super::coordinator::Cluster;
use super::store::{LeaseRow, Member};

/// `GET /cluster`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterView {
    /// The member answering.
    #[schema(example = "host-a-4242")]
    pub node_id: String,
    pub lease_ttl_ms: u64,
    pub renew_every_ms: u64,
    /// Partitions of the job divided by live members, rounded up.
    pub fair_share: u64,
    pub members: Vec<MemberView>,
    pub partitions: Vec<LeaseView>,
}

/// One live member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub node_id: String,
    /// Its admin API address, as configured.
    pub admin: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: Option<i64>,
    pub last_heartbeat_ms: Option<i64>,
    /// The partitions whose lease it holds.
    pub partitions: Vec<String>,
}

/// One partition's lease.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaseView {
    pub partition: String,
    /// The member holding the lease; none when it expired or was released.
    pub owner: Option<String>,
    /// The fencing token: grows with every acquisition, never expires.
    pub token: i64,
    /// The last epoch committed (under a token) and the offset it reached.
    pub committed_epoch: i64,
    pub committed_offset: i64,
    /// Whether its source ended with everything committed.
    pub finished: bool,
    /// When the current token was taken, in milliseconds since the Unix epoch.
    pub acquired_at_ms: Option<i64>,
}

impl ClusterView {
    pub(super) fn new(cluster: &Cluster, members: Vec<Member>, leases: Vec<LeaseRow>) -> Self {
        let mut partitions: Vec<LeaseView> = leases
            .into_iter()
            .filter(|l| cluster.job.contains(&l.partition))
            .map(|l| LeaseView {
                partition: l.partition,
                owner: l.owner,
                token: l.token,
                committed_epoch: l.committed_epoch,
                committed_offset: l.committed_offset,
                finished: l.finished_offset == Some(l.committed_offset),
                acquired_at_ms: l.acquired_at,
            })
            .collect();
        partitions.sort_by(|a, b| a.partition.cmp(&b.partition));
        let mut members: Vec<MemberView> = members
            .into_iter()
            .map(|m| MemberView {
                partitions: partitions
                    .iter()
                    .filter(|l| l.owner.as_deref() == Some(m.node_id.as_str()))
                    .map(|l| l.partition.clone())
                    .collect(),
                node_id: m.node_id,
                admin: m.admin,
                started_at_ms: m.started_at,
                last_heartbeat_ms: m.heartbeat_at,
            })
            .collect();
        members.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        ClusterView {
            node_id: cluster.node.clone(),
            lease_ttl_ms: cluster.ttl.as_millis() as u64,
            renew_every_ms: cluster.renew.as_millis() as u64,
            fair_share: super::fair_share(cluster.job.len(), members.len()) as u64,
            members,
            partitions,
        }
    }
}

//! Cluster mode: several processes share one job's partitions. Each partition is
//! owned through a lease row taken and renewed by lightweight transactions; its
//! fencing token grows with every acquisition and an epoch commits only under
//! the current token, so a process that lost a lease can never commit again.
//!
//! - `store`: the `leases` table; `members`: the `cluster_members` heartbeats.
//! - `fence`: a partition's lease as its actor sees it (token, validity).
//! - `share`: fair shares and which partitions to take or hand over (pure).
//! - `coordinator`: the round that heartbeats, takes and hands over, and the
//!   renewals beside it; `schedule`: their fixed cadence.
//! - `handover`: handing a partition over, leaving, recording finished partitions.
//! - `view`: what `GET /cluster` answers.
//! - `error`: what a cluster step failed at.

mod coordinator;
mod error;
mod fence;
mod handover;
mod members;
mod schedule;
mod share;
mod store;
mod view;

pub use coordinator::{Cluster, ClusterView, LeaseView, MemberView};
pub use error::ClusterError;
pub use fence::Fence;
pub use share::{fair_share, plan, Plan};
pub use store::{Cas, LeaseRow, LeaseStore, Member};

//! Answer bodies of the read-only views the console polls beside
//! `/partitions`: the top keys, the throughput history, actor restarts and
//! the verify panel of a demo run.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::model::RollupView;
use super::rates::Throughput;

/// `GET /keys/top`: the keys with the largest committed totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopKeys {
    /// Keys with a total in memory.
    pub keys: usize,
    /// Sum of the counts of every key.
    pub count: i64,
    /// At most `limit` keys, largest count first (ties by franchise, then event name).
    pub top: Vec<RollupView>,
}

/// `GET /throughput`: lines in and committed per second over all partitions,
/// one sample a second, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThroughputHistory {
    pub interval_seconds: u64,
    pub samples: Vec<Throughput>,
}

/// Restarts of one kind of actor.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorRestarts {
    /// `partition` (all partitions), `sink`, `checkpoint` or `merger`.
    #[schema(example = "sink")]
    pub actor: String,
    pub restarts: u64,
    /// Restarts by cause: `killed` for every kind; `connection` and `restore`
    /// for partitions.
    pub restarts_by_cause: BTreeMap<String, u64>,
}

/// `GET /actors`: restarts by actor kind, as counted by `ssa_actor_restarts_total`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorList {
    pub actors: Vec<ActorRestarts>,
}

/// Where a demo run stands against the generator's ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    /// No ground truth: not `ssa demo` with a finite `--cycles` range.
    Unavailable,
    /// The expected totals are being computed.
    Computing,
    /// Not everything is committed yet, and nothing committed is wrong.
    Running,
    /// Every event is committed and every total equals the ground truth.
    Exact,
    /// A committed total, a key or the committed count is wrong.
    Differs,
}

/// `GET /verify`: the committed totals in memory against the ground truth.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    pub status: VerifyStatus,
    /// What the status means for this run, in one sentence.
    pub message: String,
    /// The demo's cycle range, e.g. `0..1000000`.
    pub cycles: Option<String>,
    /// Events the range holds.
    pub expected_events: Option<u64>,
    /// Events committed by every partition (their committed offsets).
    pub committed_events: u64,
    /// Keys the range holds.
    pub expected_keys: Option<u64>,
    /// Keys with a committed total.
    pub keys: u64,
    /// Keys whose committed total equals the ground truth.
    pub matching_keys: u64,
    /// The first differences, when the status is `differs`.
    pub differences: Vec<String>,
}

//! The JSON bodies of the admin API (requests and answers), with their OpenAPI
//! schemas. A partition is shown as the same [`PartitionSnapshot`] that
//! `ssa demo`'s status line and the tests read; its mode, format and state are
//! the domain types themselves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::json_int;
use crate::actors::partition::PartitionSnapshot;
use crate::actors::supervision::ChaosTarget;
use crate::config::{PartitionConfig, SourceMode};
use crate::core::Rollup;
use crate::format::Format;

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
}

/// `GET /ready` when ready (otherwise a 503 `not_ready` error naming what is not).
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `reachable`, or `not used` with `--sink none` and a local checkpoint store.
    pub cassandra: &'static str,
    pub partitions: usize,
}

/// `GET /partitions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionList {
    pub partitions: Vec<PartitionSnapshot>,
}

/// `POST /partitions`: a new source connection, consumed by a new partition actor.
/// Each field is checked alone (400 naming it), then the combinations (422 naming
/// the field): `index` must be below `count`, and a `listen://` source must be
/// `shared`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPartition {
    /// Stable id; a removed partition added again under its id resumes from its
    /// checkpoints.
    #[schema(example = "p4", pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    /// `tcp://host:port` to connect to, or `listen://host:port` for pushing
    /// producers; host: a DNS name, an IPv4 address or a bracketed IPv6 address.
    #[schema(
        example = "tcp://127.0.0.1:7000",
        pattern = "^(tcp|listen)://([A-Za-z0-9._-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]):(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
    )]
    pub source: String,
    /// Default `replayable`; a `listen://` source must be `shared`.
    #[serde(default)]
    pub mode: Option<SourceMode>,
    /// Default `seed`.
    #[serde(default)]
    pub format: Option<Format>,
    /// Replayable: this partition's index among `count` (`SUBSCRIBE index count
    /// offset`), below `count`; default 0.
    #[serde(default, deserialize_with = "json_int::optional")]
    #[schema(minimum = 0, maximum = 999999)]
    pub index: Option<u32>,
    /// Default 1.
    #[serde(default, deserialize_with = "json_int::optional")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub count: Option<u32>,
}

/// Query of `POST /partitions`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AddOptions {
    /// `true`: start the partition over from offset 0 under the identity of this
    /// request, deleting its checkpoints, intents, rows and dead letters and taking
    /// its counts out of the totals. Needed to re-add an id with another source
    /// kind, mode, format, index or count.
    pub reset: Option<bool>,
}

impl NewPartition {
    pub fn into_config(self) -> PartitionConfig {
        PartitionConfig {
            id: self.id,
            source: self.source,
            mode: self.mode.unwrap_or(SourceMode::Replayable),
            format: self.format.unwrap_or_default(),
            index: self.index.unwrap_or(0),
            count: self.count.unwrap_or(1),
        }
    }
}

/// What a fault-injection call killed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Killed {
    /// `partition`, `sink` or `checkpoint`.
    #[schema(example = "partition")]
    pub killed: &'static str,
    /// The partition id, for a partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[schema(example = "partition p0 killed; its supervisor restarts it from its last checkpoint")]
    pub message: String,
}

/// A partition that was removed, as it was when it left.
#[derive(Debug, Serialize, ToSchema)]
pub struct Removed {
    pub removed: PartitionSnapshot,
}

/// `POST /chaos`: kill a random actor of `targets` every `interval_ms`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaosRequest {
    /// Milliseconds between kills.
    #[serde(deserialize_with = "json_int::required")]
    #[schema(example = 500, minimum = 10, maximum = 3600000)]
    pub interval_ms: u64,
    /// Default: all of partition, sink, checkpoint.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub targets: Option<Vec<ChaosTarget>>,
    /// Seed of the choice of victims (same seed, same sequence of choices);
    /// default: taken from the clock and reported back.
    #[serde(default, deserialize_with = "json_int::optional")]
    #[schema(minimum = 0, maximum = 18446744073709551615_u64)]
    pub seed: Option<u64>,
}

/// Chaos mode's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChaosStatus {
    pub running: bool,
    pub interval_ms: u64,
    pub targets: Vec<ChaosTarget>,
    pub seed: u64,
    /// Kills so far, by target kind.
    pub kills: BTreeMap<String, u64>,
    /// The latest kill, e.g. `partition p2`.
    pub last_kill: Option<String>,
}

/// One key's current total.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollupView {
    pub franchise_id: Uuid,
    pub event_name: String,
    pub count: i64,
    /// Sum, min and max of the values (csv/json events that carry one).
    pub sum: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl RollupView {
    pub fn new(franchise_id: Uuid, event_name: &str, r: &Rollup) -> Self {
        RollupView {
            franchise_id,
            event_name: event_name.to_string(),
            count: r.count,
            sum: r.sum(),
            min: r.min(),
            max: r.max(),
        }
    }
}

/// `GET /rollups/{franchise_id}`: every key of one franchise, by event name.
#[derive(Debug, Serialize, ToSchema)]
pub struct FranchiseRollups {
    pub franchise_id: Uuid,
    /// Keys of this franchise held in memory.
    pub keys: usize,
    /// Sum of the counts of those keys.
    pub count: i64,
    /// At most `limit` keys, sorted by event name.
    pub rollups: Vec<RollupView>,
    /// Whether keys were left out because of `limit`.
    pub truncated: bool,
}

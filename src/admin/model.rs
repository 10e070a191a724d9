//! The JSON bodies of the admin API (requests and answers), with their OpenAPI
//! schemas. Partition views are built from the same [`PartitionSnapshot`] that
//! `ssa demo`'s status line and the tests read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::json_int;
use crate::actors::stats::{PartitionSnapshot, PartitionState};
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

/// Lifecycle of a partition actor.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateView {
    Starting,
    Running,
    Backpressured,
    Restarting,
    Finished,
    Stopped,
}

impl From<PartitionState> for StateView {
    fn from(s: PartitionState) -> Self {
        match s {
            PartitionState::Starting => StateView::Starting,
            PartitionState::Running => StateView::Running,
            PartitionState::Backpressured => StateView::Backpressured,
            PartitionState::Restarting => StateView::Restarting,
            PartitionState::Finished => StateView::Finished,
            PartitionState::Stopped => StateView::Stopped,
        }
    }
}

/// How a partition reads its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModeView {
    Replayable,
    Shared,
}

/// Line format of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FormatView {
    Seed,
    Csv,
    Json,
}

impl From<SourceMode> for ModeView {
    fn from(m: SourceMode) -> Self {
        match m {
            SourceMode::Replayable => ModeView::Replayable,
            SourceMode::Shared => ModeView::Shared,
        }
    }
}

impl From<ModeView> for SourceMode {
    fn from(m: ModeView) -> Self {
        match m {
            ModeView::Replayable => SourceMode::Replayable,
            ModeView::Shared => SourceMode::Shared,
        }
    }
}

impl From<Format> for FormatView {
    fn from(f: Format) -> Self {
        match f {
            Format::Seed => FormatView::Seed,
            Format::Csv => FormatView::Csv,
            Format::Json => FormatView::Json,
        }
    }
}

impl From<FormatView> for Format {
    fn from(f: FormatView) -> Self {
        match f {
            FormatView::Seed => Format::Seed,
            FormatView::Csv => Format::Csv,
            FormatView::Json => Format::Json,
        }
    }
}

/// One partition: its source and what its actor is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionView {
    #[schema(example = "p0")]
    pub id: String,
    #[schema(example = "tcp://127.0.0.1:7000")]
    pub source: String,
    pub mode: ModeView,
    pub format: FormatView,
    pub state: StateView,
    /// Lines taken from the source (the next offset to read).
    pub offset: u64,
    /// Lines per second taken from the source, over the last second.
    pub events_per_second: f64,
    /// Lines per second committed, over the last second.
    pub committed_per_second: f64,
    /// Lines the source still holds for this partition, when known.
    pub lag: Option<u64>,
    pub committed_offset: u64,
    /// The last committed epoch (0 before the first commit).
    pub last_committed_epoch: u64,
    /// Sealed epochs not yet committed.
    pub uncommitted_epochs: u64,
    /// Seconds the partition stopped reading because too many epochs were
    /// uncommitted (added when each stretch of backpressure ends).
    pub backpressure_seconds: f64,
    /// Lines taken from the source since the process started (bad ones included).
    pub events_in: u64,
    /// Bad lines skipped since the process started (dead-lettered, see `reason`s in
    /// `ssa_malformed_lines_total`).
    pub bad_lines: u64,
    /// Events of uncommitted epochs lost on restart (shared sources only).
    pub lost_events: u64,
    pub restarts: u64,
    /// Restarts by cause: killed, connection, restore.
    pub restarts_by_cause: BTreeMap<String, u64>,
}

impl PartitionView {
    pub fn new(config: &PartitionConfig, s: PartitionSnapshot, rates: (f64, f64)) -> Self {
        PartitionView {
            id: s.id,
            source: s.source,
            mode: config.mode.into(),
            format: config.format.into(),
            state: s.state.into(),
            offset: s.offset,
            events_per_second: rates.0,
            committed_per_second: rates.1,
            lag: s.lag,
            committed_offset: s.committed_offset,
            last_committed_epoch: s.committed_epoch,
            uncommitted_epochs: s.uncommitted_epochs,
            backpressure_seconds: (s.backpressure_seconds * 1000.0).round() / 1000.0,
            events_in: s.events_in,
            bad_lines: s.bad_lines,
            lost_events: s.lost_events,
            restarts: s.restarts,
            restarts_by_cause: s
                .restarts_by_cause
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

/// `GET /partitions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionList {
    pub partitions: Vec<PartitionView>,
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
    pub mode: Option<ModeView>,
    /// Default `seed`.
    #[serde(default)]
    pub format: Option<FormatView>,
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
            mode: self.mode.map(Into::into).unwrap_or(SourceMode::Replayable),
            format: self.format.map(Into::into).unwrap_or_default(),
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
    pub removed: PartitionView,
}

/// An actor kind chaos mode may kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChaosTarget {
    Partition,
    Sink,
    Checkpoint,
}

impl ChaosTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            ChaosTarget::Partition => "partition",
            ChaosTarget::Sink => "sink",
            ChaosTarget::Checkpoint => "checkpoint",
        }
    }
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

/// `PATCH /config`: any of the knobs that can change while running.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    /// Epoch seal interval, 10ms to 1h, as a whole number (no leading zero) of
    /// `ms`, `s`, `m` or `h` (`"250ms"`, `"2s"`, `"1m"`); the pattern says exactly
    /// that, and a unit test holds it to the parser.
    #[schema(
        example = "250ms",
        pattern = "^(([1-9][0-9]|[1-9][0-9]{2,5}|[12][0-9]{6}|3[0-5][0-9]{5}|3600000)ms|([1-9][0-9]{0,2}|[12][0-9]{3}|3[0-5][0-9]{2}|3600)s|([1-9]|[1-5][0-9]|60)m|1h)$"
    )]
    pub flush_interval: Option<String>,
    /// Events after which an epoch is sealed early.
    #[schema(minimum = 1, maximum = 100000000)]
    pub max_epoch_events: Option<u64>,
    /// Uncommitted epochs per partition before it stops reading.
    #[schema(minimum = 1, maximum = 1024)]
    pub max_inflight_epochs: Option<u32>,
    /// Cassandra writes in flight over all partitions.
    #[schema(minimum = 1, maximum = 4096)]
    pub sink_concurrency: Option<u32>,
}

/// The live values of the knobs `PATCH /config` can change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tunables {
    #[schema(example = "500ms")]
    pub flush_interval: String,
    pub max_epoch_events: u64,
    pub max_inflight_epochs: u32,
    pub sink_concurrency: u32,
}

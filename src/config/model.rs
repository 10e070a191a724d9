//! The configuration model. Every field has a named default; `config/default.toml`
//! documents each key with the same values (a unit test keeps the two in step).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::format::Format;

/// The whole configuration of one `ssa` process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub cassandra: CassandraConfig,
    pub processor: ProcessorConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
    pub cluster: ClusterConfig,
    /// Sources to consume; one partition actor each.
    pub partitions: Vec<PartitionConfig>,
}

/// How to reach and use the Cassandra / DSE cluster.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CassandraConfig {
    pub contact_points: Vec<String>,
    pub keyspace: String,
    pub replication_class: ReplicationClass,
    pub replication_factor: u32,
    /// Per-datacenter replication factors, used with `NetworkTopologyStrategy`.
    pub datacenters: BTreeMap<String, u32>,
    pub consistency: ConsistencyName,
    /// Consistency of the Paxos round of lightweight transactions (`IF` conditions).
    pub serial_consistency: SerialConsistencyName,
    pub username: String,
    pub password: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    pub tls: TlsConfig,
}

// Hand-written so the password never reaches a log line through `{:?}`.
impl std::fmt::Debug for CassandraConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CassandraConfig")
            .field("contact_points", &self.contact_points)
            .field("keyspace", &self.keyspace)
            .field("replication_class", &self.replication_class)
            .field("replication_factor", &self.replication_factor)
            .field("datacenters", &self.datacenters)
            .field("consistency", &self.consistency)
            .field("serial_consistency", &self.serial_consistency)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

pub(crate) fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() {
        ""
    } else {
        "<redacted>"
    }
}

impl Default for CassandraConfig {
    fn default() -> Self {
        CassandraConfig {
            contact_points: vec![DEFAULT_CONTACT_POINT.to_string()],
            keyspace: DEFAULT_KEYSPACE.to_string(),
            replication_class: ReplicationClass::SimpleStrategy,
            replication_factor: 1,
            datacenters: BTreeMap::new(),
            consistency: ConsistencyName::LocalQuorum,
            serial_consistency: SerialConsistencyName::Serial,
            username: String::new(),
            password: String::new(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            tls: TlsConfig::default(),
        }
    }
}

pub const DEFAULT_CONTACT_POINT: &str = "127.0.0.1:9042";
pub const DEFAULT_KEYSPACE: &str = "ssa";

/// Keyspace replication strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicationClass {
    SimpleStrategy,
    NetworkTopologyStrategy,
}

/// Consistency level for reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsistencyName {
    One,
    Two,
    Three,
    Quorum,
    All,
    LocalOne,
    LocalQuorum,
    EachQuorum,
}

/// Serial consistency of lightweight transactions: a Paxos quorum of all replicas
/// (`serial`) or of the local datacenter's (`local_serial`). Read in any case, as CQL
/// writes them `SERIAL` and `LOCAL_SERIAL`; anything else, a plain consistency level
/// included, is refused naming both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialConsistencyName {
    Serial,
    LocalSerial,
}

impl<'de> Deserialize<'de> for SerialConsistencyName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.to_ascii_lowercase().as_str() {
            "serial" => Ok(SerialConsistencyName::Serial),
            "local_serial" => Ok(SerialConsistencyName::LocalSerial),
            _ => Err(serde::de::Error::custom(format!(
                "`{}` is not a serial consistency: lightweight transactions take `serial` or `local_serial`",
                name.escape_debug()
            ))),
        }
    }
}

/// TLS towards the cluster (rustls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub enabled: bool,
    /// PEM file of the CA(s) that signed the nodes' certificates.
    pub ca_file: String,
    /// PEM client certificate and key, for mutual TLS (both or neither).
    pub cert_file: String,
    pub key_file: String,
}

/// Where the processor writes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// Raw events and rollups go to Cassandra.
    Cassandra,
    /// Nothing is written (for measuring ingest alone).
    None,
}

/// Where checkpoints are persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointStoreKind {
    Cassandra,
    Local,
}

/// Epochs, backpressure, checkpoints and bad input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorConfig {
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    pub max_epoch_events: u64,
    pub max_inflight_epochs: u32,
    pub max_line_bytes: usize,
    pub sink: SinkKind,
    pub sink_concurrency: u32,
    pub raw_events: bool,
    pub checkpoint_store: CheckpointStoreKind,
    pub checkpoint_dir: String,
    pub checkpoint_compact_every: u32,
    pub checkpoint_keep: u32,
    pub checkpoint_chunk_bytes: usize,
    pub dead_letters_per_partition: u64,
    #[serde(with = "humantime_serde")]
    pub minute_horizon: Duration,
    #[serde(with = "humantime_serde")]
    pub restart_backoff_min: Duration,
    #[serde(with = "humantime_serde")]
    pub restart_backoff_max: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_backoff_max: Duration,
    /// Most partitions the process runs at once (configured plus added).
    pub max_partitions: u32,
    /// A `listen://` producer that sends nothing for this long is cut, so that the
    /// next one can connect.
    #[serde(with = "humantime_serde")]
    pub listen_idle_timeout: Duration,
    /// Whether a `listen://` source may bind a non-loopback address.
    pub allow_remote_producers: bool,
    /// Budget of resident state over all partitions and the merger; idle keys
    /// past it are evicted to Cassandra and reloaded when they return.
    pub state_memory_limit: super::StateMemoryLimit,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            flush_interval: Duration::from_millis(500),
            max_epoch_events: 100_000,
            max_inflight_epochs: 4,
            max_line_bytes: 4096,
            sink: SinkKind::Cassandra,
            sink_concurrency: 128,
            raw_events: true,
            checkpoint_store: CheckpointStoreKind::Cassandra,
            checkpoint_dir: "checkpoints".to_string(),
            checkpoint_compact_every: 32,
            checkpoint_keep: 3,
            checkpoint_chunk_bytes: 512 * 1024,
            dead_letters_per_partition: 10_000,
            minute_horizon: Duration::from_secs(3600),
            restart_backoff_min: Duration::from_millis(5),
            restart_backoff_max: Duration::from_secs(5),
            retry_backoff_max: Duration::from_secs(2),
            max_partitions: 1024,
            listen_idle_timeout: Duration::from_secs(30),
            allow_remote_producers: false,
            state_memory_limit: super::StateMemoryLimit::default(),
        }
    }
}

/// The admin REST API and `/metrics`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    pub enabled: bool,
    pub listen: String,
    /// Bearer token for mutating calls; `SSA_ADMIN_TOKEN` overrides it.
    pub token: String,
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("token", &redacted(&self.token))
            .finish()
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: true,
            listen: "127.0.0.1:8080".to_string(),
            token: String::new(),
        }
    }
}

/// Several processes sharing one job's partitions through leases in Cassandra.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub enabled: bool,
    /// This process's name among the members; empty = `<hostname>-<pid>`.
    pub node_id: String,
    /// A lease not renewed for this long expires and another process may take it.
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
    /// How often leases and the membership heartbeat are renewed; unset = lease_ttl / 3.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub renew_every: Option<Duration>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            enabled: false,
            node_id: String::new(),
            lease_ttl: Duration::from_secs(10),
            renew_every: None,
        }
    }
}

impl ClusterConfig {
    /// The renew period: as configured, else a third of the lease's life.
    pub fn renew_period(&self) -> Duration {
        self.renew_every.unwrap_or(self.lease_ttl / 3)
    }

    /// The configured node id, or `<hostname>-<pid>`.
    pub fn node_name(&self) -> String {
        if !self.node_id.is_empty() {
            return self.node_id.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "ssa".to_string());
        let host: String = host
            .chars()
            .map(
                |c| match c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    true => c,
                    false => '_',
                },
            )
            .take(40)
            .collect();
        format!("{host}-{}", std::process::id())
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `ssa=debug,scylla=warn`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_string(),
        }
    }
}

/// How a partition reads its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ModeView)]
pub enum SourceMode {
    /// `SUBSCRIBE p P offset` to an `ssa gen --mode partitioned` server: exactly-once.
    Replayable,
    /// Plain line stream (any `tcpserver`-like source): at-most-once on failure.
    Shared,
}

/// One source connection, consumed by one partition actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    /// Stable identifier; offsets and checkpoints are kept under it.
    pub id: String,
    /// `tcp://host:port` to connect to, or `listen://host:port` to accept one producer.
    pub source: String,
    #[serde(default = "default_mode")]
    pub mode: SourceMode,
    #[serde(default)]
    pub format: Format,
    /// Replayable only: this partition's index `p` among `count` (`SUBSCRIBE p count offset`).
    #[serde(default)]
    pub index: u32,
    #[serde(default = "default_count")]
    pub count: u32,
}

fn default_mode() -> SourceMode {
    SourceMode::Replayable
}

fn default_count() -> u32 {
    1
}

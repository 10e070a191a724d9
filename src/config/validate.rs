//! One validation pass over a loaded configuration; every error names its key.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Config, ConfigError, PartitionConfig, ReplicationClass, SourceMode};

/// A source address parsed from `tcp://host:port` or `listen://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceAddr {
    Connect(String),
    Listen(String),
}

impl SourceAddr {
    /// Parses a partition's `source` value.
    pub fn parse(value: &str) -> Result<SourceAddr, String> {
        let (scheme, rest) = value
            .split_once("://")
            .ok_or_else(|| format!("`{value}` is not `tcp://host:port` or `listen://host:port`"))?;
        check_host_port(rest)?;
        match scheme {
            "tcp" => Ok(SourceAddr::Connect(rest.to_string())),
            "listen" => Ok(SourceAddr::Listen(rest.to_string())),
            other => Err(format!(
                "unknown scheme `{other}` (expected `tcp` or `listen`)"
            )),
        }
    }
}

/// Checks `host:port` syntax (host may be a name; the port must be a number).
pub fn check_host_port(value: &str) -> Result<(), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("`{value}` is not `host:port`"))?;
    if host.is_empty() {
        return Err(format!("`{value}` has no host"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("`{value}` has no valid port"))?;
    Ok(())
}

/// Whether `name` is a valid unquoted CQL keyspace name.
pub fn is_valid_keyspace(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn range<T: PartialOrd + std::fmt::Debug>(
    key: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::invalid(
            key,
            format!("{value:?} is out of range {min:?}..={max:?}"),
        ));
    }
    Ok(())
}

impl Config {
    /// Checks every value that serde's types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.cassandra;
        if c.contact_points.is_empty() {
            return Err(ConfigError::invalid(
                "cassandra.contact_points",
                "at least one host:port is needed",
            ));
        }
        for point in &c.contact_points {
            check_host_port(point)
                .map_err(|m| ConfigError::invalid("cassandra.contact_points", m))?;
        }
        if !is_valid_keyspace(&c.keyspace) {
            return Err(ConfigError::invalid(
                "cassandra.keyspace",
                format!(
                    "`{}` is not a valid keyspace name (letter first, then letters, digits, _; at most 48)",
                    c.keyspace
                ),
            ));
        }
        range("cassandra.replication_factor", c.replication_factor, 1, 32)?;
        if c.replication_class == ReplicationClass::NetworkTopologyStrategy
            && c.datacenters.is_empty()
        {
            return Err(ConfigError::invalid(
                "cassandra.datacenters",
                "NetworkTopologyStrategy needs at least one datacenter = factor",
            ));
        }
        for (dc, factor) in &c.datacenters {
            range(&format!("cassandra.datacenters.{dc}"), *factor, 1, 32)?;
        }
        if c.username.is_empty() != c.password.is_empty() {
            return Err(ConfigError::invalid(
                "cassandra.username",
                "username and password go together",
            ));
        }
        range(
            "cassandra.connect_timeout",
            c.connect_timeout,
            Duration::from_millis(10),
            Duration::from_secs(600),
        )?;
        range(
            "cassandra.request_timeout",
            c.request_timeout,
            Duration::from_millis(10),
            Duration::from_secs(600),
        )?;
        if c.tls.cert_file.is_empty() != c.tls.key_file.is_empty() {
            return Err(ConfigError::invalid(
                "cassandra.tls.cert_file",
                "cert_file and key_file go together (mutual TLS)",
            ));
        }

        let p = &self.processor;
        range(
            "processor.flush_interval",
            p.flush_interval,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        )?;
        range(
            "processor.max_epoch_events",
            p.max_epoch_events,
            1,
            100_000_000,
        )?;
        range(
            "processor.max_inflight_epochs",
            p.max_inflight_epochs,
            1,
            1024,
        )?;
        range("processor.max_line_bytes", p.max_line_bytes, 64, 16 << 20)?;
        range("processor.sink_concurrency", p.sink_concurrency, 1, 4096)?;
        range(
            "processor.checkpoint_compact_every",
            p.checkpoint_compact_every,
            1,
            1_000_000,
        )?;
        range("processor.checkpoint_keep", p.checkpoint_keep, 1, 1000)?;
        range(
            "processor.checkpoint_chunk_bytes",
            p.checkpoint_chunk_bytes,
            1024,
            8 << 20,
        )?;
        if p.checkpoint_dir.is_empty() {
            return Err(ConfigError::invalid(
                "processor.checkpoint_dir",
                "must not be empty",
            ));
        }
        range(
            "processor.minute_horizon",
            p.minute_horizon,
            Duration::from_secs(60),
            Duration::from_secs(366 * 86400),
        )?;
        if p.restart_backoff_min > p.restart_backoff_max {
            return Err(ConfigError::invalid(
                "processor.restart_backoff_min",
                "must not exceed processor.restart_backoff_max",
            ));
        }

        let listen: SocketAddr = self.admin.listen.parse().map_err(|_| {
            ConfigError::invalid(
                "admin.listen",
                format!("`{}` is not an ip:port socket address", self.admin.listen),
            )
        })?;
        if self.admin.enabled && !listen.ip().is_loopback() && self.admin.token.is_empty() {
            return Err(ConfigError::invalid(
                "admin.token",
                format!(
                    "a token is required when admin.listen ({listen}) is not a loopback address (set SSA_ADMIN_TOKEN)"
                ),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::invalid("log.level", e.to_string()));
        }

        let mut seen = std::collections::HashSet::new();
        for (i, part) in self.partitions.iter().enumerate() {
            let key = |field: &str| format!("partitions[{i}].{field}");
            validate_partition_id(&part.id).map_err(|m| ConfigError::invalid(key("id"), m))?;
            if !seen.insert(part.id.as_str()) {
                return Err(ConfigError::invalid(
                    key("id"),
                    format!("`{}` is used by two partitions", part.id),
                ));
            }
            let source = SourceAddr::parse(&part.source)
                .map_err(|m| ConfigError::invalid(key("source"), m))?;
            if part.mode == SourceMode::Replayable && matches!(source, SourceAddr::Listen(_)) {
                return Err(ConfigError::invalid(
                    key("mode"),
                    "a listen:// source cannot be replayed; use mode = \"shared\"",
                ));
            }
            range(&key("count"), part.count, 1, 1_000_000)?;
            if part.index >= part.count {
                return Err(ConfigError::invalid(
                    key("index"),
                    format!("{} must be below count {}", part.index, part.count),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Checks a partition added while running (`POST /partitions`) against this
    /// configuration, as if it were its only partition.
    pub fn validate_new_partition(&self, part: &PartitionConfig) -> Result<(), ConfigError> {
        let mut check = self.clone();
        check.partitions = vec![part.clone()];
        check.validate()
    }
}

/// Partition ids appear in keys, paths and metric labels: keep them tame.
pub fn validate_partition_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!("`{id}` must have 1 to 64 characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!(
            "`{id}` may hold only letters, digits, `_`, `-` and `.`"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::config::PartitionConfig;

    fn err(config: &Config) -> String {
        config.validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = Config::default();
        c.cassandra.keyspace = "1bad".into();
        assert!(err(&c).contains("cassandra.keyspace"));

        let mut c = Config::default();
        c.cassandra.contact_points = vec!["nohost".into()];
        assert!(err(&c).contains("cassandra.contact_points"));

        let mut c = Config::default();
        c.processor.max_inflight_epochs = 0;
        assert!(err(&c).contains("processor.max_inflight_epochs"));

        let mut c = Config::default();
        c.admin.listen = "0.0.0.0:8080".into();
        assert!(err(&c).contains("admin.token"));
        c.admin.token = "s3cret".into();
        c.validate().unwrap();

        let mut c = Config::default();
        c.log.level = "ssa=[".into();
        assert!(err(&c).contains("log.level"));
    }

    #[test]
    fn partitions_are_checked() {
        let part = PartitionConfig {
            id: "p0".into(),
            source: "tcp://127.0.0.1:7000".into(),
            mode: SourceMode::Replayable,
            format: Default::default(),
            index: 0,
            count: 2,
        };
        let mut c = Config::default();
        c.partitions = vec![part.clone(), part.clone()];
        assert!(err(&c).contains("partitions[1].id"));

        c.partitions = vec![PartitionConfig {
            source: "udp://x:1".into(),
            ..part.clone()
        }];
        assert!(err(&c).contains("partitions[0].source"));

        c.partitions = vec![PartitionConfig {
            index: 2,
            ..part.clone()
        }];
        assert!(err(&c).contains("partitions[0].index"));

        c.partitions = vec![PartitionConfig {
            source: "listen://127.0.0.1:0".into(),
            ..part
        }];
        assert!(err(&c).contains("partitions[0].mode"));
    }

    #[test]
    fn keyspace_names() {
        assert!(is_valid_keyspace("ssa_test_1"));
        assert!(!is_valid_keyspace("_x"));
        assert!(!is_valid_keyspace("a-b"));
        assert!(!is_valid_keyspace(&"a".repeat(49)));
    }
}

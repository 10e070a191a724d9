//! One validation pass over a loaded configuration; every error names its key.

use std::net::SocketAddr;

use super::bounds::{self as b, check, check_duration};
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

/// Checks `host:port`: the host is a DNS name or IPv4 address (`[A-Za-z0-9._-]`,
/// 1 to 253 characters) or a bracketed IPv6 address (`[::1]`); the port is a
/// decimal number up to 65535, without sign or leading zero. Whether the host
/// resolves is learnt when connecting.
pub fn check_host_port(value: &str) -> Result<(), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("`{}` is not `host:port`", value.escape_debug()))?;
    let name_ok = (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    let ipv6_ok = host.len() >= 4
        && host.len() <= 47
        && host.starts_with('[')
        && host.ends_with(']')
        && host[1..host.len() - 1]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.'));
    if !name_ok && !ipv6_ok {
        return Err(format!(
            "`{}` has no valid host (a DNS name, an IPv4 address or a bracketed IPv6 address)",
            value.escape_debug()
        ));
    }
    let digits_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|c| c.is_ascii_digit())
        && (port == "0" || !port.starts_with('0'));
    if !digits_ok || port.parse::<u16>().is_err() {
        return Err(format!(
            "`{}` has no valid port (0 to 65535)",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// Whether `name` is a valid unquoted CQL keyspace name.
pub fn is_valid_keyspace(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Config {
    /// Checks every value that serde's types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.cassandra;
        check(
            "cassandra.contact_points",
            c.contact_points.len(),
            b::CONTACT_POINTS,
        )
        .map_err(|_| {
            ConfigError::invalid(
                "cassandra.contact_points",
                format!(
                    "{} host:port entries given; at least {} and at most {} are needed",
                    c.contact_points.len(),
                    b::CONTACT_POINTS.min,
                    b::CONTACT_POINTS.max
                ),
            )
        })?;
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
        check(
            "cassandra.replication_factor",
            c.replication_factor,
            b::REPLICATION_FACTOR,
        )?;
        if c.replication_class == ReplicationClass::NetworkTopologyStrategy
            && c.datacenters.is_empty()
        {
            return Err(ConfigError::invalid(
                "cassandra.datacenters",
                "NetworkTopologyStrategy needs at least one datacenter = factor",
            ));
        }
        for (dc, factor) in &c.datacenters {
            check(
                &format!("cassandra.datacenters.{dc}"),
                *factor,
                b::REPLICATION_FACTOR,
            )?;
        }
        if c.username.is_empty() != c.password.is_empty() {
            return Err(ConfigError::invalid(
                "cassandra.username",
                "username and password go together",
            ));
        }
        check_duration(
            "cassandra.connect_timeout",
            c.connect_timeout,
            b::CONNECT_TIMEOUT,
        )?;
        check_duration(
            "cassandra.request_timeout",
            c.request_timeout,
            b::REQUEST_TIMEOUT,
        )?;
        match (c.tls.cert_file.is_empty(), c.tls.key_file.is_empty()) {
            (true, false) => {
                return Err(ConfigError::invalid(
                    "cassandra.tls.cert_file",
                    "key_file is set but cert_file is not: mutual TLS needs both",
                ))
            }
            (false, true) => {
                return Err(ConfigError::invalid(
                    "cassandra.tls.key_file",
                    "cert_file is set but key_file is not: mutual TLS needs both",
                ))
            }
            _ => {}
        }

        let p = &self.processor;
        check_duration(
            "processor.flush_interval",
            p.flush_interval,
            b::FLUSH_INTERVAL,
        )?;
        check(
            "processor.max_epoch_events",
            p.max_epoch_events,
            b::MAX_EPOCH_EVENTS,
        )?;
        check(
            "processor.max_inflight_epochs",
            p.max_inflight_epochs,
            b::MAX_INFLIGHT_EPOCHS,
        )?;
        check(
            "processor.max_line_bytes",
            p.max_line_bytes,
            b::MAX_LINE_BYTES,
        )?;
        check(
            "processor.sink_concurrency",
            p.sink_concurrency,
            b::SINK_CONCURRENCY,
        )?;
        check(
            "processor.checkpoint_compact_every",
            p.checkpoint_compact_every,
            b::CHECKPOINT_COMPACT_EVERY,
        )?;
        check(
            "processor.checkpoint_keep",
            p.checkpoint_keep,
            b::CHECKPOINT_KEEP,
        )?;
        check(
            "processor.checkpoint_chunk_bytes",
            p.checkpoint_chunk_bytes,
            b::CHECKPOINT_CHUNK_BYTES,
        )?;
        if p.checkpoint_dir.trim().is_empty() {
            return Err(ConfigError::invalid(
                "processor.checkpoint_dir",
                "must not be empty",
            ));
        }
        check(
            "processor.dead_letters_per_partition",
            p.dead_letters_per_partition,
            b::DEAD_LETTERS_PER_PARTITION,
        )?;
        check_duration(
            "processor.minute_horizon",
            p.minute_horizon,
            b::MINUTE_HORIZON,
        )?;
        check_duration(
            "processor.restart_backoff_min",
            p.restart_backoff_min,
            b::RESTART_BACKOFF_MIN,
        )?;
        check_duration(
            "processor.restart_backoff_max",
            p.restart_backoff_max,
            b::RESTART_BACKOFF_MAX,
        )?;
        if p.restart_backoff_min > p.restart_backoff_max {
            return Err(ConfigError::conflict(
                "processor.restart_backoff_min",
                format!(
                    "{} must not exceed processor.restart_backoff_max ({})",
                    b::show(p.restart_backoff_min),
                    b::show(p.restart_backoff_max)
                ),
            ));
        }
        check_duration(
            "processor.retry_backoff_max",
            p.retry_backoff_max,
            b::RETRY_BACKOFF_MAX,
        )?;
        self.validate_limits()?;

        let listen: SocketAddr = self.admin.listen.parse().map_err(|_| {
            ConfigError::invalid(
                "admin.listen",
                format!("`{}` is not an ip:port socket address", self.admin.listen),
            )
        })?;
        check_token(&self.admin.token)?;
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
            check(&key("count"), part.count, b::PARTITION_COUNT)?;
            check(&key("index"), part.index, b::PARTITION_INDEX)?;
            // Each value is valid on its own; what follows are combinations.
            if let SourceAddr::Listen(addr) = &source {
                if !self.processor.allow_remote_producers && !is_loopback_host(addr) {
                    return Err(ConfigError::conflict(
                        key("source"),
                        format!(
                            "`{}` would accept producers from other hosts; set processor.allow_remote_producers = true to allow that",
                            part.source
                        ),
                    ));
                }
            }
            if part.mode == SourceMode::Replayable && matches!(source, SourceAddr::Listen(_)) {
                return Err(ConfigError::conflict(
                    key("mode"),
                    "a listen:// source cannot be replayed; use mode = \"shared\"",
                ));
            }
            if part.index >= part.count {
                return Err(ConfigError::conflict(
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

/// A token travels in an HTTP header, whose value is trimmed and must be visible
/// ASCII: a token that could never match is refused (its value is not shown).
fn check_token(token: &str) -> Result<(), ConfigError> {
    let invalid = |m: &str| Err(ConfigError::invalid("admin.token", m));
    if token.is_empty() {
        return Ok(());
    }
    if token.trim().is_empty() {
        return invalid("is blank (only whitespace): set a real token, or none");
    }
    if token.trim() != token {
        return invalid("starts or ends with whitespace, which HTTP trims: it could never match");
    }
    if !token.bytes().all(|c| (0x20..=0x7e).contains(&c)) {
        return invalid("may hold only printable ASCII characters (it is sent in an HTTP header)");
    }
    Ok(())
}

impl Config {
    /// The limits that keep one process from being swamped by partitions or producers.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let p = &self.processor;
        check(
            "processor.max_partitions",
            p.max_partitions,
            b::MAX_PARTITIONS,
        )?;
        if self.partitions.len() > p.max_partitions as usize {
            return Err(ConfigError::invalid(
                "partitions",
                format!(
                    "{} partitions are configured, more than processor.max_partitions ({})",
                    self.partitions.len(),
                    p.max_partitions
                ),
            ));
        }
        check_duration(
            "processor.listen_idle_timeout",
            p.listen_idle_timeout,
            b::LISTEN_IDLE_TIMEOUT,
        )
    }
}

/// Whether the host of `host:port` is a loopback address (or `localhost`).
pub fn is_loopback_host(host_port: &str) -> bool {
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Partition ids appear in keys, file names and metric labels: `[A-Za-z0-9_-]{1,64}`,
/// so no id can be `.`, `..` or hold a path separator.
pub fn validate_partition_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!(
            "`{}` must have 1 to 64 characters",
            id.escape_debug()
        ));
    }
    if !id
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
    {
        return Err(format!(
            "`{}` may hold only ASCII letters, digits, `_` and `-`",
            id.escape_debug()
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
    fn limits_are_checked() {
        let listen = |addr: &str| PartitionConfig {
            id: "l0".into(),
            source: format!("listen://{addr}"),
            mode: SourceMode::Shared,
            format: Default::default(),
            index: 0,
            count: 1,
        };
        let mut c = Config::default();
        for ok in [
            "127.0.0.1:7100",
            "localhost:7100",
            "[::1]:7100",
            "127.0.0.2:0",
        ] {
            c.partitions = vec![listen(ok)];
            c.validate().unwrap();
        }
        for remote in [
            "0.0.0.0:7100",
            "10.1.2.3:7100",
            "[::]:7100",
            "example.com:7100",
        ] {
            c.partitions = vec![listen(remote)];
            let e = err(&c);
            assert!(
                e.contains("partitions[0].source")
                    && e.contains("processor.allow_remote_producers"),
                "{e}"
            );
        }
        c.processor.allow_remote_producers = true;
        c.validate().unwrap();

        let mut c = Config::default();
        c.processor.max_partitions = 0;
        assert!(err(&c).contains("processor.max_partitions"));
        c.processor.max_partitions = 1;
        c.partitions = vec![
            listen("127.0.0.1:1"),
            PartitionConfig {
                id: "l1".into(),
                ..listen("127.0.0.1:2")
            },
        ];
        let e = err(&c);
        assert!(
            e.contains("`partitions`") && e.contains("processor.max_partitions (1)"),
            "{e}"
        );

        let mut c = Config::default();
        c.processor.listen_idle_timeout = std::time::Duration::from_millis(10);
        assert!(err(&c).contains("processor.listen_idle_timeout"));
    }

    #[test]
    fn keyspace_names() {
        assert!(is_valid_keyspace("ssa_test_1"));
        assert!(!is_valid_keyspace("_x"));
        assert!(!is_valid_keyspace("a-b"));
        assert!(!is_valid_keyspace(&"a".repeat(49)));
    }
}

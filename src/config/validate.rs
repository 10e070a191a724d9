//! One validation pass over a loaded configuration; every error names its key.

use std::net::SocketAddr;

use super::bounds::{self as b, check, check_duration};
use super::names::{check_host_port, is_valid_keyspace};
use super::{Config, ConfigError, PartitionConfig, ReplicationClass};

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
        if p.state_memory_limit.bytes() < b::MIN_STATE_MEMORY_LIMIT {
            return Err(ConfigError::invalid(
                "processor.state_memory_limit",
                format!(
                    "{} is below the minimum of {}MiB",
                    p.state_memory_limit,
                    b::MIN_STATE_MEMORY_LIMIT >> 20
                ),
            ));
        }
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
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(log_directives(&self.log.level)) {
            return Err(ConfigError::invalid("log.level", e.to_string()));
        }

        self.validate_cluster()?;
        self.validate_partitions()
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

/// A log filter (`log.level`, `RUST_LOG`) with each comma-separated directive
/// trimmed. tracing-subscriber's directive parser takes character positions in the
/// trimmed directive as byte positions in the untrimmed one, and panics when
/// leading blanks shift them into a multi-byte character.
pub fn log_directives(filter: &str) -> String {
    filter
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(",")
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

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

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
        // Leading blanks before a multi-byte character once made the parser panic.
        c.log.level = " é=x, ssa=debug".into();
        assert!(err(&c).contains("log.level"));
        c.log.level = " ssa=debug , scylla=warn".into();
        assert!(c.validate().is_ok());
    }
}

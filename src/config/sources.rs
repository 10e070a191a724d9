//! The partitions of a configuration: each one's id, source, slice and mode, the
//! combinations of them, and the limits that keep one process from being swamped
//! by partitions or producers.

use super::bounds::{self as b, check, check_duration};
use super::names::{is_loopback_host, validate_partition_id, SourceAddr};
use super::{Config, ConfigError, SourceMode};

impl Config {
    /// The limits that keep one process from being swamped by partitions or producers.
    pub(super) fn validate_limits(&self) -> Result<(), ConfigError> {
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

    /// Every partition on its own, then the combinations of its values.
    pub(super) fn validate_partitions(&self) -> Result<(), ConfigError> {
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

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::config::PartitionConfig;

    fn err(config: &Config) -> String {
        config.validate().unwrap_err().to_string()
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
}

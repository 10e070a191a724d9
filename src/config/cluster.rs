//! Validation of `[cluster]`: lease timing, the node id, and what cluster mode
//! needs of the rest of the configuration.

use super::bounds::{self as b, check_duration};
use super::{CheckpointStoreKind, Config, ConfigError, SinkKind};

/// Node ids are shown in `GET /cluster` and stored in the lease rows.
fn valid_node_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

impl Config {
    pub(super) fn validate_cluster(&self) -> Result<(), ConfigError> {
        let c = &self.cluster;
        check_duration("cluster.lease_ttl", c.lease_ttl, b::LEASE_TTL)?;
        if let Some(every) = c.renew_every {
            check_duration("cluster.renew_every", every, b::RENEW_EVERY)?;
            if every * 2 > c.lease_ttl {
                return Err(ConfigError::conflict(
                    "cluster.renew_every",
                    format!(
                        "{} is more than half of cluster.lease_ttl ({}): a lease would expire between two renewals",
                        b::show(every),
                        b::show(c.lease_ttl)
                    ),
                ));
            }
        }
        if !c.node_id.is_empty() && !valid_node_id(&c.node_id) {
            return Err(ConfigError::invalid(
                "cluster.node_id",
                format!(
                    "`{}` is not a node id ([A-Za-z0-9_.-]{{1,64}}, or empty for hostname-pid)",
                    c.node_id.escape_debug()
                ),
            ));
        }
        if !c.enabled {
            return Ok(());
        }
        if self.processor.sink != SinkKind::Cassandra {
            return Err(ConfigError::conflict(
                "processor.sink",
                "cluster mode (cluster.enabled) needs the cassandra sink: leases, commits and repairs live there",
            ));
        }
        if self.processor.checkpoint_store != CheckpointStoreKind::Cassandra {
            return Err(ConfigError::conflict(
                "processor.checkpoint_store",
                "cluster mode (cluster.enabled) needs checkpoints in cassandra, where every member can restore them",
            ));
        }
        if self.processor.checkpoint_keep < 2 {
            return Err(ConfigError::conflict(
                "processor.checkpoint_keep",
                "cluster mode needs at least 2: a member that lost its lease may still persist one \
                 base snapshot past the committed epoch and prune the chains before it",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn err(c: &Config) -> String {
        c.validate().unwrap_err().to_string()
    }

    fn cluster() -> Config {
        let mut c = Config::default();
        c.cluster.enabled = true;
        c
    }

    #[test]
    fn defaults_renew_a_third_of_the_lease() {
        let c = cluster();
        c.validate().unwrap();
        assert_eq!(c.cluster.lease_ttl, Duration::from_secs(10));
        assert_eq!(c.cluster.renew_period(), Duration::from_secs(10) / 3);
        let name = c.cluster.node_name();
        assert!(
            name.ends_with(&format!("-{}", std::process::id())),
            "{name}"
        );
        assert!(valid_node_id(&name), "{name}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = cluster();
        c.cluster.lease_ttl = Duration::from_millis(500);
        assert!(err(&c).contains("cluster.lease_ttl"), "{}", err(&c));
        let mut c = cluster();
        c.cluster.renew_every = Some(Duration::from_secs(6));
        assert!(err(&c).contains("cluster.renew_every"), "{}", err(&c));
        c.cluster.renew_every = Some(Duration::from_millis(10));
        assert!(err(&c).contains("cluster.renew_every"), "{}", err(&c));
        c.cluster.renew_every = Some(Duration::from_secs(5));
        c.validate().unwrap();
        let mut c = cluster();
        c.cluster.node_id = "a b".into();
        assert!(err(&c).contains("cluster.node_id"), "{}", err(&c));
        let mut c = cluster();
        c.processor.sink = SinkKind::None;
        assert!(err(&c).contains("processor.sink"), "{}", err(&c));
        let mut c = cluster();
        c.processor.checkpoint_store = CheckpointStoreKind::Local;
        assert!(
            err(&c).contains("processor.checkpoint_store"),
            "{}",
            err(&c)
        );
        // Off, the store and sink are free.
        c.cluster.enabled = false;
        c.validate().unwrap();
    }
}

//! Opens the one `scylla` session a process shares.

use std::sync::Arc;
use std::time::Duration;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::{Consistency, SerialConsistency};

use super::tls;
use super::{CassandraError, ConnectCause};
use crate::config::{CassandraConfig, ConsistencyName, SerialConsistencyName};

/// Maps the config's consistency name to the driver's.
pub fn consistency_of(name: ConsistencyName) -> Consistency {
    match name {
        ConsistencyName::One => Consistency::One,
        ConsistencyName::Two => Consistency::Two,
        ConsistencyName::Three => Consistency::Three,
        ConsistencyName::Quorum => Consistency::Quorum,
        ConsistencyName::All => Consistency::All,
        ConsistencyName::LocalOne => Consistency::LocalOne,
        ConsistencyName::LocalQuorum => Consistency::LocalQuorum,
        ConsistencyName::EachQuorum => Consistency::EachQuorum,
    }
}

/// Maps the config's serial consistency name to the driver's.
pub fn serial_consistency_of(name: SerialConsistencyName) -> SerialConsistency {
    match name {
        SerialConsistencyName::Serial => SerialConsistency::Serial,
        SerialConsistencyName::LocalSerial => SerialConsistency::LocalSerial,
    }
}

/// The session's default execution profile: every statement runs with the configured
/// consistency, and the Paxos round of a lightweight transaction with the configured
/// serial consistency (the driver's own default, `LOCAL_SERIAL`, is not assumed).
pub fn execution_profile(config: &CassandraConfig) -> ExecutionProfile {
    ExecutionProfile::builder()
        .consistency(consistency_of(config.consistency))
        .serial_consistency(Some(serial_consistency_of(config.serial_consistency)))
        .request_timeout(Some(config.request_timeout))
        .build()
}

/// Connects to the cluster. Contact points are first probed over TCP so that an
/// unreachable node is reported as `host:port` and cause, not as a driver riddle; a
/// failed session is explained by [`ConnectCause`] (bad password, certificate
/// problems, TLS on one side only), naming the contact points.
pub async fn connect(config: &CassandraConfig) -> Result<Arc<Session>, CassandraError> {
    probe_contact_points(&config.contact_points, config.connect_timeout).await?;
    let profile = execution_profile(config);
    let mut builder = SessionBuilder::new()
        .known_nodes(&config.contact_points)
        .connection_timeout(config.connect_timeout)
        .default_execution_profile_handle(profile.into_handle())
        .schema_agreement_timeout(Duration::from_secs(60));
    if !config.username.is_empty() {
        builder = builder.user(&config.username, &config.password);
    }
    if config.tls.enabled {
        builder = builder.tls_context(Some(tls::client_config(&config.tls)?));
    }
    match builder.build().await {
        Ok(session) => Ok(Arc::new(session)),
        Err(error) => {
            let mut cause = ConnectCause::of(&error, config);
            if cause.is_closed_by_node() && speaks_tls_anywhere(config).await {
                cause = ConnectCause::TlsRequired;
            }
            tracing::debug!(error = %error, "opening the session failed");
            Err(CassandraError::Connect {
                contact_points: config.contact_points.join(", "),
                cause,
            })
        }
    }
}

async fn speaks_tls_anywhere(config: &CassandraConfig) -> bool {
    for point in &config.contact_points {
        if tls::speaks_tls(point, config.connect_timeout).await {
            return true;
        }
    }
    false
}

async fn probe_contact_points(points: &[String], timeout: Duration) -> Result<(), CassandraError> {
    probe(points, timeout).await.map_err(|failures| {
        CassandraError::Unreachable(
            failures
                .iter()
                .map(|(point, cause)| format!("{point} ({cause})"))
                .collect::<Vec<_>>()
                .join(", "),
        )
    })
}

/// Tries a TCP connection to each contact point; `Ok` at the first that answers,
/// else every point with why it did not.
pub async fn probe(points: &[String], timeout: Duration) -> Result<(), Vec<(String, String)>> {
    let mut failures = Vec::new();
    for point in points {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(point.as_str())).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => failures.push((point.clone(), e.to_string())),
            Err(_) => failures.push((point.clone(), format!("no answer within {timeout:?}"))),
        }
    }
    Err(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_carries_consistency_serial_consistency_and_timeout() {
        let config = CassandraConfig {
            consistency: ConsistencyName::Quorum,
            request_timeout: Duration::from_secs(7),
            ..CassandraConfig::default()
        };
        let profile = execution_profile(&config);
        assert_eq!(profile.get_consistency(), Consistency::Quorum);
        assert_eq!(
            profile.get_serial_consistency(),
            Some(SerialConsistency::Serial)
        );
        assert_eq!(profile.get_request_timeout(), Some(Duration::from_secs(7)));

        let config = CassandraConfig {
            consistency: ConsistencyName::LocalQuorum,
            serial_consistency: SerialConsistencyName::LocalSerial,
            ..CassandraConfig::default()
        };
        let profile = execution_profile(&config);
        assert_eq!(profile.get_consistency(), Consistency::LocalQuorum);
        assert_eq!(
            profile.get_serial_consistency(),
            Some(SerialConsistency::LocalSerial)
        );
    }
}

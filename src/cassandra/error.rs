//! Errors of connecting to Cassandra and of schema work.

/// A Cassandra problem; the message names the step and, where known, the node.
#[derive(Debug, thiserror::Error)]
pub enum CassandraError {
    #[error("cannot reach any contact point: {0}")]
    Unreachable(String),
    #[error("cannot open a session to {contact_points}: {source}")]
    Connect {
        contact_points: String,
        #[source]
        source: Box<scylla::errors::NewSessionError>,
    },
    #[error("tls setup: {0}")]
    Tls(String),
    #[error("schema statement failed ({what}): {source}")]
    Schema {
        what: String,
        #[source]
        source: Box<scylla::errors::ExecutionError>,
    },
    #[error("schema agreement: {0}")]
    Agreement(Box<scylla::errors::SchemaAgreementError>),
}

impl From<scylla::errors::SchemaAgreementError> for CassandraError {
    fn from(e: scylla::errors::SchemaAgreementError) -> Self {
        CassandraError::Agreement(Box::new(e))
    }
}

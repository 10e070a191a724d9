//! Errors of connecting to Cassandra and of schema work.
//!
//! The driver's own errors are kept as text inside these (not as `source`), because
//! their `Display` already repeats their inner errors: a source chain would print
//! every cause twice.

pub use super::connect_error::ConnectCause;

/// A Cassandra problem; the message names the step and, where known, the node.
#[derive(Debug, thiserror::Error)]
pub enum CassandraError {
    #[error("cannot reach any contact point: {0}")]
    Unreachable(String),
    #[error("cannot connect to {contact_points}: {cause}")]
    Connect {
        contact_points: String,
        cause: ConnectCause,
    },
    #[error("tls setup: {0}")]
    Tls(String),
    /// The role lacks a permission; `message` is the node's, which names it.
    #[error("applying the schema ({what}) on {contact_points}: permission denied: {message}")]
    SchemaDenied {
        what: String,
        contact_points: String,
        message: String,
    },
    #[error("schema statement failed ({what}) on {contact_points}: {error}")]
    Schema {
        what: String,
        contact_points: String,
        error: Box<scylla::errors::ExecutionError>,
    },
    #[error("reading the schema of keyspace {keyspace} on {contact_points}: {error}")]
    SchemaRead {
        keyspace: String,
        contact_points: String,
        error: String,
    },
    #[error("schema agreement: {0}")]
    Agreement(Box<scylla::errors::SchemaAgreementError>),
    #[error(transparent)]
    Task(#[from] crate::runtime::TaskFailed),
}

impl From<scylla::errors::SchemaAgreementError> for CassandraError {
    fn from(e: scylla::errors::SchemaAgreementError) -> Self {
        CassandraError::Agreement(Box::new(e))
    }
}

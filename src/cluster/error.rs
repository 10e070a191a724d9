//! Errors of the cluster's Cassandra steps.

use crate::runtime::TaskFailed;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{what}: {message}")]
    Store { what: &'static str, message: String },
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

//! Errors of writing to and reading from Cassandra.

use crate::runtime::TaskFailed;

/// A failed sink step; the message names the step and the partition.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("preparing {what}: {source}")]
    Prepare {
        what: &'static str,
        #[source]
        source: Box<scylla::errors::PrepareError>,
    },
    #[error("writing {what} of partition {partition}: {source}")]
    Write {
        what: &'static str,
        partition: String,
        #[source]
        source: Box<scylla::errors::ExecutionError>,
    },
    #[error("reading {what} of partition {partition}: {message}")]
    Read {
        what: &'static str,
        partition: String,
        message: String,
    },
    #[error("decoding {what} of partition {partition}: {message}")]
    Decode {
        what: &'static str,
        partition: String,
        message: String,
    },
    #[error("{0}: abandoned, the partition restarted")]
    Abandoned(&'static str),
    #[error("the sink is closed")]
    Closed,
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

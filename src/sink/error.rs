//! Errors of writing to and reading from Cassandra.

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
    #[error("sink: {0}")]
    Internal(String),
    #[error("decoding {what} of partition {partition}: {message}")]
    Decode {
        what: &'static str,
        partition: String,
        message: String,
    },
}

impl SinkError {
    /// A task or channel failure around a write.
    pub fn internal(message: impl Into<String>) -> Self {
        SinkError::Internal(message.into())
    }
}

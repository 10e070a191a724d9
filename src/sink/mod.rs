//! Where sealed epochs go: Cassandra through the `scylla` driver.

mod cassandra;
mod clock;
mod error;
mod intent;
mod purge;

pub use cassandra::{CassandraSink, DeadLetter, EpochWrite};
pub use clock::write_timestamp;
pub use error::SinkError;
pub use intent::Intent;

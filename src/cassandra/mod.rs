//! Everything that talks CQL: the shared session, the schema, and waiting for
//! the cluster at start.

mod connect_error;
mod error;
pub mod schema;
mod session;
mod tables;
pub mod tls;
mod wait;

pub use error::{CassandraError, ConnectCause};
pub use session::{connect, consistency_of, execution_profile, probe, serial_consistency_of};
pub use wait::{connect_when_up, read_transient, session_when_up, Startup};

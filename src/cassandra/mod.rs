//! Everything that talks CQL: the shared session, the schema.

mod connect_error;
mod error;
pub mod schema;
mod session;
pub mod tls;

pub use error::{CassandraError, ConnectCause};
pub use session::{connect, consistency_of};

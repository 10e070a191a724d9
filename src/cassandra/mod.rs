//! Everything that talks CQL: the shared session, the schema.

mod error;
pub mod schema;
mod session;

pub use error::CassandraError;
pub use session::{connect, consistency_of};

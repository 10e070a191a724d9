//! Configuration: serde model with named defaults, layered loading (built-in
//! defaults, `--config FILE`, `SSA_` environment, flags) and one validation step
//! whose errors name the offending key.
//!
//! - `model`: the serde structs and their defaults.
//! - `file`, `load`: reading the file and layering the sources.
//! - `validate`: the one validation pass; `sources`: the partitions' part of it;
//!   `bounds`: every numeric bound; `names`: address and name syntax; `cluster`:
//!   the `[cluster]` section (leases) and what it needs of the rest.
//! - `tls`: the TLS client configuration for Cassandra.
//! - `memory`: the state memory limit, a byte size.
//! - `error`: what a refused configuration says.

pub mod bounds;
mod cluster;
mod error;
mod file;
mod load;
mod memory;
mod model;
mod names;
mod sources;
mod tls;
mod validate;

pub use error::ConfigError;
pub use file::MAX_CONFIG_BYTES;
pub use load::{load, load_from_str, Overrides};
pub use memory::StateMemoryLimit;
pub use model::*;
pub use names::{
    check_host_port, is_loopback_host, is_valid_keyspace, validate_partition_id, SourceAddr,
};
pub use tls::client_config as tls_client_config;
pub use validate::log_directives;

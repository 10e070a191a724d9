//! Configuration: serde model with named defaults, layered loading (built-in
//! defaults, `--config FILE`, `SSA_` environment, flags) and one validation step
//! whose errors name the offending key.

pub mod bounds;
mod error;
mod file;
mod load;
mod model;
mod tls;
mod validate;

pub use error::ConfigError;
pub use file::MAX_CONFIG_BYTES;
pub use load::{load, load_from_str, Overrides};
pub use model::*;
pub use tls::client_config as tls_client_config;
pub use validate::{
    check_host_port, is_loopback_host, is_valid_keyspace, validate_partition_id, SourceAddr,
};

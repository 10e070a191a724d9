//! Configuration: serde model with named defaults, layered loading (built-in
//! defaults, `--config FILE`, `SSA_` environment, flags) and one validation step
//! whose errors name the offending key.

mod error;
mod load;
mod model;
mod validate;

pub use error::ConfigError;
pub use load::{load, load_from_str, Overrides};
pub use model::*;
pub use validate::{check_host_port, is_valid_keyspace, validate_partition_id, SourceAddr};

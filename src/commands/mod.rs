//! One file per verb of the `ssa` binary.

pub mod schema;

//! One file per verb of the `ssa` binary.

pub mod demo;
pub mod run;
pub mod schema;
pub mod verify;
pub mod workload;

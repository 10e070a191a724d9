//! The actors of `ssa run`: one partition actor per source, the sink, the
//! checkpoint actor and the merger, each under an `actix::Supervisor`.

pub mod checkpoint;
pub mod gate;
pub mod idle;
pub mod merger;
pub mod partition;
pub mod sink;
pub mod stats;
pub mod supervision;
pub mod tuning;

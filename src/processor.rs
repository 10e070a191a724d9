//! Assembles a running processor: the I/O runtime's Cassandra session, the sink,
//! checkpoint and merger actors, and one supervised partition actor per source,
//! spread over one arbiter per core. `ssa run` and `ssa demo` both use it, and so
//! does the admin API: it reads the same handles and adds, stops, resumes and
//! removes partitions while the processor runs. No partition starts before its
//! identity is checked against the one stored with its checkpoints (or it is reset).
//!
//! - `start`: the [`Processor`] and how it starts.
//! - `admission`: identities checked, recorded or reset before partitions start.
//! - `partitions`: adding, stopping, resuming, removing and killing partitions.
//! - `waiting`: retuning, draining, and waiting for every partition to finish.
//! - `error`: why a change was refused.

mod admission;
mod error;
mod partitions;
mod start;
mod waiting;

pub use error::ProcessorError;
pub use partitions::PartitionHandle;
pub use start::Processor;

//! Workload flags shared by `ssa demo` and `ssa verify`: the cycle range and the
//! same workload flags as `ssa gen`, so a verify names exactly what a run consumed.

use crate::gen::{CycleRange, Workload, WorkloadFlags};

#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadArgs {
    /// Cycles: `A..B` (half-open) or `A..` (endless).
    #[arg(long, value_name = "A..B")]
    pub cycles: CycleRange,
    #[command(flatten)]
    pub flags: WorkloadFlags,
}

impl WorkloadArgs {
    pub fn workload(&self) -> anyhow::Result<Workload> {
        Ok(self.flags.workload()?)
    }
}

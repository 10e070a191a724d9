//! Workload flags shared by `ssa demo` and `ssa verify` (the same meaning as in
//! `ssa gen`, so a verify names exactly what a run consumed).

use std::path::PathBuf;

use crate::format::Format;
use crate::gen::{CycleRange, KeyMode, Words, Workload, WorkloadOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadArgs {
    /// Cycles: `A..B` (half-open) or `A..` (endless).
    #[arg(long, value_name = "A..B")]
    pub cycles: CycleRange,
    /// Number of franchises (sources).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub sources: u64,
    /// Line format.
    #[arg(long, value_enum, default_value_t = Format::Seed)]
    pub format: Format,
    /// bounded: event_name is a word; unbounded: a UUID per event.
    #[arg(long, value_enum, default_value_t = KeyMode::Bounded)]
    pub keys: KeyMode,
    /// Word list, one word per line (default: the built-in list).
    #[arg(long, value_name = "FILE")]
    pub words: Option<PathBuf>,
    /// Event time of cycle 0, Unix milliseconds (csv and json).
    #[arg(long, value_name = "MS", default_value_t = crate::gen::DEFAULT_TS_START_MS, allow_negative_numbers = true)]
    pub ts_start_ms: i64,
    /// Event time step per cycle, milliseconds (csv and json).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub ts_step_ms: i64,
}

impl WorkloadArgs {
    pub fn workload(&self) -> anyhow::Result<Workload> {
        let words = match &self.words {
            Some(path) => Words::from_file(path)?,
            None => Words::default(),
        };
        Ok(Workload::new(WorkloadOptions {
            sources: self.sources,
            keys: self.keys,
            format: self.format,
            words,
            ts_start_ms: self.ts_start_ms,
            ts_step_ms: self.ts_step_ms,
        })?)
    }
}

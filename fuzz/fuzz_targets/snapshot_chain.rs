#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ssa_fuzz::snapshot_chain::run(data));

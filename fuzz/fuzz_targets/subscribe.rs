#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ssa_fuzz::subscribe::run(data));

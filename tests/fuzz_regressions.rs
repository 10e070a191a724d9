//! The fuzz targets' bodies (`fuzz/src/`, see docs/fuzzing.md) run on stable over
//! the committed seed corpora (`fuzz/seeds/<target>/`) and over every input that
//! once made a target fail (`fuzz/regressions/<target>/<what-it-caught>`). The
//! functions are the very ones the libFuzzer targets call.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn target(name: &str) -> fn(&[u8]) {
    targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}

/// Runs a target over every file of `dir`; returns how many there were.
fn run_all(name: &str, dir: &Path) -> usize {
    let run = target(name);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => return 0,
    };
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        run(&data);
    }
    files.len()
}

#[test]
fn every_target_runs_its_seed_corpus() {
    for (name, _) in targets::TARGETS {
        let seeds = run_all(name, &fuzz_dir().join("seeds").join(name));
        assert!(seeds > 0, "target {name} has no seeds in fuzz/seeds/{name}");
    }
}

#[test]
fn every_kept_regression_input_is_covered_by_a_test_below() {
    let named: Vec<(&str, &str)> = REGRESSIONS.to_vec();
    for (name, _) in targets::TARGETS {
        let dir = fuzz_dir().join("regressions").join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                named.contains(&(name, file.as_str())),
                "fuzz/regressions/{name}/{file} has no test in tests/fuzz_regressions.rs"
            );
        }
    }
}

/// Runs the target `$target` over `fuzz/regressions/$target/$file`.
macro_rules! regressions {
    ($($test:ident: $target:literal / $file:literal;)*) => {
        const REGRESSIONS: &[(&str, &str)] = &[$(($target, $file)),*];
        $(
            #[test]
            fn $test() {
                let path = fuzz_dir().join("regressions").join($target).join($file);
                let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                target($target)(&data);
            }
        )*
    };
}

regressions! {
    // A committed offset past i64::MAX wrapped into negative raw ranges.
    intent_committed_offset_past_i64_max: "intent" / "committed-offset-past-i64-max";
    // The last raw bucket's end, (bucket + 1) * 100000, overflowed i64.
    intent_last_raw_bucket_overflow: "intent" / "last-raw-bucket-overflow";
    // `SSA_PROCESSOR__FQ=["a:<multi-byte>\\\poi…`: the environment reader cut its
    // quoted strings by character count as if it were bytes, and panicked.
    config_multibyte_before_escape_in_env_value: "config" / "multibyte-before-escape-in-env-value";
    // The same value under a name with a trailing space, which the first fix's
    // lookup by exact name missed (names are trimmed): the environment layer is
    // now read by ssa itself.
    config_multibyte_before_escape_in_a_trimmed_name: "config" / "multibyte-before-escape-in-a-trimmed-name";
    // A `log.level` directive with a leading blank and a multi-byte character:
    // tracing-subscriber's directive parser sliced it at shifted byte positions.
    config_log_filter_with_leading_blank_and_multibyte: "config" / "log-filter-with-leading-blank-and-multibyte";
    // A base snapshot whose evicted-keys filter has a NaN error probability: it
    // decoded, did not equal itself after a round trip, and would have panicked
    // in the filter's next growth. Such a filter is now refused at decode.
    snapshot_evicted_filter_with_nan_error_probability: "snapshot" / "evicted-filter-with-nan-error-probability";
}

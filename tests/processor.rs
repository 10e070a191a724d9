//! The processor against the real node and real sockets: exact results with and
//! without faults (the must-holds of the processor issue).

mod common;

use std::time::Duration;

use common::*;
use ssa::format::Format;
use ssa::gen::{ServeMode, Workload};

const CYCLES: std::ops::Range<u64> = 0..200_000;

#[test]
fn four_replayable_partitions_are_exact() {
    let keyspace = unique_keyspace("exact");
    let io = io_runtime();
    let (addr, gen) = start_gen(&io, Workload::default(), ServeMode::Partitioned, CYCLES, 0);
    let mut config = test_config(&keyspace);
    config.partitions = replayable_partitions(addr, 4, Format::Seed);
    let out = run_processor(
        config,
        &io,
        Some((CYCLES, 4)),
        Faults::default(),
        Duration::from_secs(240),
    );
    gen.cancel();
    assert_eq!(out.committed, 200_000);
    assert_eq!(out.restarts, 0);
    let report = verify(&io, &keyspace, &verify_args(CYCLES, Format::Seed));
    assert_eq!(report.raw_rows, Some(200_000));
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(
        report.keys_checked,
        Workload::default().truth(CYCLES).len() as u64
    );
}

#[test]
fn killed_partition_actors_stay_exact() {
    let keyspace = unique_keyspace("kills");
    let io = io_runtime();
    // Rate-limited so that the kills land while data flows.
    let (addr, gen) = start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        CYCLES,
        50_000,
    );
    let mut config = test_config(&keyspace);
    config.partitions = replayable_partitions(addr, 4, Format::Seed);
    let faults = Faults {
        partition_kills: 5,
        every: Duration::from_millis(500),
        ..Faults::default()
    };
    let out = run_processor(
        config,
        &io,
        Some((CYCLES, 4)),
        faults,
        Duration::from_secs(240),
    );
    gen.cancel();
    assert_eq!(out.killed_restarts, 5);
    assert_eq!(out.committed, 200_000);
    let report = verify(&io, &keyspace, &verify_args(CYCLES, Format::Seed));
    assert!(report.is_exact(), "{report:?}");
}

#[test]
fn killed_sink_and_checkpoint_actors_stay_exact() {
    let keyspace = unique_keyspace("actorkills");
    let io = io_runtime();
    let (addr, gen) = start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        CYCLES,
        50_000,
    );
    let mut config = test_config(&keyspace);
    config.partitions = replayable_partitions(addr, 4, Format::Seed);
    let faults = Faults {
        sink_kills: 3,
        checkpoint_kills: 3,
        every: Duration::from_millis(400),
        ..Faults::default()
    };
    run_processor(
        config,
        &io,
        Some((CYCLES, 4)),
        faults,
        Duration::from_secs(240),
    );
    gen.cancel();
    let report = verify(&io, &keyspace, &verify_args(CYCLES, Format::Seed));
    assert!(report.is_exact(), "{report:?}");
}

#[test]
fn csv_values_give_exact_sum_min_max_and_minute_buckets() {
    let keyspace = unique_keyspace("csv");
    let io = io_runtime();
    let workload = Workload::new(ssa::gen::WorkloadOptions {
        format: Format::Csv,
        ..Default::default()
    })
    .unwrap();
    let cycles = 0..150_000;
    let (addr, gen) = start_gen(
        &io,
        workload.clone(),
        ServeMode::Partitioned,
        cycles.clone(),
        0,
    );
    let mut config = test_config(&keyspace);
    config.partitions = replayable_partitions(addr, 3, Format::Csv);
    run_processor(
        config,
        &io,
        Some((cycles.clone(), 3)),
        Faults::default(),
        Duration::from_secs(240),
    );
    gen.cancel();
    let report = verify(&io, &keyspace, &verify_args(cycles.clone(), Format::Csv));
    assert!(report.is_exact(), "{report:?}");

    // Minute buckets (event time: 1 ms per cycle) sum, per minute, to the events of that minute.
    let per_minute: Vec<(i64, i64)> = io.block_on(async {
        let s = session(&keyspace).await;
        let rows = s
            .query_unpaged(
                format!("SELECT minute, count FROM {keyspace}.rollups_by_minute"),
                (),
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let mut m = std::collections::BTreeMap::new();
        for r in rows.rows::<(scylla::value::CqlTimestamp, i64)>().unwrap() {
            let (ts, c) = r.unwrap();
            *m.entry(ts.0).or_insert(0) += c;
        }
        m.into_iter().collect()
    });
    let start = ssa::gen::DEFAULT_TS_START_MS;
    let expected: Vec<(i64, i64)> = vec![
        (start, 60_000),
        (start + 60_000, 60_000),
        (start + 120_000, 30_000),
    ];
    assert_eq!(per_minute, expected);
}

//! The processor against the real node and real sockets: exact results with and
//! without faults (the must-holds of the processor issue).

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use ssa::format::Format;
use ssa::gen::{ServeMode, Workload};

const CYCLES: std::ops::Range<u64> = 0..200_000;
/// How long any one awaited state of a run may take.
const LIMIT: Duration = Duration::from_secs(120);

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
    // Rate-limited so that the run lasts; the kills land at fixed shares of the
    // committed events.
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

/// What a plain line producer does on one connection, in order.
enum Step {
    Write(Vec<u8>),
    /// Waits for the next signal on the producer's channel.
    Wait,
    /// Keeps the connection open until the reader closes it.
    Hold,
}

/// A plain, non-replayable line producer on 127.0.0.1: serves its connections
/// one after the other, each by its steps, then closes it. The sender signals
/// the `Wait` steps.
fn producer(connections: Vec<Vec<Step>>) -> (std::net::SocketAddr, mpsc::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (signal, signals) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for steps in connections {
            let (mut stream, _) = listener.accept().unwrap();
            for step in steps {
                match step {
                    Step::Write(bytes) => stream.write_all(&bytes).unwrap(),
                    Step::Wait => signals.recv().unwrap(),
                    Step::Hold => while matches!(stream.read(&mut [0; 64]), Ok(n) if n > 0) {},
                }
            }
        }
    });
    (addr, signal)
}

fn lines(workload: &Workload, cycles: impl IntoIterator<Item = u64>) -> Vec<u8> {
    let mut buf = Vec::new();
    for c in cycles {
        workload.write_line(c, &mut buf);
    }
    buf
}

fn shared_partition(addr: std::net::SocketAddr) -> ssa::config::PartitionConfig {
    ssa::config::PartitionConfig {
        id: "push".into(),
        source: format!("tcp://{addr}"),
        mode: ssa::config::SourceMode::Shared,
        format: Format::Seed,
        index: 0,
        count: 1,
    }
}

#[test]
fn bad_lines_go_to_dead_letters_and_the_rest_stays_exact() {
    let keyspace = unique_keyspace("bad");
    let io = io_runtime();
    let workload = Workload::default();
    let n = 50_000u64;
    let bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "bad_uuid",
            b"not-a-uuid-at-all-but-long-enough-to-look-like-one-word".to_vec(),
        ),
        ("empty", Vec::new()),
        ("not_utf8", {
            let mut l = workload.line(1).into_bytes();
            l.truncate(37);
            l.extend_from_slice(&[0xff, 0xfe, b'x']);
            l
        }),
        ("oversized", vec![b'x'; 10_000]),
    ];
    let mut buf = Vec::new();
    let mut expected_reasons = std::collections::BTreeMap::new();
    for c in 0..n {
        if c % 5_000 == 0 {
            let (reason, line) = &bad[(c / 5_000) as usize % bad.len()];
            buf.extend_from_slice(line);
            buf.push(b'\n');
            *expected_reasons.entry(reason.to_string()).or_insert(0i64) += 1;
        }
        workload.write_line(c, &mut buf);
    }
    let bad_count: i64 = expected_reasons.values().sum();
    let (addr, _) = producer(vec![vec![Step::Write(buf)]]);
    let mut config = test_config(&keyspace);
    config.partitions = vec![shared_partition(addr)];
    let out = run_processor(
        config,
        &io,
        None,
        Faults::default(),
        Duration::from_secs(120),
    );
    assert_eq!(out.committed, n + bad_count as u64);

    let report = verify(&io, &keyspace, &verify_args(0..n, Format::Seed));
    assert!(report.is_exact(), "{report:?}");
    let reasons = io.block_on(async {
        let s = session(&keyspace).await;
        let rows = s
            .query_unpaged(format!("SELECT reason, line_len FROM {keyspace}.dead_letters WHERE partition_id = 'push'"), ())
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let mut m = std::collections::BTreeMap::new();
        for r in rows.rows::<(String, i64)>().unwrap() {
            let (reason, len) = r.unwrap();
            if reason == "oversized" {
                assert_eq!(len, 10_000);
            }
            *m.entry(reason).or_insert(0i64) += 1;
        }
        m
    });
    assert_eq!(reasons, expected_reasons);
}

#[test]
fn a_delta_checkpoint_holds_only_the_keys_its_epoch_touched() {
    let keyspace = unique_keyspace("delta");
    let io = io_runtime();
    let workload = Workload::default();
    let first = lines(&workload, 0..20_000);
    let all_keys = workload.truth(0..20_000).len();
    // The last epoch holds exactly these 12 lines of 3 keys (cycles 0, 1 and 2 are
    // distinct keys): the first 20,000 are committed by a stop before they are
    // sent, and the end of the source seals them (never time: the interval is 1 h).
    let second = lines(&workload, (0..4).flat_map(|_| 0..3));
    let (addr, signal) = producer(vec![vec![
        Step::Write(first),
        Step::Wait,
        Step::Write(second),
    ]]);
    let mut config = test_config(&keyspace);
    config.processor.flush_interval = Duration::from_secs(3600);
    config.partitions = vec![shared_partition(addr)];
    run_processor_with(config, &io, None, LIMIT, |p| async move {
        wait_until(&p, LIMIT, "the first lines read", |p| {
            p.partitions()[0].status.offset() == 20_000
        })
        .await;
        let stopped = p.stop_partition("push").await.unwrap();
        assert_eq!(stopped.committed_offset, 20_000);
        p.start_partition("push").await.unwrap();
        signal.send(()).unwrap();
    });

    let snapshots = io.block_on(async {
        let s = session(&keyspace).await;
        let store = ssa::checkpoint::CassandraStore::new(s, &keyspace, 512 * 1024)
            .await
            .unwrap();
        let chain = store.load("push", None).await.unwrap();
        let mut all = vec![chain.base.clone().unwrap()];
        all.extend(chain.deltas.clone());
        all
    });
    let base = &snapshots[0];
    assert_eq!(base.kind, ssa::core::SnapshotKind::Base);
    let last = snapshots.last().unwrap();
    assert_eq!(last.kind, ssa::core::SnapshotKind::Delta);
    assert_eq!(
        last.keys.len(),
        3,
        "the delta holds the 3 touched keys of {all_keys}"
    );
    assert_eq!(last.offset, 20_012);
    let total_in_base_and_deltas: usize = snapshots
        .iter()
        .take(snapshots.len() - 1)
        .map(|s| s.keys.len())
        .sum();
    assert!(total_in_base_and_deltas >= all_keys);
}

#[test]
fn a_shared_source_killed_once_keeps_totals_equal_to_raw_rows() {
    let keyspace = unique_keyspace("shared");
    let io = io_runtime();
    let workload = Workload::default();
    // The first connection: 30,000 lines committed (by a stop), then 5,000 read
    // but uncommitted when the kill lands; the restarted actor's connection gets
    // the rest. At most once: exactly those 5,000 are lost.
    let (committed_first, lost, end) = (30_000u64, 5_000u64, 50_000u64);
    let (addr, signal) = producer(vec![
        vec![
            Step::Write(lines(&workload, 0..committed_first)),
            Step::Wait,
            Step::Write(lines(&workload, committed_first..committed_first + lost)),
            Step::Hold,
        ],
        vec![Step::Write(lines(&workload, committed_first + lost..end))],
    ]);
    let mut config = test_config(&keyspace);
    config.processor.flush_interval = Duration::from_secs(3600);
    config.processor.max_epoch_events = 1_000_000;
    config.partitions = vec![ssa::config::PartitionConfig {
        id: "s0".into(),
        ..shared_partition(addr)
    }];
    let out = run_processor_with(config, &io, None, LIMIT, |p| async move {
        let status = p.partitions()[0].status.clone();
        wait_until(&p, LIMIT, "the first lines read", |_| {
            status.offset() == committed_first
        })
        .await;
        p.stop_partition("s0").await.unwrap();
        p.start_partition("s0").await.unwrap();
        signal.send(()).unwrap();
        wait_until(&p, LIMIT, "the next lines read", |_| {
            status.offset() == committed_first + lost
        })
        .await;
        assert_eq!(status.committed_offset(), committed_first);
        p.kill_partition("s0");
    });
    assert_eq!(out.killed_restarts, 1);
    assert_eq!(out.lost_events, lost);
    assert_eq!(out.committed, end - lost);

    let (totals, raw) = io.block_on(async {
        use futures::TryStreamExt;
        let s = session(&keyspace).await;
        let mut totals = std::collections::BTreeMap::new();
        let mut rows = s
            .query_iter(
                format!("SELECT franchise_id, event_name, count FROM {keyspace}.rollups_total"),
                (),
            )
            .await
            .unwrap()
            .rows_stream::<(uuid::Uuid, String, i64)>()
            .unwrap();
        while let Some((f, e, c)) = rows.try_next().await.unwrap() {
            totals.insert((f, e), c);
        }
        let mut raw = std::collections::BTreeMap::new();
        let mut rows = s
            .query_iter(
                format!("SELECT franchise_id, event_name FROM {keyspace}.events_raw"),
                (),
            )
            .await
            .unwrap()
            .rows_stream::<(uuid::Uuid, String)>()
            .unwrap();
        while let Some((f, e)) = rows.try_next().await.unwrap() {
            *raw.entry((f, e)).or_insert(0i64) += 1;
        }
        (totals, raw)
    });
    assert_eq!(
        totals, raw,
        "rollups_total must equal events_raw grouped by key"
    );
    let committed: i64 = totals.values().sum();
    assert_eq!(committed as u64, out.committed);
    // Exactly the events outside the lost stretch, key by key.
    let mut expected = std::collections::BTreeMap::new();
    for range in [0..committed_first, committed_first + lost..end] {
        for (f, e, t) in workload.truth(range).iter() {
            *expected.entry((f, e.to_string())).or_insert(0i64) += t.count as i64;
        }
    }
    assert_eq!(totals, expected);
}

#[test]
fn the_run_process_killed_and_restarted_stays_exact() {
    let keyspace = unique_keyspace("sigkill");
    let io = io_runtime();
    let (addr, gen) = start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        CYCLES,
        40_000,
    );
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("ssa.toml");
    let mut toml = format!(
        "[cassandra]\ncontact_points = [\"{}\"]\nkeyspace = \"{keyspace}\"\nconsistency = \"one\"\n\n\
         [processor]\nflush_interval = \"200ms\"\nmax_epoch_events = 20000\n\n[admin]\nenabled = false\n",
        contact_point()
    );
    for i in 0..4 {
        toml.push_str(&format!(
            "\n[[partitions]]\nid = \"p{i}\"\nsource = \"tcp://{addr}\"\nmode = \"replayable\"\nindex = {i}\ncount = 4\n"
        ));
    }
    std::fs::write(&config_path, toml).unwrap();
    let start = || {
        std::process::Command::new(ssa_bin())
            .args(["run", "--exit-when-done", "--config"])
            .arg(&config_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };

    let mut first = start();
    // Let it commit a part of the range, then kill it hard.
    let committed_before_kill = io.block_on(async {
        let s = session(&keyspace).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint within 60 s"
            );
            let q = s
                .query_unpaged(
                    format!(
                        "SELECT max(offset) FROM {keyspace}.checkpoints WHERE partition_id = 'p0'"
                    ),
                    (),
                )
                .await;
            if let Ok(r) = q {
                if let Ok((Some(off),)) =
                    r.into_rows_result().unwrap().single_row::<(Option<i64>,)>()
                {
                    if off > 5_000 {
                        return off;
                    }
                }
            }
        }
    });
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(committed_before_kill < 50_000, "the kill must land mid-run");

    let mut second = start();
    let status = second.wait().unwrap();
    gen.cancel();
    assert!(status.success(), "second run exits 0 when done");
    let report = verify(&io, &keyspace, &verify_args(CYCLES, Format::Seed));
    assert_eq!(report.raw_rows, Some(200_000));
    assert!(report.is_exact(), "{report:?}");
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn frequent_kills_under_load_stay_exact_and_bounded() {
    let keyspace = unique_keyspace("manykills");
    let io = io_runtime();
    let cycles = 0..600_000;
    let (addr, gen) = start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        cycles.clone(),
        150_000,
    );
    let mut config = test_config(&keyspace);
    config.processor.flush_interval = Duration::from_millis(500);
    config.processor.max_epoch_events = 100_000;
    config.partitions = replayable_partitions(addr, 4, Format::Seed);
    let faults = Faults {
        partition_kills: 12,
        ..Faults::default()
    };
    let out = run_processor(
        config,
        &io,
        Some((cycles.clone(), 4)),
        faults,
        Duration::from_secs(300),
    );
    gen.cancel();
    assert_eq!(out.killed_restarts, 12);
    // Killed incarnations' writes are abandoned, not left to pile up.
    let rss = rss_kib();
    assert!(rss < 2 * 1024 * 1024, "resident memory {rss} KiB");
    let report = verify(&io, &keyspace, &verify_args(cycles, Format::Seed));
    assert!(report.is_exact(), "{report:?}");
}

#[test]
fn a_listen_partition_takes_producer_after_producer() {
    use std::io::Write;
    let keyspace = unique_keyspace("listen");
    let io = io_runtime();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = test_config(&keyspace);
    config.partitions = vec![ssa::config::PartitionConfig {
        id: "pushed".into(),
        source: format!("listen://127.0.0.1:{port}"),
        mode: ssa::config::SourceMode::Shared,
        format: Format::Seed,
        index: 0,
        count: 1,
    }];
    let workload = Workload::default();
    let handle = io.handle().clone();
    actix::System::new().block_on(async move {
        let processor = ssa::processor::Processor::start(config, handle)
            .await
            .unwrap();
        let push = |cycles: std::ops::Range<u64>| {
            let workload = workload.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut stream = loop {
                    match std::net::TcpStream::connect(("127.0.0.1", port)) {
                        Ok(s) => break s,
                        Err(e) => {
                            assert!(started.elapsed() < Duration::from_secs(30), "{e}");
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                };
                let mut buf = Vec::new();
                for c in cycles {
                    workload.write_line(c, &mut buf);
                }
                stream.write_all(&buf).unwrap();
            })
        };
        let wait_committed = |n: u64| {
            let p = processor.partitions()[0].clone();
            async move {
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                while p.status.committed_offset() < n {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "{:?}",
                        p.status.snapshot()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        // The producers run on threads of their own; this thread runs the actors.
        let first = push(0..30_000);
        wait_committed(30_000).await;
        assert!(first.join().is_ok());
        let second = push(30_000..50_000);
        wait_committed(50_000).await;
        assert!(second.join().is_ok());
        processor.drain().await;
    });
    let mut args = verify_args(0..50_000, Format::Seed);
    args.no_raw = false;
    let report = verify(&io, &keyspace, &args);
    assert!(report.is_exact(), "{report:?}");
}

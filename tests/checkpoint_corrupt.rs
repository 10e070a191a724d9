//! A damaged checkpoint never silently loses or double-counts: snapshots are
//! corrupted in the real node's `checkpoints` table, the partition is killed and
//! restores from Cassandra. With an older chain that decodes, it falls back to it,
//! re-reads its replayable source from there and ends EXACT, the fallback counted;
//! with none, it stops as `corrupt` until `POST /partitions/{id}/reset`, after
//! which it starts over from offset 0 and ends EXACT.

mod admin_support;
mod common;

use std::ops::Range;
use std::time::Duration;

use admin_support::{Api, Harness};
use serde_json::Value;
use ssa::config::Config;
use ssa::format::Format;
use ssa::gen::{partition_lines, ServeMode, Workload};

const TOKEN: &str = "corrupt-test-token";
const LIMIT: Duration = Duration::from_secs(240);

/// Two replayable partitions `{prefix}0` and `{prefix}1` of `cycles`, with short
/// chains (a base every 4 deltas) so that several bases are stored.
fn start(
    io: &tokio::runtime::Runtime,
    keyspace: &str,
    prefix: &str,
    cycles: Range<u64>,
) -> (Harness, tokio_util::sync::CancellationToken) {
    let (gen_addr, gen_stop) =
        common::start_gen(io, Workload::default(), ServeMode::Partitioned, cycles, 0);
    let mut config: Config = common::test_config(keyspace);
    config.processor.max_epoch_events = 5_000;
    config.processor.checkpoint_compact_every = 4;
    config.partitions = common::replayable_partitions(gen_addr, 2, Format::Seed);
    for p in &mut config.partitions {
        p.id = p.id.replace('p', prefix);
    }
    (Harness::start(config, io, Some(TOKEN)), gen_stop)
}

fn partition(api: &Api, id: &str) -> Value {
    api.get(&format!("/partitions/{id}")).expect(200)
}

fn wait_state(api: &Api, id: &str, state: &str) -> Value {
    api.wait_for(&format!("/partitions/{id}"), LIMIT, state, |p| {
        p["state"] == state
    })
}

fn all_finished(api: &Api) {
    api.wait_for("/partitions", LIMIT, "every partition finishes", |v| {
        v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "finished")
    });
}

/// Flips the last byte of chunk 0 of the snapshots `seqs` of `partition`.
fn corrupt(io: &tokio::runtime::Runtime, keyspace: &str, partition: &str, seqs: &[i64]) {
    io.block_on(async {
        let s = common::session(keyspace).await;
        for seq in seqs {
            let (mut data,) = s
                .query_unpaged(
                    format!(
                        "SELECT data FROM {keyspace}.checkpoints \
                         WHERE partition_id = ? AND seq = ? AND chunk = 0"
                    ),
                    (partition, seq),
                )
                .await
                .unwrap()
                .into_rows_result()
                .unwrap()
                .single_row::<(Vec<u8>,)>()
                .unwrap();
            let last = data.len() - 1;
            data[last] ^= 0x5a;
            s.query_unpaged(
                format!(
                    "UPDATE {keyspace}.checkpoints SET data = ? \
                     WHERE partition_id = ? AND seq = ? AND chunk = 0"
                ),
                (data, partition, seq),
            )
            .await
            .unwrap();
        }
    })
}

/// Every snapshot seq stored for `partition`, oldest first.
fn seqs(io: &tokio::runtime::Runtime, keyspace: &str, partition: &str) -> Vec<i64> {
    io.block_on(async {
        let s = common::session(keyspace).await;
        let rows = s
            .query_unpaged(
                format!("SELECT seq FROM {keyspace}.checkpoints WHERE partition_id = ?"),
                (partition,),
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let mut seqs: Vec<i64> = rows
            .rows::<(i64,)>()
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        // The table keeps the newest first.
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    })
}

/// Events counted in the partition's partial rollups and in its minute buckets.
fn counted(io: &tokio::runtime::Runtime, keyspace: &str, partition: &str) -> (i64, i64) {
    io.block_on(async {
        let s = common::session(keyspace).await;
        let mut sums = Vec::new();
        for table in ["rollups_by_partition", "rollups_by_minute"] {
            let (sum,) = s
                .query_unpaged(
                    format!(
                        "SELECT sum(count) FROM {keyspace}.{table} WHERE partition_id = ? ALLOW FILTERING"
                    ),
                    (partition,),
                )
                .await
                .unwrap()
                .into_rows_result()
                .unwrap()
                .single_row::<(i64,)>()
                .unwrap();
            sums.push(sum);
        }
        (sums[0], sums[1])
    })
}

/// The partition loses what the checkpoint actor remembers and its own state:
/// its next restore reads the `checkpoints` table.
fn kill_to_cold_restore(api: &Api, id: &str) {
    api.post("/actors/checkpoint/kill", None).expect(200);
    api.post(&format!("/partitions/{id}/kill"), None)
        .expect(200);
}

fn exact(io: &tokio::runtime::Runtime, keyspace: &str, cycles: Range<u64>) {
    let report = common::verify(
        io,
        keyspace,
        &common::verify_args(cycles.clone(), Format::Seed),
    );
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(report.raw_rows, Some(cycles.end - cycles.start));
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_chain_and_ends_exact() {
    let io = common::io_runtime();
    let (session, keyspace) = io.block_on(common::keyspace_with_schema("corrupt_newest"));
    let cycles = 0..60_000u64;
    let (h, gen_stop) = start(&io, &keyspace, "a", cycles.clone());
    let api = &h.api;
    let lines = partition_lines(cycles.clone(), 0, 2);

    // a0 commits part of its stream (or all of it), then stops: nothing in flight.
    api.wait_for("/partitions/a0", LIMIT, "a0 commits half", |p| {
        p["committed_offset"].as_u64().unwrap() >= lines / 2
    });
    let stopped = api.post("/partitions/a0/stop", None).expect(200);
    assert_eq!(stopped["state"], "stopped");
    let stored = seqs(&io, &keyspace, "a0");
    assert!(stored.len() > 1, "{stored:?}");
    let newest = *stored.last().unwrap();
    assert_eq!(stopped["last_committed_epoch"].as_i64(), Some(newest));
    corrupt(&io, &keyspace, "a0", &[newest]);

    kill_to_cold_restore(api, "a0");
    api.post("/partitions/a0/start", None).expect(200);
    all_finished(api);
    io.block_on(h.processor.flush());

    let a0 = partition(api, "a0");
    assert_eq!(a0["corrupt_checkpoints"], 1, "{a0}");
    assert_eq!(a0["lost_events"], 0, "{a0}");
    assert_eq!(a0["committed_offset"].as_u64(), Some(lines));
    assert_eq!(partition(api, "a1")["corrupt_checkpoints"], 0);
    let metrics = api.get("/metrics").body;
    assert!(
        metrics.contains("ssa_checkpoint_corrupt_total{partition=\"a0\"} 1"),
        "{metrics}"
    );
    // Partials and minute buckets hold each event once: the epochs after the
    // fallback chain were repaired, then re-read.
    let lines = i64::try_from(lines).unwrap();
    assert_eq!(counted(&io, &keyspace, "a0"), (lines, lines));
    exact(&io, &keyspace, cycles);

    drop(h);
    gen_stop.cancel();
    io.block_on(common::drop_keyspace(&session, &keyspace));
}

#[test]
fn no_chain_that_decodes_stops_the_partition_until_it_is_reset() {
    let io = common::io_runtime();
    let (session, keyspace) = io.block_on(common::keyspace_with_schema("corrupt_all"));
    let cycles = 0..40_000u64;
    let (h, gen_stop) = start(&io, &keyspace, "b", cycles.clone());
    let api = &h.api;
    all_finished(api);

    api.post("/partitions/b0/stop", None).expect(200);
    let stored = seqs(&io, &keyspace, "b0");
    corrupt(&io, &keyspace, "b0", &stored);
    kill_to_cold_restore(api, "b0");
    api.post("/partitions/b0/start", None).expect(200);

    let b0 = wait_state(api, "b0", "corrupt");
    assert_eq!(b0["corrupt_checkpoints"], 1, "{b0}");
    let problem = b0["problem"].as_str().unwrap();
    assert!(
        problem.contains("no snapshot chain of partition b0 decodes"),
        "{problem}"
    );
    let listed = api.get("/partitions").expect(200);
    let states: Vec<&Value> = listed["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["state"])
        .collect();
    assert_eq!(states, ["corrupt", "finished"]);
    // Nothing was deleted: the damaged snapshots stay until the operator resets.
    assert_eq!(seqs(&io, &keyspace, "b0"), stored);

    // Only a stopped or corrupt partition can be reset, and only with the token.
    api.post("/partitions/b1/reset", None)
        .expect_error(409, "partition_state");
    api.call("POST", "/partitions/b0/reset", None, None)
        .expect_error(401, "unauthorized");
    api.post("/partitions/nope/reset", None)
        .expect_error(404, "not_found");
    let reset = api.post("/partitions/b0/reset", None).expect(200);
    assert_ne!(reset["state"], "corrupt", "{reset}");
    all_finished(api);
    io.block_on(h.processor.flush());

    let b0 = partition(api, "b0");
    assert_eq!(b0["problem"], Value::Null, "{b0}");
    let lines = partition_lines(cycles.clone(), 0, 2);
    assert_eq!(b0["committed_offset"].as_u64(), Some(lines));
    let lines = i64::try_from(lines).unwrap();
    assert_eq!(counted(&io, &keyspace, "b0"), (lines, lines));
    exact(&io, &keyspace, cycles);

    drop(h);
    gen_stop.cancel();
    io.block_on(common::drop_keyspace(&session, &keyspace));
}

/// A shared source cannot replay: after the fallback, the events of the lost
/// epochs are counted as lost and none of their rows is left behind.
#[test]
fn a_shared_source_counts_what_a_fallback_loses_and_keeps_its_rows_consistent() {
    use std::io::{Read, Write};
    let io = common::io_runtime();
    let (session, keyspace) = io.block_on(common::keyspace_with_schema("corrupt_shared"));
    let n = 30_000u64;
    let mut first = Vec::new();
    for c in 0..n {
        Workload::default().write_line(c, &mut first);
    }
    // First connection: n lines, then EOF. Second (after the restore): held open.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&first).unwrap();
        drop(s);
        let (mut s, _) = listener.accept().unwrap();
        while matches!(s.read(&mut [0; 64]), Ok(n) if n > 0) {}
    });
    let mut config: Config = common::test_config(&keyspace);
    config.processor.max_epoch_events = 3_000;
    config.processor.checkpoint_compact_every = 4;
    config.partitions = vec![ssa::config::PartitionConfig {
        id: "s0".into(),
        source: format!("tcp://{addr}"),
        mode: ssa::config::SourceMode::Shared,
        format: Format::Seed,
        index: 0,
        count: 1,
    }];
    let h = Harness::start(config, &io, Some(TOKEN));
    let api = &h.api;
    wait_state(api, "s0", "finished");
    api.post("/partitions/s0/stop", None).expect(200);
    let newest = *seqs(&io, &keyspace, "s0").last().unwrap();
    corrupt(&io, &keyspace, "s0", &[newest]);
    kill_to_cold_restore(api, "s0");
    api.post("/partitions/s0/start", None).expect(200);

    let s0 = wait_state(api, "s0", "running");
    let kept = s0["committed_offset"].as_u64().unwrap();
    assert!(kept < n, "{s0}");
    assert_eq!(s0["corrupt_checkpoints"], 1, "{s0}");
    assert_eq!(s0["lost_events"].as_u64(), Some(n - kept), "{s0}");
    // The repair runs in the background: wait until the rows agree with the
    // restored state (raw rows, partials and minute buckets), each event once.
    let kept = i64::try_from(kept).unwrap();
    let raw = |io: &tokio::runtime::Runtime| {
        io.block_on(async {
            let s = common::session(&keyspace).await;
            s.query_unpaged(
                format!(
                    "SELECT count(*) FROM {keyspace}.events_raw WHERE partition_id = 's0' AND bucket = 0"
                ),
                (),
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap()
            .single_row::<(i64,)>()
            .unwrap()
            .0
        })
    };
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let now = (raw(&io), counted(&io, &keyspace, "s0"));
        if now == (kept, (kept, kept)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rows never matched the restored offset {kept}: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    drop(h);
    io.block_on(common::drop_keyspace(&session, &keyspace));
}

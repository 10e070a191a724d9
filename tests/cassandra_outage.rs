//! Cassandra stopped under load until every partition back-pressures, then started
//! again: the process stays up, partitions hold exactly `max_inflight_epochs`
//! uncommitted epochs while it is down, and the end result is exact. Runs its own
//! node on 127.0.0.2 so other tests are not disturbed.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use ssa::actors::partition::Lifecycle;
use ssa::format::Format;
use ssa::gen::{ServeMode, Workload};

struct Node {
    data: PathBuf,
}

impl Node {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cassandra")
    }

    fn run(&self, verb: &str) {
        let status = Command::new(Self::script())
            .args([verb, "--listen-address", "127.0.0.2", "--data-dir"])
            .arg(&self.data)
            .status()
            .expect("scripts/cassandra runs");
        assert!(
            status.success(),
            "scripts/cassandra {verb} for 127.0.0.2 failed"
        );
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new(Self::script())
            .args(["stop", "--listen-address", "127.0.0.2", "--data-dir"])
            .arg(&self.data)
            .status();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

#[test]
fn a_cassandra_outage_under_load_ends_exact() {
    let data = std::env::temp_dir().join(format!("ssa-outage-{}", std::process::id()));
    let node = Node { data };
    node.run("start");

    let keyspace = unique_keyspace("outage");
    let cycles = 0..200_000u64;
    let io = io_runtime();
    let (addr, gen) = start_gen(
        &io,
        Workload::default(),
        ServeMode::Partitioned,
        cycles.clone(),
        10_000,
    );
    let mut config = test_config(&keyspace);
    config.cassandra.contact_points = vec!["127.0.0.2:9042".into()];
    config.processor.max_inflight_epochs = 3;
    config.processor.retry_backoff_max = Duration::from_millis(500);
    config.partitions = replayable_partitions(addr, 2, Format::Seed);

    // The outage starts once both partitions commit; the node comes back once
    // both hold back reading with exactly `max_inflight_epochs` uncommitted.
    let limit = Duration::from_secs(120);
    let data = node.data.clone();
    let out = run_processor_with(config, &io, Some((cycles.clone(), 2)), limit * 3, |p| {
        async move {
            wait_until(&p, limit, "both partitions commit", |p| {
                p.partitions()
                    .iter()
                    .all(|part| part.status.committed_offset() > 0)
            })
            .await;
            let node = Node { data };
            let node = tokio::task::spawn_blocking(move || {
                node.run("stop");
                node
            })
            .await
            .unwrap();
            wait_until(&p, limit, "both partitions back-pressure", |p| {
                p.snapshots()
                    .iter()
                    .all(|s| s.state == Lifecycle::Backpressured && s.uncommitted_epochs == 3)
            })
            .await;
            tokio::task::spawn_blocking(move || {
                node.run("start");
                // The node outlives this run; the test's own `Node` stops it.
                std::mem::forget(node);
            })
            .await
            .unwrap();
        }
    });
    gen.cancel();
    assert!(
        out.max_inflight_seen <= 3,
        "uncommitted epochs stay bounded: {}",
        out.max_inflight_seen
    );
    assert_eq!(out.committed, 200_000);

    let args = verify_args(cycles, Format::Seed);
    let report = io.block_on(async {
        let mut cfg = cassandra_config(&keyspace);
        cfg.contact_points = vec!["127.0.0.2:9042".into()];
        let session = ssa::cassandra::connect(&cfg).await.unwrap();
        ssa::commands::verify::verify(&session, &keyspace, &args)
            .await
            .unwrap()
    });
    assert!(report.is_exact(), "{report:?}");
}

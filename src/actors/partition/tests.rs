//! The partition actor as a state machine, below end-to-end: real sockets, the
//! sink set to none and the local checkpoint store, no Cassandra. Every test
//! waits for the phase it expects (with a deadline) and checks exact numbers.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::phase::{Resume as At, Start};
use super::*;
use crate::actors::checkpoint::CheckpointActor;
use crate::actors::merger::{Flush, Merger, Totals};
use crate::actors::sink::SinkActor;
use crate::actors::supervision::RestartCause;
use crate::actors::tuning::Tuning;
use crate::checkpoint::{CheckpointStore, Identity, LocalStore, StoredIdentity};
use crate::config::{PartitionConfig, ProcessorConfig, SinkKind, SourceMode};
use crate::format::Format;
use crate::gen::{CycleRange, ServeMode, ServeOptions, Workload};

/// How long any one expected event may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// One partition actor with everything it talks to, in memory and on disk.
struct Harness {
    addr: Addr<PartitionActor>,
    status: Arc<PartitionStatus>,
    merger: Addr<Merger>,
    totals: Totals,
    /// The merger's own thread: as in the processor, readers of the totals
    /// and the partition do not run where the merger does.
    merger_thread: Arbiter,
    _dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.merger_thread.stop();
    }
}

fn processor_config(dir: &std::path::Path) -> ProcessorConfig {
    ProcessorConfig {
        sink: SinkKind::None,
        checkpoint_dir: dir.display().to_string(),
        // Epochs are cut by size, a stop or the end of the source: never by time.
        flush_interval: Duration::from_secs(3600),
        ..ProcessorConfig::default()
    }
}

fn partition(source: String, mode: SourceMode) -> PartitionConfig {
    PartitionConfig {
        id: "p0".into(),
        source,
        mode,
        format: Format::Seed,
        index: 0,
        count: 1,
    }
}

impl Harness {
    async fn start(cfg: PartitionConfig, dir: tempfile::TempDir) -> Harness {
        Self::start_with(cfg, processor_config(dir.path()), dir).await
    }

    async fn start_with(
        cfg: PartitionConfig,
        proc: ProcessorConfig,
        dir: tempfile::TempDir,
    ) -> Harness {
        let io = tokio::runtime::Handle::current();
        let store = Arc::new(CheckpointStore::Local(LocalStore::new(dir.path())));
        let totals: Totals = Arc::new(Default::default());
        let merger_thread = Arbiter::new();
        let (t, merger_io) = (totals.clone(), io.clone());
        let merger = Merger::start_in_arbiter(&merger_thread.handle(), move |_| {
            Merger::new(t, None, merger_io)
        });
        let deps = PartitionDeps {
            sink: SinkActor::new(None, io.clone(), false).start(),
            cassandra: None,
            checkpoint: CheckpointActor::new(store, io.clone(), 3).start(),
            merger: merger.clone(),
            io,
            tuning: Arc::new(Tuning::new(&proc)),
            budget: crate::actors::budget::StateBudget::new(proc.state_memory_limit.bytes()),
            cluster: None,
        };
        let changes = Arc::new(tokio::sync::watch::Sender::new(0));
        let status = Arc::new(PartitionStatus::new(&cfg, changes));
        let s = status.clone();
        // Merger index 1: its first timed seal is a 56th of the (long) flush
        // interval away, not at once as for index 0.
        let addr = Supervisor::start(move |_| PartitionActor::new(cfg, proc, 1, deps, s));
        Harness {
            addr,
            status,
            merger,
            totals,
            merger_thread,
            _dir: dir,
        }
    }

    /// Waits until `done` holds, re-checked on every change of phase,
    /// backpressure or commit.
    async fn until(&self, what: &str, done: impl Fn(&PartitionStatus) -> bool) {
        let status = &self.status;
        let wait = status.wait_until(|_| done(status));
        if tokio::time::timeout(DEADLINE, wait).await.is_err() {
            panic!("{what}: not within {DEADLINE:?}: {:?}", status.observed());
        }
    }

    /// Waits until the partition is in `phase`.
    async fn phase(&self, phase: Phase) {
        self.until(&format!("{phase:?}"), |s| s.phase() == phase)
            .await;
    }

    /// Waits until `n` lines have been read.
    async fn read(&self, n: u64) {
        let started = std::time::Instant::now();
        // Reads move the offset, not the phase: this one condition is polled.
        while self.status.offset() < n {
            assert!(
                started.elapsed() < DEADLINE,
                "{n} lines not read: {:?}",
                self.status.snapshot()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The sum of all totals, once the merger has taken every commit so far.
    async fn total_count(&self) -> i64 {
        self.merger.send(Flush).await.unwrap();
        self.visible_count()
    }

    /// The sum of the totals as a reader (the admin API) sees them now.
    fn visible_count(&self) -> i64 {
        self.totals.iter().map(|e| e.total().count).sum()
    }
}

/// A replayable generator of `lines` seed lines for one partition.
async fn replayable(lines: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let opts = ServeOptions::new(
        Workload::default(),
        ServeMode::Partitioned,
        CycleRange::finite(0..lines),
    );
    tokio::spawn(crate::gen::serve(
        listener,
        opts,
        tokio_util::sync::CancellationToken::new(),
    ));
    format!("tcp://{addr}")
}

/// A plain line server: for each connection, writes its batch of lines, waits
/// for its signal, then closes.
async fn batches(connections: Vec<(Vec<u8>, oneshot::Receiver<()>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for (lines, close) in connections {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.write_all(&lines).await.unwrap();
            let _ = close.await;
        }
    });
    format!("tcp://{addr}")
}

fn lines(cycles: std::ops::Range<u64>) -> Vec<u8> {
    let workload = Workload::default();
    let mut buf = Vec::new();
    for c in cycles {
        workload.write_line(c, &mut buf);
    }
    buf
}

#[actix_web::test]
async fn a_replayable_source_is_read_to_its_end_and_finishes() {
    let source = replayable(30_000).await;
    let h = Harness::start(
        partition(source, SourceMode::Replayable),
        tempfile::tempdir().unwrap(),
    )
    .await;
    h.status.expect_lines(30_000);
    h.phase(Phase::Finished).await;
    let s = h.status.snapshot();
    assert_eq!(
        (s.offset, s.committed_offset, s.lag),
        (30_000, 30_000, Some(0))
    );
    assert_eq!(
        (s.uncommitted_epochs, s.restarts, s.state),
        (0, 0, Lifecycle::Finished)
    );
    assert_eq!(h.total_count().await, 30_000);
}

#[actix_web::test]
async fn a_settled_partition_is_whole_in_the_totals_readers_see() {
    // Finished or stopped means every commit is in the totals: a reader who
    // sees the phase never sees a total short of it (no flush in between).
    for lines in [1_000, 20_000, 50_000] {
        let source = replayable(lines).await;
        let h = Harness::start(
            partition(source, SourceMode::Replayable),
            tempfile::tempdir().unwrap(),
        )
        .await;
        h.status.expect_lines(lines);
        h.phase(Phase::Finished).await;
        assert_eq!(h.visible_count(), lines as i64, "finished after {lines}");
    }
    let (_close, closed) = oneshot::channel();
    let source = batches(vec![(lines(0..7_000), closed)]).await;
    let h = Harness::start(
        partition(source, SourceMode::Shared),
        tempfile::tempdir().unwrap(),
    )
    .await;
    h.read(7_000).await;
    h.addr.send(Drain).await.unwrap();
    assert_eq!(h.status.phase(), Phase::Stopped(At::Read));
    assert_eq!(h.visible_count(), 7_000);
}

#[actix_web::test]
async fn a_stop_commits_what_was_read_and_a_resume_reads_on() {
    let (close_first, first_closed) = oneshot::channel();
    let source = batches(vec![(lines(0..1_000), first_closed)]).await;
    let h = Harness::start(
        partition(source, SourceMode::Shared),
        tempfile::tempdir().unwrap(),
    )
    .await;
    h.read(1_000).await;
    assert_eq!(h.status.phase(), Phase::Reading);
    h.addr.send(Drain).await.unwrap();
    // The stop answers once all is committed: one epoch, sealed by the stop.
    let s = h.status.snapshot();
    assert_eq!(h.status.phase(), Phase::Stopped(At::Read));
    assert_eq!((s.committed_offset, s.last_committed_epoch), (1_000, 1));
    assert_eq!((s.uncommitted_epochs, s.state), (0, Lifecycle::Stopped));
    h.addr.send(Resume).await.unwrap();
    assert_eq!(h.status.phase(), Phase::Reading);
    // The source ends: the rest commits (nothing: the stop sealed it all).
    close_first.send(()).unwrap();
    h.phase(Phase::Finished).await;
    let s = h.status.snapshot();
    assert_eq!((s.committed_offset, s.last_committed_epoch), (1_000, 1));
    assert_eq!((s.restarts, s.lost_events), (0, 0));
}

#[actix_web::test]
async fn a_partition_killed_while_stopped_stays_stopped_until_resumed() {
    let source = replayable(10_000).await;
    let h = Harness::start(
        partition(source, SourceMode::Replayable),
        tempfile::tempdir().unwrap(),
    )
    .await;
    h.status.expect_lines(10_000);
    h.phase(Phase::Finished).await;
    h.addr.send(Drain).await.unwrap();
    assert_eq!(h.status.phase(), Phase::Stopped(At::End));
    h.addr.send(KillPartition).await.unwrap();
    h.phase(Phase::Stopped(At::Restore)).await;
    assert_eq!(h.status.restarts_of(RestartCause::Killed), 1);
    assert_eq!(h.status.lifecycle(), Lifecycle::Stopped);
    // Resumed, it restores from its checkpoints and finds its source at its end.
    h.addr.send(Resume).await.unwrap();
    h.phase(Phase::Finished).await;
    let s = h.status.snapshot();
    assert_eq!((s.committed_offset, s.restarts), (10_000, 1));
    assert_eq!(s.restarts_by_cause["killed"], 1);
}

#[actix_web::test]
async fn a_kill_while_reading_resumes_from_the_committed_offset() {
    let (close_first, first_closed) = oneshot::channel();
    let (close_second, second_closed) = oneshot::channel();
    // A shared source: what was read but not committed at the kill is lost.
    let source = batches(vec![
        (lines(0..3_000), first_closed),
        (lines(3_000..5_000), second_closed),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = processor_config(dir.path());
    proc.max_epoch_events = 1_000_000;
    let h = Harness::start_with(partition(source, SourceMode::Shared), proc, dir).await;
    h.read(3_000).await;
    h.addr.send(KillPartition).await.unwrap();
    // Restarted: restoring, then connected again to the next connection.
    h.until("restarted and reading", |s| {
        s.restarts_of(RestartCause::Killed) == 1 && s.phase() == Phase::Reading
    })
    .await;
    assert_eq!(h.status.snapshot().lost_events, 3_000);
    drop(close_first);
    h.read(2_000).await;
    close_second.send(()).unwrap();
    h.phase(Phase::Finished).await;
    let s = h.status.snapshot();
    assert_eq!(
        (s.offset, s.committed_offset, s.last_committed_epoch),
        (2_000, 2_000, 1)
    );
    assert_eq!(s.lost_events, 3_000);
}

#[actix_web::test]
async fn a_partition_under_another_identity_is_refused_and_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = partition(replayable(100).await, SourceMode::Replayable);
    let other = Identity {
        index: 1,
        count: 2,
        ..Identity::of(&cfg)
    };
    LocalStore::new(dir.path())
        .set_identity(
            "p0",
            &StoredIdentity {
                identity: other,
                reset_pending: false,
            },
        )
        .await
        .unwrap();
    let h = Harness::start(cfg, dir).await;
    h.phase(Phase::Refused).await;
    let s = h.status.snapshot();
    assert_eq!((s.state, s.offset, s.restarts), (Lifecycle::Stopped, 0, 0));
    // A resume tries again, and is refused again.
    h.addr.send(Resume).await.unwrap();
    h.phase(Phase::Refused).await;
    assert_eq!(h.status.restarts(), 0);
}

#[actix_web::test]
async fn a_listen_partition_awaits_producer_after_producer() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let source = format!("listen://127.0.0.1:{port}");
    let h = Harness::start(
        partition(source, SourceMode::Shared),
        tempfile::tempdir().unwrap(),
    )
    .await;
    h.phase(Phase::Connecting(Start::Fresh)).await;
    for (n, cycles) in [(1, 0..700), (2, 700..1_000)] {
        let mut producer = loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Ok(s) => break s,
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        producer.write_all(&lines(cycles.clone())).await.unwrap();
        drop(producer);
        h.until("the producer's lines committed", |s| {
            s.phase() == Phase::AwaitingProducer && s.committed_offset() == cycles.end
        })
        .await;
        let s = h.status.snapshot();
        assert_eq!(
            (s.committed_offset, s.last_committed_epoch),
            (cycles.end, n)
        );
        assert_eq!(s.state, Lifecycle::Running);
    }
    h.addr.send(Drain).await.unwrap();
    assert_eq!(h.status.phase(), Phase::Stopped(At::AwaitProducer));
}

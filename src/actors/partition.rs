//! The partition actor: owns one source connection and that partition's state.
//!
//! Per epoch: seal → (sink) intent, raw rows, rollups → (checkpoint actor) snapshot
//! → commit. Epochs commit in order; while they are written the actor keeps
//! reading, up to `max_inflight_epochs` uncommitted, past which it stops reading
//! its socket. When it dies the supervisor restarts it: it reloads its last
//! committed snapshot, repairs what uncommitted epochs may have written, and
//! re-subscribes at the committed offset.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use prometheus::{Counter, Histogram, IntCounter, IntGauge};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::FramedRead;

use super::checkpoint::{CheckpointActor, Persist, Restore};
use super::gate::{Gate, Gated};
use super::idle::IdleWatch;
use super::merger::{Committed, Merger, Reset};
use super::sink::{SinkActor, WriteEpoch};
use super::stats::{PartitionState as Lifecycle, PartitionStats};
use super::supervision::{Backoff, RestartCause};
use super::tuning::Tuning;
use crate::checkpoint::{CheckpointError, Identity};
use crate::config::{PartitionConfig, ProcessorConfig, SourceAddr, SourceMode};
use crate::core::{
    self, BadLine, ChunkCodec, ChunkCodecError, CompactionPolicy, Frame, Key, PartitionState,
    Rollup, SealedEpoch, Snapshot, SnapshotKind, StateOptions,
};
use crate::metrics;
use crate::sink::{write_timestamp, CassandraSink, DeadLetter, EpochWrite, Intent};

/// Bytes of a chunk handed to the actor per message.
const CHUNK_BYTES: usize = 256 * 1024;
/// Bytes kept of a dead-lettered line.
const DEAD_LETTER_PREFIX: usize = 256;
/// Epochs between deletions of old intents.
const FORGET_INTENTS_EVERY: u64 = 16;

/// What a partition actor needs from the rest of the process.
#[derive(Clone)]
pub struct PartitionDeps {
    pub sink: Addr<SinkActor>,
    /// For restore-time repair (`None` with `--sink none`).
    pub cassandra: Option<Arc<CassandraSink>>,
    pub checkpoint: Addr<CheckpointActor>,
    pub merger: Addr<Merger>,
    pub io: tokio::runtime::Handle,
    /// Live values of the knobs `PATCH /config` may change.
    pub tuning: Arc<Tuning>,
}

struct Pending {
    sealed: Arc<SealedEpoch>,
    snapshot: Arc<Snapshot>,
    bytes: Arc<Vec<u8>>,
    dead_letters: Arc<Vec<DeadLetter>>,
    timestamp: i64,
    written: bool,
    checkpointing: bool,
    sealed_at: Instant,
    /// When each chunk of the epoch arrived, for event→commit latency.
    arrivals: Vec<Instant>,
}

/// Pre-resolved metric handles: no label lookup on the hot path.
struct Meters {
    events_in: IntCounter,
    committed: IntCounter,
    lost: IntCounter,
    inflight: IntGauge,
    offset: IntGauge,
    committed_offset: IntGauge,
    keys: IntGauge,
    lag: IntGauge,
    backpressure: Counter,
    epoch_commit: Histogram,
    event_commit: Histogram,
    /// One counter per bad-line reason, in `BadLine::REASONS` order.
    malformed: Vec<(&'static str, IntCounter)>,
}

impl Meters {
    fn malformed(&self, reason: &str) {
        if let Some((_, c)) = self.malformed.iter().find(|(r, _)| *r == reason) {
            c.inc();
        }
    }
}

impl Meters {
    fn new(id: &str) -> Self {
        // Every reason exists from the start, so a dashboard query has a series.
        let malformed = BadLine::REASONS
            .iter()
            .map(|reason| (*reason, metrics::MALFORMED.with_label_values(&[id, reason])))
            .collect();
        Meters {
            malformed,
            events_in: metrics::EVENTS_IN.with_label_values(&[id]),
            committed: metrics::EVENTS_COMMITTED.with_label_values(&[id]),
            lost: metrics::LOST_AT_MOST_ONCE.with_label_values(&[id]),
            inflight: metrics::INFLIGHT_EPOCHS.with_label_values(&[id]),
            offset: metrics::SOURCE_OFFSET.with_label_values(&[id]),
            committed_offset: metrics::COMMITTED_OFFSET.with_label_values(&[id]),
            keys: metrics::PARTITION_KEYS.with_label_values(&[id]),
            lag: metrics::SOURCE_LAG.with_label_values(&[id]),
            backpressure: metrics::BACKPRESSURE_SECONDS.with_label_values(&[id]),
            epoch_commit: metrics::EPOCH_COMMIT_SECONDS.with_label_values(&[id]),
            event_commit: metrics::EVENT_COMMIT_SECONDS.with_label_values(&[id]),
        }
    }
}

pub struct PartitionActor {
    cfg: PartitionConfig,
    proc: ProcessorConfig,
    index: u16,
    id: Arc<str>,
    deps: PartitionDeps,
    stats: Arc<PartitionStats>,
    meters: Meters,
    backoff: Backoff,
    compaction: CompactionPolicy,
    listener: Option<Arc<TcpListener>>,
    // What follows is reset on every restart.
    state: Option<PartitionState>,
    pending: VecDeque<Pending>,
    gate: Option<Gate>,
    writer: Option<OwnedWriteHalf>,
    dead_letters: Vec<DeadLetter>,
    dead_letters_kept: u64,
    deltas_since_base: u32,
    epoch_arrivals: Vec<Instant>,
    committed_epoch: u64,
    committed_offset: u64,
    source_eof: bool,
    draining: bool,
    stopped: bool,
    /// Removed from the processor: never restarts its work again.
    retired: bool,
    seal_timer: Option<SpawnHandle>,
    /// `listen://` only: when the producer last sent lines.
    idle: IdleWatch,
    consecutive_failures: u32,
    cause: Option<RestartCause>,
    backpressured_since: Option<Instant>,
    restarted_at: Option<Instant>,
    /// Counts restarts; replies meant for an earlier incarnation are ignored.
    incarnation: u64,
    /// A background repair runs; intents are not forgotten meanwhile.
    repairing: bool,
    /// Cancels this incarnation's epoch writes when it dies.
    cancel: tokio_util::sync::CancellationToken,
}

impl PartitionActor {
    pub fn new(
        cfg: PartitionConfig,
        proc: ProcessorConfig,
        index: u16,
        deps: PartitionDeps,
        stats: Arc<PartitionStats>,
    ) -> Self {
        let id: Arc<str> = Arc::from(cfg.id.as_str());
        PartitionActor {
            meters: Meters::new(&id),
            idle: IdleWatch::new(proc.listen_idle_timeout),
            backoff: Backoff {
                min: proc.restart_backoff_min,
                max: proc.restart_backoff_max,
            },
            compaction: CompactionPolicy {
                every_n_deltas: proc.checkpoint_compact_every,
            },
            cfg,
            proc,
            index,
            id,
            deps,
            stats,
            listener: None,
            state: None,
            pending: VecDeque::new(),
            gate: None,
            writer: None,
            dead_letters: Vec::new(),
            dead_letters_kept: 0,
            deltas_since_base: 0,
            epoch_arrivals: Vec::new(),
            committed_epoch: 0,
            committed_offset: 0,
            source_eof: false,
            draining: false,
            stopped: false,
            retired: false,
            seal_timer: None,
            consecutive_failures: 0,
            cause: None,
            backpressured_since: None,
            restarted_at: None,
            incarnation: 0,
            repairing: false,
            cancel: tokio_util::sync::CancellationToken::new(),
        }
    }

    fn state_options(&self) -> StateOptions {
        StateOptions {
            keep_raw: self.proc.sink == crate::config::SinkKind::Cassandra && self.proc.raw_events,
            bucket_horizon_minutes: Some((self.proc.minute_horizon.as_secs() / 60).max(1) as u32),
        }
    }

    /// Records why the actor stops and stops it; the supervisor restarts it.
    fn fail(
        &mut self,
        ctx: &mut Context<Self>,
        cause: RestartCause,
        error: &dyn std::fmt::Display,
    ) {
        if self.cause.is_some() {
            return;
        }
        tracing::warn!(partition = %self.id, cause = cause.as_str(), error = %error, "partition actor stops");
        if cause != RestartCause::Killed {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        }
        self.cause = Some(cause);
        ctx.stop();
    }

    // ---- restore -------------------------------------------------------------

    fn restore(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            // Stopped while a restart was waiting out its backoff.
            return;
        }
        let checkpoint = self.deps.checkpoint.clone();
        let cassandra = self.deps.cassandra.clone();
        let io = self.deps.io.clone();
        let id = self.id.clone();
        let options = self.state_options();
        let identity = Identity::of(&self.cfg);
        // Errors carry whether the partition's identity was refused.
        let fut = async move {
            let (state, epoch) = checkpoint
                .send(Restore {
                    partition: id.to_string(),
                    options,
                    identity,
                })
                .await
                .map_err(|e| (false, format!("checkpoint actor unavailable: {e}")))?
                .map_err(|e| (matches!(e, CheckpointError::Identity(_)), e.to_string()))?;
            let intents = match cassandra {
                Some(sink) => io
                    .spawn(async move { sink.pending_intents(&id, epoch).await })
                    .await
                    .map_err(|e| (false, e.to_string()))?
                    .map_err(|e| (false, e.to_string()))?,
                None => Vec::new(),
            };
            Ok::<_, (bool, String)>((state, epoch, intents))
        };
        ctx.wait(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok((state, epoch, intents)) => {
                act.committed_epoch = epoch;
                act.committed_offset = state.offset();
                act.stats.committed_epoch.store(epoch, Relaxed);
                act.stats.committed_offset.store(state.offset(), Relaxed);
                act.stats.offset.store(state.offset(), Relaxed);
                let keys: Vec<(Key, Rollup)> = state.iter().map(|(k, r)| (k.clone(), *r)).collect();
                act.deps.merger.do_send(Reset {
                    partition: act.index,
                    keys,
                });
                if !intents.is_empty() {
                    act.repair(intents, &state, ctx);
                }
                // The first snapshot after a restore is a base: the chain restarts.
                act.deltas_since_base = u32::MAX;
                act.state = Some(state);
                act.connect(ctx);
            }
            Err((true, e)) => {
                // Nothing was read or written: the partition stays stopped.
                tracing::error!(partition = %act.id, error = %e, "partition refused");
                act.stopped = true;
                act.stats.set_state(Lifecycle::Stopped);
            }
            Err((false, e)) => act.fail(ctx, RestartCause::Restore, &e),
        }));
    }

    /// Repairs, in the background, the rows that epochs past the committed one may
    /// have written. Its write timestamp is taken now, before the partition seals
    /// anything new, so the resumed partition's own writes always win.
    fn repair(&mut self, intents: Vec<Intent>, state: &PartitionState, ctx: &mut Context<Self>) {
        let Some(sink) = self.deps.cassandra.clone() else {
            return;
        };
        let ts = write_timestamp();
        let mut keys: HashMap<Key, Option<Rollup>> = HashMap::new();
        let mut minutes: HashMap<(Key, i64), Option<Rollup>> = HashMap::new();
        for intent in &intents {
            let ks: Vec<Key> = intent
                .keys
                .iter()
                .map(|(f, n)| Key::new(uuid::Uuid::from_u128(*f), n.as_str()))
                .collect();
            for (i, m) in &intent.minutes {
                if let Some(k) = ks.get(*i as usize) {
                    let v = state.get_minute(&k.as_ref(), *m).copied();
                    minutes.insert((k.clone(), *m), v);
                }
            }
            for k in ks {
                let v = state.get(&k.as_ref()).copied();
                keys.insert(k, v);
            }
        }
        let (id, epoch, offset) = (self.id.clone(), self.committed_epoch, self.committed_offset);
        self.repairing = true;
        let cancel = self.cancel.clone();
        let join = self.deps.io.spawn(async move {
            let lookup = |k: &Key| keys.get(k).copied().flatten();
            let lookup_minute = |k: &Key, m: i64| minutes.get(&(k.clone(), m)).copied().flatten();
            // A restart abandons this repair: the next incarnation repairs again,
            // from all intents still recorded.
            let work = async {
                let n = sink
                    .repair(&id, epoch, offset, &intents, ts, lookup, lookup_minute)
                    .await?;
                sink.forget_repaired(&id, &intents).await?;
                Ok(n)
            };
            tokio::select! {
                res = work => res,
                _ = cancel.cancelled() => Err(crate::sink::SinkError::internal("repair abandoned: the partition restarted")),
            }
        });
        let incarnation = self.incarnation;
        ctx.spawn(join.into_actor(self).map(move |res, act, ctx| {
            if act.incarnation != incarnation {
                return;
            }
            act.repairing = false;
            match res.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
                Ok(n) => tracing::info!(partition = %act.id, keys = n, "repaired rows of uncommitted epochs"),
                Err(e) => act.fail(ctx, RestartCause::Restore, &format!("repair failed: {e}")),
            }
        }));
    }

    // ---- source --------------------------------------------------------------

    fn connect(&mut self, ctx: &mut Context<Self>) {
        let offset = self.committed_offset;
        let source = match SourceAddr::parse(&self.cfg.source) {
            Ok(s) => s,
            Err(e) => return self.fail(ctx, RestartCause::Connection, &e),
        };
        let subscribe = (self.cfg.mode == SourceMode::Replayable).then(|| {
            format!(
                "SUBSCRIBE {} {} {}\n",
                self.cfg.index, self.cfg.count, offset
            )
        });
        let timeout = Duration::from_secs(5);
        let listener = self.listener.clone();
        let fut = async move {
            let stream = match source {
                SourceAddr::Connect(addr) => {
                    tokio::time::timeout(timeout, TcpStream::connect(&addr))
                        .await
                        .map_err(|_| format!("connecting to {addr}: no answer within {timeout:?}"))?
                        .map_err(|e| format!("connecting to {addr}: {e}"))?
                }
                SourceAddr::Listen(addr) => {
                    let listener = match listener {
                        Some(l) => l,
                        None => Arc::new(
                            TcpListener::bind(&addr)
                                .await
                                .map_err(|e| format!("listening on {addr}: {e}"))?,
                        ),
                    };
                    let (stream, _) = listener
                        .accept()
                        .await
                        .map_err(|e| format!("accepting on {addr}: {e}"))?;
                    // Keep the listener for the next producer after a restart.
                    return Ok::<_, String>((stream, Some(listener)));
                }
            };
            Ok((stream, None))
        };
        let fut = async move {
            let (mut stream, listener) = fut.await?;
            let _ = stream.set_nodelay(true);
            if let Some(line) = subscribe {
                stream
                    .write_all(line.as_bytes())
                    .await
                    .map_err(|e| format!("subscribing: {e}"))?;
            }
            Ok::<_, String>((stream, listener))
        };
        // Spawned, not awaited: a `listen://` partition may wait long for its
        // producer, and stop, kill and removal must still reach it meanwhile.
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok((stream, listener)) => {
                if listener.is_some() {
                    act.listener = listener;
                }
                act.attach(stream, ctx);
            }
            Err(e) => act.fail(ctx, RestartCause::Connection, &e),
        }));
    }

    fn attach(&mut self, stream: TcpStream, ctx: &mut Context<Self>) {
        let (read, write) = stream.into_split();
        self.writer = Some(write);
        let (gate, rx) = Gate::new();
        self.gate = Some(gate);
        let codec = ChunkCodec::new(CHUNK_BYTES, self.proc.max_line_bytes)
            .with_max_discard((self.proc.max_line_bytes as u64).max(1 << 20) * 16);
        ctx.add_stream(Gated::new(
            FramedRead::with_capacity(read, codec, CHUNK_BYTES),
            rx,
        ));
        // Partitions seal at staggered times so their writes do not all hit
        // Cassandra in the same instant (lower event→commit latency under load).
        let first = self.seal_phase(self.deps.tuning.flush_interval());
        self.schedule_seal(ctx, first);
        if self.listens() {
            self.watch_idle(ctx);
        }
        if self.stopped || self.draining {
            // Stopped while connecting: keep the connection, read nothing.
            self.update_backpressure();
        } else {
            self.stats.set_state(Lifecycle::Running);
        }
        if let Some(at) = self.restarted_at.take() {
            self.stats
                .resumed_after_restart_ms
                .store(at.elapsed().as_millis() as u64, Relaxed);
        }
        tracing::debug!(partition = %self.id, offset = self.committed_offset, "partition reading");
    }

    fn ingest(&mut self, frame: Frame) {
        let Some(state) = self.state.as_mut() else {
            return;
        };
        self.epoch_arrivals.push(Instant::now());
        let ingest_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let format = self.cfg.format;
        let before = state.offset();
        let dead_cap = self.proc.dead_letters_per_partition;
        let (meters, kept, dead) = (
            &self.meters,
            &mut self.dead_letters_kept,
            &mut self.dead_letters,
        );
        let mut on_bad = |offset: u64, line: &[u8], bad: BadLine| {
            meters.malformed(bad.reason());
            if *kept < dead_cap {
                *kept += 1;
                let len = match bad {
                    BadLine::Oversized { len } => len,
                    _ => line.len() as u64,
                };
                dead.push(DeadLetter {
                    offset,
                    reason: bad.reason(),
                    len,
                    prefix: Bytes::copy_from_slice(&line[..line.len().min(DEAD_LETTER_PREFIX)]),
                });
            }
        };
        let counted = match &frame {
            // A replayable source sends a cut line again; a pushing producer may
            // simply omit the last newline.
            Frame::Unterminated(bytes)
                if self.cfg.mode == SourceMode::Shared && !bytes.is_empty() =>
            {
                core::ingest_line(state, format, bytes, ingest_ms, &mut on_bad)
            }
            _ => core::ingest_frame(state, format, &frame, ingest_ms, on_bad),
        };
        let after = state.offset();
        let taken = after - before;
        self.meters.events_in.inc_by(taken);
        self.meters.offset.set(after as i64);
        self.stats.offset.store(after, Relaxed);
        self.stats.events_in.fetch_add(taken, Relaxed);
        if counted.bad > 0 {
            self.stats.bad_lines.fetch_add(counted.bad, Relaxed);
        }
        let expected = self.stats.expected_lines.load(Relaxed);
        if expected != u64::MAX {
            self.meters.lag.set(expected.saturating_sub(after) as i64);
        }
    }

    fn listens(&self) -> bool {
        matches!(
            SourceAddr::parse(&self.cfg.source),
            Ok(SourceAddr::Listen(_))
        )
    }

    /// (Re)arms the check that cuts a producer idle for `listen_idle_timeout`.
    /// Time spent not reading (backpressure, stopped) does not count as idle.
    fn watch_idle(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.idle.timer.take() {
            ctx.cancel_future(timer);
        }
        self.idle.touch();
        self.idle.timer = Some(ctx.run_interval(self.idle.check_every(), |act, _| {
            let reading = act.backpressured_since.is_none() && !act.draining && !act.stopped;
            act.idle.check(reading, act.writer.as_ref(), &act.id);
        }));
    }

    // ---- epochs --------------------------------------------------------------

    /// This partition's offset of its first seal within one flush interval.
    fn seal_phase(&self, interval: Duration) -> Duration {
        interval.mul_f64(f64::from(self.cfg.index % 8) / 8.0 + f64::from(self.index % 7) / 56.0)
    }

    /// (Re)arms the seal timer: the first seal after `first`, then one every
    /// flush interval as it is at that time (it may change live).
    fn schedule_seal(&mut self, ctx: &mut Context<Self>, first: Duration) {
        if let Some(timer) = self.seal_timer.take() {
            ctx.cancel_future(timer);
        }
        self.seal_timer = Some(ctx.run_later(first, |act, ctx| {
            act.seal_timer = None;
            act.seal(ctx);
            let every = act.deps.tuning.flush_interval();
            act.schedule_seal(ctx, every);
        }));
    }

    fn seal(&mut self, ctx: &mut Context<Self>) {
        let Some(state) = self.state.as_mut() else {
            return;
        };
        if !state.has_unsealed() {
            return;
        }
        let sealed = state.seal_epoch();
        let kind = if self.deltas_since_base == u32::MAX {
            SnapshotKind::Base
        } else {
            self.compaction.next_kind(self.deltas_since_base)
        };
        let snapshot = match state.snapshot(&sealed, kind) {
            Ok(s) => s,
            Err(e) => return self.fail(ctx, RestartCause::Restore, &e),
        };
        self.deltas_since_base = match kind {
            SnapshotKind::Base => 0,
            SnapshotKind::Delta => self.deltas_since_base + 1,
        };
        let bytes = match core::encode(&snapshot) {
            Ok(b) => b,
            Err(e) => return self.fail(ctx, RestartCause::Restore, &e),
        };
        self.meters.keys.set(state.len() as i64);
        let epoch = sealed.epoch;
        self.pending.push_back(Pending {
            sealed: Arc::new(sealed),
            snapshot: Arc::new(snapshot),
            bytes: Arc::new(bytes),
            dead_letters: Arc::new(std::mem::take(&mut self.dead_letters)),
            timestamp: write_timestamp(),
            written: false,
            checkpointing: false,
            sealed_at: Instant::now(),
            arrivals: std::mem::take(&mut self.epoch_arrivals),
        });
        self.update_backpressure();
        self.write(epoch, ctx);
    }

    fn write(&mut self, epoch: u64, ctx: &mut Context<Self>) {
        let Some(p) = self.pending.iter().find(|p| p.sealed.epoch == epoch) else {
            return;
        };
        let w = EpochWrite {
            partition: self.id.clone(),
            sealed: p.sealed.clone(),
            dead_letters: p.dead_letters.clone(),
            timestamp: p.timestamp,
            cancel: self.cancel.clone(),
        };
        ctx.spawn(
            self.deps
                .sink
                .send(WriteEpoch(w))
                .into_actor(self)
                .map(move |res, act, ctx| {
                    let err = match res {
                        Ok(Ok(())) => {
                            if let Some(p) = act.pending.iter_mut().find(|p| p.sealed.epoch == epoch) {
                                p.written = true;
                            }
                            act.drive_commit(ctx);
                            return;
                        }
                        Ok(Err(e)) => e.to_string(),
                        Err(e) => format!("sink actor unavailable: {e}"),
                    };
                    tracing::warn!(partition = %act.id, epoch, error = %err, "epoch write failed; retrying");
                    let delay = act.retry_delay();
                    ctx.run_later(delay, move |act, ctx| act.write(epoch, ctx));
                }),
        );
    }

    fn retry_delay(&self) -> Duration {
        let b = Backoff {
            min: Duration::from_millis(20),
            max: self.proc.retry_backoff_max,
        };
        b.delay(self.pending.len() as u32 + 1)
    }

    fn drive_commit(&mut self, ctx: &mut Context<Self>) {
        let Some(front) = self.pending.front_mut() else {
            return;
        };
        if !front.written || front.checkpointing {
            return;
        }
        front.checkpointing = true;
        let epoch = front.sealed.epoch;
        let msg = Persist {
            snapshot: front.snapshot.clone(),
            bytes: front.bytes.clone(),
        };
        ctx.spawn(
            self.deps
                .checkpoint
                .send(msg)
                .into_actor(self)
                .map(move |res, act, ctx| {
                    let err = match res {
                        Ok(Ok(())) => return act.commit_front(epoch, ctx),
                        Ok(Err(e)) => e.to_string(),
                        Err(e) => format!("checkpoint actor unavailable: {e}"),
                    };
                    tracing::warn!(partition = %act.id, epoch, error = %err, "checkpoint failed; retrying");
                    if let Some(front) = act.pending.front_mut() {
                        front.checkpointing = false;
                    }
                    let delay = act.retry_delay();
                    ctx.run_later(delay, |act, ctx| act.drive_commit(ctx));
                }),
        );
    }

    fn commit_front(&mut self, epoch: u64, ctx: &mut Context<Self>) {
        let Some(p) = self.pending.pop_front() else {
            return;
        };
        debug_assert_eq!(p.sealed.epoch, epoch);
        let events = p.sealed.offset_end - p.sealed.offset_start;
        self.committed_epoch = epoch;
        self.committed_offset = p.sealed.offset_end;
        self.consecutive_failures = 0;
        self.stats.committed_epoch.store(epoch, Relaxed);
        self.stats
            .committed_offset
            .store(p.sealed.offset_end, Relaxed);
        self.meters.committed.inc_by(events);
        self.meters.committed_offset.set(p.sealed.offset_end as i64);
        self.meters
            .epoch_commit
            .observe(p.sealed_at.elapsed().as_secs_f64());
        // One sample per chunk of lines: the latency its events saw.
        for arrived in &p.arrivals {
            self.meters
                .event_commit
                .observe(arrived.elapsed().as_secs_f64());
        }
        self.deps.merger.do_send(Committed {
            partition: self.index,
            sealed: p.sealed,
        });
        if epoch.is_multiple_of(FORGET_INTENTS_EVERY) && !self.repairing {
            if let Some(sink) = self.deps.cassandra.clone() {
                let id = self.id.clone();
                self.deps.io.spawn(async move {
                    if let Err(e) = sink.forget_intents(&id, epoch).await {
                        tracing::debug!(partition = %id, error = %e, "forgetting intents failed");
                    }
                });
            }
        }
        self.update_backpressure();
        self.check_finished();
        self.drive_commit(ctx);
    }

    fn update_backpressure(&mut self) {
        let n = self.pending.len();
        self.stats.inflight_epochs.store(n as u64, Relaxed);
        self.meters.inflight.set(n as i64);
        let over = n >= self.deps.tuning.max_inflight_epochs() as usize || self.draining;
        if let Some(gate) = &self.gate {
            gate.set_open(!over);
        }
        match (over && !self.draining, self.backpressured_since) {
            (true, None) => {
                self.backpressured_since = Some(Instant::now());
                self.stats.set_state(Lifecycle::Backpressured);
            }
            (false, Some(since)) => {
                self.meters
                    .backpressure
                    .inc_by(since.elapsed().as_secs_f64());
                self.backpressured_since = None;
                if self.stats.state() == Lifecycle::Backpressured {
                    self.stats.set_state(Lifecycle::Running);
                }
            }
            _ => {}
        }
    }

    fn check_finished(&mut self) {
        if self.pending.is_empty() && (self.source_eof || self.draining) {
            let state = if self.draining {
                Lifecycle::Stopped
            } else {
                Lifecycle::Finished
            };
            self.stats.set_state(state);
        }
    }
}

impl Actor for PartitionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.stopped {
            self.stats.set_state(Lifecycle::Stopped);
            return;
        }
        ctx.set_mailbox_capacity(64);
        let delay = self.backoff.delay(self.consecutive_failures);
        if delay.is_zero() {
            self.restore(ctx);
        } else {
            ctx.run_later(delay, |act, ctx| act.restore(ctx));
        }
    }
}

impl Supervised for PartitionActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        let cause = self.cause.take().unwrap_or(RestartCause::Connection);
        if !self.retired {
            self.stats.count_restart(cause);
            metrics::RESTARTS
                .with_label_values(&["partition", cause.as_str()])
                .inc();
        }
        // Handles of the old context mean nothing in the new one.
        self.seal_timer = None;
        self.idle.timer = None;
        if self.cfg.mode == SourceMode::Shared {
            // Lines read past the committed offset are gone with the connection.
            let read = self
                .state
                .as_ref()
                .map(|s| s.offset())
                .unwrap_or(self.committed_offset);
            let lost = read.saturating_sub(self.committed_offset);
            self.meters.lost.inc_by(lost);
            self.stats.lost_events.fetch_add(lost, Relaxed);
        }
        if let Some(since) = self.backpressured_since.take() {
            self.meters
                .backpressure
                .inc_by(since.elapsed().as_secs_f64());
        }
        self.state = None;
        self.pending.clear();
        self.gate = None;
        self.writer = None;
        self.dead_letters.clear();
        self.epoch_arrivals.clear();
        self.source_eof = false;
        self.stats.inflight_epochs.store(0, Relaxed);
        self.meters.inflight.set(0);
        self.stats.set_state(Lifecycle::Restarting);
        self.restarted_at = Some(Instant::now());
        self.incarnation += 1;
        self.repairing = false;
        self.cancel.cancel();
        self.cancel = tokio_util::sync::CancellationToken::new();
    }
}

impl StreamHandler<Result<Frame, ChunkCodecError>> for PartitionActor {
    fn handle(&mut self, item: Result<Frame, ChunkCodecError>, ctx: &mut Self::Context) {
        match item {
            Ok(frame) => {
                self.idle.touch();
                self.ingest(frame);
                let full = self
                    .state
                    .as_ref()
                    .map(|s| s.epoch_events() >= self.deps.tuning.max_epoch_events())
                    .unwrap_or(false);
                if full {
                    self.seal(ctx);
                }
            }
            // A pushing producer's connection failed or was cut (garbage without
            // newlines): the stream ends next, and `finished` commits what it sent.
            Err(e) if self.listens() => {
                tracing::warn!(partition = %self.id, error = %e, "producer connection ends");
            }
            Err(e) => self.fail(ctx, RestartCause::Connection, &e),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        if self.cause.is_some() {
            return;
        }
        let expected = self.stats.expected_lines.load(Relaxed);
        let read = self.state.as_ref().map(|s| s.offset()).unwrap_or(0);
        if self.cfg.mode == SourceMode::Replayable && expected != u64::MAX && read < expected {
            return self.fail(
                ctx,
                RestartCause::Connection,
                &format!("source closed at offset {read} of {expected}"),
            );
        }
        if self.listens() {
            // A pushing producer left: commit what it sent and wait for the next
            // one on the same listener; offsets continue where they are.
            tracing::info!(partition = %self.id, offset = read, "producer disconnected; waiting for the next one");
            self.seal(ctx);
            self.writer = None;
            self.connect(ctx);
            return;
        }
        tracing::info!(partition = %self.id, offset = read, "source ended");
        self.source_eof = true;
        self.stats.source_done.store(true, Relaxed);
        self.seal(ctx);
        self.check_finished();
    }
}

/// Fault injection: the actor dies as if it had crashed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KillPartition;

impl Handler<KillPartition> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: KillPartition, ctx: &mut Self::Context) {
        self.fail(ctx, RestartCause::Killed, &"killed on request");
    }
}

/// Graceful stop: stop reading, seal, commit everything, then idle as stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for PartitionActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Drain, ctx: &mut Self::Context) -> Self::Result {
        self.draining = true;
        self.update_backpressure();
        self.seal(ctx);
        self.check_finished();
        Box::pin(
            async move {}
                .into_actor(self)
                .then(|_, act, _| wait_until_committed(act)),
        )
    }
}

fn wait_until_committed(act: &mut PartitionActor) -> impl ActorFuture<PartitionActor, Output = ()> {
    let done = act.pending.is_empty() || act.state.is_none();
    async move {
        if !done {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        done
    }
    .into_actor(act)
    .then(
        |done, act, _| -> std::pin::Pin<Box<dyn ActorFuture<PartitionActor, Output = ()>>> {
            if done {
                // A `Resume` that came meanwhile wins.
                if act.draining {
                    act.stopped = true;
                    act.stats.set_state(Lifecycle::Stopped);
                }
                Box::pin(fut::ready(()))
            } else {
                Box::pin(wait_until_committed(act))
            }
        },
    )
}

/// Undoes a [`Drain`]: reading resumes from where it stopped (or from the last
/// committed offset, when the actor was restarted while stopped).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resume;

impl Handler<Resume> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: Resume, ctx: &mut Self::Context) {
        if !self.stopped && !self.draining {
            return;
        }
        self.stopped = false;
        self.draining = false;
        if self.state.is_none() {
            self.stats.set_state(Lifecycle::Starting);
            self.restore(ctx);
        } else if self.gate.is_none() {
            // Still connecting: reading starts once attached.
            self.stats.set_state(Lifecycle::Starting);
        } else {
            self.stats.set_state(Lifecycle::Running);
            self.update_backpressure();
            self.check_finished();
        }
    }
}

/// The partition is removed: drop the connection and every timer for good. Once
/// the last address is gone the actor ends instead of being restarted.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

impl Handler<Retire> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) {
        self.retired = true;
        self.stopped = true;
        ctx.stop();
    }
}

/// The live tuning changed: re-arm the seal timer and re-check backpressure.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retune;

impl Handler<Retune> for PartitionActor {
    type Result = ();

    fn handle(&mut self, _: Retune, ctx: &mut Self::Context) {
        if self.gate.is_some() && self.state.is_some() {
            let first = self.seal_phase(self.deps.tuning.flush_interval());
            self.schedule_seal(ctx, first);
            if !self.stopped {
                self.update_backpressure();
            }
        }
    }
}

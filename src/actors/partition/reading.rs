//! Reading a partition's source: opening it, attaching it as a gated stream of
//! line chunks, counting each chunk into the state (the hot path), cutting an
//! idle producer, and what happens when the source ends.

use std::time::Instant;

use actix::prelude::*;
use bytes::Bytes;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

use super::actor::PartitionActor;
use super::error::PartitionError;
use super::gate::{Gate, Gated};
use super::source::{self, Subscription};
use crate::core::{self, BadLine, ChunkCodec, Frame};
use crate::sink::DeadLetter;

/// Bytes of a chunk handed to the actor per message.
const CHUNK_BYTES: usize = 256 * 1024;
/// Bytes kept of a dead-lettered line.
const DEAD_LETTER_PREFIX: usize = 256;

impl PartitionActor {
    /// Opens the source in the background: a `listen://` partition may wait long
    /// for its producer, and stop, kill and removal must still reach it meanwhile.
    pub(super) fn connect(&mut self, ctx: &mut Context<Self>) {
        let source = match &self.source {
            Ok(s) => s.clone(),
            Err(e) => return self.fail(ctx, PartitionError::SourceAddr(e.clone())),
        };
        let subscription = self.replayable().then_some(Subscription {
            index: self.cfg.index,
            count: self.cfg.count,
            offset: self.committed.offset,
        });
        let open = source::open(source, self.listener.clone(), subscription);
        ctx.spawn(open.into_actor(self).map(|res, act, ctx| match res {
            Ok(opened) => {
                if opened.listener.is_some() {
                    // Kept for the next producer, after a restart too.
                    act.listener = opened.listener;
                }
                act.attach(opened.stream, ctx);
            }
            Err(e) => act.fail(ctx, e.into()),
        }));
    }

    fn attach(&mut self, stream: TcpStream, ctx: &mut Context<Self>) {
        let (read, write) = stream.into_split();
        self.life.writer = Some(write);
        let (gate, rx) = Gate::new();
        self.life.gate = Some(gate);
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
        // Stopped while connecting: the connection is kept, nothing is read.
        self.enter(self.phase.attached());
        self.update_backpressure();
        if let Some(at) = self.restarted_at.take() {
            self.status
                .record_resumed_after(at.elapsed().as_millis() as u64);
        }
        tracing::debug!(partition = %self.id, offset = self.committed.offset, "partition reading");
    }

    /// Counts one chunk of lines into the state: no lock, no allocation per event.
    /// True when counting stopped at a line whose key must be reloaded first: the
    /// rest of the chunk is then first in `pending`.
    pub(super) fn ingest(&mut self, frame: Frame) -> bool {
        let replayable = self.replayable();
        let life = &mut self.life;
        let Some(state) = life.state.as_mut() else {
            return false;
        };
        life.arrivals.push(Instant::now());
        let ingest_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let format = self.cfg.format;
        let before = state.offset();
        let dead_cap = self.proc.dead_letters_per_partition;
        let (meters, kept, dead) = (
            &self.status.meters,
            &mut self.dead_letters_kept,
            &mut life.dead_letters,
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
            Frame::Unterminated(bytes) if !replayable && !bytes.is_empty() => {
                core::ingest_line(state, format, bytes, ingest_ms, &mut on_bad)
            }
            _ => core::ingest_frame(state, format, &frame, ingest_ms, on_bad),
        };
        let after = state.offset();
        self.status.record_read(after, after - before, counted.bad);
        let Some(at) = counted.stopped_at else {
            return false;
        };
        let rest = match frame {
            Frame::Lines(chunk) => Frame::Lines(chunk.rest_from(at)),
            other => other,
        };
        self.life.pending.push_front(rest);
        true
    }

    /// (Re)arms the check that cuts a producer idle for `listen_idle_timeout`.
    /// Time spent not reading (backpressure, stopped) does not count as idle.
    fn watch_idle(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.life.idle_timer.take() {
            ctx.cancel_future(timer);
        }
        self.idle.touch();
        let every = self.idle.check_every();
        self.life.idle_timer = Some(ctx.run_interval(every, |act, _| {
            let reading = act.life.backpressured_since.is_none() && !act.phase.holds();
            act.idle.check(reading, act.life.writer.as_ref(), &act.id);
        }));
    }

    /// The stream ended: a pushing producer left, or the source is done.
    pub(super) fn source_ended(&mut self, ctx: &mut Context<Self>) {
        let read = self.life.state.as_ref().map_or(0, |s| s.offset());
        if let Some(expected) = self.status.expected_lines() {
            if self.replayable() && read < expected {
                let early = PartitionError::SourceClosedEarly { read, expected };
                return self.fail(ctx, early);
            }
        }
        self.seal(ctx);
        if self.listens() {
            // A pushing producer left: commit what it sent and wait for the next
            // one on the same listener; offsets continue where they are.
            tracing::info!(partition = %self.id, offset = read, "producer disconnected; waiting for the next one");
            self.life.writer = None;
            self.enter(self.phase.producer_left());
            self.connect(ctx);
            return;
        }
        tracing::info!(partition = %self.id, offset = read, "source ended");
        self.enter(self.phase.source_ended());
        self.check_settled(ctx);
    }
}

//! The sink actor: hands epochs to the Cassandra sink on the I/O runtime. Killing
//! it cancels the replies of writes in flight; partitions then retry those epochs,
//! which is safe because every row is an idempotent upsert.

use std::sync::Arc;

use actix::prelude::*;

use super::supervision::{ActorKind, RestartCause};
use crate::metrics;
use crate::runtime::on_io;
use crate::sink::{CassandraSink, EpochWrite, SinkError};

pub struct SinkActor {
    sink: Option<Arc<CassandraSink>>,
    io: tokio::runtime::Handle,
    raw_rows: bool,
}

impl SinkActor {
    /// `sink = None` accepts every epoch without writing (`--sink none`).
    pub fn new(
        sink: Option<Arc<CassandraSink>>,
        io: tokio::runtime::Handle,
        raw_rows: bool,
    ) -> Self {
        SinkActor { sink, io, raw_rows }
    }
}

impl Actor for SinkActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Partitions may have many epochs queued while Cassandra is slow.
        ctx.set_mailbox_capacity(4096);
    }
}

impl Supervised for SinkActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        metrics::record_restart(ActorKind::Sink, RestartCause::Killed);
        tracing::warn!(actor = "sink", "sink actor restarted");
    }
}

/// Write one sealed epoch (intent, raw rows, rollups, dead letters).
#[derive(Message)]
#[rtype(result = "Result<(), SinkError>")]
pub struct WriteEpoch(pub EpochWrite);

impl Handler<WriteEpoch> for SinkActor {
    type Result = ResponseActFuture<Self, Result<(), SinkError>>;

    fn handle(&mut self, msg: WriteEpoch, _: &mut Self::Context) -> Self::Result {
        let Some(sink) = self.sink.clone() else {
            return Box::pin(fut::ready(Ok(())));
        };
        let raw = self.raw_rows;
        let cancel = msg.0.cancel.clone();
        let write = on_io(&self.io, "writing an epoch", async move {
            tokio::select! {
                res = sink.write_epoch(&msg.0, raw) => res,
                _ = cancel.cancelled() => Err(SinkError::Abandoned("writing an epoch")),
            }
        });
        Box::pin(write.into_actor(self))
    }
}

/// Fault injection: stop the actor; its supervisor restarts it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KillSink;

impl Handler<KillSink> for SinkActor {
    type Result = ();

    fn handle(&mut self, _: KillSink, ctx: &mut Self::Context) {
        tracing::warn!(actor = "sink", "killed on request");
        ctx.stop();
    }
}

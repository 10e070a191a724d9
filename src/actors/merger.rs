//! The merger: the total of a key is the sum of the latest committed partials of
//! every partition. Totals live in a `DashMap` the admin API reads, and are written
//! to `rollups_total` as absolute values after each commit. After a restart a
//! partition resets its partials from its restored (committed) state, so nothing an
//! uncommitted epoch did can reach the totals.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use smallvec::SmallVec;
use tokio::sync::oneshot;

use super::backoff::Backoff;
use super::supervision::{ActorKind, RestartCause};
use crate::core::{Key, KeyHasher, Rollup, SealedEpoch};
use crate::metrics;
use crate::runtime::on_io;
use crate::sink::CassandraSink;

/// The delay before totals are written again after consecutive failures.
pub const TOTALS_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(20), Duration::from_millis(2560));

/// The total of one key and the partials it is made of.
#[derive(Debug, Clone, Default)]
pub struct TotalEntry {
    pub partials: SmallVec<[(u16, Rollup); 4]>,
    pub total: Rollup,
}

impl TotalEntry {
    fn set_partial(&mut self, partition: u16, rollup: Option<Rollup>) {
        self.partials.retain(|(p, _)| *p != partition);
        if let Some(r) = rollup {
            self.partials.push((partition, r));
        }
        let mut total = Rollup::default();
        for (_, r) in &self.partials {
            total.merge(r);
        }
        self.total = total;
    }
}

/// Totals shared with readers (admin API); written by the merger only.
pub type Totals = Arc<DashMap<Key, TotalEntry, KeyHasher>>;

pub struct Merger {
    totals: Totals,
    sink: Option<Arc<CassandraSink>>,
    io: tokio::runtime::Handle,
    dirty: HashSet<Key>,
    writing: bool,
    failures: u32,
    waiters: Vec<oneshot::Sender<()>>,
    /// Cluster mode: every partition of the job. Another process holds some of
    /// them, so totals are recomputed from every partition's stored partial.
    job: Option<Arc<Vec<String>>>,
}

/// Cluster mode: the least time between two recomputations of totals, which
/// read every partition's partials.
const SHARED_TOTALS_EVERY: Duration = Duration::from_millis(250);

impl Merger {
    /// Cluster mode: totals are recomputed from the partials of every partition
    /// of `job`, not from the ones this process holds.
    pub fn shared(mut self, job: Vec<String>) -> Self {
        self.job = Some(Arc::new(job));
        self
    }

    pub fn new(
        totals: Totals,
        sink: Option<Arc<CassandraSink>>,
        io: tokio::runtime::Handle,
    ) -> Self {
        Merger {
            totals,
            sink,
            io,
            dirty: HashSet::new(),
            writing: false,
            failures: 0,
            waiters: Vec::new(),
            job: None,
        }
    }

    fn set(&mut self, partition: u16, key: &Key, rollup: Option<Rollup>) {
        let mut entry = self.totals.entry(key.clone()).or_default();
        entry.set_partial(partition, rollup);
        let empty = entry.partials.is_empty();
        drop(entry);
        if empty {
            self.totals.remove(key);
        }
        if self.sink.is_some() {
            self.dirty.insert(key.clone());
        }
    }

    fn after_change(&mut self, ctx: &mut Context<Self>) {
        metrics::LIVE_KEYS.set(self.totals.len() as i64);
        self.write(ctx);
    }

    /// Writes the dirty totals, one batch at a time; failures keep keys dirty.
    fn write(&mut self, ctx: &mut Context<Self>) {
        if self.writing {
            return;
        }
        let Some(sink) = self.sink.clone() else {
            self.wake_waiters();
            return;
        };
        if self.dirty.is_empty() {
            self.wake_waiters();
            return;
        }
        let keys: Vec<Key> = self.dirty.drain().collect();
        self.writing = true;
        let job = self.job.clone();
        let rows: Vec<(Key, Option<Rollup>)> = match job {
            Some(_) => Vec::new(),
            None => keys
                .iter()
                .map(|k| (k.clone(), self.totals.get(k).map(|e| e.total)))
                .collect(),
        };
        let shared_keys = match job {
            Some(_) => keys.clone(),
            None => Vec::new(),
        };
        let write = on_io(&self.io, "writing totals", async move {
            match job {
                Some(job) => sink.write_shared_totals(&job, &shared_keys).await,
                None => sink.write_totals(&rows).await,
            }
        });
        let shared = self.job.is_some();
        ctx.spawn(write.into_actor(self).map(move |res, act, ctx| {
            act.writing = false;
            match res {
                Ok(()) if shared => {
                    act.failures = 0;
                    if act.dirty.is_empty() {
                        act.wake_waiters();
                    }
                    ctx.run_later(SHARED_TOTALS_EVERY, |act, ctx| act.write(ctx));
                }
                Ok(()) => {
                    act.failures = 0;
                    act.write(ctx);
                }
                Err(e) => {
                    act.failures += 1;
                    tracing::warn!(error = %e, keys = keys.len(), "writing totals failed; will retry");
                    act.dirty.extend(keys);
                    let delay = TOTALS_BACKOFF.delay(act.failures);
                    ctx.run_later(delay, |act, ctx| act.write(ctx));
                }
            }
        }));
    }

    fn wake_waiters(&mut self) {
        for w in self.waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

impl Actor for Merger {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
    }
}

impl Supervised for Merger {
    fn restarting(&mut self, _: &mut Self::Context) {
        metrics::record_restart(ActorKind::Merger, RestartCause::Killed);
        self.writing = false;
    }
}

/// A partition committed an epoch: its partials for the touched keys changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Committed {
    pub partition: u16,
    pub sealed: Arc<SealedEpoch>,
}

impl Handler<Committed> for Merger {
    type Result = ();

    fn handle(&mut self, msg: Committed, ctx: &mut Self::Context) {
        for (key, rollup) in &msg.sealed.touched {
            self.set(msg.partition, key, Some(*rollup));
        }
        self.after_change(ctx);
    }
}

/// A partition restored its committed state: replace all of its partials.
/// `touched` are the keys epochs past the restored one wrote (their intents):
/// their totals are rewritten whatever this process holds of them, since a
/// total may have been written from a partial that is no longer committed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reset {
    pub partition: u16,
    pub keys: Vec<(Key, Rollup)>,
    pub touched: Vec<Key>,
}

impl Handler<Reset> for Merger {
    type Result = ();

    fn handle(&mut self, msg: Reset, ctx: &mut Self::Context) {
        let fresh: HashSet<&Key> = msg.keys.iter().map(|(k, _)| k).collect();
        let stale: Vec<Key> = self
            .totals
            .iter()
            .filter(|e| {
                e.partials.iter().any(|(p, _)| *p == msg.partition) && !fresh.contains(e.key())
            })
            .map(|e| e.key().clone())
            .collect();
        for key in &stale {
            self.set(msg.partition, key, None);
        }
        for (key, rollup) in &msg.keys {
            let unchanged = self
                .totals
                .get(key)
                .map(|e| {
                    e.partials
                        .iter()
                        .any(|(p, r)| *p == msg.partition && r == rollup)
                })
                .unwrap_or(false);
            if !unchanged {
                self.set(msg.partition, key, Some(*rollup));
            }
        }
        if self.sink.is_some() {
            self.dirty.extend(msg.touched);
        }
        self.after_change(ctx);
    }
}

/// A partition was reset: its partials leave the totals. `keys` are the keys it
/// had partials for in Cassandra (a new process may hold none of them in memory);
/// their totals are rewritten from the partials that remain, or deleted.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Purge {
    pub partition: u16,
    pub keys: Vec<Key>,
}

impl Handler<Purge> for Merger {
    type Result = ();

    fn handle(&mut self, msg: Purge, ctx: &mut Self::Context) {
        let held: Vec<Key> = self
            .totals
            .iter()
            .filter(|e| e.partials.iter().any(|(p, _)| *p == msg.partition))
            .map(|e| e.key().clone())
            .collect();
        for key in &held {
            self.set(msg.partition, key, None);
        }
        if self.sink.is_some() {
            self.dirty.extend(msg.keys);
        }
        self.after_change(ctx);
    }
}

/// Answers once every message sent to the merger before it has been applied to
/// the totals the admin API reads (the mailbox is FIFO): a partition settles
/// (finished, stopped) only after its last commit is visible there.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Applied;

impl Handler<Applied> for Merger {
    type Result = ();

    fn handle(&mut self, _: Applied, _: &mut Self::Context) {}
}

/// Resolves once every total computed so far has been written.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

impl Handler<Flush> for Merger {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Flush, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.waiters.push(tx);
        if !self.writing {
            self.write(ctx);
        }
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

//! The merger: the total of a key is the sum of the latest committed partials of
//! every partition. Totals live in a `DashMap` the admin API reads, and are written
//! to `rollups_total` as absolute values after each commit. After a restart a
//! partition resets its partials from its restored (committed) state, so nothing an
//! uncommitted epoch did can reach the totals.
//!
//! Under a memory budget the merger drops the total of a key held by one
//! partition once that partition evicts it (its total is in `rollups_total`), and
//! reads it back when the key is committed again (see `evicted`).

mod evicted;
pub use evicted::Evicted;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use tokio::sync::oneshot;

use super::backoff::Backoff;
use super::budget::{BudgetShare, StateBudget};
use super::supervision::{ActorKind, RestartCause};
pub use crate::core::TotalEntry;
use crate::core::{key_hash, EvictedKeys, Key, KeyHasher, Rollup, SealedEpoch};
use crate::metrics;
use crate::runtime::on_io;
use crate::sink::CassandraSink;

/// The delay before totals are written again after consecutive failures.
pub const TOTALS_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(20), Duration::from_millis(2560));

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
    /// [`Applied`] asked while totals were being read back: answered once none is.
    applied_waiters: Vec<oneshot::Sender<()>>,
    /// Keys whose totals left memory (a filter: they may be in `rollups_total`).
    dropped: Option<EvictedKeys>,
    /// Keys evicted by their only partition while their total was still to be
    /// written: dropped once written.
    drop_after_write: Vec<(u16, Key)>,
    /// Dropped keys being read back, with the partials committed meanwhile.
    loading: HashMap<Key, Vec<(u16, Rollup)>>,
    /// Partition ids by merger index, for reading a key's partials.
    ids: HashMap<u16, Arc<str>>,
    share: Option<BudgetShare>,
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
            applied_waiters: Vec::new(),
            dropped: None,
            drop_after_write: Vec::new(),
            loading: HashMap::new(),
            ids: HashMap::new(),
            share: None,
            job: None,
        }
    }

    /// Reports the totals' bytes to `budget`.
    pub fn with_budget(mut self, budget: Arc<StateBudget>) -> Self {
        self.share = Some(BudgetShare::new(budget));
        self
    }

    /// Whether the key's total may have left memory (so its absence means nothing).
    fn maybe_dropped(&self, key: &Key) -> bool {
        self.dropped
            .as_ref()
            .is_some_and(|d| d.may_contain(key_hash(&key.as_ref())))
    }

    fn set(&mut self, partition: u16, key: &Key, rollup: Option<&Rollup>) {
        let kept = match self.totals.get_mut(key) {
            Some(mut entry) => entry.set_partial(partition, rollup),
            None => match rollup {
                Some(r) => {
                    self.totals
                        .insert(key.clone(), TotalEntry::new(partition, r));
                    true
                }
                None => return,
            },
        };
        if !kept {
            self.totals.remove(key);
        }
        if self.sink.is_some() {
            self.dirty.insert(key.clone());
        }
    }

    fn after_change(&mut self, ctx: &mut Context<Self>) {
        metrics::LIVE_KEYS.set(self.totals.len() as i64);
        self.report_bytes();
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
            // Totals being read back are written once read: a flush waits for them.
            if self.loading.is_empty() {
                self.wake_waiters();
            }
            return;
        }
        let keys: Vec<Key> = self.dirty.drain().collect();
        // Emptied: its table of a backlog's peak goes back to malloc.
        self.dirty.shrink_to(1024);
        self.writing = true;
        let job = self.job.clone();
        // A key absent from memory whose total may have been dropped keeps its
        // row: only a key known to have no partial left loses it. (Cluster mode
        // recomputes every dirty key from the stored partials instead.)
        let rows: Vec<(Key, Option<Rollup>)> = match job {
            Some(_) => Vec::new(),
            None => keys
                .iter()
                .filter_map(|k| match self.totals.get(k) {
                    Some(e) => Some((k.clone(), Some(e.total()))),
                    None if self.maybe_dropped(k) || self.loading.contains_key(k) => None,
                    None => Some((k.clone(), None)),
                })
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
                    act.drop_written();
                    act.report_bytes();
                    if act.dirty.is_empty() && act.loading.is_empty() {
                        act.wake_waiters();
                    }
                    ctx.run_later(SHARED_TOTALS_EVERY, |act, ctx| act.write(ctx));
                }
                Ok(()) => {
                    act.failures = 0;
                    act.drop_written();
                    act.write(ctx);
                    act.report_bytes();
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
        // After a restart: reads in flight went with the old context.
        let again: Vec<(Key, Option<Rollup>)> =
            self.loading.keys().map(|k| (k.clone(), None)).collect();
        if !again.is_empty() {
            self.load(again, ctx);
        }
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
    /// The partition's id (for reading its partials back).
    pub id: Arc<str>,
    pub sealed: Arc<SealedEpoch>,
}

impl Handler<Committed> for Merger {
    type Result = ();

    fn handle(&mut self, msg: Committed, ctx: &mut Self::Context) {
        self.ids.insert(msg.partition, msg.id.clone());
        let mut returning = Vec::new();
        for (i, (key, rollup)) in msg.sealed.touched.iter().enumerate() {
            if let Some(queued) = self.loading.get_mut(key) {
                queued.push((msg.partition, *rollup));
            } else if !self.totals.contains_key(key) && self.maybe_dropped(key) {
                let prior = msg.sealed.priors.iter().find(|(k, _)| *k as usize == i);
                returning.push((key.clone(), prior.map(|(_, r)| *r)));
                self.loading
                    .insert(key.clone(), vec![(msg.partition, *rollup)]);
            } else {
                self.set(msg.partition, key, Some(rollup));
            }
        }
        if !returning.is_empty() {
            self.load(returning, ctx);
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
    /// With the committed value of each (`None`: none), from the repair plan.
    pub touched: Vec<(Key, Option<Rollup>)>,
    /// The keys the partition evicted before its restored state: their partials
    /// stay (the restored state does not hold them).
    pub evicted: Option<Arc<EvictedKeys>>,
}

impl Handler<Reset> for Merger {
    type Result = ();

    fn handle(&mut self, msg: Reset, ctx: &mut Self::Context) {
        let fresh: HashSet<&Key> = msg.keys.iter().map(|(k, _)| k).collect();
        let evicted = |k: &Key| {
            msg.evicted
                .as_ref()
                .is_some_and(|e| e.may_contain(key_hash(&k.as_ref())))
        };
        let stale: Vec<Key> = self
            .totals
            .iter()
            .filter(|e| e.has_partial(msg.partition) && !fresh.contains(e.key()))
            .filter(|e| !evicted(e.key()))
            .map(|e| e.key().clone())
            .collect();
        for key in &stale {
            self.set(msg.partition, key, None);
        }
        for (key, rollup) in &msg.keys {
            let unchanged = self
                .totals
                .get(key)
                .is_some_and(|e| e.partial(msg.partition).as_ref() == Some(rollup));
            if !unchanged {
                self.set(msg.partition, key, Some(rollup));
            }
        }
        for (key, committed) in &msg.touched {
            // A key the restored state does not hold (evicted, or new in epochs
            // past it): its partial is what the repair sets its row back to.
            if !fresh.contains(key) {
                self.set(msg.partition, key, committed.as_ref());
            }
        }
        if self.sink.is_some() {
            self.dirty.extend(msg.touched.into_iter().map(|(k, _)| k));
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
            .filter(|e| e.has_partial(msg.partition))
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
/// the totals the admin API reads (the mailbox is FIFO, and commits of dropped
/// keys wait for their totals to be read back): a partition settles (finished,
/// stopped) only after its last commit is visible there.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Applied;

impl Handler<Applied> for Merger {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Applied, _: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        if self.loading.is_empty() {
            let _ = tx.send(());
        } else {
            self.applied_waiters.push(tx);
        }
        Box::pin(async move {
            let _ = rx.await;
        })
    }
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

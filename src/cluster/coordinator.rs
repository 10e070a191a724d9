//! The coordination of one member. Every `renew_every`, on a cadence of their
//! own, it renews the leases it holds; a renewal refused means the lease is
//! lost: the partition stops at once, without committing, and whoever holds it
//! now repairs what it left. Beside them, a round every `renew_every` after the
//! last one ended: heartbeat, read the members and leases, then take free
//! partitions up to its fair share or hand extras over (commit, then release).
//! Renewals never wait for a round: one that takes long (several partitions to
//! take, a slow read) would otherwise let the leases it holds expire.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::schedule::every;
use super::share::plan;
use super::store::{Cas, LeaseRow};
use super::{ClusterError, Fence, LeaseStore};
use crate::actors::partition::{Resume, Revoke};
use crate::config::Config;
use crate::metrics;
use crate::processor::Processor;
use crate::runtime::on_io;

pub use super::view::{ClusterView, LeaseView, MemberView};

/// A lease this member holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Held {
    pub(super) token: i64,
    /// Being handed over: still renewed until released.
    pub(super) releasing: bool,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) held: BTreeMap<String, Held>,
    /// Partitions handed over lately, not taken back before this instant.
    pub(super) avoid: BTreeMap<String, Instant>,
    pub(super) stopped: bool,
}

/// This process as a member of the cluster.
pub struct Cluster {
    pub node: String,
    pub store: Arc<LeaseStore>,
    /// The partition ids every member is given (`[[partitions]]`).
    pub job: Vec<String>,
    pub ttl: Duration,
    pub renew: Duration,
    admin: Option<String>,
    started_at: i64,
    fences: HashMap<String, Arc<Fence>>,
    state: Mutex<State>,
    /// Whether every partition of the job has ended with everything committed,
    /// as of the last round (whoever owned them).
    done: tokio::sync::watch::Sender<bool>,
}

/// Whether every partition of `job` has a lease row whose source ended at its
/// committed offset.
fn job_done(job: &[String], leases: &[LeaseRow]) -> bool {
    job.iter().all(|p| {
        leases
            .iter()
            .any(|l| &l.partition == p && l.finished_offset == Some(l.committed_offset))
    })
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Cluster {
    pub fn new(config: &Config, store: Arc<LeaseStore>) -> Self {
        let job: Vec<String> = config.partitions.iter().map(|p| p.id.clone()).collect();
        let fences = job
            .iter()
            .map(|id| (id.clone(), Arc::new(Fence::default())))
            .collect();
        Cluster {
            node: config.cluster.node_name(),
            store,
            job,
            ttl: config.cluster.lease_ttl,
            renew: config.cluster.renew_period(),
            admin: config.admin.enabled.then(|| config.admin.listen.clone()),
            started_at: now_us() / 1000,
            fences,
            state: Mutex::new(State::default()),
            done: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The fence of a partition of the job (`None` for any other id).
    pub fn fence(&self, id: &str) -> Option<Arc<Fence>> {
        self.fences.get(id).cloned()
    }

    /// Resolves once every partition of the job has ended and committed,
    /// whoever owned it (woken by the rounds that read the leases).
    pub async fn job_finished(&self) {
        let mut done = self.done.subscribe();
        let _ = done.wait_for(|d| *d).await;
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The partitions this member holds now.
    pub fn held(&self) -> Vec<String> {
        self.state().held.keys().cloned().collect()
    }

    /// Until when a lease renewed (or taken) at `start` lets its partition seal:
    /// a tenth of its life short of its end, against clock drift.
    fn valid_until(&self, start: i64) -> i64 {
        start + (self.ttl.as_micros() as i64) * 9 / 10
    }

    /// Runs rounds until the processor drains; call on the actix system.
    pub async fn run(self: Arc<Self>, processor: Arc<Processor>) {
        let io = processor.io.clone();
        let (store, jobs) = (self.store.clone(), self.job.clone());
        if let Err(e) = on_io(&io, "creating lease rows", async move {
            store.ensure_rows(&jobs).await
        })
        .await
        {
            tracing::warn!(error = %e, "creating lease rows failed; retrying in the rounds");
        }
        // The first round only says this member is there, so that members started
        // together see each other before they take their shares.
        self.heartbeat(&io).await;
        let renewals = every(self.renew, || async {
            if processor.is_draining() || self.state().stopped {
                return false;
            }
            self.renew_all(&processor).await;
            true
        });
        let rounds = async {
            loop {
                tokio::time::sleep(self.renew).await;
                if processor.is_draining() || self.state().stopped {
                    return;
                }
                let started = Instant::now();
                self.round(&processor).await;
                metrics::CLUSTER_ROUND_SECONDS.observe(started.elapsed().as_secs_f64());
            }
        };
        futures::future::join(renewals, rounds).await;
    }

    async fn heartbeat(&self, io: &tokio::runtime::Handle) {
        let (store, node, admin) = (self.store.clone(), self.node.clone(), self.admin.clone());
        let (started, ttl) = (self.started_at, self.ttl);
        let beat = on_io(io, "heartbeat", async move {
            store.heartbeat(&node, admin.as_deref(), started, ttl).await
        });
        if let Err(e) = beat.await {
            tracing::warn!(node = %self.node, error = %e, "heartbeat failed");
        }
    }

    /// One round: heartbeat, then take or hand over partitions.
    async fn round(self: &Arc<Self>, processor: &Arc<Processor>) {
        let io = processor.io.clone();
        self.heartbeat(&io).await;
        let (store1, store2) = (self.store.clone(), self.store.clone());
        let read = futures::future::try_join(
            on_io(
                &io,
                "reading members",
                async move { store1.members().await },
            ),
            on_io(&io, "reading leases", async move { store2.leases().await }),
        );
        let (members, leases) = match read.await {
            Ok(r) => r,
            Err(e) => return tracing::warn!(error = %e, "reading the cluster failed"),
        };
        metrics::CLUSTER_MEMBERS.set(members.len() as i64);
        let missing: Vec<String> = self
            .job
            .iter()
            .filter(|p| !leases.iter().any(|l| &l.partition == *p))
            .cloned()
            .collect();
        if !missing.is_empty() {
            // Their rows were not created at start (Cassandra did not answer then).
            let store = self.store.clone();
            let ensure = on_io(&io, "creating lease rows", async move {
                store.ensure_rows(&missing).await
            });
            if let Err(e) = ensure.await {
                tracing::warn!(error = %e, "creating lease rows failed; next round");
            }
        }
        self.mark_finished(processor, &leases).await;
        self.done.send_if_modified(|d| {
            let now = job_done(&self.job, &leases);
            std::mem::replace(d, now) != now
        });
        let names: Vec<String> = members.into_iter().map(|m| m.node_id).collect();
        let todo = {
            let mut st = self.state();
            let now = Instant::now();
            st.avoid.retain(|_, until| *until > now);
            let held: BTreeSet<String> = st.held.keys().cloned().collect();
            let avoid: BTreeSet<String> = st.avoid.keys().cloned().collect();
            plan(&self.node, &self.job, &names, &leases, &held, &avoid)
        };
        if processor.is_draining() {
            return;
        }
        // Each partition taken with its own conditional write, all at once.
        futures::future::join_all(
            todo.acquire
                .into_iter()
                .map(|seen| self.acquire(processor, seen)),
        )
        .await;
        for id in todo.release {
            let (me, p) = (self.clone(), processor.clone());
            actix::spawn(async move {
                if let Err(e) = me.hand_over(&p, &id).await {
                    tracing::warn!(partition = %id, error = %e, "handing a partition over failed");
                }
            });
        }
    }

    async fn renew_all(&self, processor: &Processor) {
        let held: Vec<(String, Held)> = self
            .state()
            .held
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let renewals = held.into_iter().map(|(id, h)| {
            let (store, node, ttl) = (self.store.clone(), self.node.clone(), self.ttl);
            let start = now_us();
            let id2 = id.clone();
            let fut = on_io(&processor.io, "renewing a lease", async move {
                store.renew(&id2, &node, h.token, ttl).await
            });
            async move { (id, h.token, start, fut.await) }
        });
        for (id, token, start, res) in futures::future::join_all(renewals).await {
            match res {
                Ok(Cas::Applied) => {
                    if let Some(f) = self.fence(&id).filter(|f| f.token() == token) {
                        f.extend(self.valid_until(start));
                    }
                }
                Ok(Cas::Refused) => self.lost(processor, &id, token),
                Err(e) => tracing::warn!(partition = %id, error = %e, "renewing a lease failed"),
            }
        }
    }

    /// The lease of `id` under `token` is gone: the partition stops without
    /// committing anything more.
    pub fn lost(&self, processor: &Processor, id: &str, token: i64) {
        if !self.dropped(id, token) {
            return;
        }
        if let Some(p) = processor.partition(id) {
            p.addr.do_send(Revoke);
        }
    }

    /// Forgets the lease of `id` under `token` (its partition found it lost, or
    /// will be told): false when it was not held under that token any more.
    pub fn dropped(&self, id: &str, token: i64) -> bool {
        {
            let mut st = self.state();
            if st.held.get(id).map(|h| h.token) != Some(token) {
                return false;
            }
            st.held.remove(id);
            metrics::LEASES_HELD.set(st.held.len() as i64);
        }
        if let Some(f) = self.fence(id) {
            f.revoke();
        }
        metrics::LEASE_LOSSES.inc();
        tracing::warn!(partition = %id, token, node = %self.node, "lease lost; the partition stops without committing");
        true
    }

    async fn acquire(&self, processor: &Processor, seen: LeaseRow) {
        let Some(fence) = self.fence(&seen.partition) else {
            return;
        };
        let (store, node, ttl) = (self.store.clone(), self.node.clone(), self.ttl);
        let start = now_us();
        let row = seen.clone();
        let res = on_io(&processor.io, "acquiring a lease", async move {
            store.acquire(&row, &node, ttl).await
        })
        .await;
        match res {
            Ok(Cas::Applied) => {}
            Ok(Cas::Refused) => return,
            Err(e) => {
                return tracing::warn!(partition = %seen.partition, error = %e, "acquiring a lease failed")
            }
        }
        let token = seen.token + 1;
        let committed = u64::try_from(seen.committed_epoch).unwrap_or(0);
        fence.grant(token, committed, self.valid_until(start));
        {
            let mut st = self.state();
            st.held.insert(
                seen.partition.clone(),
                Held {
                    token,
                    releasing: false,
                },
            );
            metrics::LEASES_HELD.set(st.held.len() as i64);
        }
        if seen.token > 0 {
            metrics::LEASE_TAKEOVERS.inc();
        }
        tracing::info!(
            partition = %seen.partition,
            token,
            committed_epoch = committed,
            previous_owner = seen.owner.as_deref().unwrap_or(""),
            node = %self.node,
            "lease taken; the partition restores from its committed checkpoint"
        );
        if let Some(p) = processor.partition(&seen.partition) {
            p.addr.do_send(Resume);
        }
    }

    /// Members, their heartbeats and leases, and every lease of the job, read now.
    pub async fn view(&self, io: &tokio::runtime::Handle) -> Result<ClusterView, ClusterError> {
        let (s1, s2) = (self.store.clone(), self.store.clone());
        let (members, leases) = futures::future::try_join(
            on_io(io, "reading members", async move { s1.members().await }),
            on_io(io, "reading leases", async move { s2.leases().await }),
        )
        .await?;
        Ok(ClusterView::new(self, members, leases))
    }
}

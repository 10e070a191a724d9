//! Totals under the memory budget. When the only partition holding a key evicts
//! it, the merger drops the key's total too (once written: `rollups_total` has
//! it) and notes the key in a filter. When a dropped key is committed again its
//! total is read back first: if the stored total equals the committing
//! partition's reloaded partial, that partition is its only contributor;
//! otherwise every partition's partial is read. Totals of keys several partitions
//! hold stay in memory.

use actix::prelude::*;

use super::{Merger, TotalEntry};
use crate::core::{key_hash, EvictedKeys, Key, Rollup};
use crate::runtime::on_io;

/// Bytes of one slot of the totals map's capacity: key, entry and control byte
/// (the key's name is shared with its partition).
const ENTRY_BYTES: u64 = (std::mem::size_of::<(Key, TotalEntry)>() + 1) as u64;
/// Bytes of one slot of a set of keys' capacity.
const KEY_SLOT_BYTES: u64 = (std::mem::size_of::<Key>() + 1) as u64;
/// Bytes a total of several partitions adds: its boxed partials and sum.
const MANY_BYTES: u64 = 160;
/// Bytes of a key waiting in the merger (a set or queue entry, and its share of
/// the rows of the write in flight).
const BACKLOG_BYTES: u64 = 48 + 80;

/// A partition evicted these keys: their totals may leave memory.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evicted {
    pub partition: u16,
    pub keys: Vec<Key>,
}

impl Handler<Evicted> for Merger {
    type Result = ();

    fn handle(&mut self, msg: Evicted, ctx: &mut Self::Context) {
        for key in msg.keys {
            self.drop_after_write.push((msg.partition, key));
        }
        if !self.writing {
            self.drop_written();
        }
        self.after_change(ctx);
    }
}

impl Merger {
    /// Drops the totals of evicted one-partition keys whose totals are written.
    pub(super) fn drop_written(&mut self) {
        let pending = std::mem::take(&mut self.drop_after_write);
        for (partition, key) in pending {
            if self.dirty.contains(&key) || self.loading.contains_key(&key) {
                self.drop_after_write.push((partition, key));
                continue;
            }
            let only = self
                .totals
                .get(&key)
                .is_some_and(|e| matches!(&*e, TotalEntry::One(p, _) if *p == partition));
            if only {
                self.totals.remove(&key);
                self.dropped
                    .get_or_insert_with(EvictedKeys::default)
                    .insert(key_hash(&key.as_ref()));
            }
        }
        // The map keeps the capacity of its peak: given back once mostly empty.
        if self.totals.len() < self.totals.capacity() / 4 {
            self.totals.shrink_to_fit();
        }
        if self.drop_after_write.len() < self.drop_after_write.capacity() / 4 {
            self.drop_after_write.shrink_to_fit();
        }
        metrics_live(self);
    }

    /// Reads back the totals of dropped keys committed again; `returning` holds
    /// each with the committing partition's reloaded partial (its prior).
    pub(super) fn load(&mut self, returning: Vec<(Key, Option<Rollup>)>, ctx: &mut Context<Self>) {
        let Some(sink) = self.sink.clone() else {
            return;
        };
        let ids: Vec<(u16, std::sync::Arc<str>)> =
            self.ids.iter().map(|(i, id)| (*i, id.clone())).collect();
        let read = on_io(&self.io, "reading dropped totals", async move {
            let mut out = Vec::with_capacity(returning.len());
            for (key, prior) in returning {
                let stored = sink.read_total(&key).await?;
                // The stored total is the committing partition's own partial:
                // no other partition has one.
                let partials = if stored.is_none() || stored == prior {
                    Vec::new()
                } else {
                    sink.read_partials(&key, &ids).await?
                };
                out.push((key, partials));
            }
            Ok::<_, crate::sink::SinkError>(out)
        });
        ctx.spawn(read.into_actor(self).map(|res, act, ctx| match res {
            Ok(loaded) => {
                for (key, partials) in loaded {
                    let queued = act.loading.remove(&key).unwrap_or_default();
                    for (p, r) in partials.iter().chain(queued.iter()) {
                        act.set(*p, &key, Some(r));
                    }
                }
                if act.loading.is_empty() {
                    for w in act.applied_waiters.drain(..) {
                        let _ = w.send(());
                    }
                }
                act.after_change(ctx);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading dropped totals failed; will retry");
                let again: Vec<(Key, Option<Rollup>)> =
                    act.loading.keys().map(|k| (k.clone(), None)).collect();
                let delay = super::TOTALS_BACKOFF.delay(1);
                ctx.run_later(delay, move |act, ctx| act.load(again, ctx));
            }
        }));
    }

    /// Tells the budget what the totals cost.
    pub(super) fn report_bytes(&mut self) {
        let Some(share) = self.share.as_mut() else {
            return;
        };
        let entries = self.totals.len() as u64;
        let capacity = self.totals.capacity() as u64;
        // Several-partition totals are few (bounded keys); counted by a scan only
        // when the map is small enough for it to be cheap.
        let many = if entries <= 100_000 {
            self.totals
                .iter()
                .filter(|e| matches!(e.value(), TotalEntry::Many(_)))
                .count() as u64
        } else {
            0
        };
        let filter = self.dropped.as_ref().map_or(0, |d| d.bytes());
        // Keys waiting to be written, dropped or read back.
        let backlog = (self.dirty.len() + self.drop_after_write.len() + self.loading.len()) as u64;
        share.budget().set_backlog(backlog);
        let sets = (self.dirty.capacity() + self.loading.capacity()) as u64 * KEY_SLOT_BYTES
            + self.drop_after_write.capacity() as u64 * 40;
        share.report(
            capacity * ENTRY_BYTES + many * MANY_BYTES + filter + sets + backlog * BACKLOG_BYTES,
        );
    }
}

fn metrics_live(m: &Merger) {
    crate::metrics::LIVE_KEYS.set(m.totals.len() as i64);
}

//! Picks the chain to restore from: the newest valid base and the contiguous valid
//! deltas after it. A snapshot cut short by a crash (chunks missing) can only be
//! the newest one, since a partition persists its snapshots one after the other:
//! it was never committed and is passed over quietly. Any other snapshot newer
//! than the chain that is damaged (a checksum that fails, bytes that do not
//! decode, chunks missing before a newer snapshot), or a gap before a newer one,
//! means the chain is an older one than the newest committed: a [`Fallback`].

use std::collections::BTreeMap;

use crate::core::{Snapshot, SnapshotKind};

/// One stored snapshot as read back.
#[derive(Debug)]
pub enum Stored {
    Ok(Snapshot),
    /// Chunks are missing: a write cut short (or chunks lost).
    Incomplete,
    /// Every chunk is there but the bytes fail their checks.
    Corrupt(String),
}

/// One stored snapshot: what was read back and, when the store keeps it beside
/// the bytes, the offset it was taken at.
#[derive(Debug)]
pub struct Loaded {
    pub snapshot: Stored,
    pub offset: Option<u64>,
}

impl Loaded {
    pub fn new(snapshot: Stored, offset: Option<u64>) -> Self {
        Loaded { snapshot, offset }
    }
}

/// Why the chain restored from is not the newest one stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// The first damaged (or missing) snapshot after the chain.
    pub damaged_seq: u64,
    /// What is wrong with it.
    pub reason: String,
    /// The newest snapshot stored: the epoch the lost chain had reached.
    pub lost_epoch: u64,
    /// The offset the lost chain had reached, when the store knows it.
    pub lost_offset: Option<u64>,
}

/// A base snapshot and the deltas to apply on top of it, in order.
#[derive(Debug, Default)]
pub struct Chain {
    pub base: Option<Snapshot>,
    pub deltas: Vec<Snapshot>,
    /// Snapshots seen but not used (older ones, corrupt ones, or beyond a gap).
    pub skipped: usize,
    /// Set when newer snapshots than the chain are stored but unusable.
    pub fallback: Option<Fallback>,
}

impl Chain {
    /// The epoch the chain restores to (0 = nothing committed yet).
    pub fn epoch(&self) -> u64 {
        self.deltas
            .last()
            .or(self.base.as_ref())
            .map(|s| s.epoch)
            .unwrap_or(0)
    }

    /// Snapshots were committed but none of their chains decodes: restoring
    /// would silently start over from offset 0.
    pub fn is_unrecoverable(&self) -> bool {
        self.base.is_none() && self.fallback.is_some()
    }
}

/// `stored` maps each stored seq (the epoch of its snapshot) to what was read.
pub fn newest_chain(stored: BTreeMap<u64, Loaded>) -> Chain {
    let total = stored.len();
    let base_seq = stored
        .iter()
        .rev()
        .find(|(_, l)| matches!(&l.snapshot, Stored::Ok(s) if s.kind == SnapshotKind::Base))
        .map(|(seq, _)| *seq);
    let mut newer = match base_seq {
        Some(seq) => {
            let mut stored = stored;
            stored.split_off(&seq)
        }
        None => stored,
    };
    let mut base = None;
    let mut deltas = Vec::new();
    if let Some(seq) = base_seq {
        if let Some(Loaded {
            snapshot: Stored::Ok(b),
            ..
        }) = newer.remove(&seq)
        {
            base = Some(b);
        }
    }
    let mut last_epoch = base.as_ref().map(|b| b.epoch).unwrap_or(0);
    while let Some(entry) = newer.first_entry().filter(|_| base.is_some()) {
        match &entry.get().snapshot {
            Stored::Ok(s)
                if s.kind == SnapshotKind::Delta && Some(s.epoch) == last_epoch.checked_add(1) =>
            {
                last_epoch = s.epoch;
                if let Stored::Ok(s) = entry.remove().snapshot {
                    deltas.push(s);
                }
            }
            _ => break,
        }
    }
    let used = usize::from(base.is_some()) + deltas.len();
    Chain {
        skipped: total - used,
        fallback: fallback(last_epoch, &newer),
        base,
        deltas,
    }
}

/// What the snapshots after the chain's end say: nothing when there are none or
/// only the newest one is incomplete (a write cut short, never committed).
fn fallback(end: u64, newer: &BTreeMap<u64, Loaded>) -> Option<Fallback> {
    let (&newest, _) = newer.last_key_value()?;
    let (&first, loaded) = newer.first_key_value()?;
    if newer.len() == 1 && matches!(loaded.snapshot, Stored::Incomplete) {
        return None;
    }
    let next = end.saturating_add(1);
    let (damaged_seq, reason) = if first > next {
        (next, format!("the snapshot of epoch {next} is missing"))
    } else {
        let reason = match &loaded.snapshot {
            Stored::Corrupt(why) => why.clone(),
            Stored::Incomplete => "chunks are missing".to_string(),
            Stored::Ok(s) if s.kind == SnapshotKind::Base => {
                "an unexpected base follows the chain".to_string()
            }
            Stored::Ok(s) => format!("a delta of epoch {} does not follow epoch {end}", s.epoch),
        };
        (first, reason)
    };
    Some(Fallback {
        damaged_seq,
        reason,
        lost_epoch: newest,
        lost_offset: newer.values().filter_map(|l| l.offset).max(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(epoch: u64, kind: SnapshotKind) -> Loaded {
        let s = Snapshot {
            partition: "p".into(),
            epoch,
            offset: epoch * 10,
            kind,
            keys: Vec::new(),
            minutes: Vec::new(),
            watermark: Default::default(),
            evicted: None,
        };
        Loaded::new(Stored::Ok(s), Some(epoch * 10))
    }

    fn base(epoch: u64) -> (u64, Loaded) {
        (epoch, snap(epoch, SnapshotKind::Base))
    }

    fn delta(epoch: u64) -> (u64, Loaded) {
        (epoch, snap(epoch, SnapshotKind::Delta))
    }

    fn corrupt(epoch: u64) -> (u64, Loaded) {
        let bad = Stored::Corrupt("snapshot checksum mismatch".into());
        (epoch, Loaded::new(bad, Some(epoch * 10)))
    }

    fn torn(epoch: u64) -> (u64, Loaded) {
        (epoch, Loaded::new(Stored::Incomplete, Some(epoch * 10)))
    }

    fn chain(items: Vec<(u64, Loaded)>) -> Chain {
        newest_chain(items.into_iter().collect())
    }

    #[test]
    fn the_newest_base_and_its_deltas() {
        let c = chain(vec![base(1), delta(2), base(3), delta(4), delta(5)]);
        assert_eq!((c.base.as_ref().unwrap().epoch, c.epoch()), (3, 5));
        assert_eq!((c.deltas.len(), c.skipped, c.fallback), (2, 2, None));
        assert_eq!(chain(vec![]).epoch(), 0);
        assert!(!chain(vec![]).is_unrecoverable());
    }

    #[test]
    fn a_torn_newest_snapshot_is_not_a_fallback() {
        let c = chain(vec![base(1), delta(2), torn(3)]);
        assert_eq!((c.epoch(), c.fallback), (2, None));
        // The very first base cut short: nothing was ever committed.
        let c = chain(vec![torn(1)]);
        assert_eq!(c.epoch(), 0);
        assert!(!c.is_unrecoverable());
    }

    #[test]
    fn a_corrupt_newest_delta_falls_back_one_epoch() {
        let c = chain(vec![base(1), delta(2), corrupt(3)]);
        assert_eq!(c.epoch(), 2);
        let f = c.fallback.unwrap();
        assert_eq!(
            (f.damaged_seq, f.lost_epoch, f.lost_offset),
            (3, 3, Some(30))
        );
        assert!(f.reason.contains("checksum"), "{}", f.reason);
    }

    #[test]
    fn a_corrupt_newest_base_falls_back_to_the_chain_before_it() {
        let c = chain(vec![base(1), delta(2), delta(3), corrupt(4), delta(5)]);
        assert_eq!((c.base.as_ref().unwrap().epoch, c.epoch()), (1, 3));
        let f = c.fallback.unwrap();
        assert_eq!(
            (f.damaged_seq, f.lost_epoch, f.lost_offset),
            (4, 5, Some(50))
        );
    }

    #[test]
    fn a_gap_or_lost_chunks_before_newer_snapshots_fall_back() {
        let c = chain(vec![base(1), delta(2), delta(4)]);
        let f = c.fallback.as_ref().unwrap();
        assert_eq!((c.epoch(), f.damaged_seq, f.lost_epoch), (2, 3, 4));
        assert!(f.reason.contains("missing"), "{}", f.reason);
        let c = chain(vec![base(1), torn(2), delta(3)]);
        assert_eq!((c.epoch(), c.fallback.unwrap().damaged_seq), (1, 2));
    }

    #[test]
    fn no_base_that_decodes_is_unrecoverable() {
        let c = chain(vec![corrupt(1), delta(2)]);
        assert!(c.is_unrecoverable());
        assert_eq!(c.fallback.unwrap().damaged_seq, 1);
        assert!(chain(vec![corrupt(1)]).is_unrecoverable());
    }
}

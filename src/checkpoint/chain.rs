//! Picks the chain to restore from: the newest valid base and the contiguous valid
//! deltas after it. A snapshot cut short by a crash fails its checksum and ends the
//! chain; only the newest snapshot can be in that state, since a partition persists
//! its snapshots one after the other.

use std::collections::BTreeMap;

use crate::core::{Snapshot, SnapshotKind};

/// A base snapshot and the deltas to apply on top of it, in order.
#[derive(Debug, Default)]
pub struct Chain {
    pub base: Option<Snapshot>,
    pub deltas: Vec<Snapshot>,
    /// Snapshots seen but not used (corrupt, or beyond a gap).
    pub skipped: usize,
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
}

/// `decoded` maps each stored seq to its decoded snapshot (or `None` when the
/// stored bytes were incomplete or corrupt).
pub fn newest_chain(decoded: BTreeMap<u64, Option<Snapshot>>) -> Chain {
    let total = decoded.len();
    let base_seq = decoded
        .iter()
        .rev()
        .find(|(_, s)| matches!(s, Some(s) if s.kind == SnapshotKind::Base))
        .map(|(seq, _)| *seq);
    let Some(base_seq) = base_seq else {
        return Chain {
            skipped: total,
            ..Chain::default()
        };
    };
    let mut decoded = decoded;
    let mut rest = decoded.split_off(&base_seq);
    let base = rest.remove(&base_seq).flatten();
    let mut deltas = Vec::new();
    let mut last_epoch = base.as_ref().map(|b| b.epoch).unwrap_or(0);
    for (_, snap) in rest {
        match snap {
            Some(s) if s.kind == SnapshotKind::Delta && s.epoch == last_epoch + 1 => {
                last_epoch = s.epoch;
                deltas.push(s);
            }
            _ => break,
        }
    }
    let used = 1 + deltas.len();
    Chain {
        base,
        deltas,
        skipped: total - used,
    }
}

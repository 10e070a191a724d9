//! When the next checkpoint should be a full base instead of a delta.

use super::model::SnapshotKind;

/// Write a base after every `every_n_deltas` deltas, so restore reads at most one
/// base and that many deltas. `0` means every snapshot is a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionPolicy {
    pub every_n_deltas: u32,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        CompactionPolicy { every_n_deltas: 64 }
    }
}

impl CompactionPolicy {
    /// The kind of the next snapshot, given how many deltas were written since
    /// the last base (count the implicit empty base of a fresh partition as one).
    pub fn next_kind(&self, deltas_since_base: u32) -> SnapshotKind {
        if deltas_since_base >= self.every_n_deltas {
            SnapshotKind::Base
        } else {
            SnapshotKind::Delta
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_every_n() {
        let p = CompactionPolicy { every_n_deltas: 3 };
        let kinds: Vec<_> = (0..5).map(|n| p.next_kind(n)).collect();
        use SnapshotKind::*;
        assert_eq!(kinds, vec![Delta, Delta, Delta, Base, Base]);
        assert_eq!(CompactionPolicy { every_n_deltas: 0 }.next_kind(0), Base);
    }
}

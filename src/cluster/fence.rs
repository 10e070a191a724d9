//! A partition's lease as its actor sees it: the fencing token its commits are
//! conditional on, the committed epoch its restore trusts the checkpoints up to,
//! and the wall-clock time before which it may seal epochs. Written by the
//! coordinator (grant, renew, revoke) and by the actor's own commits; read with
//! atomics, no lock.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::SeqCst};

/// The lease of one partition in this process (token 0: not held).
#[derive(Debug, Default)]
pub struct Fence {
    token: AtomicI64,
    /// Microseconds since the Unix epoch; no epoch is sealed at or after it.
    valid_until: AtomicI64,
    committed_epoch: AtomicU64,
}

impl Fence {
    /// The lease was taken under `token` with `committed_epoch` committed.
    pub fn grant(&self, token: i64, committed_epoch: u64, valid_until: i64) {
        self.committed_epoch.store(committed_epoch, SeqCst);
        self.valid_until.store(valid_until, SeqCst);
        self.token.store(token, SeqCst);
    }

    /// A renewal that started before `valid_until - ttl` was applied.
    pub fn extend(&self, valid_until: i64) {
        self.valid_until.fetch_max(valid_until, SeqCst);
    }

    /// The lease is gone (lost, released or being released): nothing more is
    /// sealed or committed under it.
    pub fn revoke(&self) {
        self.valid_until.store(0, SeqCst);
        self.token.store(0, SeqCst);
    }

    /// The token commits are conditional on; 0 when the lease is not held.
    pub fn token(&self) -> i64 {
        self.token.load(SeqCst)
    }

    pub fn is_held(&self) -> bool {
        self.token() != 0
    }

    /// Whether an epoch stamped `timestamp` (µs) may be sealed under the lease:
    /// every row it writes then carries a timestamp older than the lease's end,
    /// hence older than anything a next owner writes.
    pub fn allows(&self, timestamp: i64) -> bool {
        self.is_held() && timestamp < self.valid_until.load(SeqCst)
    }

    /// Whether the lease no longer lets the partition seal now.
    pub fn lapsed(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        !self.allows(now)
    }

    pub fn valid_until(&self) -> i64 {
        self.valid_until.load(SeqCst)
    }

    /// The epoch a restore trusts checkpoints up to.
    pub fn committed_epoch(&self) -> u64 {
        self.committed_epoch.load(SeqCst)
    }

    /// A commit under the lease was applied.
    pub fn committed(&self, epoch: u64) {
        self.committed_epoch.fetch_max(epoch, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_only_under_a_live_lease() {
        let f = Fence::default();
        assert!(!f.allows(1));
        f.grant(3, 7, 1_000);
        assert!(f.allows(999) && !f.allows(1_000));
        assert_eq!((f.token(), f.committed_epoch()), (3, 7));
        f.extend(500);
        assert_eq!(f.valid_until(), 1_000, "a late renewal never shortens");
        f.extend(2_000);
        assert!(f.allows(1_500));
        f.committed(9);
        f.committed(8);
        assert_eq!(f.committed_epoch(), 9);
        f.revoke();
        assert!(!f.allows(1) && !f.is_held());
    }
}

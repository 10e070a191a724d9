//! Write timestamps. Every row ssa writes carries `USING TIMESTAMP` from this
//! clock, so a later write of the same row always wins — even when an epoch's
//! writes overlap the next epoch's, or land after a restarted actor repaired them.

use std::sync::atomic::{AtomicI64, Ordering};

static LAST: AtomicI64 = AtomicI64::new(0);

/// Microseconds since the Unix epoch, strictly increasing within the process.
pub fn write_timestamp() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strictly_increasing() {
        let mut prev = super::write_timestamp();
        for _ in 0..10_000 {
            let next = super::write_timestamp();
            assert!(next > prev);
            prev = next;
        }
    }
}

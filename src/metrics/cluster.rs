//! The series of cluster mode: partition leases held, lost and taken over, the
//! lightweight transactions on lease rows, and the coordination rounds.

use std::sync::LazyLock;

use prometheus::{Histogram, HistogramVec, IntCounter, IntGauge};

use super::{latency, latency_vec, reg, OP};

/// The operations on a lease row, each a lightweight transaction.
pub const LEASE_OPS: [&str; 4] = ["acquire", "renew", "commit", "release"];

pub static LEASES_HELD: LazyLock<IntGauge> = LazyLock::new(|| {
    reg(IntGauge::new(
        "ssa_leases_held",
        "Partition leases this process holds (cluster mode).",
    )
    .expect("valid metric"))
});
pub static CLUSTER_MEMBERS: LazyLock<IntGauge> = LazyLock::new(|| {
    reg(IntGauge::new(
        "ssa_cluster_members",
        "Live members seen in the last coordination round.",
    )
    .expect("valid metric"))
});
pub static LEASE_LOSSES: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_lease_losses_total",
        "Leases lost to expiry or to another member (renewal or commit refused).",
    )
    .expect("valid metric"))
});
pub static LEASE_TAKEOVERS: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_lease_takeovers_total",
        "Leases taken over after another member held them (expired or released).",
    )
    .expect("valid metric"))
});
pub static LEASE_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    latency_vec(
        "ssa_lease_seconds",
        "Cluster mode: one lightweight transaction on a lease row, by operation (acquire, renew, commit, release).",
        &[OP],
    )
});
pub static CLUSTER_ROUND_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    latency(
        "ssa_cluster_round_seconds",
        "Cluster mode: one coordination round (heartbeat, members and leases read, partitions taken or handed over).",
    )
});
pub static FENCED_COMMITS_REFUSED: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_fenced_commits_refused_total",
        "Epoch commits refused because the lease's fencing token had moved on.",
    )
    .expect("valid metric"))
});
/// Times one lightweight transaction on a lease row (`op` from [`LEASE_OPS`]).
pub fn record_lease_op(op: &'static str, started: std::time::Instant) {
    LEASE_SECONDS
        .with_label_values(&[op])
        .observe(started.elapsed().as_secs_f64());
}

/// Touches every cluster series so that each one appears on a scrape from the start.
pub(super) fn init() {
    LazyLock::force(&LEASES_HELD);
    LazyLock::force(&CLUSTER_MEMBERS);
    LazyLock::force(&LEASE_LOSSES);
    LazyLock::force(&LEASE_TAKEOVERS);
    LazyLock::force(&FENCED_COMMITS_REFUSED);
    for op in LEASE_OPS {
        LEASE_SECONDS.with_label_values(&[op]);
    }
    LazyLock::force(&CLUSTER_ROUND_SECONDS);
}

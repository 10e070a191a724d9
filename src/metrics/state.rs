//! The series of bounded state: what the resident state costs against its budget,
//! and keys evicted to Cassandra and read back.

use std::sync::LazyLock;

use prometheus::{exponential_buckets, Histogram, HistogramOpts, IntCounter, IntGauge};

use super::reg;

pub static STATE_BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    reg(IntGauge::new(
        "ssa_state_bytes",
        "Bytes of resident state counted against processor.state_memory_limit: every partition's keys, minute buckets, evicted-keys filter and uncommitted epochs, and the merger's totals.",
    )
    .expect("valid metric"))
});
pub static STATE_LIMIT_BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    reg(IntGauge::new(
        "ssa_state_memory_limit_bytes",
        "processor.state_memory_limit: the budget of resident state.",
    )
    .expect("valid metric"))
});
pub static KEYS_EVICTED: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_keys_evicted_total",
        "Idle keys whose latest value was committed, evicted from memory to stay within the budget.",
    )
    .expect("valid metric"))
});
pub static KEY_RELOADS: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_key_reloads_total",
        "Keys (or their minute buckets) read back from Cassandra because an event came for them after eviction.",
    )
    .expect("valid metric"))
});
pub static RELOAD_FALSE_POSITIVES: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_reload_false_positives_total",
        "Reads of keys the evicted-keys filter named but Cassandra did not have: new keys that cost a read.",
    )
    .expect("valid metric"))
});
pub static RELOAD_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    reg(Histogram::with_opts(
        HistogramOpts::new(
            "ssa_reload_seconds",
            "Time to read back one batch of evicted keys, during which the partition does not read its source.",
        )
        .buckets(exponential_buckets(0.0005, 2.0, 16).expect("valid buckets")),
    )
    .expect("valid metric"))
});
pub static RELOAD_WAIT_SECONDS: LazyLock<prometheus::Counter> = LazyLock::new(|| {
    reg(prometheus::Counter::new(
        "ssa_reload_wait_seconds_total",
        "Time partitions held their sources back (TCP backpressure) while evicted keys were read back.",
    )
    .expect("valid metric"))
});

/// Touches every series of this module.
pub(super) fn init() {
    LazyLock::force(&STATE_BYTES);
    LazyLock::force(&STATE_LIMIT_BYTES);
    LazyLock::force(&KEYS_EVICTED);
    LazyLock::force(&KEY_RELOADS);
    LazyLock::force(&RELOAD_FALSE_POSITIVES);
    LazyLock::force(&RELOAD_SECONDS);
    LazyLock::force(&RELOAD_WAIT_SECONDS);
}

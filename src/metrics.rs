//! Every Prometheus metric of ssa, in one place. Names start with `ssa_`; labels
//! stay low-cardinality (partition id, actor kind, reason — never a key or offset).
//! The hot loop only adds to counters it holds; nothing here allocates per event.

use std::sync::LazyLock;

mod cluster;
mod state;
pub use cluster::{
    record_lease_op, CLUSTER_MEMBERS, CLUSTER_ROUND_SECONDS, FENCED_COMMITS_REFUSED, LEASES_HELD,
    LEASE_LOSSES, LEASE_OPS, LEASE_SECONDS, LEASE_TAKEOVERS,
};
pub use state::{
    KEYS_EVICTED, KEY_RELOADS, RELOAD_FALSE_POSITIVES, RELOAD_SECONDS, RELOAD_WAIT_SECONDS,
    STATE_BYTES, STATE_LIMIT_BYTES,
};

use crate::actors::partition::Lifecycle;
use crate::actors::supervision::{ActorKind, ChaosTarget, RestartCause};

use prometheus::{
    exponential_buckets, CounterVec, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub const PARTITION: &str = "partition";
pub const ACTOR: &str = "actor";
pub const CAUSE: &str = "cause";
pub const REASON: &str = "reason";
pub const STATE: &str = "state";
pub const TARGET: &str = "target";
pub const OP: &str = "op";

/// The registry `/metrics` serves.
pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn reg<T: prometheus::core::Collector + Clone + 'static>(metric: T) -> T {
    // Registration only fails on a duplicate name, which is a programming error
    // caught by the `all_metrics_register` test.
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    reg(IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    reg(IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"))
}

fn latency(name: &str, help: &str) -> Histogram {
    reg(Histogram::with_opts(
        HistogramOpts::new(name, help)
            .buckets(exponential_buckets(0.0005, 2.0, 16).expect("valid buckets")),
    )
    .expect("valid metric"))
}

fn latency_vec(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    reg(HistogramVec::new(
        HistogramOpts::new(name, help)
            .buckets(exponential_buckets(0.001, 2.0, 16).expect("valid buckets")),
        labels,
    )
    .expect("valid metric"))
}

pub static EVENTS_IN: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "ssa_events_in_total",
        "Lines taken from sources (good and bad).",
        &[PARTITION],
    )
});
pub static EVENTS_COMMITTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "ssa_events_committed_total",
        "Lines whose epoch has committed.",
        &[PARTITION],
    )
});
pub static MALFORMED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "ssa_malformed_lines_total",
        "Lines skipped as bad input, by reason.",
        &[PARTITION, REASON],
    )
});
pub static LOST_AT_MOST_ONCE: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "ssa_events_lost_total",
        "Events dropped on restart of a shared (non-replayable) source: those of uncommitted epochs, and those of committed epochs whose snapshots were found damaged.",
        &[PARTITION],
    )
});
pub static CHECKPOINT_CORRUPT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "ssa_checkpoint_corrupt_total",
        "Restores that found a partition's newest snapshot chain damaged (checksum, decoding, missing chunks) and fell back to an older chain, or found none.",
        &[PARTITION],
    )
});
pub static RAW_ROWS_WRITTEN: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(
        IntCounter::new("ssa_raw_rows_written_total", "Rows written to events_raw.")
            .expect("valid metric"),
    )
});
pub static ROLLUP_ROWS_WRITTEN: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_rollup_rows_written_total",
        "Rows written to rollups_by_partition and rollups_by_minute.",
    )
    .expect("valid metric"))
});
pub static TOTAL_ROWS_WRITTEN: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_total_rows_written_total",
        "Rows written to rollups_total.",
    )
    .expect("valid metric"))
});
pub static CASSANDRA_ERRORS: LazyLock<IntCounter> = LazyLock::new(|| {
    reg(IntCounter::new(
        "ssa_cassandra_errors_total",
        "Cassandra requests that failed.",
    )
    .expect("valid metric"))
});
pub static CASSANDRA_WRITE_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    latency(
        "ssa_cassandra_write_seconds",
        "Latency of one Cassandra write request.",
    )
});
pub static EPOCH_COMMIT_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    latency_vec(
        "ssa_epoch_commit_seconds",
        "Epoch seal to commit.",
        &[PARTITION],
    )
});
pub static EVENT_COMMIT_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    latency_vec(
        "ssa_event_commit_seconds",
        "Event arrival to commit of its epoch (one sample per chunk of lines read).",
        &[PARTITION],
    )
});
pub static CHECKPOINT_SECONDS: LazyLock<Histogram> =
    LazyLock::new(|| latency("ssa_checkpoint_seconds", "Time to persist one snapshot."));
pub static CHECKPOINT_BYTES: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_checkpoint_bytes",
        "Size of the partition's last snapshot.",
        &[PARTITION],
    )
});
pub static CHECKPOINT_KEYS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_checkpoint_keys",
        "Keys in the partition's last snapshot.",
        &[PARTITION],
    )
});
pub static INFLIGHT_EPOCHS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_inflight_epochs",
        "Sealed but uncommitted epochs.",
        &[PARTITION],
    )
});
pub static BACKPRESSURE_SECONDS: LazyLock<CounterVec> = LazyLock::new(|| {
    reg(CounterVec::new(
        Opts::new(
            "ssa_backpressure_seconds_total",
            "Time a partition stopped reading its socket because too many epochs were uncommitted.",
        ),
        &[PARTITION],
    )
    .expect("valid metric"))
});
pub static RESTARTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "ssa_actor_restarts_total",
        "Actor restarts by actor kind and cause.",
        &[ACTOR, CAUSE],
    )
});
pub static LIVE_KEYS: LazyLock<IntGauge> = LazyLock::new(|| {
    reg(IntGauge::new("ssa_live_keys", "Keys with a total held in memory.").expect("valid metric"))
});
pub static PARTITION_KEYS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_partition_keys",
        "Keys resident in the partition's state (evicted keys excluded).",
        &[PARTITION],
    )
});
pub static SOURCE_OFFSET: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_source_offset",
        "Next offset the partition reads.",
        &[PARTITION],
    )
});
pub static COMMITTED_OFFSET: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_committed_offset",
        "Offset up to which the partition has committed.",
        &[PARTITION],
    )
});
pub static SOURCE_LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_source_lag",
        "Lines the source still has for the partition, where known.",
        &[PARTITION],
    )
});

pub static PARTITIONS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "ssa_partitions",
        "Partitions by lifecycle state (sampled every second by the admin server).",
        &[STATE],
    )
});
pub static CHAOS_KILLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "ssa_chaos_kills_total",
        "Actors killed by the admin API's chaos mode, by target kind.",
        &[TARGET],
    )
});

/// Counts one restart of an actor.
pub fn record_restart(actor: ActorKind, cause: RestartCause) {
    RESTARTS
        .with_label_values(&[actor.as_str(), cause.as_str()])
        .inc();
}

/// Counts one kill by chaos mode.
pub fn record_chaos_kill(target: ChaosTarget) {
    CHAOS_KILLS.with_label_values(&[target.as_str()]).inc();
}

/// Sets `ssa_partitions{state}` from a count of partitions per lifecycle state,
/// in [`Lifecycle::ALL`] order.
pub fn record_partition_states(counts: [i64; Lifecycle::ALL.len()]) {
    for (state, n) in Lifecycle::ALL.iter().zip(counts) {
        PARTITIONS.with_label_values(&[state.as_str()]).set(n);
    }
}

/// Restarts counted so far, as `(actor, cause, restarts)` for every series
/// that exists from the start.
pub fn restarts_by_series() -> Vec<(&'static str, &'static str, u64)> {
    ActorKind::ALL
        .iter()
        .flat_map(|actor| actor.causes().iter().map(move |cause| (*actor, *cause)))
        .map(|(actor, cause)| {
            let (actor, cause) = (actor.as_str(), cause.as_str());
            (
                actor,
                cause,
                RESTARTS.with_label_values(&[actor, cause]).get(),
            )
        })
        .collect()
}

/// Drops the series of a partition that was removed, so labels stay bounded.
pub fn forget_partition(id: &str) {
    for vec in [
        &*EVENTS_IN,
        &*EVENTS_COMMITTED,
        &*LOST_AT_MOST_ONCE,
        &*CHECKPOINT_CORRUPT,
    ] {
        let _ = vec.remove_label_values(&[id]);
    }
    for vec in [
        &*CHECKPOINT_BYTES,
        &*CHECKPOINT_KEYS,
        &*INFLIGHT_EPOCHS,
        &*PARTITION_KEYS,
        &*SOURCE_OFFSET,
        &*COMMITTED_OFFSET,
        &*SOURCE_LAG,
    ] {
        let _ = vec.remove_label_values(&[id]);
    }
    let _ = BACKPRESSURE_SECONDS.remove_label_values(&[id]);
    let _ = EPOCH_COMMIT_SECONDS.remove_label_values(&[id]);
    let _ = EVENT_COMMIT_SECONDS.remove_label_values(&[id]);
    for reason in crate::core::BadLine::REASONS {
        let _ = MALFORMED.remove_label_values(&[id, reason]);
    }
}

/// Touches every metric so that each one appears on a scrape from the start.
pub fn init() {
    LazyLock::force(&EVENTS_IN);
    LazyLock::force(&EVENTS_COMMITTED);
    LazyLock::force(&MALFORMED);
    LazyLock::force(&LOST_AT_MOST_ONCE);
    LazyLock::force(&CHECKPOINT_CORRUPT);
    LazyLock::force(&RAW_ROWS_WRITTEN);
    LazyLock::force(&ROLLUP_ROWS_WRITTEN);
    LazyLock::force(&TOTAL_ROWS_WRITTEN);
    LazyLock::force(&CASSANDRA_ERRORS);
    LazyLock::force(&CASSANDRA_WRITE_SECONDS);
    LazyLock::force(&EPOCH_COMMIT_SECONDS);
    LazyLock::force(&EVENT_COMMIT_SECONDS);
    LazyLock::force(&CHECKPOINT_SECONDS);
    LazyLock::force(&CHECKPOINT_BYTES);
    LazyLock::force(&CHECKPOINT_KEYS);
    LazyLock::force(&INFLIGHT_EPOCHS);
    LazyLock::force(&BACKPRESSURE_SECONDS);
    LazyLock::force(&RESTARTS);
    // Every series exists from the start, so a dashboard query has one.
    for actor in ActorKind::ALL {
        for cause in actor.causes() {
            RESTARTS.with_label_values(&[actor.as_str(), cause.as_str()]);
        }
    }
    for state in Lifecycle::ALL {
        PARTITIONS.with_label_values(&[state.as_str()]);
    }
    for target in ChaosTarget::ALL {
        CHAOS_KILLS.with_label_values(&[target.as_str()]);
    }
    LazyLock::force(&LIVE_KEYS);
    LazyLock::force(&PARTITION_KEYS);
    LazyLock::force(&SOURCE_OFFSET);
    LazyLock::force(&COMMITTED_OFFSET);
    LazyLock::force(&SOURCE_LAG);
    state::init();
    cluster::init();
}

/// The registry in Prometheus text format.
pub fn render() -> String {
    init();
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&REGISTRY.gather(), &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn all_metrics_register() {
        super::init();
        super::EVENTS_IN.with_label_values(&["t0"]).inc();
        let text = super::render();
        for name in [
            "ssa_raw_rows_written_total",
            "ssa_cassandra_write_seconds",
            "ssa_live_keys",
            "ssa_events_in_total{partition=\"t0\"}",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}

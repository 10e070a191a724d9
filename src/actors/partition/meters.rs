//! A partition's Prometheus series, resolved once per partition so that the hot
//! path adds to counters it holds, with no label lookup.

use prometheus::{Counter, Histogram, IntCounter, IntGauge};

use crate::core::BadLine;
use crate::metrics;

#[derive(Debug)]
pub(super) struct Meters {
    pub events_in: IntCounter,
    pub committed: IntCounter,
    pub lost: IntCounter,
    pub corrupt: IntCounter,
    pub inflight: IntGauge,
    pub offset: IntGauge,
    pub committed_offset: IntGauge,
    pub keys: IntGauge,
    pub lag: IntGauge,
    pub backpressure: Counter,
    pub epoch_commit: Histogram,
    pub event_commit: Histogram,
    /// One counter per bad-line reason, in `BadLine::REASONS` order.
    malformed: Vec<(&'static str, IntCounter)>,
}

impl Meters {
    pub fn new(id: &str) -> Self {
        // Every reason exists from the start, so a dashboard query has a series.
        let malformed = BadLine::REASONS
            .iter()
            .map(|reason| (*reason, metrics::MALFORMED.with_label_values(&[id, reason])))
            .collect();
        Meters {
            malformed,
            events_in: metrics::EVENTS_IN.with_label_values(&[id]),
            committed: metrics::EVENTS_COMMITTED.with_label_values(&[id]),
            lost: metrics::LOST_AT_MOST_ONCE.with_label_values(&[id]),
            corrupt: metrics::CHECKPOINT_CORRUPT.with_label_values(&[id]),
            inflight: metrics::INFLIGHT_EPOCHS.with_label_values(&[id]),
            offset: metrics::SOURCE_OFFSET.with_label_values(&[id]),
            committed_offset: metrics::COMMITTED_OFFSET.with_label_values(&[id]),
            keys: metrics::PARTITION_KEYS.with_label_values(&[id]),
            lag: metrics::SOURCE_LAG.with_label_values(&[id]),
            backpressure: metrics::BACKPRESSURE_SECONDS.with_label_values(&[id]),
            epoch_commit: metrics::EPOCH_COMMIT_SECONDS.with_label_values(&[id]),
            event_commit: metrics::EVENT_COMMIT_SECONDS.with_label_values(&[id]),
        }
    }

    /// Counts one bad line under its reason.
    pub fn malformed(&self, reason: &str) {
        if let Some((_, c)) = self.malformed.iter().find(|(r, _)| *r == reason) {
            c.inc();
        }
    }
}

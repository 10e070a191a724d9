//! One parsed event, borrowing from the line it came from.

use std::borrow::Cow;

use uuid::Uuid;

use super::key::KeyRef;

/// A parsed line. `event_name` borrows from the line except for JSON names that
/// contain escapes, the only case that allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef<'a> {
    pub franchise_id: Uuid,
    pub event_name: Cow<'a, str>,
    /// Event time, Unix milliseconds; `None` means ingest time decides the bucket.
    pub ts_ms: Option<i64>,
    /// The value folded into sum/min/max; `None` counts the event only.
    pub value: Option<i64>,
}

impl<'a> EventRef<'a> {
    pub fn new(franchise_id: Uuid, event_name: &'a str) -> Self {
        EventRef {
            franchise_id,
            event_name: Cow::Borrowed(event_name),
            ts_ms: None,
            value: None,
        }
    }

    pub fn with_ts(mut self, ts_ms: i64) -> Self {
        self.ts_ms = Some(ts_ms);
        self
    }

    pub fn with_value(mut self, value: i64) -> Self {
        self.value = Some(value);
        self
    }

    /// The rollup key this event counts towards.
    #[inline]
    pub fn key(&self) -> KeyRef<'_> {
        KeyRef::new(self.franchise_id, &self.event_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_borrows_name() {
        let ev = EventRef::new(Uuid::from_u128(3), "x")
            .with_ts(5)
            .with_value(-1);
        assert_eq!(ev.key(), KeyRef::new(Uuid::from_u128(3), "x"));
        assert_eq!((ev.ts_ms, ev.value), (Some(5), Some(-1)));
    }
}

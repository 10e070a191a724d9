//! An epoch's intent: what an epoch is about to write, recorded before it writes,
//! so that a restarted partition can undo the rows of an epoch that never committed.

use serde::{Deserialize, Serialize};

use crate::cassandra::schema::RAW_BUCKET_SIZE;

/// The offsets and rows an uncommitted epoch may have touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub epoch: u64,
    pub offset_start: u64,
    pub offset_end: u64,
    /// Touched keys as (franchise id, event name).
    pub keys: Vec<(u128, String)>,
    /// Touched minute buckets as (index into `keys`, minute start in ms).
    pub minutes: Vec<(u32, i64)>,
    /// The attempt's write timestamp (a clustering column, not in the blob).
    #[serde(skip)]
    pub written_at: i64,
}

impl Intent {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Intent, postcard::Error> {
        postcard::from_bytes(bytes)
    }

    /// The `events_raw` rows a repair deletes: one `(bucket, lo, hi)` offset range
    /// per raw partition, covering the intent's offsets from `committed_offset` on.
    pub fn raw_ranges(&self, committed_offset: u64) -> impl Iterator<Item = (i64, i64, i64)> {
        let start = self.offset_start.max(committed_offset) as i64;
        let end = self.offset_end as i64;
        let mut bucket = start / RAW_BUCKET_SIZE;
        std::iter::from_fn(move || {
            if !(start < end && bucket * RAW_BUCKET_SIZE < end) {
                return None;
            }
            let lo = start.max(bucket * RAW_BUCKET_SIZE);
            let hi = end.min((bucket + 1) * RAW_BUCKET_SIZE);
            bucket += 1;
            Some((bucket - 1, lo, hi))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let intent = Intent {
            epoch: 7,
            offset_start: 100,
            offset_end: 250,
            keys: vec![(42, "alpha".into()), (43, "beta".into())],
            minutes: vec![(0, 60_000), (1, 120_000)],
            written_at: 0,
        };
        assert_eq!(Intent::decode(&intent.encode()).unwrap(), intent);
    }
}

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
    ///
    /// Offsets are CQL `bigint`s, so no raw row lies past `i64::MAX`: offsets
    /// beyond it (only a corrupt intent or snapshot has them) are clamped there,
    /// never wrapped into negative ranges or overflowed.
    pub fn raw_ranges(&self, committed_offset: u64) -> impl Iterator<Item = (i64, i64, i64)> {
        const LAST: u64 = i64::MAX as u64;
        let size = RAW_BUCKET_SIZE as u64;
        let start = self.offset_start.max(committed_offset).min(LAST);
        let end = self.offset_end.min(LAST);
        let mut bucket = start / size;
        std::iter::from_fn(move || {
            // A range is only emitted below `end`, so `bucket * size` stays under
            // `LAST + size` and every value returned fits an `i64`.
            let lo = start.max(bucket * size);
            if lo >= end {
                return None;
            }
            let hi = end.min((bucket + 1) * size);
            let range = (bucket as i64, lo as i64, hi as i64);
            bucket += 1;
            Some(range)
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

    fn intent(offset_start: u64, offset_end: u64) -> Intent {
        Intent {
            epoch: 3,
            offset_start,
            offset_end,
            keys: vec![],
            minutes: vec![],
            written_at: 0,
        }
    }

    #[test]
    fn raw_ranges_cut_the_uncommitted_offsets_at_raw_buckets() {
        let ranges: Vec<_> = intent(99_990, 200_020).raw_ranges(99_995).collect();
        assert_eq!(
            ranges,
            vec![
                (0, 99_995, 100_000),
                (1, 100_000, 200_000),
                (2, 200_000, 200_020)
            ]
        );
        assert_eq!(intent(10, 20).raw_ranges(20).count(), 0);
        assert_eq!(intent(10, 10).raw_ranges(0).count(), 0);
        assert_eq!(intent(20, 10).raw_ranges(0).count(), 0);
    }

    #[test]
    fn raw_ranges_stop_at_the_last_bigint_offset() {
        let last = i64::MAX as u64;
        // The last raw bucket's end overflowed `i64` (debug: a panic; release: a
        // wrapped bound and a near-endless loop of deletes).
        let ranges: Vec<_> = intent(last - 10, last).raw_ranges(0).collect();
        let bucket = i64::MAX / RAW_BUCKET_SIZE;
        assert_eq!(ranges, vec![(bucket, i64::MAX - 10, i64::MAX)]);
        let ranges: Vec<_> = intent(last - 10, u64::MAX).raw_ranges(0).collect();
        assert_eq!(ranges, vec![(bucket, i64::MAX - 10, i64::MAX)]);
        // The fuzzer's find: a committed offset past `i64::MAX` wrapped negative.
        assert_eq!(intent(0, 5).raw_ranges(0xd000_0000_0000_06d0).count(), 0);
        assert_eq!(intent(0, u64::MAX).raw_ranges(u64::MAX).count(), 0);
    }
}

//! An epoch's intent: what an epoch is about to write, recorded before it writes,
//! so that a restarted partition can undo the rows of an epoch that never committed.

use serde::{Deserialize, Serialize};

use super::rollup::Rollup;
use super::sealed::SealedEpoch;

/// The most offsets one intent may span. An epoch is sealed after at most
/// `flush_interval` (1 h at most) of reading: 2^36 lines is some 19 M lines/s for
/// that hour, beyond what one partition reads. A wider intent is damaged, and
/// repairing it would mean hundreds of thousands of raw-row deletes or more.
pub const MAX_INTENT_SPAN: u64 = 1 << 36;

/// An intent blob that cannot be used for a repair.
#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    #[error("the blob does not decode: {0}")]
    Decode(#[from] postcard::Error),
    #[error("offsets {start}..{end} are not an epoch's (end before start, past the bigint range, or wider than {MAX_INTENT_SPAN})")]
    Offsets { start: u64, end: u64 },
}

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
    /// Committed values of keys the epoch reloaded from Cassandra (index into
    /// `keys`, value): what their rows go back to if the epoch never commits.
    pub priors: Vec<(u32, Rollup)>,
    /// Likewise for reloaded buckets: (index into `keys`, minute, value).
    pub minute_priors: Vec<(u32, i64, Rollup)>,
}

/// The blob before priors existed, still decoded.
#[derive(Deserialize)]
struct IntentV1 {
    epoch: u64,
    offset_start: u64,
    offset_end: u64,
    keys: Vec<(u128, String)>,
    minutes: Vec<(u32, i64)>,
}

impl Intent {
    /// The intent of a sealed epoch: its offsets, keys and minute buckets.
    pub fn of(s: &SealedEpoch) -> Intent {
        Intent {
            epoch: s.epoch,
            offset_start: s.offset_start,
            offset_end: s.offset_end,
            keys: s
                .touched
                .iter()
                .map(|(k, _)| (k.franchise_id.as_u128(), k.event_name.to_string()))
                .collect(),
            minutes: s.minutes.iter().map(|(i, m, _)| (*i, *m)).collect(),
            written_at: 0,
            priors: s.priors.clone(),
            minute_priors: s.minute_priors.clone(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Decodes a blob (the layout before priors too) and checks its offsets: an
    /// intent whose offsets no epoch could have read is refused, not repaired.
    pub fn decode(bytes: &[u8]) -> Result<Intent, IntentError> {
        let intent = postcard::from_bytes(bytes).or_else(|e| {
            let v1: IntentV1 = postcard::from_bytes(bytes).map_err(|_| e)?;
            Ok::<_, postcard::Error>(Intent {
                epoch: v1.epoch,
                offset_start: v1.offset_start,
                offset_end: v1.offset_end,
                keys: v1.keys,
                minutes: v1.minutes,
                written_at: 0,
                priors: Vec::new(),
                minute_priors: Vec::new(),
            })
        })?;
        let (start, end) = (intent.offset_start, intent.offset_end);
        if end < start || end > i64::MAX as u64 || end - start > MAX_INTENT_SPAN {
            return Err(IntentError::Offsets { start, end });
        }
        Ok(intent)
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
            priors: vec![(1, Rollup::of(Some(4)))],
            minute_priors: vec![(1, 120_000, Rollup::of(None))],
        };
        assert_eq!(Intent::decode(&intent.encode()).unwrap(), intent);
        // A blob of the layout before priors still decodes.
        let old =
            postcard::to_stdvec(&(7u64, 100u64, 250u64, &intent.keys, &intent.minutes)).unwrap();
        let back = Intent::decode(&old).unwrap();
        assert_eq!((back.keys, back.priors), (intent.keys, vec![]));
    }

    #[test]
    fn offsets_no_epoch_could_have_read_are_refused() {
        let with = |offset_start, offset_end| Intent {
            epoch: 1,
            offset_start,
            offset_end,
            keys: vec![],
            minutes: vec![],
            written_at: 0,
            priors: vec![],
            minute_priors: vec![],
        };
        let last = i64::MAX as u64;
        for (start, end) in [(10, 9), (0, last + 1), (0, MAX_INTENT_SPAN + 1)] {
            let err = Intent::decode(&with(start, end).encode()).unwrap_err();
            assert!(
                matches!(err, IntentError::Offsets { .. }),
                "{start}..{end}: {err}"
            );
        }
        for (start, end) in [(5, 5), (0, MAX_INTENT_SPAN), (last - 3, last)] {
            assert_eq!(
                Intent::decode(&with(start, end).encode()).unwrap(),
                with(start, end)
            );
        }
    }
}

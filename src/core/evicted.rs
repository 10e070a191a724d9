//! The membership filter of a partition's evicted keys: a few bits per key, no
//! false negatives. A key the filter has never seen was never evicted, so its miss
//! in memory means a new key and costs no Cassandra read; a key it may have seen is
//! reloaded (a false positive reads a row that is not there, and is counted).
//!
//! A scalable Bloom filter (`growable-bloom-filter`): it grows with the number of
//! evicted keys at a bounded false-positive rate, and its serialized form is
//! stable across platforms, so it travels in base snapshots. Keys enter it as a
//! stable 64-bit hash ([`key_hash`]), never as a per-process seeded one.

use growable_bloom_filter::GrowableBloom;
use serde::{Deserialize, Serialize};

use super::key::KeyRef;
use crate::gen::mix64;

/// SplitMix64's increment, as the generator's hash uses it.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// False-positive rate aimed at by the filter's first stage. Every false
/// positive holds its partition's reading for a read round trip (with unbounded
/// keys, one lookup per event): 0.01% rather than 0.1% costs about 6 bits more
/// per evicted key and a tenth of the stalls (measured: 0.03% rather than 0.3%
/// once 5 M keys are in).
const FALSE_POSITIVE_RATE: f64 = 0.0001;
/// Keys the first stage is sized for; later stages grow from there.
const FIRST_STAGE_KEYS: usize = 100_000;
/// Bits a key costs in the filter, taking later stages' growth into account (for
/// the state's byte count; measured 27 to 30 bits per key between 1 and 5 M keys).
const BITS_PER_KEY: u64 = 30;

/// A stable hash of a key (SplitMix64's finalizer over the franchise id's halves,
/// the name's bytes in 8-byte little-endian words, then its length): the same on
/// every machine and in every version, since filters are persisted.
pub fn key_hash(key: &KeyRef<'_>) -> u64 {
    let f = key.franchise_id.as_u128();
    let mut h = mix64((f >> 64) as u64 ^ GAMMA);
    h = mix64(h ^ f as u64);
    let name = key.event_name.as_bytes();
    let mut words = name.chunks_exact(8);
    for w in &mut words {
        let word = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = mix64(h ^ word);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = mix64(h ^ u64::from_le_bytes(tail));
    mix64(h ^ name.len() as u64)
}

/// The evicted keys of one partition, as a filter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvictedKeys {
    bloom: GrowableBloom,
    /// Keys inserted (a key evicted twice counts twice).
    inserted: u64,
    /// The newest minute of a bucket evicted with its key: a bucket of a later
    /// minute was never evicted.
    newest_minute: Option<i64>,
}

impl Default for EvictedKeys {
    fn default() -> Self {
        EvictedKeys {
            bloom: GrowableBloom::new(FALSE_POSITIVE_RATE, FIRST_STAGE_KEYS),
            inserted: 0,
            newest_minute: None,
        }
    }
}

impl PartialEq for EvictedKeys {
    fn eq(&self, other: &Self) -> bool {
        (self.inserted, self.newest_minute) == (other.inserted, other.newest_minute)
            && self.bloom == other.bloom
    }
}

impl Eq for EvictedKeys {}

impl EvictedKeys {
    /// Whether a decoded filter's parameters are ones it can grow with (a stored
    /// blob could name any): an error probability in (0, 1), a growth factor
    /// above 1, a tightening ratio in (0, 1]. The parameters are read from a copy
    /// emptied of its stages (the crate has no getters).
    pub fn check(&self) -> Result<(), &'static str> {
        let mut params = self.bloom.clone();
        params.clear();
        let v = serde_json::to_value(&params).map_err(|_| "its parameters do not serialize")?;
        let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        match (num("e"), num("g"), num("r")) {
            (Some(e), _, _) if !(e > 0.0 && e < 1.0) => Err("error probability not in (0, 1)"),
            (_, Some(g), _) if g <= 1.0 => Err("growth factor not above 1"),
            (_, _, Some(r)) if !(r > 0.0 && r <= 1.0) => Err("tightening ratio not in (0, 1]"),
            (Some(_), Some(_), Some(_)) => Ok(()),
            _ => Err("a parameter is missing or not a number"),
        }
    }

    pub fn insert(&mut self, hash: u64) {
        self.bloom.insert(hash);
        self.inserted += 1;
    }

    /// False when the key was certainly never evicted.
    #[inline]
    pub fn may_contain(&self, hash: u64) -> bool {
        self.bloom.contains(hash)
    }

    /// A bucket of `minute` left memory with its key.
    pub fn note_minute(&mut self, minute: i64) {
        self.newest_minute = Some(self.newest_minute.map_or(minute, |m| m.max(minute)));
    }

    pub fn newest_minute(&self) -> Option<i64> {
        self.newest_minute
    }

    pub fn inserted(&self) -> u64 {
        self.inserted
    }

    /// Bytes the filter takes, estimated from the keys its stages are sized for.
    pub fn bytes(&self) -> u64 {
        self.bloom.capacity() as u64 * BITS_PER_KEY / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_key_hash_is_pinned() {
        let f = Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        // Persisted in base snapshots: a change here makes old filters lie.
        assert_eq!(
            key_hash(&KeyRef::new(f, "login")),
            key_hash(&KeyRef::new(f, "login"))
        );
        assert_ne!(
            key_hash(&KeyRef::new(f, "login")),
            key_hash(&KeyRef::new(f, "logout"))
        );
        assert_ne!(
            key_hash(&KeyRef::new(f, "")),
            key_hash(&KeyRef::new(f, "\0"))
        );
        assert_eq!(key_hash(&KeyRef::new(f, "login")), 507_483_723_171_041_802);
    }

    #[test]
    fn a_filter_of_this_crate_passes_the_check() {
        let mut f = EvictedKeys::default();
        assert_eq!(f.check(), Ok(()));
        for h in 0..50_000u64 {
            f.insert(mix64(h));
        }
        assert_eq!(f.check(), Ok(()));
        let bytes = postcard::to_allocvec(&f).unwrap();
        let back: EvictedKeys = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.check(), Ok(()));
        assert!(back.may_contain(mix64(7)));
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let mut e = EvictedKeys::default();
        for i in 0..200_000u64 {
            e.insert(mix64(i));
        }
        assert!((0..200_000u64).all(|i| e.may_contain(mix64(i))));
        let fp = (200_000..400_000u64)
            .filter(|&i| e.may_contain(mix64(i)))
            .count();
        assert!(fp < 200_000 / 100, "{fp} false positives in 200,000");
        let bytes = postcard::to_stdvec(&e).unwrap();
        let back: EvictedKeys = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, e);
        assert!(back.may_contain(mix64(7)));
    }
}

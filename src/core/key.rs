//! The rollup key, owned and borrowed, hashing alike so maps can be probed
//! with a borrowed key and no allocation.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use hashbrown::Equivalent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Fast, non-cryptographic hasher for in-memory key maps (randomly seeded per map).
pub type KeyHasher = foldhash::fast::RandomState;

/// A hash map from owned keys, probed with [`KeyRef`] on the hot path.
pub type KeyMap<V> = hashbrown::HashMap<Key, V, KeyHasher>;

/// An owned rollup key: its name allocated once, the first time the key is seen,
/// and shared by every copy (sealed epochs, snapshots, the merger's totals), so a
/// clone is a reference count, not an allocation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub franchise_id: Uuid,
    pub event_name: Arc<str>,
}

/// A borrowed key, as parsed from a line; equal and hashing equal to its [`Key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyRef<'a> {
    pub franchise_id: Uuid,
    pub event_name: &'a str,
}

impl Key {
    pub fn new(franchise_id: Uuid, event_name: impl Into<Arc<str>>) -> Self {
        Key {
            franchise_id,
            event_name: event_name.into(),
        }
    }

    pub fn as_ref(&self) -> KeyRef<'_> {
        KeyRef {
            franchise_id: self.franchise_id,
            event_name: &self.event_name,
        }
    }
}

impl<'a> KeyRef<'a> {
    pub fn new(franchise_id: Uuid, event_name: &'a str) -> Self {
        KeyRef {
            franchise_id,
            event_name,
        }
    }

    pub fn to_key(&self) -> Key {
        Key::new(self.franchise_id, self.event_name)
    }

    /// The hash of this key under `hasher`; equal to that of the owned [`Key`].
    #[inline]
    pub fn hash_with(&self, hasher: &impl BuildHasher) -> u64 {
        hasher.hash_one(self)
    }
}

/// Both forms feed the hasher the same way, which `Equivalent` requires.
#[inline]
fn hash_parts<H: Hasher>(franchise_id: &Uuid, event_name: &str, state: &mut H) {
    state.write_u128(franchise_id.as_u128());
    event_name.hash(state);
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(&self.franchise_id, &self.event_name, state);
    }
}

impl Hash for KeyRef<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(&self.franchise_id, self.event_name, state);
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    #[inline]
    fn equivalent(&self, key: &Key) -> bool {
        self.franchise_id == key.franchise_id && self.event_name == &*key.event_name
    }
}

impl PartialEq<Key> for KeyRef<'_> {
    fn eq(&self, other: &Key) -> bool {
        self.equivalent(other)
    }
}

impl<'a> From<&'a Key> for KeyRef<'a> {
    fn from(key: &'a Key) -> Self {
        key.as_ref()
    }
}

impl From<KeyRef<'_>> for Key {
    fn from(key: KeyRef<'_>) -> Self {
        key.to_key()
    }
}

/// Same text as the seed line format: `{franchise_id}-{event_name}`.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl fmt::Display for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.franchise_id.hyphenated(), self.event_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn borrowed_and_owned_hash_alike() {
        let s = KeyHasher::default();
        let key = Key::new(id(7), "login");
        assert_eq!(s.hash_one(&key), s.hash_one(key.as_ref()));
        assert_eq!(s.hash_one(&key), KeyRef::new(id(7), "login").hash_with(&s));
    }

    #[test]
    fn map_lookup_by_borrowed_key() {
        let mut map: KeyMap<u32> = KeyMap::default();
        map.insert(Key::new(id(1), "a"), 10);
        map.insert(Key::new(id(1), "b"), 11);
        map.insert(Key::new(id(2), "a"), 20);
        let name = String::from("b");
        assert_eq!(map.get(&KeyRef::new(id(1), &name)), Some(&11));
        assert_eq!(map.get(&KeyRef::new(id(2), "a")), Some(&20));
        assert_eq!(map.get(&KeyRef::new(id(2), "b")), None);
    }

    #[test]
    fn name_boundaries_do_not_collide() {
        // `str` hashing is length-delimited, so ("ab") and ("a" + "b") cannot be confused.
        assert_ne!(Key::new(id(1), "ab"), Key::new(id(1), "a"));
        assert!(KeyRef::new(id(1), "ab") != Key::new(id(1), "a"));
        assert!(KeyRef::new(id(1), "ab") == Key::new(id(1), "ab"));
    }

    #[test]
    fn display_matches_seed_line() {
        let key = Key::new(
            Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap(),
            "signup",
        );
        assert_eq!(
            key.to_string(),
            "0f8fad5b-d9cb-469f-a165-70867728950e-signup"
        );
    }

    #[test]
    fn clones_share_the_name() {
        let key = Key::new(id(3), "shared");
        let copy = key.clone();
        assert!(Arc::ptr_eq(&key.event_name, &copy.event_name));
    }

    #[test]
    fn serde_round_trip() {
        let key = Key::new(id(99), "événement");
        let bytes = postcard::to_allocvec(&key).unwrap();
        assert_eq!(postcard::from_bytes::<Key>(&bytes).unwrap(), key);
    }
}

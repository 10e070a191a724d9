//! The checkpoint actor: persists snapshots one at a time (so a restore that
//! follows a persist in its mailbox always sees it), loads chains, prunes old ones,
//! and keeps each partition's identity: a restore under another identity than the
//! stored one is refused.
//!
//! - `actor`: the actor, its memory of committed states, and its kill switch.
//! - `persist`: persisting one snapshot (the commit point of an epoch).
//! - `restore`: a partition's committed state, from memory or from the store's
//!   newest chain that decodes (falling back past damaged snapshots).
//! - `identity`: loading and recording a partition's identity.

mod actor;
mod identity;
mod persist;
mod restore;

pub use actor::{CheckpointActor, KillCheckpoint};
pub use identity::{LoadIdentity, RecordIdentity};
pub use persist::{Persist, Persisted};
pub use restore::{Committed, Restore};

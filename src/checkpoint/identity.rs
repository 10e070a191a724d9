//! A partition's identity: what makes its committed offsets mean something — the
//! kind of source, the mode, its index among `count`, and the line format. It is
//! stored beside the checkpoints; a partition that comes back under the same id
//! with another identity is refused, naming the field, before it writes anything.

use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::{Deserialize, Serialize};

use crate::config::{PartitionConfig, SourceMode};
use crate::format::Format;

/// Whether the partition connects to its source or listens for producers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// `tcp://host:port`
    Connect,
    /// `listen://host:port`
    Listen,
}

/// What a partition's offsets were taken from. The address itself is not part of
/// it: a generator may move to another host and serve the same stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub source: SourceKind,
    pub mode: SourceMode,
    pub index: u32,
    pub count: u32,
    pub format: Format,
}

/// The identity as stored. `reset_pending` is set while a reset to this identity
/// is under way, so that a reset cut short by a crash is finished on the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIdentity {
    pub identity: Identity,
    pub reset_pending: bool,
}

/// A partition came back with another identity than its checkpoints were taken with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "partition {partition}: its checkpoints were taken with {field} = {stored}, not {given}; \
     its committed offsets belong to that stream (to start it over from offset 0 instead, \
     reset it: POST /partitions?reset=true or ssa run --reset-partition {partition})"
)]
pub struct IdentityMismatch {
    pub partition: String,
    /// The partition key that differs: `source`, `mode`, `format`, `index` or `count`.
    pub field: &'static str,
    pub stored: String,
    pub given: String,
}

impl Identity {
    pub fn of(cfg: &PartitionConfig) -> Identity {
        Identity {
            source: if cfg.source.starts_with("listen://") {
                SourceKind::Listen
            } else {
                SourceKind::Connect
            },
            mode: cfg.mode,
            index: cfg.index,
            count: cfg.count,
            format: cfg.format,
        }
    }

    /// The first field in which this (configured) identity differs from the
    /// `stored` one. Index and count only matter to a replayable source.
    pub fn mismatch(&self, partition: &str, stored: &Identity) -> Option<IdentityMismatch> {
        let differ = |field: &'static str, stored: String, given: String| {
            (stored != given).then(|| IdentityMismatch {
                partition: partition.to_string(),
                field,
                stored,
                given,
            })
        };
        differ("source", name(&stored.source), name(&self.source))
            .or_else(|| differ("mode", name(&stored.mode), name(&self.mode)))
            .or_else(|| differ("format", name(&stored.format), name(&self.format)))
            .or_else(|| {
                if self.mode != SourceMode::Replayable {
                    return None;
                }
                differ("index", stored.index.to_string(), self.index.to_string())
                    .or_else(|| differ("count", stored.count.to_string(), self.count.to_string()))
            })
    }
}

/// The config-file name of an enum value (`connect`, `replayable`, `seed`, …).
pub(crate) fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Parses a name written by [`name`].
pub(crate) fn parse_name<'a, T: Deserialize<'a>>(value: &'a str) -> Result<T, String> {
    T::deserialize(StrDeserializer::<ValueError>::new(value)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replayable(index: u32, count: u32) -> Identity {
        Identity {
            source: SourceKind::Connect,
            mode: SourceMode::Replayable,
            index,
            count,
            format: Format::Seed,
        }
    }

    #[test]
    fn the_first_differing_field_is_named_with_both_values() {
        let stored = replayable(1, 2);
        assert_eq!(replayable(1, 2).mismatch("p1", &stored), None);
        let m = replayable(0, 2).mismatch("p1", &stored).unwrap();
        assert_eq!(
            (m.field, m.stored.as_str(), m.given.as_str()),
            ("index", "1", "0")
        );
        let text = m.to_string();
        assert!(
            text.contains("partition p1") && text.contains("index = 1, not 0"),
            "{text}"
        );
        assert_eq!(
            replayable(1, 4).mismatch("p1", &stored).unwrap().field,
            "count"
        );
        let csv = Identity {
            format: Format::Csv,
            ..stored
        };
        let m = csv.mismatch("p1", &stored).unwrap();
        assert_eq!(
            (m.field, m.stored.as_str(), m.given.as_str()),
            ("format", "seed", "csv")
        );
        let listen = Identity {
            source: SourceKind::Listen,
            mode: SourceMode::Shared,
            ..stored
        };
        assert_eq!(listen.mismatch("p1", &stored).unwrap().field, "source");
    }

    #[test]
    fn index_and_count_do_not_matter_to_a_shared_source() {
        let shared = |index, count| Identity {
            mode: SourceMode::Shared,
            ..replayable(index, count)
        };
        assert_eq!(shared(0, 1).mismatch("s", &shared(3, 7)), None);
        assert_eq!(
            shared(0, 1).mismatch("s", &replayable(0, 1)).unwrap().field,
            "mode"
        );
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(name(&SourceKind::Listen), "listen");
        assert_eq!(name(&SourceMode::Replayable), "replayable");
        assert_eq!(parse_name::<Format>("json"), Ok(Format::Json));
        assert!(parse_name::<SourceMode>("sideways").is_err());
    }
}

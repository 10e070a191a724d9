//! The stored form of a snapshot: a version byte, the payload length, a CRC-32
//! of the payload, then the postcard payload.

use thiserror::Error;

use super::model::{Snapshot, SnapshotV1};

/// Bumped whenever the payload layout changes; versions other than this and the
/// ones [`decode`] still reads are refused. 2 added the evicted-keys filter.
pub const FORMAT_VERSION: u8 = 2;

/// Version (1) + payload length (4, LE) + CRC-32 of the payload (4, LE).
pub const HEADER_LEN: usize = 9;

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("encoding the snapshot failed")]
    Encode(#[source] postcard::Error),
    #[error("snapshot payload of {0} bytes is too large to encode")]
    TooLarge(usize),
    #[error("snapshot is truncated: {got} of {need} bytes")]
    Truncated { need: usize, got: usize },
    #[error("unknown snapshot format version {0}")]
    Version(u8),
    #[error("snapshot checksum mismatch, the blob is corrupt")]
    Checksum,
    #[error("decoding the snapshot payload failed")]
    Decode(#[source] postcard::Error),
    #[error("{0} unexpected bytes after the snapshot")]
    Trailing(usize),
    #[error("the snapshot's evicted-keys filter is invalid: {0}")]
    Filter(&'static str),
    #[error("events were recorded since the last seal, seal before a base snapshot")]
    Unsealed,
}

/// Serializes a snapshot with its header.
pub fn encode(snapshot: &Snapshot) -> Result<Vec<u8>, SnapshotError> {
    let mut out = vec![0u8; HEADER_LEN];
    out = postcard::to_extend(snapshot, out).map_err(SnapshotError::Encode)?;
    let payload_len = out.len() - HEADER_LEN;
    let len = u32::try_from(payload_len).map_err(|_| SnapshotError::TooLarge(payload_len))?;
    let crc = crc32fast::hash(&out[HEADER_LEN..]);
    out[0] = FORMAT_VERSION;
    out[1..5].copy_from_slice(&len.to_le_bytes());
    out[5..9].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Checks and deserializes a blob made by [`encode`]; corruption is an error,
/// never a panic or a wrong snapshot.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(SnapshotError::Truncated {
            need: HEADER_LEN,
            got: bytes.len(),
        });
    };
    let version = header[0];
    if version != FORMAT_VERSION && version != 1 {
        return Err(SnapshotError::Version(version));
    }
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let crc = u32::from_le_bytes([header[5], header[6], header[7], header[8]]);
    let need = HEADER_LEN.saturating_add(len);
    if bytes.len() < need {
        return Err(SnapshotError::Truncated {
            need,
            got: bytes.len(),
        });
    }
    if bytes.len() > need {
        return Err(SnapshotError::Trailing(bytes.len() - need));
    }
    let payload = &bytes[HEADER_LEN..];
    if crc32fast::hash(payload) != crc {
        return Err(SnapshotError::Checksum);
    }
    let (snapshot, rest) = if version == 1 {
        let (v1, rest) =
            postcard::take_from_bytes::<SnapshotV1>(payload).map_err(SnapshotError::Decode)?;
        (Snapshot::from(v1), rest)
    } else {
        postcard::take_from_bytes::<Snapshot>(payload).map_err(SnapshotError::Decode)?
    };
    if !rest.is_empty() {
        return Err(SnapshotError::Trailing(rest.len()));
    }
    if let Some(filter) = &snapshot.evicted {
        filter.check().map_err(SnapshotError::Filter)?;
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bucket::MinuteWatermark;
    use crate::core::key::Key;
    use crate::core::rollup::Rollup;
    use crate::core::snapshot::SnapshotKind;
    use uuid::Uuid;

    fn sample() -> Snapshot {
        Snapshot {
            partition: "p1".into(),
            epoch: 7,
            offset: 1234,
            kind: SnapshotKind::Delta,
            keys: vec![
                (Key::new(Uuid::from_u128(1), "a"), Rollup::of(None)),
                (Key::new(Uuid::from_u128(2), "b"), Rollup::of(Some(-9))),
            ],
            minutes: vec![(1, 60_000, Rollup::of(Some(-9)))],
            watermark: MinuteWatermark {
                newest_ms: Some(60_000),
                floor_ms: None,
            },
            evicted: None,
        }
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&sample()).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let bytes = encode(&sample()).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            assert!(decode(&bad).is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn truncation_version_and_trailing_bytes() {
        let bytes = encode(&sample()).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                matches!(decode(&bytes[..cut]), Err(SnapshotError::Truncated { .. })),
                "cut at {cut}"
            );
        }
        let mut bad = bytes.clone();
        bad[0] = 99;
        assert!(matches!(decode(&bad), Err(SnapshotError::Version(99))));
        // A version-1 blob (no evicted-keys filter) still decodes.
        let mut v1 = postcard::to_stdvec(&sample()).unwrap();
        v1.pop(); // the `None` of `evicted`, last in the payload
        let mut old = vec![1u8];
        old.extend_from_slice(&(v1.len() as u32).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(&v1).to_le_bytes());
        old.extend_from_slice(&v1);
        assert_eq!(decode(&old).unwrap(), sample());
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(decode(&long), Err(SnapshotError::Trailing(1))));
        let mut bad = bytes;
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(decode(&bad), Err(SnapshotError::Checksum)));
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode(&bytes);
        }
    }
}

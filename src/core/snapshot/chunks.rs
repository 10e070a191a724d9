//! Splitting an encoded snapshot over several blob cells (Cassandra cells should
//! stay well under 1 MiB) and joining them back.

/// Cuts `encoded` into pieces of at most `max_chunk_bytes` (at least 1) bytes, in
/// order; an empty input gives no chunk.
pub fn split_chunks(encoded: &[u8], max_chunk_bytes: usize) -> impl Iterator<Item = &[u8]> + '_ {
    encoded.chunks(max_chunk_bytes.max(1))
}

/// Concatenates chunks in order. A missing, extra or reordered chunk is caught by
/// [`decode`](super::decode)'s length and checksum checks.
pub fn reassemble<I, B>(chunks: I) -> Vec<u8>
where
    I: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(chunk.as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::EventRef;
    use crate::core::snapshot::{decode, encode};
    use crate::core::state::{RollupState, StateOptions};
    use uuid::Uuid;

    #[test]
    fn split_respects_the_bound_and_reassembles() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for max in [0, 1, 7, 999, 1000, 5000] {
            let chunks: Vec<&[u8]> = split_chunks(&data, max).collect();
            assert!(chunks
                .iter()
                .all(|c| c.len() <= max.max(1) && !c.is_empty()));
            assert_eq!(reassemble(chunks), data);
        }
        assert_eq!(split_chunks(&[], 10).count(), 0);
    }

    #[test]
    fn a_large_snapshot_round_trips_through_chunks_and_a_lost_chunk_is_caught() {
        let mut st = RollupState::new("p", StateOptions::default());
        let names: Vec<String> = (0..5000).map(|i| format!("event-{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            st.record(
                i as u64,
                &EventRef::new(Uuid::from_u128(i as u128 % 100), name),
                0,
            );
        }
        st.seal_epoch();
        let encoded = encode(&st.snapshot_base().unwrap()).unwrap();
        let chunks: Vec<Vec<u8>> = split_chunks(&encoded, 4096).map(<[u8]>::to_vec).collect();
        assert!(chunks.len() > 10);
        let back = decode(&reassemble(&chunks)).unwrap();
        assert_eq!(back.keys.len(), 5000);
        let mut missing = chunks.clone();
        missing.remove(3);
        assert!(decode(&reassemble(&missing)).is_err());
        let mut swapped = chunks;
        swapped.swap(2, 3);
        assert!(decode(&reassemble(&swapped)).is_err());
    }
}

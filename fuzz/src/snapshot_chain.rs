//! Target `snapshot_chain`: a partition's rows of the `checkpoints` table as read
//! back from Cassandra (seq, chunk, chunk count, offset, bytes), joined per seq and
//! decoded, the newest chain picked (base + contiguous deltas, or the fallback to
//! an older one past damaged snapshots), and the state restored from it, at once
//! and one snapshot at a time.
//!
//! Input: a header (1 byte: bucket horizon), then rows until the input ends. A row
//! is either raw bytes with arbitrary seq and chunk numbers, or a snapshot built
//! from the input, encoded and cut into chunks like the store does, some chunks
//! possibly lost or damaged.

use std::collections::BTreeMap;

use ssa::checkpoint::{newest_chain, CassandraStore, ChunkRow, Stored};
use ssa::core::{
    apply_snapshot, encode, restore, split_chunks, Key, MinuteRow, MinuteWatermark, Rollup,
    RollupState, Snapshot, SnapshotKind, StateOptions, ValueStats,
};
use uuid::Uuid;

use super::input::Input;

const PARTITION: &str = "p0";
const NAMES: [&str; 4] = ["a", "signup", "é-x", "a\u{0}b"];

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let options = StateOptions {
        keep_raw: false,
        bucket_horizon_minutes: [None, Some(0), Some(1), Some(60)][usize::from(input.u8() & 3)],
    };
    let mut rows: Vec<ChunkRow> = Vec::new();
    while !input.is_empty() && rows.len() < 256 {
        let kind = input.u8();
        if kind & 1 == 0 {
            let seq = i64::from(input.u8() as i8);
            let chunk = i32::from(input.u8() as i8);
            let chunks = i32::from(input.u8() as i8);
            let offset = (kind & 2 != 0).then(|| input.i64());
            let len = usize::from(input.u8());
            rows.push((seq, chunk, chunks, offset, input.bytes(len).to_vec()));
        } else {
            let snap = snapshot(&mut input);
            let seq = snap.epoch as i64;
            let bytes = encode(&snap).expect("encodes");
            let chunk_bytes = usize::from(input.u8()).max(1) * 8;
            let damage = input.u8();
            let pieces: Vec<&[u8]> = split_chunks(&bytes, chunk_bytes).collect();
            let n = pieces.len() as i32;
            for (i, piece) in pieces.into_iter().enumerate() {
                let mut piece = piece.to_vec();
                match damage >> 4 {
                    1 if i == usize::from(damage & 15) => continue,
                    2 if i == usize::from(damage & 15) => piece[0] ^= 0x40,
                    _ => {}
                }
                rows.push((seq, i as i32, n, Some(snap.offset as i64), piece));
            }
        }
    }

    let decoded = CassandraStore::assemble(rows);
    let stored = decoded.len();
    let readable: BTreeMap<u64, Snapshot> = decoded
        .iter()
        .filter_map(|(seq, l)| match &l.snapshot {
            Stored::Ok(s) => Some((*seq, s.clone())),
            _ => None,
        })
        .collect();
    let newest = decoded.keys().next_back().copied();
    let chain = newest_chain(decoded);
    assert!(chain.skipped <= stored);
    if let Some(fallback) = &chain.fallback {
        // A fallback names a snapshot past the chain and the newest one stored.
        assert!(fallback.damaged_seq > chain.epoch() || chain.base.is_none());
        assert_eq!(Some(fallback.lost_epoch), newest);
        let _ = fallback.reason.len();
    }
    if let Some(base) = &chain.base {
        assert!(readable.values().any(|s| s == base));
    }
    if let Some(base) = &chain.base {
        assert!(base.is_base());
    }
    let mut last = chain.base.as_ref().map_or(0, |b| b.epoch);
    for d in &chain.deltas {
        assert!(!d.is_base());
        assert_eq!(Some(d.epoch), last.checked_add(1));
        last = d.epoch;
    }
    assert_eq!(chain.epoch(), last);

    // At once (a restart) and one snapshot at a time (the checkpoint actor's
    // committed copy): either a state at the chain's end or a clear error.
    let last_offset = chain
        .deltas
        .last()
        .or(chain.base.as_ref())
        .map_or(0, |s| s.offset);
    match restore(PARTITION, options, chain.base.clone(), chain.deltas.clone()) {
        Ok(state) => {
            assert_eq!(state.epoch(), chain.epoch().saturating_add(1));
            assert_eq!(state.offset(), last_offset);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let mut step = RollupState::new(PARTITION, options);
    for snap in chain.base.iter().chain(&chain.deltas) {
        if let Err(e) = apply_snapshot(&mut step, snap.clone()) {
            let _ = e.to_string();
            return;
        }
    }
    assert_eq!(step.epoch(), chain.epoch().saturating_add(1));
    assert_eq!(step.offset(), last_offset);
}

/// A snapshot of partition `p0` (or, rarely, another) built from the input.
fn snapshot(input: &mut Input<'_>) -> Snapshot {
    let flags = input.u8();
    let partition = if flags & 0x80 != 0 { "p1" } else { PARTITION };
    let kind = if flags & 1 != 0 {
        SnapshotKind::Base
    } else {
        SnapshotKind::Delta
    };
    let epoch = match flags & 6 {
        0 => u64::from(input.u8() & 7),
        2 => u64::from(input.u8()),
        _ => input.u64(),
    };
    let offset = if flags & 8 != 0 {
        input.u64()
    } else {
        u64::from(input.u16())
    };
    let keys: Vec<(Key, Rollup)> = (0..input.u8() & 7)
        .map(|_| {
            let id = Uuid::from_u128(u128::from(input.u8() & 3));
            let name = NAMES[usize::from(input.u8() & 3)];
            (Key::new(id, name), rollup(input))
        })
        .collect();
    let minutes: Vec<MinuteRow> = (0..input.u8() & 7)
        .map(|_| {
            let index = u32::from(input.u8() & 7);
            let minute = if flags & 16 != 0 {
                input.i64()
            } else {
                i64::from(input.u8() as i8) * 60_000
            };
            (index, minute, rollup(input))
        })
        .collect();
    let watermark = MinuteWatermark {
        newest_ms: (flags & 32 != 0).then(|| i64::from(input.u8() as i8) * 60_000),
        floor_ms: (flags & 64 != 0).then(|| i64::from(input.u8() as i8) * 60_000),
    };
    Snapshot {
        partition: partition.to_string(),
        epoch,
        offset,
        kind,
        keys,
        minutes,
        watermark,
        evicted: None,
    }
}

fn rollup(input: &mut Input<'_>) -> Rollup {
    let count = i64::from(input.u8());
    let values = input.bool().then(|| ValueStats {
        count: i64::from(input.u8()),
        sum: input.i64(),
        min: i64::from(input.u8() as i8),
        max: i64::from(input.u8() as i8),
    });
    Rollup { count, values }
}

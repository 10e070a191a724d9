//! Target `lines`: socket bytes through the chunk codec, in reads of a chosen
//! size, then every line parsed in all three formats and counted into a
//! partition's state in the chosen one (what a partition actor does per frame).
//!
//! Input: format (1 byte: seed, csv, json), flags (1), `max_line_bytes` (2, LE),
//! `max_chunk_bytes` (2, LE), read size (1, 0 = one read), then the stream.

use bytes::BytesMut;
use ssa::core::{
    decode, encode, ingest_frame, ingest_line, parse_line, restore, ChunkCodec, Frame, RollupState,
    StateOptions, OVERSIZED_PREFIX_BYTES,
};
use ssa::format::Format;
use tokio_util::codec::Decoder;

use super::input::Input;
use super::state_view::view;

const FORMATS: [Format; 3] = [Format::Seed, Format::Csv, Format::Json];

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let format = FORMATS[usize::from(input.u8() % 3)];
    let flags = input.u8();
    let max_line = usize::from(input.u16());
    let max_chunk = usize::from(input.u16());
    let read_size = usize::from(input.u8());
    let stream = input.rest();

    let mut codec = ChunkCodec::new(max_chunk, max_line);
    if flags & 1 != 0 {
        codec = codec.with_max_discard(u64::from(flags >> 4) * 64);
    }
    let (max_line, max_chunk) = (codec.max_line_bytes(), codec.max_chunk_bytes());
    let options = StateOptions {
        keep_raw: flags & 2 != 0,
        bucket_horizon_minutes: if flags & 4 != 0 { Some(1) } else { None },
    };
    let mut state = RollupState::new("fuzz", options);
    let seal_every_frame = flags & 8 != 0;

    let mut buf = BytesMut::new();
    let mut taken = 0u64;
    let read = if read_size == 0 {
        stream.len().max(1)
    } else {
        read_size
    };
    let mut cut = false;
    'reads: for piece in stream.chunks(read) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    taken += take(&mut state, format, &frame, max_line, max_chunk);
                    if seal_every_frame {
                        state.seal_epoch();
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // Garbage without newlines: the connection is cut.
                    let _ = e.to_string();
                    cut = true;
                    break 'reads;
                }
            }
        }
        // Between reads at most one partial line, not yet oversized, is kept.
        assert!(buf.len() <= max_line, "{} bytes kept", buf.len());
    }
    if !cut {
        loop {
            match codec.decode_eof(&mut buf) {
                Ok(Some(frame)) => taken += take(&mut state, format, &frame, max_line, max_chunk),
                Ok(None) => break,
                Err(_) => {
                    cut = true;
                    break;
                }
            }
        }
    }
    if !cut {
        let newlines = stream.iter().filter(|&&b| b == b'\n').count() as u64;
        // One offset per line; a tail cut short by the end counts only if oversized.
        assert!(
            taken == newlines || taken == newlines + 1,
            "{taken} offsets for {newlines} lines"
        );
    }

    // What was counted survives a checkpoint round trip.
    state.seal_epoch();
    let base = state.snapshot_base().expect("sealed");
    let back = decode(&encode(&base).expect("encodes")).expect("decodes");
    let restored = restore("fuzz", options, Some(back), []).expect("restores");
    assert_eq!(view(&restored), view(&state));
}

/// Checks one frame, parses its lines in every format and counts them in
/// `format`; returns the offsets the frame took.
fn take(
    state: &mut RollupState,
    format: Format,
    frame: &Frame,
    max_line: usize,
    max_chunk: usize,
) -> u64 {
    let before = state.offset();
    match frame {
        Frame::Lines(chunk) => {
            assert!(chunk.len_bytes() <= max_chunk);
            assert_eq!(chunk.bytes().last(), Some(&b'\n'));
            assert_eq!(chunk.lines().count(), chunk.line_count() as usize);
            for line in chunk.lines() {
                assert!(line.len() <= max_line);
                for f in FORMATS {
                    if let Ok(ev) = parse_line(f, line) {
                        assert!(!ev.event_name.is_empty());
                        assert!(f.has_time_and_value() || (ev.ts_ms, ev.value) == (None, None));
                    }
                }
            }
        }
        Frame::Oversized { prefix, len } => {
            assert!(*len > max_line as u64);
            assert!(prefix.len() <= OVERSIZED_PREFIX_BYTES);
        }
        Frame::Unterminated(tail) => {
            assert!(!tail.is_empty() && tail.len() <= max_line);
            // A pushing producer's last line without its newline is counted as one.
            let mut probe = state.clone();
            ingest_line(&mut probe, format, tail, 0, &mut |_, _, _| {});
            assert_eq!(probe.offset(), before + 1);
            return 0;
        }
    }
    let mut bad = 0u64;
    let stats = ingest_frame(state, format, frame, 1_700_000_000_000, |_, _, why| {
        let _ = why.reason();
        bad += 1;
    });
    assert_eq!(stats.bad, bad);
    let taken = state.offset() - before;
    assert_eq!(stats.events + stats.bad, taken);
    taken
}

//! The partition actor's per-frame step: parse each line of a frame and count it
//! into the state at the right offset, reporting bad lines for the dead letters.

use super::bad_line::BadLine;
use super::frame::Frame;
use super::parse::parse_line;
use super::state::RollupState;
use crate::format::Format;

/// What one frame added to the open epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub events: u64,
    pub bad: u64,
}

/// Counts one line at the state's next offset. `on_bad(offset, line, reason)` is
/// called for a line that is skipped (it still takes the offset).
#[inline]
pub fn ingest_line(
    state: &mut RollupState,
    format: Format,
    line: &[u8],
    ingest_ms: i64,
    on_bad: &mut impl FnMut(u64, &[u8], BadLine),
) -> IngestStats {
    let offset = state.offset();
    match parse_line(format, line) {
        Ok(ev) => {
            state.record(offset, &ev, ingest_ms);
            IngestStats { events: 1, bad: 0 }
        }
        Err(bad) => {
            state.record_bad(offset);
            on_bad(offset, line, bad);
            IngestStats { events: 0, bad: 1 }
        }
    }
}

/// Counts every line of a codec frame, one offset each. An `Oversized` frame is
/// one bad line (`on_bad` gets its prefix). An `Unterminated` tail is NOT counted
/// (a replayable source resends it); a pushing source may pass its bytes to
/// [`ingest_line`] instead.
pub fn ingest_frame(
    state: &mut RollupState,
    format: Format,
    frame: &Frame,
    ingest_ms: i64,
    mut on_bad: impl FnMut(u64, &[u8], BadLine),
) -> IngestStats {
    let mut stats = IngestStats::default();
    match frame {
        Frame::Lines(chunk) => {
            for line in chunk.lines() {
                let one = ingest_line(state, format, line, ingest_ms, &mut on_bad);
                stats.events += one.events;
                stats.bad += one.bad;
            }
        }
        Frame::Oversized { prefix, len } => {
            let offset = state.offset();
            state.record_bad(offset);
            on_bad(offset, prefix, BadLine::Oversized { len: *len });
            stats.bad = 1;
        }
        Frame::Unterminated(_) => {}
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec::ChunkCodec;
    use crate::core::key::KeyRef;
    use crate::core::state::StateOptions;
    use bytes::BytesMut;
    use tokio_util::codec::Decoder;
    use uuid::Uuid;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn every_line_takes_one_offset_and_bad_lines_are_reported() {
        let input = format!(
            "{ID}-a\nnot a line\n{ID}-a\n{}\n{ID}-b\n{ID}-cut",
            "x".repeat(100)
        );
        let mut codec = ChunkCodec::new(1024, 64);
        let mut buf = BytesMut::from(input.as_bytes());
        let mut state = RollupState::new("p", StateOptions::default());
        let mut bad = Vec::new();
        let mut total = IngestStats::default();
        let mut tail = None;
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            if let Frame::Unterminated(b) = &frame {
                tail = Some(b.clone());
            }
            let s = ingest_frame(&mut state, Format::Seed, &frame, 0, |o, line, why| {
                bad.push((o, line.len(), why.reason()))
            });
            total.events += s.events;
            total.bad += s.bad;
        }
        assert_eq!(total, IngestStats { events: 3, bad: 2 });
        assert_eq!(bad, vec![(1, 10, "bad_uuid"), (3, 100, "oversized")]);
        assert_eq!(state.offset(), 5);
        let id = Uuid::parse_str(ID).unwrap();
        assert_eq!(state.get(&KeyRef::new(id, "a")).map(|r| r.count), Some(2));
        // The cut tail is left to the caller; a pushing source may count it.
        let tail = tail.unwrap();
        let s = ingest_line(&mut state, Format::Seed, &tail, 0, &mut |_, _, _| {});
        assert_eq!((s.events, state.offset()), (1, 6));
    }
}

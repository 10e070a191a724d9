//! The partition actor's per-frame step: parse each line of a frame and count it
//! into the state at the right offset, reporting bad lines for the dead letters.

use std::collections::HashSet;

use super::bad_line::BadLine;
use super::frame::{Frame, LineChunk};
use super::parse::parse_line;
use super::state::{Reload, RollupState};
use crate::format::Format;

/// What one frame added to the open epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub events: u64,
    pub bad: u64,
    /// Counting stopped before the line at this byte of the chunk: its key (or
    /// bucket) must be reloaded first ([`RollupState::try_record`]).
    pub stopped_at: Option<usize>,
}

/// Counts one line at the state's next offset. `on_bad(offset, line, reason)` is
/// called for a line that is skipped (it still takes the offset). A line whose key
/// must be reloaded first is not counted: `stopped_at` is `Some(0)`.
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
        Ok(ev) => match state.try_record(offset, &ev, ingest_ms) {
            Ok(()) => IngestStats {
                events: 1,
                ..IngestStats::default()
            },
            Err(_) => IngestStats {
                stopped_at: Some(0),
                ..IngestStats::default()
            },
        },
        Err(bad) => {
            state.record_bad(offset);
            on_bad(offset, line, bad);
            IngestStats {
                bad: 1,
                ..IngestStats::default()
            }
        }
    }
}

/// Counts every line of a codec frame, one offset each. An `Oversized` frame is
/// one bad line (`on_bad` gets its prefix). An `Unterminated` tail is NOT counted
/// (a replayable source resends it); a pushing source may pass its bytes to
/// [`ingest_line`] instead. Stops before a line whose key must be reloaded
/// (`stopped_at`): count the rest of the chunk ([`LineChunk::rest_from`]) after.
///
/// [`LineChunk::rest_from`]: super::frame::LineChunk::rest_from
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
            let mut at = 0;
            for line in chunk.lines() {
                let one = ingest_line(state, format, line, ingest_ms, &mut on_bad);
                if one.stopped_at.is_some() {
                    stats.stopped_at = Some(at);
                    break;
                }
                stats.events += one.events;
                stats.bad += one.bad;
                at += line.len() + 1;
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

/// What the lines of `chunk` will need reloaded before they can be counted, in
/// order, each once, at most `max`: looked ahead with a copy of the watermark, so
/// the state does not change. One batch of reads then serves many lines.
pub fn reloads_ahead(
    state: &RollupState,
    format: Format,
    chunk: &LineChunk,
    ingest_ms: i64,
    max: usize,
) -> Vec<Reload> {
    let mut watermark = state.watermark();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in chunk.lines() {
        let Ok(ev) = parse_line(format, line) else {
            continue;
        };
        if let Some(mut r) = state.needs_reload(&mut watermark, &ev, ingest_ms) {
            // A key asked for once is in memory by the time its later lines count.
            if r.partial && !seen.insert((r.key.clone(), None)) {
                r.partial = false;
            }
            if let Some(m) = r.minute {
                if !seen.insert((r.key.clone(), Some(m))) {
                    r.minute = None;
                }
            }
            if r.partial || r.minute.is_some() {
                out.push(r);
                if out.len() >= max {
                    break;
                }
            }
        }
    }
    out
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
        assert_eq!(
            total,
            IngestStats {
                events: 3,
                bad: 2,
                stopped_at: None
            }
        );
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

//! Socket framing: turns a byte stream into chunks of many complete lines, so the
//! partition actor gets one message per buffer, not one per line.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;
use thiserror::Error;
use tokio_util::codec::Decoder;

use super::frame::{Frame, LineChunk};

/// How many leading bytes of an oversized line are kept for its dead-letter row.
pub const OVERSIZED_PREFIX_BYTES: usize = 256;

/// A `Decoder` yielding [`Frame`]s: chunks of complete lines of at most
/// `max_chunk_bytes`, and one `Oversized` item per line over `max_line_bytes`.
///
/// Memory stays bounded whatever the peer sends: an over-long line is dropped
/// while it streams in (only its prefix and length are kept). With
/// [`with_max_discard`](Self::with_max_discard), a run of that many bytes without
/// a newline is an error, which ends the stream (cut the connection).
///
/// At end of stream, bytes after the last newline come out as
/// [`Frame::Unterminated`]; see there for how to count them.
///
/// Pair it with `FramedRead::with_capacity(io, codec, max_chunk_bytes)` so that
/// each socket read can fill a whole chunk.
#[derive(Debug)]
pub struct ChunkCodec {
    max_chunk_bytes: usize,
    max_line_bytes: usize,
    max_discard_bytes: Option<u64>,
    /// `buf[..scanned]` has been searched for newlines already.
    scanned: usize,
    /// End (after its `\n`) of the last complete line found in `buf`.
    complete_end: usize,
    /// Complete lines in `buf[..complete_end]`.
    lines: u32,
    discard: Option<Discard>,
    /// Set once a line ran past `max_discard_bytes`: its length so far.
    cut: Option<u64>,
}

/// An oversized line being dropped: its first bytes and its length so far.
#[derive(Debug, Default)]
struct Discard {
    prefix: Vec<u8>,
    len: u64,
}

impl Discard {
    fn into_frame(self) -> Frame {
        Frame::Oversized {
            prefix: Bytes::from(self.prefix),
            len: self.len,
        }
    }
}

/// Why the line stream stopped.
#[derive(Debug, Error)]
pub enum ChunkCodecError {
    #[error("reading the source failed")]
    Io(#[from] std::io::Error),
    #[error("no newline in {discarded} bytes, cutting the connection")]
    NoNewline { discarded: u64 },
}

impl ChunkCodec {
    /// `max_line_bytes` excludes the `\n`. A chunk is always allowed to hold at
    /// least one full-length line, so `max_chunk_bytes` is raised to that if needed.
    pub fn new(max_chunk_bytes: usize, max_line_bytes: usize) -> Self {
        let max_line_bytes = max_line_bytes.clamp(1, u32::MAX as usize - 1);
        let max_chunk_bytes = max_chunk_bytes.clamp(max_line_bytes + 1, u32::MAX as usize);
        ChunkCodec {
            max_chunk_bytes,
            max_line_bytes,
            max_discard_bytes: None,
            scanned: 0,
            complete_end: 0,
            lines: 0,
            discard: None,
            cut: None,
        }
    }

    /// Once an oversized line has run past `bytes` bytes without a newline
    /// (garbage, not data), yield it as [`Frame::Oversized`] and then fail with
    /// [`ChunkCodecError::NoNewline`], which ends the stream.
    pub fn with_max_discard(mut self, bytes: u64) -> Self {
        self.max_discard_bytes = Some(bytes);
        self
    }

    pub fn max_chunk_bytes(&self) -> usize {
        self.max_chunk_bytes
    }

    pub fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }

    fn reset_scan(&mut self) {
        self.scanned = 0;
        self.complete_end = 0;
        self.lines = 0;
    }

    /// Hands out the complete lines found so far; keeps the partial tail in `buf`.
    fn take_chunk(&mut self, buf: &mut BytesMut) -> Frame {
        let bytes = buf.split_to(self.complete_end).freeze();
        let chunk = LineChunk::new(bytes, self.lines);
        self.scanned -= self.complete_end;
        self.complete_end = 0;
        self.lines = 0;
        Frame::Lines(chunk)
    }

    /// Drops bytes up to the next newline, keeping the line's first bytes.
    /// `Some` once the oversized line ended.
    fn discard_step(
        &mut self,
        mut d: Discard,
        buf: &mut BytesMut,
    ) -> Result<Option<Frame>, ChunkCodecError> {
        let newline = memchr(b'\n', buf);
        let end = newline.unwrap_or(buf.len());
        let room = OVERSIZED_PREFIX_BYTES.saturating_sub(d.prefix.len());
        d.prefix.extend_from_slice(&buf[..room.min(end)]);
        d.len += end as u64;
        if newline.is_some() {
            buf.advance(end + 1);
            return Ok(Some(d.into_frame()));
        }
        buf.clear();
        if let Some(max) = self.max_discard_bytes {
            if d.len > max {
                // The line is reported (one offset, its prefix kept) before the
                // next call ends the stream.
                self.cut = Some(d.len);
                return Ok(Some(d.into_frame()));
            }
        }
        self.discard = Some(d);
        Ok(None)
    }
}

impl Decoder for ChunkCodec {
    type Item = Frame;
    type Error = ChunkCodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ChunkCodecError> {
        if let Some(discarded) = self.cut {
            buf.clear();
            return Err(ChunkCodecError::NoNewline { discarded });
        }
        if let Some(d) = self.discard.take() {
            match self.discard_step(d, buf)? {
                Some(frame) => return Ok(Some(frame)),
                None => return Ok(None),
            }
        }
        if self.complete_end > buf.len() {
            // The caller changed the buffer behind our back: scan it afresh.
            self.reset_scan();
        }
        let limit = buf.len().min(self.max_chunk_bytes);
        while self.scanned < limit {
            match memchr(b'\n', &buf[self.scanned..limit]) {
                Some(i) => {
                    let nl = self.scanned + i;
                    let line_len = nl - self.complete_end;
                    if line_len > self.max_line_bytes {
                        if self.lines > 0 {
                            return Ok(Some(self.take_chunk(buf)));
                        }
                        let prefix =
                            Bytes::copy_from_slice(&buf[..line_len.min(OVERSIZED_PREFIX_BYTES)]);
                        buf.advance(nl + 1);
                        self.reset_scan();
                        return Ok(Some(Frame::Oversized {
                            prefix,
                            len: line_len as u64,
                        }));
                    }
                    self.lines += 1;
                    self.complete_end = nl + 1;
                    self.scanned = nl + 1;
                }
                None => self.scanned = limit,
            }
        }
        if limit - self.complete_end > self.max_line_bytes {
            // The line after the last complete one is already too long.
            if self.lines > 0 {
                return Ok(Some(self.take_chunk(buf)));
            }
            self.reset_scan();
            return self.discard_step(Discard::default(), buf);
        }
        if self.lines > 0 {
            return Ok(Some(self.take_chunk(buf)));
        }
        Ok(None)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ChunkCodecError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if let Some(d) = self.discard.take() {
            return Ok(Some(d.into_frame()));
        }
        if buf.is_empty() {
            return Ok(None);
        }
        self.reset_scan();
        Ok(Some(Frame::Unterminated(buf.split().freeze())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a consumer sees, one entry per offset (plus the unterminated tail).
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Item {
        Line(Vec<u8>),
        Oversized { prefix: Vec<u8>, len: u64 },
        Unterminated(Vec<u8>),
    }

    /// Feeds `input` in pieces cut at `cuts`, like successive socket reads, then EOF.
    /// Also returns the most bytes ever left buffered between reads.
    fn run(codec: &mut ChunkCodec, input: &[u8], cuts: &[usize]) -> (Vec<Item>, usize) {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut max_left = 0;
        let max_chunk = codec.max_chunk_bytes();
        let push = |frame: Frame, out: &mut Vec<Item>| match frame {
            Frame::Lines(chunk) => {
                assert!(chunk.len_bytes() <= max_chunk);
                assert_eq!(chunk.bytes().last(), Some(&b'\n'));
                let lines: Vec<_> = chunk.lines().map(|l| Item::Line(l.to_vec())).collect();
                assert_eq!(lines.len(), chunk.line_count() as usize);
                out.extend(lines);
            }
            Frame::Oversized { prefix, len } => out.push(Item::Oversized {
                prefix: prefix.to_vec(),
                len,
            }),
            Frame::Unterminated(b) => out.push(Item::Unterminated(b.to_vec())),
        };
        let mut start = 0;
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        ends.sort_unstable();
        ends.push(input.len());
        for end in ends {
            buf.extend_from_slice(&input[start..end]);
            start = end;
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                push(frame, &mut out);
            }
            max_left = max_left.max(buf.len());
        }
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            push(frame, &mut out);
        }
        assert!(buf.is_empty());
        (out, max_left)
    }

    /// The straightforward reading of `input`.
    fn expected(input: &[u8], max_line: usize) -> Vec<Item> {
        let mut out = Vec::new();
        let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let tail = parts.pop().unwrap_or_default();
        let item = |line: &[u8], complete: bool| {
            if line.len() > max_line {
                Item::Oversized {
                    prefix: line[..line.len().min(OVERSIZED_PREFIX_BYTES)].to_vec(),
                    len: line.len() as u64,
                }
            } else if complete {
                Item::Line(line.to_vec())
            } else {
                Item::Unterminated(line.to_vec())
            }
        };
        for line in parts {
            out.push(item(line, true));
        }
        if !tail.is_empty() {
            out.push(item(tail, false));
        }
        out
    }

    #[test]
    fn many_lines_come_in_one_chunk() {
        let mut codec = ChunkCodec::new(1 << 16, 100);
        let mut buf = BytesMut::from(&b"a\nbb\nccc\npartial"[..]);
        let Some(Frame::Lines(chunk)) = codec.decode(&mut buf).unwrap() else {
            panic!("expected a chunk");
        };
        assert_eq!(chunk.line_count(), 3);
        assert_eq!(&chunk.bytes()[..], b"a\nbb\nccc\n");
        assert_eq!(&buf[..], b"partial");
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"-done\n");
        let Some(Frame::Lines(chunk)) = codec.decode(&mut buf).unwrap() else {
            panic!("expected a chunk");
        };
        assert_eq!(
            chunk.lines().collect::<Vec<_>>(),
            vec![&b"partial-done"[..]]
        );
    }

    #[test]
    fn chunks_respect_the_byte_bound() {
        let mut codec = ChunkCodec::new(10, 4);
        let mut buf = BytesMut::from(&b"aaa\nbbb\nccc\nddd\n"[..]);
        let mut sizes = Vec::new();
        while let Some(Frame::Lines(chunk)) = codec.decode(&mut buf).unwrap() {
            assert!(chunk.len_bytes() <= 10);
            sizes.push(chunk.line_count());
        }
        assert_eq!(sizes, vec![2, 2]);
    }

    #[test]
    fn oversized_line_between_good_lines() {
        let mut codec = ChunkCodec::new(1024, 5);
        let input = b"ok\n0123456789\nfine\n";
        let (items, _) = run(&mut codec, input, &[]);
        assert_eq!(
            items,
            vec![
                Item::Line(b"ok".to_vec()),
                Item::Oversized {
                    prefix: b"0123456789".to_vec(),
                    len: 10
                },
                Item::Line(b"fine".to_vec()),
            ]
        );
    }

    #[test]
    fn garbage_without_newline_keeps_memory_bounded_and_can_cut() {
        let mut codec = ChunkCodec::new(64, 16);
        let mut buf = BytesMut::new();
        let mut discarded = 0u64;
        for _ in 0..1000 {
            buf.extend_from_slice(&[b'x'; 50]);
            discarded += 50;
            assert_eq!(codec.decode(&mut buf).unwrap(), None);
            assert!(buf.len() <= 64);
        }
        buf.extend_from_slice(b"tail\nnext\n");
        let Some(Frame::Oversized { prefix, len }) = codec.decode(&mut buf).unwrap() else {
            panic!("expected the oversized notice");
        };
        assert_eq!(len, discarded + 4);
        assert_eq!(prefix.len(), OVERSIZED_PREFIX_BYTES);

        let mut codec = ChunkCodec::new(64, 16).with_max_discard(1000);
        let mut buf = BytesMut::new();
        let (prefix, len) = loop {
            buf.extend_from_slice(&[b'x'; 50]);
            match codec.decode(&mut buf).unwrap() {
                None => continue,
                Some(Frame::Oversized { prefix, len }) => break (prefix, len),
                Some(f) => panic!("unexpected {f:?}"),
            }
        };
        // The cut line is reported first, with its prefix, then the stream fails.
        assert_eq!((prefix.len(), len), (OVERSIZED_PREFIX_BYTES, 1050));
        buf.extend_from_slice(b"more\n");
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            ChunkCodecError::NoNewline { discarded: 1050 }
        ));
        assert!(codec.decode_eof(&mut buf).is_err());
    }

    #[test]
    fn prefix_is_capped() {
        let mut codec = ChunkCodec::new(1 << 20, 300);
        let mut input = vec![b'y'; 1000];
        input.push(b'\n');
        let (items, _) = run(&mut codec, &input, &[]);
        assert_eq!(
            items,
            vec![Item::Oversized {
                prefix: vec![b'y'; OVERSIZED_PREFIX_BYTES],
                len: 1000
            }]
        );
    }

    #[test]
    fn eof_tail_is_unterminated_and_oversized_tail_is_reported() {
        let mut codec = ChunkCodec::new(1024, 8);
        let (items, _) = run(&mut codec, b"a\nlast", &[]);
        assert_eq!(
            items,
            vec![
                Item::Line(b"a".to_vec()),
                Item::Unterminated(b"last".to_vec())
            ]
        );
        let mut codec = ChunkCodec::new(1024, 8);
        let (items, _) = run(&mut codec, b"a\n0123456789ab", &[5]);
        assert_eq!(
            items,
            vec![
                Item::Line(b"a".to_vec()),
                Item::Oversized {
                    prefix: b"0123456789ab".to_vec(),
                    len: 12
                }
            ]
        );
    }

    #[test]
    fn crlf_lines_keep_their_cr_for_the_parser() {
        let mut codec = ChunkCodec::new(1024, 8);
        let (items, _) = run(&mut codec, b"a\r\n\r\n", &[2]);
        assert_eq!(
            items,
            vec![Item::Line(b"a\r".to_vec()), Item::Line(b"\r".to_vec())]
        );
    }

    #[tokio::test]
    async fn works_under_framed_read() {
        use futures::StreamExt;
        use tokio_util::codec::FramedRead;

        let input: &[u8] = b"one\ntwo\nthree\n0123456789abcdef\nfour\ntail";
        let mut frames = FramedRead::with_capacity(input, ChunkCodec::new(16, 8), 16);
        let mut items = Vec::new();
        while let Some(frame) = frames.next().await {
            match frame.unwrap() {
                Frame::Lines(chunk) => items.extend(chunk.lines().map(|l| l.to_vec())),
                Frame::Oversized { len, .. } => items.push(format!("<{len}>").into_bytes()),
                Frame::Unterminated(b) => items.push([&b"~"[..], &b].concat()),
            }
        }
        let expected: Vec<&[u8]> = vec![b"one", b"two", b"three", b"<16>", b"four", b"~tail"];
        assert_eq!(items, expected);
    }

    fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => proptest::collection::vec(b'a'..=b'e', 0..12),
            1 => proptest::collection::vec(b'a'..=b'e', 12..40),
        ]
    }

    proptest! {
        #[test]
        fn any_read_boundaries_give_the_same_lines(
            lines in proptest::collection::vec(line_strategy(), 0..60),
            final_newline in any::<bool>(),
            cuts in proptest::collection::vec(any::<usize>(), 0..30),
            max_chunk in 1usize..64,
            max_line in 1usize..20,
        ) {
            let mut input = lines.join(&b'\n');
            if final_newline && !lines.is_empty() {
                input.push(b'\n');
            }
            let mut codec = ChunkCodec::new(max_chunk, max_line);
            let (items, max_left) = run(&mut codec, &input, &cuts);
            prop_assert_eq!(items, expected(&input, max_line));
            // Between reads at most one partial, not yet oversized, line stays buffered.
            prop_assert!(max_left <= max_line);
        }
    }
}

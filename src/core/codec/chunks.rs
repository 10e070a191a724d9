//! The codec: complete lines gathered into chunks of at most `max_chunk_bytes`.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;
use thiserror::Error;
use tokio_util::codec::Decoder;

use super::discard::Discard;
use super::OVERSIZED_PREFIX_BYTES;
use crate::core::frame::{Frame, LineChunk};

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
    pub(super) max_discard_bytes: Option<u64>,
    /// `buf[..scanned]` has been searched for newlines already.
    scanned: usize,
    /// End (after its `\n`) of the last complete line found in `buf`.
    complete_end: usize,
    /// Complete lines in `buf[..complete_end]`.
    lines: u32,
    pub(super) discard: Option<Discard>,
    /// Set once a line ran past `max_discard_bytes`: its length so far.
    pub(super) cut: Option<u64>,
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

    pub(super) fn reset_scan(&mut self) {
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

//! An over-long line is dropped while it streams in: only its first bytes and
//! its length are kept, so memory stays bounded whatever the peer sends.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use super::chunks::{ChunkCodec, ChunkCodecError};
use super::OVERSIZED_PREFIX_BYTES;
use crate::core::frame::Frame;

/// An oversized line being dropped: its first bytes and its length so far.
#[derive(Debug, Default)]
pub(super) struct Discard {
    prefix: Vec<u8>,
    len: u64,
}

impl Discard {
    pub(super) fn into_frame(self) -> Frame {
        Frame::Oversized {
            prefix: Bytes::from(self.prefix),
            len: self.len,
        }
    }
}

impl ChunkCodec {
    /// Drops bytes up to the next newline, keeping the line's first bytes.
    /// `Some` once the oversized line ended.
    pub(super) fn discard_step(
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

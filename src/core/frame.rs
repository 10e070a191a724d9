//! What the socket codec yields: a chunk of many complete lines, or a notice
//! about a line that could not be kept.

use bytes::Bytes;
use memchr::memchr;

/// One item of [`ChunkCodec`](super::codec::ChunkCodec). Each complete line in a
/// `Lines` chunk, and each `Oversized` item, takes exactly one source offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Many complete lines, each ending in `\n`.
    Lines(LineChunk),
    /// A line longer than `max_line_bytes`, already discarded: its first bytes (for
    /// the dead-letter row) and its full length without the `\n`. One offset.
    Oversized { prefix: Bytes, len: u64 },
    /// Bytes after the last `\n` when the stream ended: a line cut short, most
    /// likely by a lost connection. It is NOT a complete line: a replayable source
    /// sends it again at the same offset, so do not count it there; a pushing
    /// producer that omits the final newline can have it parsed as one more line.
    Unterminated(Bytes),
}

/// A buffer of complete lines: a zero-copy slice of the socket buffer ending in `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChunk {
    bytes: Bytes,
    lines: u32,
}

impl LineChunk {
    /// `bytes` must hold exactly `lines` newlines and end with one.
    pub(crate) fn new(bytes: Bytes, lines: u32) -> Self {
        LineChunk { bytes, lines }
    }

    /// How many lines (and so offsets) the chunk holds.
    pub fn line_count(&self) -> u32 {
        self.lines
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The lines from byte `at` on (the start of a line), as a chunk of their own.
    pub fn rest_from(&self, at: usize) -> LineChunk {
        let rest = self.bytes.slice(at.min(self.bytes.len())..);
        let lines = memchr::memchr_iter(b'\n', &rest).count() as u32;
        LineChunk { bytes: rest, lines }
    }

    /// The lines, each without its `\n` (a `\r` before it is left to the parser).
    pub fn lines(&self) -> Lines<'_> {
        Lines { rest: &self.bytes }
    }
}

/// Iterator over the lines of a [`LineChunk`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        match memchr(b'\n', self.rest) {
            Some(i) => {
                let line = &self.rest[..i];
                self.rest = &self.rest[i + 1..];
                Some(line)
            }
            None => {
                let line = self.rest;
                self.rest = &[];
                Some(line)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_and_keep_empty_lines() {
        let chunk = LineChunk::new(Bytes::from_static(b"a\n\nbc\r\n"), 3);
        let lines: Vec<&[u8]> = chunk.lines().collect();
        assert_eq!(lines, vec![&b"a"[..], b"", b"bc\r"]);
        assert_eq!(chunk.line_count(), 3);
        assert_eq!(chunk.len_bytes(), 7);
    }
}

//! Socket framing: turns a byte stream into chunks of many complete lines, so the
//! partition actor gets one message per buffer, not one per line.
//!
//! - `chunks`: [`ChunkCodec`], the `Decoder`.
//! - `discard`: dropping an over-long line as it streams in.

mod chunks;
mod discard;
#[cfg(test)]
mod tests;

pub use chunks::{ChunkCodec, ChunkCodecError};

/// How many leading bytes of an oversized line are kept for its dead-letter row.
pub const OVERSIZED_PREFIX_BYTES: usize = 256;

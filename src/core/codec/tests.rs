//! The codec against a line-by-line reference, on fixed inputs and on arbitrary
//! inputs cut at arbitrary points.

use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use super::*;
use crate::core::frame::Frame;

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

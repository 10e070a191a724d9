//! Target `subscribe`: the generator's side of the partitioned mode. The bytes a
//! client sends, in reads of a chosen size, go through the server's request-line
//! framing and the `SUBSCRIBE <p> <P> <offset>` parser; an accepted request gives
//! the first cycle to serve and the partition's line count.
//!
//! Input: read size (1 byte, 0 = one read), the cycle range's start (8, LE) and
//! length (8, LE), then what the client sends.

use ssa::gen::{partition_cycle, partition_lines, request_line, Subscribe, MAX_REQUEST_BYTES};

use super::input::Input;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let read_size = usize::from(input.u8());
    let start = input.u64();
    let len = input.u64();
    let sent = input.rest();

    let read_size = if read_size == 0 {
        sent.len().max(1)
    } else {
        read_size
    };
    let mut read = Vec::new();
    let mut request = Err("connection closed before a full request line".to_string());
    for piece in sent.chunks(read_size) {
        read.extend_from_slice(piece);
        match request_line(&read) {
            Ok(Some(line)) => {
                assert!(line.len() < MAX_REQUEST_BYTES && !line.contains(&b'\n'));
                request = Subscribe::parse(line);
                break;
            }
            Ok(None) => assert!(read.len() < MAX_REQUEST_BYTES),
            Err(reason) => {
                request = Err(reason);
                break;
            }
        }
    }

    match request {
        Ok(s) => {
            assert!(s.partition < s.partitions);
            let line = s.to_string();
            assert_eq!(line.matches('\n').count(), 1);
            assert_eq!(Subscribe::parse(line.trim_end().as_bytes()), Ok(s));
            if let Some(first) = partition_cycle(start, s.partition, s.partitions, s.offset) {
                assert!(first >= start);
                assert_eq!((first - start - s.partition) % s.partitions, 0);
            }
            let end = start.saturating_add(len);
            let lines = partition_lines(start..end, s.partition, s.partitions);
            assert!(lines <= end - start);
            if lines > 0 {
                // The last line of the partition is inside the range, the next is not.
                let last = partition_cycle(start, s.partition, s.partitions, lines - 1)
                    .expect("a counted cycle exists");
                assert!(last < end);
                let next = partition_cycle(start, s.partition, s.partitions, lines);
                assert!(next.is_none_or(|c| c >= end));
            }
        }
        Err(reason) => {
            // What the server sends back: one line.
            let line = format!("ERR {}\n", reason.replace(['\n', '\r'], " "));
            assert_eq!(line.matches('\n').count(), 1);
        }
    }
}

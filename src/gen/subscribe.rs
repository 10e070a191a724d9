//! The request of the partitioned mode: `SUBSCRIBE <p> <P> <offset>\n`.

use std::fmt;

/// Longest request line accepted, newline included.
pub const MAX_REQUEST_BYTES: usize = 256;

/// Finds the request line in the bytes read so far: `Ok(Some(line))` without its
/// `\n` once it is complete, `Ok(None)` while more bytes may complete it, an error
/// (the reason sent back after `ERR `) once it cannot fit in [`MAX_REQUEST_BYTES`].
pub fn request_line(read: &[u8]) -> Result<Option<&[u8]>, String> {
    match read.iter().position(|&b| b == b'\n') {
        Some(pos) if pos < MAX_REQUEST_BYTES => Ok(Some(&read[..pos])),
        None if read.len() < MAX_REQUEST_BYTES => Ok(None),
        _ => Err(format!(
            "request line longer than {MAX_REQUEST_BYTES} bytes"
        )),
    }
}

/// A subscription to partition `partition` of `partitions`, starting at the
/// `offset`-th line of that partition (the count of lines the client already has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subscribe {
    pub partition: u64,
    pub partitions: u64,
    pub offset: u64,
}

impl Subscribe {
    /// Parses one request line (without its `\n`; a trailing `\r` is allowed).
    /// The error is the reason sent back after `ERR `.
    pub fn parse(line: &[u8]) -> Result<Self, String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = std::str::from_utf8(line).map_err(|_| "request is not utf-8".to_string())?;
        let usage = || {
            format!(
                "expected 'SUBSCRIBE <p> <P> <offset>', got '{}'",
                text.escape_debug()
            )
        };
        let mut parts = text.split_ascii_whitespace();
        if parts.next() != Some("SUBSCRIBE") {
            return Err(usage());
        }
        let mut number = |name: &str| -> Result<u64, String> {
            let part = parts.next().ok_or_else(usage)?;
            part.parse::<u64>().map_err(|_| {
                format!(
                    "{name} '{}' is not a non-negative integer",
                    part.escape_debug()
                )
            })
        };
        let partition = number("p")?;
        let partitions = number("P")?;
        let offset = number("offset")?;
        if parts.next().is_some() {
            return Err(usage());
        }
        if partitions == 0 {
            return Err("P must be at least 1".into());
        }
        if partition >= partitions {
            return Err(format!("p {partition} must be below P {partitions}"));
        }
        Ok(Self {
            partition,
            partitions,
            offset,
        })
    }
}

/// The request line, newline included, as a client sends it.
impl fmt::Display for Subscribe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "SUBSCRIBE {} {} {}",
            self.partition, self.partitions, self.offset
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = Subscribe {
            partition: 2,
            partitions: 5,
            offset: 1234,
        };
        assert_eq!(s.to_string(), "SUBSCRIBE 2 5 1234\n");
        assert_eq!(Subscribe::parse(b"SUBSCRIBE 2 5 1234"), Ok(s));
        assert_eq!(Subscribe::parse(b"SUBSCRIBE 2 5 1234\r"), Ok(s));
    }

    #[test]
    fn request_line_waits_for_the_newline_within_the_limit() {
        assert_eq!(request_line(b"SUBSCRIBE 0 1"), Ok(None));
        assert_eq!(
            request_line(b"SUBSCRIBE 0 1 0\nextra"),
            Ok(Some(&b"SUBSCRIBE 0 1 0"[..]))
        );
        let long = vec![b'1'; MAX_REQUEST_BYTES - 1];
        assert_eq!(request_line(&long), Ok(None));
        let mut longer = long.clone();
        longer.push(b'1');
        assert!(request_line(&longer).is_err());
        let mut ended = long;
        ended.extend_from_slice(b"1\n");
        assert!(request_line(&ended).is_err());
    }

    #[test]
    fn refuses_with_a_reason() {
        let cases: [(&[u8], &str); 8] = [
            (
                b"HELLO",
                "expected 'SUBSCRIBE <p> <P> <offset>', got 'HELLO'",
            ),
            (
                b"SUBSCRIBE 1 2",
                "expected 'SUBSCRIBE <p> <P> <offset>', got 'SUBSCRIBE 1 2'",
            ),
            (
                b"SUBSCRIBE 1 2 3 4",
                "expected 'SUBSCRIBE <p> <P> <offset>', got 'SUBSCRIBE 1 2 3 4'",
            ),
            (b"SUBSCRIBE x 2 0", "p 'x' is not a non-negative integer"),
            (
                b"SUBSCRIBE 0 2 -1",
                "offset '-1' is not a non-negative integer",
            ),
            (b"SUBSCRIBE 0 0 0", "P must be at least 1"),
            (b"SUBSCRIBE 3 3 0", "p 3 must be below P 3"),
            (b"SUBSCRIBE \xff 1 0", "request is not utf-8"),
        ];
        for (line, reason) in cases {
            assert_eq!(Subscribe::parse(line), Err(reason.to_string()));
        }
    }
}

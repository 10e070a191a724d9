//! A cycle's line in the seed, CSV or JSON layout, written into a caller's
//! buffer without allocating.

use uuid::Uuid;

use super::workload::{franchise_uuid, KeyMode, Workload};
use crate::format::Format;

/// Length of a hyphenated UUID.
pub(super) const UUID_LEN: usize = 36;

impl Workload {
    /// The line of `cycle`, newline included.
    pub fn line(&self, cycle: u64) -> String {
        let mut out = Vec::with_capacity(self.max_line_len());
        self.write_line(cycle, &mut out);
        // Lines are utf-8: words are `str` and the rest is ascii.
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Appends the line of `cycle`, newline included, to `out`. It allocates only if
    /// `out` has less than [`Self::max_line_len`] spare capacity.
    #[inline]
    pub fn write_line(&self, cycle: u64, out: &mut Vec<u8>) {
        let source = self.source(cycle);
        let fid_buf;
        let fid: &[u8] = match self.franchise_text.get(source as usize) {
            Some(text) => text,
            None => {
                fid_buf = uuid_text(franchise_uuid(source));
                &fid_buf
            }
        };
        let key_buf;
        let name: &[u8] = match self.opts.keys {
            KeyMode::Bounded => self.word(self.word_index(cycle)).as_bytes(),
            KeyMode::Unbounded => {
                key_buf = uuid_text(self.key_uuid(cycle));
                &key_buf
            }
        };
        match self.opts.format {
            Format::Seed => {
                out.extend_from_slice(fid);
                out.push(b'-');
                out.extend_from_slice(name);
                out.push(b'\n');
            }
            Format::Csv => {
                let mut ts = itoa::Buffer::new();
                let mut value = itoa::Buffer::new();
                out.extend_from_slice(fid);
                out.push(b',');
                out.extend_from_slice(name);
                out.push(b',');
                out.extend_from_slice(ts.format(self.ts_ms(cycle)).as_bytes());
                out.push(b',');
                out.extend_from_slice(value.format(self.value(cycle)).as_bytes());
                out.push(b'\n');
            }
            Format::Json => {
                let mut ts = itoa::Buffer::new();
                let mut value = itoa::Buffer::new();
                out.extend_from_slice(b"{\"franchise_id\":\"");
                out.extend_from_slice(fid);
                out.extend_from_slice(b"\",\"event_name\":\"");
                out.extend_from_slice(name);
                out.extend_from_slice(b"\",\"ts\":");
                out.extend_from_slice(ts.format(self.ts_ms(cycle)).as_bytes());
                out.extend_from_slice(b",\"value\":");
                out.extend_from_slice(value.format(self.value(cycle)).as_bytes());
                out.extend_from_slice(b"}\n");
            }
        }
    }

    /// An upper bound on the length of any line of this workload, newline included.
    pub fn max_line_len(&self) -> usize {
        let name = match self.opts.keys {
            KeyMode::Bounded => self.opts.words.iter().map(str::len).max().unwrap_or(0),
            KeyMode::Unbounded => UUID_LEN,
        };
        // 20 bytes hold any i64 in decimal.
        match self.opts.format {
            Format::Seed => UUID_LEN + 1 + name + 1,
            Format::Csv => UUID_LEN + 1 + name + 1 + 20 + 1 + 20 + 1,
            Format::Json => 17 + UUID_LEN + 16 + name + 7 + 20 + 9 + 20 + 2,
        }
    }
}

#[inline]
pub(super) fn uuid_text(id: Uuid) -> [u8; UUID_LEN] {
    let mut buf = [0u8; UUID_LEN];
    id.hyphenated().encode_lower(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::workload::{WorkloadOptions, DEFAULT_TS_START_MS, PRECOMPUTED_SOURCES};

    #[test]
    fn seed_line_is_uuid_dash_word() {
        let w = Workload::default();
        for c in 0..1000 {
            let line = w.line(c);
            let e = w.event(c);
            assert_eq!(line, format!("{}-{}\n", e.franchise_id, e.event_name));
            assert_eq!(e.franchise_id, w.franchise_id(c + 100));
            assert_eq!((e.ts_ms, e.value), (0, 0));
        }
    }

    #[test]
    fn csv_and_json_lines_carry_the_event_fields() {
        for format in [Format::Csv, Format::Json] {
            let w = Workload::new(WorkloadOptions {
                format,
                ..Default::default()
            })
            .unwrap();
            for c in [0u64, 1, 99, 12_345, u64::MAX] {
                let e = w.event(c);
                let expected = match format {
                    Format::Csv => format!(
                        "{},{},{},{}\n",
                        e.franchise_id, e.event_name, e.ts_ms, e.value
                    ),
                    _ => format!(
                        "{{\"franchise_id\":\"{}\",\"event_name\":\"{}\",\"ts\":{},\"value\":{}}}\n",
                        e.franchise_id, e.event_name, e.ts_ms, e.value
                    ),
                };
                assert_eq!(w.line(c), expected);
                assert!((0..1000).contains(&e.value));
                assert!(w.line(c).len() <= w.max_line_len());
            }
            assert_eq!(w.event(7).ts_ms, DEFAULT_TS_START_MS + 7);
        }
    }

    #[test]
    fn many_sources_format_on_the_fly() {
        let big = Workload::new(WorkloadOptions {
            sources: PRECOMPUTED_SOURCES + 10,
            ..Default::default()
        })
        .unwrap();
        let small = Workload::default();
        for c in [0u64, 5, 99] {
            assert_eq!(big.line(c), small.line(c));
        }
        let c = PRECOMPUTED_SOURCES + 3;
        assert_eq!(
            big.line(c),
            format!("{}-{}\n", franchise_uuid(c), big.word(big.word_index(c)))
        );
    }
}

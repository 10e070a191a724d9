//! Cycle ranges (`A..B` half-open, `A..` endless) and the cycles of a partition.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use super::error::GenError;

/// A half-open range of cycles; `end: None` never ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CycleRange {
    pub start: u64,
    pub end: Option<u64>,
}

impl CycleRange {
    /// The range `start..end`.
    pub fn finite(range: Range<u64>) -> Self {
        Self {
            start: range.start,
            end: Some(range.end.max(range.start)),
        }
    }

    /// The endless range `start..`.
    pub fn endless(start: u64) -> Self {
        Self { start, end: None }
    }

    /// The range as `start..end`, if it is finite.
    pub fn as_range(&self) -> Option<Range<u64>> {
        self.end.map(|end| self.start..end)
    }

    /// Number of cycles, if finite.
    pub fn len(&self) -> Option<u64> {
        self.end.map(|end| end - self.start)
    }

    /// Whether the range is finite and holds no cycle.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    pub fn contains(&self, cycle: u64) -> bool {
        cycle >= self.start && self.end.is_none_or(|end| cycle < end)
    }
}

impl fmt::Display for CycleRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}..{}", self.start, end),
            None => write!(f, "{}..", self.start),
        }
    }
}

impl FromStr for CycleRange {
    type Err = GenError;

    /// Parses `A..B` (half-open, `B >= A`) or `A..` (endless); `_` may group digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| GenError::Cycles {
            value: s.to_string(),
            reason,
        };
        let (a, b) = s
            .trim()
            .split_once("..")
            .ok_or_else(|| err("expected A..B or A..".into()))?;
        let number = |text: &str, what: &str| -> Result<u64, GenError> {
            let digits: String = text.chars().filter(|&c| c != '_').collect();
            if digits.is_empty() {
                return Err(err(format!("{what} is missing (expected A..B or A..)")));
            }
            digits
                .parse::<u64>()
                .map_err(|_| err(format!("{what} '{text}' is not a non-negative integer")))
        };
        let start = number(a, "start")?;
        if b.is_empty() {
            return Ok(Self::endless(start));
        }
        let end = number(b, "end")?;
        if end < start {
            return Err(err(format!("end {end} is before start {start}")));
        }
        Ok(Self {
            start,
            end: Some(end),
        })
    }
}

/// Cycle `k` of partition `p` of `parts` over a range starting at `start`:
/// `start + p + parts · k`, or `None` if that overflows `u64`.
pub fn partition_cycle(start: u64, p: u64, parts: u64, k: u64) -> Option<u64> {
    parts
        .checked_mul(k)
        .and_then(|x| x.checked_add(p))
        .and_then(|x| x.checked_add(start))
}

/// How many lines partition `p` of `parts` gets from `range`: the number of `k` with
/// `range.start + p + parts · k < range.end`. Zero when `parts` is 0 or `p >= parts`.
pub fn partition_lines(range: Range<u64>, p: u64, parts: u64) -> u64 {
    if parts == 0 || p >= parts {
        return 0;
    }
    match range.start.checked_add(p) {
        Some(first) if first < range.end => (range.end - first - 1) / parts + 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_finite_and_endless_ranges() {
        assert_eq!(
            "3..10".parse::<CycleRange>().unwrap(),
            CycleRange::finite(3..10)
        );
        assert_eq!("5..5".parse::<CycleRange>().unwrap().len(), Some(0));
        assert_eq!("0..".parse::<CycleRange>().unwrap(), CycleRange::endless(0));
        assert_eq!(
            "1_000..2_000".parse::<CycleRange>().unwrap(),
            CycleRange::finite(1000..2000)
        );
        assert_eq!(CycleRange::finite(3..10).to_string(), "3..10");
        assert_eq!(CycleRange::endless(7).to_string(), "7..");
    }

    #[test]
    fn refuses_bad_ranges_naming_them() {
        let cases = [
            ("5..3", "invalid cycle range '5..3': end 3 is before start 5"),
            ("x..", "invalid cycle range 'x..': start 'x' is not a non-negative integer"),
            ("..", "invalid cycle range '..': start is missing (expected A..B or A..)"),
            ("..5", "invalid cycle range '..5': start is missing (expected A..B or A..)"),
            ("7", "invalid cycle range '7': expected A..B or A.."),
            ("-1..3", "invalid cycle range '-1..3': start '-1' is not a non-negative integer"),
            ("1..99999999999999999999", "invalid cycle range '1..99999999999999999999': end '99999999999999999999' is not a non-negative integer"),
        ];
        for (input, message) in cases {
            assert_eq!(
                input.parse::<CycleRange>().unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn partitions_split_a_range_exactly() {
        for (range, parts) in [
            (0..10u64, 3u64),
            (5..6, 4),
            (7..7, 2),
            (100..1000, 7),
            (0..3, 5),
        ] {
            let mut all = Vec::new();
            for p in 0..parts {
                let n = partition_lines(range.clone(), p, parts);
                let cycles: Vec<u64> = (0..)
                    .map_while(|k| partition_cycle(range.start, p, parts, k))
                    .take_while(|c| *c < range.end)
                    .collect();
                assert_eq!(cycles.len() as u64, n);
                all.extend(cycles);
            }
            all.sort_unstable();
            assert_eq!(all, range.collect::<Vec<_>>());
        }
        assert_eq!(partition_lines(0..10, 3, 3), 0);
        assert_eq!(partition_lines(0..10, 0, 0), 0);
        assert_eq!(partition_cycle(u64::MAX, 1, 2, 0), None);
        assert_eq!(partition_lines(u64::MAX - 1..u64::MAX, 0, 1), 1);
    }
}

//! The pieces every format checks the same way: event names and integers.

use crate::core::bad_line::BadLine;

#[inline]
pub(super) fn name_str(name: &[u8]) -> Result<&str, BadLine> {
    check_name(name)?;
    std::str::from_utf8(name).map_err(|_| BadLine::NotUtf8)
}

/// An event name is not empty and holds no ASCII control byte (0x00–0x1f, 0x7f):
/// such bytes make keys that look alike but differ, and break line-based tools.
#[inline]
pub(super) fn check_name(name: &[u8]) -> Result<(), BadLine> {
    if name.is_empty() {
        return Err(BadLine::EmptyName);
    }
    if name.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(BadLine::BadName);
    }
    Ok(())
}

/// A decimal `i64` with an optional sign. Written out because `str::parse` needs
/// a `&str`, and checking UTF-8 first would scan the bytes twice.
#[inline]
pub(super) fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut acc: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc = acc.checked_mul(10)?;
        acc = if neg {
            acc.checked_sub(i64::from(d))?
        } else {
            acc.checked_add(i64::from(d))?
        };
    }
    Some(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_edges() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775809"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b" 1"), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_i64_matches_std(s in "[-+]?[0-9]{0,21}|.{0,8}") {
            proptest::prop_assert_eq!(parse_i64(s.as_bytes()), s.parse::<i64>().ok());
        }
    }
}

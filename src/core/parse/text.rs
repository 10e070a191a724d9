//! The dispatch of a line to its format's parser, and the two text formats:
//! `seed` (`{franchise_id}-{event_name}`) and `csv`.

use std::borrow::Cow;

use memchr::memchr;
use uuid::Uuid;

use super::fields::{name_str, parse_i64};
use super::json::parse_json;
use crate::core::bad_line::BadLine;
use crate::core::event::EventRef;
use crate::format::Format;

/// Parses one line (with or without its `\n` / `\r\n`) in the given format. One
/// trailing `\r` is stripped (CRLF producers); an event name holding any other
/// control byte (NUL, `\r`, tab, …) is refused as [`BadLine::BadName`].
pub fn parse_line(format: Format, line: &[u8]) -> Result<EventRef<'_>, BadLine> {
    let line = trim_eol(line);
    if line.is_empty() {
        return Err(BadLine::Empty);
    }
    match format {
        Format::Seed => parse_seed(line),
        Format::Csv => parse_csv(line),
        Format::Json => parse_json(line),
    }
}

/// Strips one trailing `\n`, then one trailing `\r`.
#[inline]
pub fn trim_eol(line: &[u8]) -> &[u8] {
    // Slice patterns rather than `strip_suffix`, which is not `#[inline]` and would be
    // an out-of-line call per event in a build without link-time optimisation.
    let line = match line {
        [rest @ .., b'\n'] => rest,
        _ => line,
    };
    match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    }
}

const HYPHENATED_LEN: usize = 36;

/// `{franchise_id}-{event_name}`: the id is exactly 36 hyphenated characters, the
/// name is everything after the separating `-` (it may hold `-` itself).
fn parse_seed(line: &[u8]) -> Result<EventRef<'_>, BadLine> {
    let Some(id) = line.get(..HYPHENATED_LEN) else {
        return Err(BadLine::BadUuid);
    };
    let franchise_id = Uuid::try_parse_ascii(id).map_err(|_| BadLine::BadUuid)?;
    match line.get(HYPHENATED_LEN) {
        None => return Err(BadLine::MissingField("event_name")),
        Some(b'-') => {}
        Some(_) => return Err(BadLine::BadUuid),
    }
    let name = name_str(&line[HYPHENATED_LEN + 1..])?;
    Ok(EventRef::new(franchise_id, name))
}

/// `{franchise_id},{event_name},{ts},{value}`; an empty `ts` or `value` field means
/// absent. The name cannot hold a comma (no quoting).
fn parse_csv(line: &[u8]) -> Result<EventRef<'_>, BadLine> {
    let (id, rest) = split_field(line);
    let franchise_id = Uuid::try_parse_ascii(id).map_err(|_| BadLine::BadUuid)?;
    let rest = rest.ok_or(BadLine::MissingField("event_name"))?;
    let (name, rest) = split_field(rest);
    let rest = rest.ok_or(BadLine::MissingField("ts"))?;
    let (ts, rest) = split_field(rest);
    let value = rest.ok_or(BadLine::MissingField("value"))?;
    let name = name_str(name)?;
    Ok(EventRef {
        franchise_id,
        event_name: Cow::Borrowed(name),
        ts_ms: optional_int(ts, "ts")?,
        value: optional_int(value, "value")?,
    })
}

/// Splits at the first comma: the field and, when there was a comma, the rest.
#[inline]
fn split_field(s: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr(b',', s) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

#[inline]
fn optional_int(field: &[u8], name: &'static str) -> Result<Option<i64>, BadLine> {
    if field.is_empty() {
        return Ok(None);
    }
    parse_i64(field).map(Some).ok_or(BadLine::BadNumber(name))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::testkit::{csv, id, json, seed, ID};
    use super::*;
    use crate::core::bad_line::BadLine;
    use crate::core::event::EventRef;
    use crate::format::Format;

    #[test]
    fn seed_happy_path() {
        let line = format!("{ID}-signup\n");
        let ev = seed(&line).unwrap();
        assert_eq!(ev, EventRef::new(id(), "signup"));
        assert!(matches!(ev.event_name, Cow::Borrowed(_)));
    }

    #[test]
    fn seed_name_may_be_a_uuid_or_hold_dashes_and_crlf_is_accepted() {
        let other = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
        let line = format!("{ID}-{other}\r\n");
        assert_eq!(seed(&line).unwrap().event_name, other);
        let line = format!("{ID}--x-y");
        assert_eq!(seed(&line).unwrap().event_name, "-x-y");
        let line = format!("{ID}-naïve");
        assert_eq!(seed(&line).unwrap().event_name, "naïve");
    }

    #[test]
    fn seed_accepts_uppercase_hex() {
        let line = format!("{}-x", ID.to_uppercase());
        assert_eq!(seed(&line).unwrap().franchise_id, id());
    }

    #[test]
    fn seed_bad_lines() {
        assert_eq!(seed(""), Err(BadLine::Empty));
        assert_eq!(seed("\n"), Err(BadLine::Empty));
        assert_eq!(seed("\r\n"), Err(BadLine::Empty));
        assert_eq!(seed("hello"), Err(BadLine::BadUuid));
        assert_eq!(
            seed("0f8fad5b-d9cb-469f-a165-70867728950z-x"),
            Err(BadLine::BadUuid)
        );
        assert_eq!(seed(&format!("{ID}0-x")), Err(BadLine::BadUuid));
        assert_eq!(seed(ID), Err(BadLine::MissingField("event_name")));
        assert_eq!(seed(&format!("{ID}-")), Err(BadLine::EmptyName));
        assert_eq!(seed(&format!("{ID}-\r\n")), Err(BadLine::EmptyName));
        let mut bytes = format!("{ID}-ab").into_bytes();
        bytes.push(0xff);
        assert_eq!(parse_line(Format::Seed, &bytes), Err(BadLine::NotUtf8));
    }

    #[test]
    fn one_trailing_cr_is_stripped_and_control_bytes_in_names_are_refused() {
        assert_eq!(seed(&format!("{ID}-x\r\n")).unwrap().event_name, "x");
        assert_eq!(seed(&format!("{ID}-x\r")).unwrap().event_name, "x");
        assert_eq!(seed(&format!("{ID}-x\r\r\n")), Err(BadLine::BadName));
        for bad in ["a\0b", "a\rb", "a\tb", "\u{1b}[31m", "a\u{7f}"] {
            assert_eq!(
                seed(&format!("{ID}-{bad}")),
                Err(BadLine::BadName),
                "{bad:?}"
            );
            assert_eq!(
                csv(&format!("{ID},{bad},1,2")),
                Err(BadLine::BadName),
                "{bad:?}"
            );
        }
        let escaped = format!(r#"{{"franchise_id":"{ID}","event_name":"a\u0000b"}}"#);
        assert_eq!(json(&escaped), Err(BadLine::BadName));
        let raw_cr = format!("{{\"franchise_id\":\"{ID}\",\"event_name\":\"a\rb\"}}");
        assert!(json(&raw_cr).is_err());
        assert_eq!(
            csv(&format!("{ID},naïve,1,2\r\n")).unwrap().event_name,
            "naïve"
        );
    }

    #[test]
    fn csv_happy_path() {
        let line = format!("{ID},click,1700000000123,-42\n");
        let ev = csv(&line).unwrap();
        assert_eq!(
            ev,
            EventRef::new(id(), "click")
                .with_ts(1_700_000_000_123)
                .with_value(-42)
        );
        let line = format!("{ID},click,,\r\n");
        let ev = csv(&line).unwrap();
        assert_eq!((ev.ts_ms, ev.value), (None, None));
        let line = format!("{ID},click,+5,9223372036854775807");
        assert_eq!(csv(&line).unwrap().value, Some(i64::MAX));
    }

    #[test]
    fn csv_bad_lines() {
        assert_eq!(csv(""), Err(BadLine::Empty));
        assert_eq!(csv("garbage"), Err(BadLine::BadUuid));
        assert_eq!(csv("nope,click,1,2"), Err(BadLine::BadUuid));
        assert_eq!(csv(ID), Err(BadLine::MissingField("event_name")));
        assert_eq!(
            csv(&format!("{ID},click")),
            Err(BadLine::MissingField("ts"))
        );
        assert_eq!(
            csv(&format!("{ID},click,1")),
            Err(BadLine::MissingField("value"))
        );
        assert_eq!(csv(&format!("{ID},,1,2")), Err(BadLine::EmptyName));
        assert_eq!(
            csv(&format!("{ID},click,1x,2")),
            Err(BadLine::BadNumber("ts"))
        );
        assert_eq!(
            csv(&format!("{ID},click,1,2,3")),
            Err(BadLine::BadNumber("value"))
        );
        assert_eq!(
            csv(&format!("{ID},click,1,9223372036854775808")),
            Err(BadLine::BadNumber("value"))
        );
        let mut bytes = format!("{ID},a").into_bytes();
        bytes.extend_from_slice(b"\xc3\x28,1,2");
        assert_eq!(parse_line(Format::Csv, &bytes), Err(BadLine::NotUtf8));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            for f in [Format::Seed, Format::Csv, Format::Json] {
                let _ = parse_line(f, &bytes);
            }
        }
    }
}

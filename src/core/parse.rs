//! Line parsing for the three formats, without allocating on the happy path.

use std::borrow::Cow;
use std::fmt;

use memchr::memchr;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use uuid::Uuid;

use super::bad_line::BadLine;
use super::event::EventRef;
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
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
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

#[inline]
fn name_str(name: &[u8]) -> Result<&str, BadLine> {
    check_name(name)?;
    std::str::from_utf8(name).map_err(|_| BadLine::NotUtf8)
}

/// An event name is not empty and holds no ASCII control byte (0x00–0x1f, 0x7f):
/// such bytes make keys that look alike but differ, and break line-based tools.
#[inline]
fn check_name(name: &[u8]) -> Result<(), BadLine> {
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
pub(crate) fn parse_i64(b: &[u8]) -> Option<i64> {
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

fn parse_json(line: &[u8]) -> Result<EventRef<'_>, BadLine> {
    let parsed: JsonLine<'_> = match serde_json::from_slice(line) {
        Ok(p) => p,
        Err(_) if std::str::from_utf8(line).is_err() => return Err(BadLine::NotUtf8),
        Err(_) => return Err(BadLine::BadJson),
    };
    let id = parsed
        .franchise_id
        .ok_or(BadLine::MissingField("franchise_id"))?;
    let franchise_id = Uuid::try_parse(&id.0).map_err(|_| BadLine::BadUuid)?;
    let name = parsed
        .event_name
        .ok_or(BadLine::MissingField("event_name"))?;
    check_name(name.0.as_bytes())?;
    Ok(EventRef {
        franchise_id,
        event_name: name.0,
        ts_ms: json_int(parsed.ts, "ts")?,
        value: json_int(parsed.value, "value")?,
    })
}

fn json_int(field: Option<JsonInt>, name: &'static str) -> Result<Option<i64>, BadLine> {
    match field {
        None => Ok(None),
        Some(JsonInt::Int(v)) => Ok(Some(v)),
        Some(JsonInt::Bad) => Err(BadLine::BadNumber(name)),
    }
}

/// The JSON fields we read; any other key is ignored.
#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow, default)]
    franchise_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    event_name: Option<Str<'a>>,
    #[serde(default)]
    ts: Option<JsonInt>,
    #[serde(default)]
    value: Option<JsonInt>,
}

/// A string that borrows from the line unless it had escapes. Needed because serde
/// only borrows a `Cow` that is not wrapped in an `Option`.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// A numeric field: an integer, or anything else (float, string, bool, object),
/// which is reported as `bad_number` for that field instead of `bad_json`.
enum JsonInt {
    Int(i64),
    Bad,
}

impl<'de> Deserialize<'de> for JsonInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonInt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonInt, E> {
                Ok(JsonInt::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonInt, E> {
                Ok(i64::try_from(v).map_or(JsonInt::Bad, JsonInt::Int))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonInt, E> {
                Ok(JsonInt::Bad)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonInt, E> {
                Ok(JsonInt::Bad)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<JsonInt, E> {
                Ok(JsonInt::Bad)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonInt, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonInt::Bad)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonInt, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonInt::Bad)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    fn id() -> Uuid {
        Uuid::parse_str(ID).unwrap()
    }

    fn seed(line: &str) -> Result<EventRef<'_>, BadLine> {
        parse_line(Format::Seed, line.as_bytes())
    }

    fn csv(line: &str) -> Result<EventRef<'_>, BadLine> {
        parse_line(Format::Csv, line.as_bytes())
    }

    fn json(line: &str) -> Result<EventRef<'_>, BadLine> {
        parse_line(Format::Json, line.as_bytes())
    }

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

    #[test]
    fn json_happy_path_any_key_order_unknown_keys_ignored() {
        let line = format!(
            r#"{{"value":7,"extra":{{"a":[1,2]}},"event_name":"buy","ts":1700000000000,"franchise_id":"{ID}"}}"#
        );
        let ev = json(&line).unwrap();
        assert_eq!(
            ev,
            EventRef::new(id(), "buy")
                .with_ts(1_700_000_000_000)
                .with_value(7)
        );
        assert!(matches!(ev.event_name, Cow::Borrowed(_)));
    }

    #[test]
    fn json_optional_and_null_fields() {
        let line = format!(r#"{{"franchise_id":"{ID}","event_name":"x","ts":null}}"#);
        let ev = json(&line).unwrap();
        assert_eq!((ev.ts_ms, ev.value), (None, None));
        let line = format!("{{\"franchise_id\":\"{ID}\",\"event_name\":\"x\"}}\r\n");
        assert!(json(&line).is_ok());
    }

    #[test]
    fn json_escaped_name_is_owned() {
        let line = format!(r#"{{"franchise_id":"{ID}","event_name":"a\"b\u00e9"}}"#);
        let ev = json(&line).unwrap();
        assert_eq!(ev.event_name, "a\"bé");
        assert!(matches!(ev.event_name, Cow::Owned(_)));
    }

    #[test]
    fn json_bad_lines() {
        assert_eq!(json(""), Err(BadLine::Empty));
        assert_eq!(json("{"), Err(BadLine::BadJson));
        assert_eq!(json("[1,2]"), Err(BadLine::BadJson));
        assert_eq!(json(r#"{"franchise_id":1}"#), Err(BadLine::BadJson));
        assert_eq!(
            json(&format!(
                r#"{{"franchise_id":"{ID}","event_name":"x"}} trailing"#
            )),
            Err(BadLine::BadJson)
        );
        assert_eq!(
            json(r#"{"event_name":"x"}"#),
            Err(BadLine::MissingField("franchise_id"))
        );
        assert_eq!(
            json(&format!(r#"{{"franchise_id":"{ID}"}}"#)),
            Err(BadLine::MissingField("event_name"))
        );
        assert_eq!(
            json(r#"{"franchise_id":"nope","event_name":"x"}"#),
            Err(BadLine::BadUuid)
        );
        assert_eq!(
            json(&format!(r#"{{"franchise_id":"{ID}","event_name":""}}"#)),
            Err(BadLine::EmptyName)
        );
        for bad in [
            "1.5",
            "\"12\"",
            "true",
            "[1]",
            "{\"a\":1}",
            "18446744073709551615",
        ] {
            assert_eq!(
                json(&format!(
                    r#"{{"franchise_id":"{ID}","event_name":"x","ts":{bad}}}"#
                )),
                Err(BadLine::BadNumber("ts")),
                "{bad}"
            );
        }
        assert_eq!(
            json(&format!(
                r#"{{"franchise_id":"{ID}","event_name":"x","value":-0.5}}"#
            )),
            Err(BadLine::BadNumber("value"))
        );
        let mut bytes = format!(r#"{{"franchise_id":"{ID}","event_name":"a"#).into_bytes();
        bytes.extend_from_slice(b"\xff\"}");
        assert_eq!(parse_line(Format::Json, &bytes), Err(BadLine::NotUtf8));
    }

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

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            for f in [Format::Seed, Format::Csv, Format::Json] {
                let _ = parse_line(f, &bytes);
            }
        }
    }
}

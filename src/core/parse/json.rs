//! The `json` format: `{"franchise_id":"…","event_name":"…","ts":…,"value":…}`
//! in any key order, other keys ignored, the name borrowed unless escaped.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use uuid::Uuid;

use super::fields::check_name;
use crate::core::bad_line::BadLine;
use crate::core::event::EventRef;

pub(super) fn parse_json(line: &[u8]) -> Result<EventRef<'_>, BadLine> {
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
    use std::borrow::Cow;

    use super::super::parse_line;
    use super::super::testkit::{id, json, ID};
    use crate::core::bad_line::BadLine;
    use crate::core::event::EventRef;
    use crate::format::Format;

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
}

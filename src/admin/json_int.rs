//! Integers as JSON Schema counts them: `43.0` is the integer 43 (a number with
//! a zero fraction is an integer), which serde would refuse for a `u32`. Used by
//! the request bodies, so what `/openapi.json` calls an integer is taken.

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Number;

/// The exact unsigned integer a JSON number denotes, if it is one.
pub fn unsigned(n: &Number) -> Option<u64> {
    if let Some(v) = n.as_u64() {
        return Some(v);
    }
    let f = n.as_f64()?;
    // Every f64 below 2^64 with no fraction is an exact u64.
    (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f)).then_some(f as u64)
}

fn convert<T: TryFrom<u64>, E: serde::de::Error>(n: &Number) -> Result<T, E> {
    let what = || E::custom(format!("{n} is not a whole number in range"));
    unsigned(n)
        .ok_or_else(what)
        .and_then(|v| T::try_from(v).map_err(|_| what()))
}

/// `deserialize_with` for an optional unsigned integer field.
pub fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    match Option::<Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => convert(&n).map(Some),
    }
}

/// `deserialize_with` for a required unsigned integer field.
pub fn required<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let n = Number::deserialize(d)?;
    convert(&n)
}

/// An unsigned integer out of a JSON value, for bodies read as [`serde_json::Value`].
pub fn from_value<T: TryFrom<u64>>(v: serde_json::Value) -> Result<T, String> {
    match v {
        serde_json::Value::Number(n) => {
            convert::<T, serde_json::Error>(&n).map_err(|e| e.to_string())
        }
        other => {
            Err(serde_json::Error::custom(format!("expected an integer, not {other}")).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integral_numbers_are_integers() {
        assert_eq!(from_value::<u32>(json!(43.0)), Ok(43));
        assert_eq!(from_value::<u32>(json!(43)), Ok(43));
        assert_eq!(
            from_value::<u64>(json!(1e19)),
            Ok(10_000_000_000_000_000_000)
        );
        assert_eq!(from_value::<u64>(json!(u64::MAX)), Ok(u64::MAX));
        assert!(from_value::<u32>(json!(43.5)).is_err());
        assert!(from_value::<u32>(json!(-1)).is_err());
        assert!(from_value::<u32>(json!(4_294_967_296u64)).is_err());
        assert!(from_value::<u64>(json!(1.8446744073709552e19)).is_err());
        assert!(from_value::<u32>(json!("1")).is_err());
    }
}

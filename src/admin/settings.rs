//! `GET /config` (the running configuration, secrets redacted, live values
//! overlaid) and `PATCH /config` (live change of the tunable knobs).

use actix_web::web;
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorBody};
use super::json_int;
use super::state::AdminState;
use crate::actors::tuning::{ConfigPatch, Tunables};

/// The running configuration: every section, the live partitions, the live
/// tunable values; `cassandra.password` and `admin.token` are redacted.
#[utoipa::path(
    get,
    operation_id = "get_config",
    path = "/config",
    tag = "config",
    responses(
        (status = 200, description = "the configuration, as in config/default.toml, plus `tunable`", body = Object),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn get(state: web::Data<AdminState>) -> Result<web::Json<Value>, ApiError> {
    let processor = state.processor()?;
    let mut config = processor.config.clone();
    processor.tuning.get().apply_to(&mut config.processor);
    config.partitions = processor
        .partitions()
        .iter()
        .map(|p| p.config.clone())
        .collect();
    for secret in [&mut config.cassandra.password, &mut config.admin.token] {
        if !secret.is_empty() {
            *secret = "<redacted>".to_string();
        }
    }
    let mut value = serde_json::to_value(&config)
        .map_err(|e| ApiError::Unavailable(format!("serialising the configuration: {e}")))?;
    if let Value::Object(map) = &mut value {
        map.insert(
            "tunable".to_string(),
            Value::Array(Tunables::KEYS.iter().map(|k| Value::from(*k)).collect()),
        );
    }
    Ok(web::Json(value))
}

/// Reads one string field of the patch, naming it when it has the wrong type.
fn take(map: &mut Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::field(
            field,
            format!("expected a string, not {other}"),
        )),
    }
}

/// Reads one integer field of the patch (`43.0` is 43, as in JSON Schema).
fn take_int<T: TryFrom<u64>>(
    map: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<T>, ApiError> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => json_int::from_value(v)
            .map(Some)
            .map_err(|e| ApiError::field(field, e)),
    }
}

/// Parses a patch body, naming the first field that is unknown or malformed.
pub fn parse_patch(body: Value) -> Result<ConfigPatch, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::InvalidBody(
            "expected a JSON object of tunable keys".into(),
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !Tunables::KEYS.contains(&k.as_str())) {
        return Err(ApiError::field(
            unknown.clone(),
            format!(
                "not a key that can change while running (tunable: {})",
                Tunables::KEYS.join(", ")
            ),
        ));
    }
    let patch = ConfigPatch {
        flush_interval: take(&mut map, "flush_interval")?,
        max_epoch_events: take_int(&mut map, "max_epoch_events")?,
        max_inflight_epochs: take_int(&mut map, "max_inflight_epochs")?,
        sink_concurrency: take_int(&mut map, "sink_concurrency")?,
    };
    Ok(patch)
}

/// `current` with the patch's values put in; a malformed `flush_interval` is
/// refused here, ranges by [`Tunables::validate`] when the processor applies them.
pub fn patched(current: Tunables, patch: &ConfigPatch) -> Result<Tunables, ApiError> {
    patch
        .apply(current)
        .map_err(|m| ApiError::field("flush_interval", m))
}

/// Changes tunable knobs while running; the whole patch is validated first
/// (same ranges as the configuration file) and applied only if all of it is valid.
#[utoipa::path(
    patch,
    operation_id = "patch_config",
    path = "/config",
    tag = "config",
    request_body = ConfigPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the live values after the change", body = Tunables),
        (status = 400, description = "the body is not the JSON this call takes (`invalid_body`), or a field is malformed or out of range (`invalid_field`, named in `field`)", body = ErrorBody),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 413, description = "the body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "the Content-Type is not application/json", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) or an actor did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn patch(
    state: web::Data<AdminState>,
    body: web::Json<Value>,
) -> Result<web::Json<Tunables>, ApiError> {
    let patch = parse_patch(body.into_inner())?;
    let processor = state.processor()?;
    let values = patched(processor.tuning.get(), &patch)?;
    let applied = processor.retune(values).await?;
    tracing::info!(
        flush_interval = ?applied.flush_interval,
        max_epoch_events = applied.max_epoch_events,
        max_inflight_epochs = applied.max_inflight_epochs,
        sink_concurrency = applied.sink_concurrency,
        "tuning changed"
    );
    Ok(web::Json(applied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::tuning::parse_interval;
    use serde_json::json;
    use utoipa::OpenApi as _;

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::InvalidField { field, .. } => field,
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn patches_name_the_bad_field() {
        let p = parse_patch(json!({"flush_interval": "250ms", "sink_concurrency": 8})).unwrap();
        assert_eq!(p.flush_interval.as_deref(), Some("250ms"));
        assert_eq!(p.sink_concurrency, Some(8));
        assert_eq!(
            field_of(parse_patch(json!({"raw_events": false})).unwrap_err()),
            "raw_events"
        );
        assert_eq!(
            field_of(parse_patch(json!({"max_epoch_events": "many"})).unwrap_err()),
            "max_epoch_events"
        );
        assert_eq!(
            field_of(parse_patch(json!({"max_inflight_epochs": -1})).unwrap_err()),
            "max_inflight_epochs"
        );
        assert!(matches!(
            parse_patch(json!([1])).unwrap_err(),
            ApiError::InvalidBody(_)
        ));
        let soon = parse_patch(json!({"flush_interval": "soon"})).unwrap();
        assert!(soon
            .apply(crate::actors::tuning::Tuning::new(&Default::default()).get())
            .is_err());
    }

    /// The OpenAPI pattern of `flush_interval` and the parser with the bounds
    /// agree on every value: the document calls valid exactly what is taken.
    #[test]
    fn the_flush_interval_pattern_is_the_parser() {
        let doc = serde_json::to_value(super::super::ApiDoc::openapi()).unwrap();
        let pattern = doc["components"]["schemas"]["ConfigPatch"]["properties"]["flush_interval"]
            ["pattern"]
            .as_str()
            .unwrap()
            .to_string();
        let re = regex::Regex::new(&pattern).unwrap();
        let bound = crate::config::bounds::FLUSH_INTERVAL;
        let taken = |s: &str| parse_interval(s).is_ok_and(|d| (bound.min..=bound.max).contains(&d));
        let mut values: Vec<String> = Vec::new();
        for unit in ["ms", "s", "m", "h", "us", "", "sec", " ms"] {
            for n in
                (0..=4000u64).chain([9_999, 59_999, 3_599_999, 3_600_000, 3_600_001, 36_000_000])
            {
                values.push(format!("{n}{unit}"));
                values.push(format!("0{n}{unit}"));
            }
        }
        values.extend(
            [
                "", "ms", "1h 30m", "+10ms", "-10ms", "10ms\n", "1.5s", "１０ms",
            ]
            .map(String::from),
        );
        for v in &values {
            assert_eq!(re.is_match(v), taken(v), "{v:?}");
        }
    }
}

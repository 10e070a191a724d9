//! `GET /config` (the running configuration, secrets redacted, live values
//! overlaid) and `PATCH /config` (live change of the tunable knobs).

use std::time::Duration;

use actix_web::web;
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorBody};
use super::model::{ConfigPatch, Tunables};
use super::state::AdminState;
use crate::actors::tuning::TuningValues;

/// The keys `PATCH /config` accepts.
pub const TUNABLE: [&str; 4] = [
    "flush_interval",
    "max_epoch_events",
    "max_inflight_epochs",
    "sink_concurrency",
];

fn tunables(v: TuningValues) -> Tunables {
    Tunables {
        flush_interval: humantime_serde::re::humantime::format_duration(v.flush_interval)
            .to_string(),
        max_epoch_events: v.max_epoch_events,
        max_inflight_epochs: v.max_inflight_epochs,
        sink_concurrency: v.sink_concurrency,
    }
}

/// The running configuration: every section, the live partitions, the live
/// tunable values; `cassandra.password` and `admin.token` are redacted.
#[utoipa::path(
    get,
    operation_id = "get_config",
    path = "/config",
    tag = "config",
    responses((status = 200, description = "the configuration, as in config/default.toml, plus `tunable`", body = Object))
)]
pub async fn get(state: web::Data<AdminState>) -> Result<web::Json<Value>, ApiError> {
    let processor = &state.processor;
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
            Value::Array(TUNABLE.iter().map(|k| Value::from(*k)).collect()),
        );
    }
    Ok(web::Json(value))
}

/// Reads one field of the patch, naming it when it has the wrong type.
fn take<T: serde::de::DeserializeOwned>(
    map: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<T>, ApiError> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ApiError::field(field, e.to_string())),
    }
}

/// Parses a patch body, naming the first field that is unknown or malformed.
pub fn parse_patch(body: Value) -> Result<ConfigPatch, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::InvalidBody(
            "expected a JSON object of tunable keys".into(),
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !TUNABLE.contains(&k.as_str())) {
        return Err(ApiError::field(
            unknown.clone(),
            format!(
                "not a key that can change while running (tunable: {})",
                TUNABLE.join(", ")
            ),
        ));
    }
    let patch = ConfigPatch {
        flush_interval: take(&mut map, "flush_interval")?,
        max_epoch_events: take(&mut map, "max_epoch_events")?,
        max_inflight_epochs: take(&mut map, "max_inflight_epochs")?,
        sink_concurrency: take(&mut map, "sink_concurrency")?,
    };
    Ok(patch)
}

/// `current` with the patch's values put in; ranges are checked by
/// [`TuningValues::validate`] when the processor applies them.
pub fn patched(mut values: TuningValues, patch: &ConfigPatch) -> Result<TuningValues, ApiError> {
    if let Some(raw) = &patch.flush_interval {
        values.flush_interval = duration("flush_interval", raw)?;
    }
    if let Some(v) = patch.max_epoch_events {
        values.max_epoch_events = v;
    }
    if let Some(v) = patch.max_inflight_epochs {
        values.max_inflight_epochs = v;
    }
    if let Some(v) = patch.sink_concurrency {
        values.sink_concurrency = v;
    }
    Ok(values)
}

fn duration(field: &str, raw: &str) -> Result<Duration, ApiError> {
    humantime_serde::re::humantime::parse_duration(raw)
        .map_err(|e| ApiError::field(field, format!("`{raw}` is not a duration like 250ms: {e}")))
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
        (status = 400, description = "a field is unknown, malformed or out of range (named in `field`)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    )
)]
pub async fn patch(
    state: web::Data<AdminState>,
    body: web::Json<Value>,
) -> Result<web::Json<Tunables>, ApiError> {
    let patch = parse_patch(body.into_inner())?;
    let processor = &state.processor;
    let values = patched(processor.tuning.get(), &patch)?;
    let applied = processor.retune(values).await?;
    tracing::info!(
        flush_interval = ?applied.flush_interval,
        max_epoch_events = applied.max_epoch_events,
        max_inflight_epochs = applied.max_inflight_epochs,
        sink_concurrency = applied.sink_concurrency,
        "tuning changed"
    );
    Ok(web::Json(tunables(applied)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(
            field_of(duration("flush_interval", "soon").unwrap_err()),
            "flush_interval"
        );
    }
}

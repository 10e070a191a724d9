//! Target `admin_bodies`: every JSON body the admin API accepts, deserialised as
//! the handler's `web::Json` extractor does (`serde_json::from_slice`) and checked
//! as the handler and the processor do before any actor is asked:
//! `POST /partitions` (a new partition against the running configuration),
//! `POST /chaos` (the chaos spec) and `PATCH /config` (the tunable knobs against
//! the configuration's ranges). Every refusal maps to a JSON error answer.
//!
//! Input: which body (1 byte), then the body.

use actix_web::ResponseError;
use ssa::actors::tuning::{Tunables, Tuning};
use ssa::admin::{parse_patch, patched, ApiError, ChaosRequest, ChaosSpec, NewPartition};
use ssa::config::Config;
use ssa::processor::ProcessorError;

use super::input::Input;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let which = input.u8() % 3;
    let body = input.rest();
    let config = Config::default();
    let answer = match which {
        0 => add_partition(&config, body),
        1 => chaos(body),
        _ => patch_config(&config, body),
    };
    if let Err(e) = answer {
        let status = e.status_code();
        assert!(status.is_client_error(), "{status} for a bad body: {e}");
        let _ = e.error_response();
    }
}

fn invalid_body(e: serde_json::Error) -> ApiError {
    ApiError::InvalidBody(e.to_string())
}

fn add_partition(config: &Config, body: &[u8]) -> Result<(), ApiError> {
    let request: NewPartition = serde_json::from_slice(body).map_err(invalid_body)?;
    let part = request.into_config();
    config
        .validate_new_partition(&part)
        .map_err(|e| ApiError::from(ProcessorError::Invalid(e)))?;
    assert!(part.index < part.count);
    Ok(())
}

fn chaos(body: &[u8]) -> Result<(), ApiError> {
    let request: ChaosRequest = serde_json::from_slice(body).map_err(invalid_body)?;
    let spec = ChaosSpec::from_request(request)?;
    assert!(!spec.targets.is_empty());
    assert!(!spec.interval.is_zero());
    Ok(())
}

fn patch_config(config: &Config, body: &[u8]) -> Result<(), ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid_body)?;
    let patch = parse_patch(value)?;
    let current = Tunables::of(&config.processor);
    let values = patched(current, &patch)?;
    values
        .validate(config)
        .map_err(|e| ApiError::from(ProcessorError::Invalid(e)))?;
    // What the processor then stores and every partition reads back.
    let live = Tuning::new(&config.processor);
    live.set(values);
    assert_eq!(live.get(), values);
    Ok(())
}

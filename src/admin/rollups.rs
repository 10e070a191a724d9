//! Current totals, read from the merger's in-memory map (committed epochs only).

use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::model::{FranchiseRollups, RollupView};
use super::state::AdminState;
use crate::core::Key;

const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 100_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RollupQuery {
    /// Most keys to list (default 1000).
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<usize>,
}

/// A franchise id in the one form the API documents (`format: uuid`): 36
/// characters, hyphenated (the uuid crate would also take other spellings).
fn franchise(raw: &str) -> Result<Uuid, ApiError> {
    let bad = |why: String| {
        ApiError::field(
            "franchise_id",
            format!("`{}` is not a hyphenated uuid: {why}", raw.escape_debug()),
        )
    };
    if raw.len() != 36 {
        return Err(bad(format!("{} characters, not 36", raw.chars().count())));
    }
    Uuid::parse_str(raw).map_err(|e| bad(e.to_string()))
}

/// Every key of one franchise.
#[utoipa::path(
    get,
    path = "/rollups/{franchise_id}",
    tag = "rollups",
    params(("franchise_id" = Uuid, Path, description = "franchise uuid, hyphenated"), RollupQuery),
    responses(
        (status = 200, body = FranchiseRollups),
        (status = 400, description = "`franchise_id` is not a hyphenated uuid, or `limit` is out of range", body = ErrorBody),
        (status = 404, description = "no key of this franchise", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn franchise_rollups(
    state: web::Data<AdminState>,
    path: web::Path<String>,
    query: web::Query<RollupQuery>,
) -> Result<web::Json<FranchiseRollups>, ApiError> {
    let franchise_id = franchise(&path)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::field(
            "limit",
            format!("{limit} is out of range 1..={MAX_LIMIT}"),
        ));
    }
    // A scan: the totals map is keyed by (franchise, event name) for the hot
    // path; this read is rare and bounded by the number of live keys.
    let mut rollups: Vec<RollupView> = state
        .processor()?
        .totals
        .iter()
        .filter(|e| e.key().franchise_id == franchise_id)
        .map(|e| RollupView::new(franchise_id, &e.key().event_name, &e.value().total))
        .collect();
    if rollups.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no rollup of franchise {franchise_id}"
        )));
    }
    rollups.sort_by(|a, b| a.event_name.cmp(&b.event_name));
    let keys = rollups.len();
    let count = rollups.iter().map(|r| r.count).sum();
    rollups.truncate(limit);
    Ok(web::Json(FranchiseRollups {
        franchise_id,
        keys,
        count,
        truncated: keys > rollups.len(),
        rollups,
    }))
}

/// One key's total.
#[utoipa::path(
    get,
    path = "/rollups/{franchise_id}/{event_name}",
    tag = "rollups",
    params(
        ("franchise_id" = Uuid, Path, description = "franchise uuid, hyphenated"),
        ("event_name" = String, Path, description = "event name (URL-encoded)"),
    ),
    responses(
        (status = 200, body = RollupView),
        (status = 400, description = "`franchise_id` is not a hyphenated uuid", body = ErrorBody),
        (status = 404, description = "no such key", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn key_rollup(
    state: web::Data<AdminState>,
    path: web::Path<(String, String)>,
) -> Result<web::Json<RollupView>, ApiError> {
    let (raw, event_name) = path.into_inner();
    let franchise_id = franchise(&raw)?;
    let key = Key::new(franchise_id, event_name.as_str());
    let entry =
        state.processor()?.totals.get(&key).ok_or_else(|| {
            ApiError::NotFound(format!("no rollup of {franchise_id}/{event_name}"))
        })?;
    Ok(web::Json(RollupView::new(
        franchise_id,
        &event_name,
        &entry.total,
    )))
}

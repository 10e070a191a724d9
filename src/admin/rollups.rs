//! Current totals, read from the merger's in-memory map (committed epochs only),
//! and for keys whose totals left memory under the state budget, from
//! `rollups_total` (written from the same committed partials). In cluster mode a
//! member's memory holds the partials of its own partitions only, so every answer
//! comes from `rollups_total`, which each member writes from the committed
//! partials of every partition of the job.

use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::model::{FranchiseRollups, RollupView};
use super::state::AdminState;
use crate::core::{Key, Rollup};
use crate::runtime::on_io;

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
    let processor = state.processor()?;
    let clustered = processor.cluster.is_some();
    // A scan: the totals map is keyed by (franchise, event name) for the hot
    // path; this read is rare and bounded by the number of live keys.
    let mut by_name: std::collections::BTreeMap<String, Rollup> = match clustered {
        true => Default::default(),
        false => processor
            .totals
            .iter()
            .filter(|e| e.key().franchise_id == franchise_id)
            .map(|e| (e.key().event_name.to_string(), e.value().total()))
            .collect(),
    };
    // Totals that left memory (or, in cluster mode, every total): the stored
    // rows, where memory has none.
    let from_store = clustered || processor.budget.has_evicted();
    if let Some(sink) = processor.cassandra.clone().filter(|_| from_store) {
        let stored = on_io(&processor.io, "reading franchise totals", async move {
            sink.read_franchise_totals(franchise_id).await
        })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        for (name, r) in stored {
            by_name.entry(name).or_insert(r);
        }
    }
    let mut rollups: Vec<RollupView> = by_name
        .iter()
        .map(|(name, r)| RollupView::new(franchise_id, name, r))
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
    let processor = state.processor()?;
    let clustered = processor.cluster.is_some();
    let held = match clustered {
        true => None,
        false => processor.totals.get(&key).map(|e| e.total()),
    };
    let from_store = clustered || processor.budget.has_evicted();
    let total = match (held, processor.cassandra.clone().filter(|_| from_store)) {
        (Some(t), _) => Some(t),
        // Its total may have left memory, or (cluster mode) memory holds only
        // this member's partitions: the stored row.
        (None, Some(sink)) => on_io(&processor.io, "reading a total", async move {
            sink.read_total(&key).await
        })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?,
        (None, None) => None,
    };
    let total = total
        .ok_or_else(|| ApiError::NotFound(format!("no rollup of {franchise_id}/{event_name}")))?;
    Ok(web::Json(RollupView::new(
        franchise_id,
        &event_name,
        &total,
    )))
}

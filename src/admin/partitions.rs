//! Partitions: list, read, add, remove, stop (graceful) and start; the
//! throughput history of all of them.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::model::{AddOptions, NewPartition, PartitionList, Removed};
use super::rates::HISTORY_SECONDS;
use super::state::AdminState;
use super::views::ThroughputHistory;
use crate::actors::partition::PartitionSnapshot;
use crate::processor::PartitionHandle;

fn find(state: &AdminState, id: &str) -> Result<std::sync::Arc<PartitionHandle>, ApiError> {
    state
        .processor()?
        .partition(id)
        .ok_or_else(|| ApiError::NotFound(format!("no partition {id}")))
}

/// Every partition with its state, offsets, rates, lag and restarts.
#[utoipa::path(
    get,
    operation_id = "list_partitions",
    path = "/partitions",
    tag = "partitions",
    responses(
        (status = 200, body = PartitionList),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn list(state: web::Data<AdminState>) -> Result<web::Json<PartitionList>, ApiError> {
    let partitions = state
        .processor()?
        .partitions()
        .iter()
        .map(|p| p.status.snapshot())
        .collect();
    Ok(web::Json(PartitionList { partitions }))
}

/// One partition.
#[utoipa::path(
    get,
    operation_id = "get_partition",
    path = "/partitions/{id}",
    tag = "partitions",
    params(("id" = String, Path, description = "partition id")),
    responses(
        (status = 200, body = PartitionSnapshot),
        (status = 404, description = "no such partition", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn get(
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> Result<web::Json<PartitionSnapshot>, ApiError> {
    Ok(web::Json(find(&state, &id)?.status.snapshot()))
}

/// Adds a partition: a new source connection, read by a new supervised actor.
/// An id seen before resumes from its checkpoints, but only under the identity
/// (source kind, mode, format, index, count) they were taken with; `?reset=true`
/// starts it over from offset 0 instead, its earlier rows and totals removed.
#[utoipa::path(
    post,
    operation_id = "add_partition",
    path = "/partitions",
    tag = "partitions",
    params(AddOptions),
    request_body = NewPartition,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "started", body = PartitionSnapshot, headers(("Location" = String, description = "`/partitions/{id}`"))),
        (status = 400, description = "the body is not the JSON this call takes (`invalid_body`), or a field is malformed or out of range (`invalid_field`, named in `field`)", body = ErrorBody),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 409, description = "the id is taken (`partition_exists`), `processor.max_partitions` are running (`partition_limit`), or the id's checkpoints were taken under another identity (`partition_identity`, the differing key in `field`); nothing was written", body = ErrorBody),
        (status = 413, description = "the body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "the Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "each field is valid but not together (`invalid_combination`, named in `field`): `index` not below `count`, a `listen://` source not `shared`, or a non-loopback `listen://` address without `processor.allow_remote_producers`", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) an actor did not answer, or the reset or the identity check could not reach its store (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn add(
    state: web::Data<AdminState>,
    options: web::Query<AddOptions>,
    body: web::Json<NewPartition>,
) -> Result<HttpResponse, ApiError> {
    let config = body.into_inner().into_config();
    let reset = options.reset.unwrap_or(false);
    let handle = state.processor()?.add_partition(config, reset).await?;
    if reset {
        tracing::info!(partition = %handle.id, "partition reset over the admin api");
    }
    tracing::info!(partition = %handle.id, source = %handle.config.source, "partition added");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/partitions/{}", handle.id)))
        .json(handle.status.snapshot()))
}

/// Removes a partition: it commits what it has read, then its actor ends.
/// Its committed counts stay in the totals.
#[utoipa::path(
    delete,
    operation_id = "remove_partition",
    path = "/partitions/{id}",
    tag = "partitions",
    params(("id" = String, Path, description = "partition id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Removed),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 404, description = "no such partition", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) or an actor did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn remove(
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> Result<web::Json<Removed>, ApiError> {
    let removed = state.processor()?.remove_partition(&id).await?;
    tracing::info!(partition = %id, offset = removed.committed_offset, "partition removed");
    Ok(web::Json(Removed { removed }))
}

/// Graceful stop: the partition stops reading, commits every epoch it has,
/// and idles as `stopped`. Answers once all is committed.
#[utoipa::path(
    post,
    operation_id = "stop_partition",
    path = "/partitions/{id}/stop",
    tag = "partitions",
    params(("id" = String, Path, description = "partition id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PartitionSnapshot),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 404, description = "no such partition", body = ErrorBody),
        (status = 409, description = "already stopped", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) or an actor did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn stop(
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> Result<web::Json<PartitionSnapshot>, ApiError> {
    let stopped = state.processor()?.stop_partition(&id).await?;
    tracing::info!(partition = %id, "partition stopped");
    Ok(web::Json(stopped))
}

/// Starts a partition over from offset 0: its snapshots, intents, raw rows,
/// partial and minute rollups and dead letters are deleted and its partials leave
/// the totals, then it reads its source from the start. For a partition whose
/// snapshots no longer decode (`corrupt`), or one stopped on purpose; the same
/// reset as `POST /partitions?reset=true`, under the partition's own identity.
#[utoipa::path(
    post,
    operation_id = "reset_partition",
    path = "/partitions/{id}/reset",
    tag = "partitions",
    params(("id" = String, Path, description = "partition id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "reset; it restarts from offset 0", body = PartitionSnapshot),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 404, description = "no such partition", body = ErrorBody),
        (status = 409, description = "the partition is neither `stopped` nor `corrupt` (`partition_state`): stop it first", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer), an actor did not answer, or the reset could not reach its store (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn reset(
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> Result<web::Json<PartitionSnapshot>, ApiError> {
    let reset = state.processor()?.reset_partition(&id).await?;
    tracing::info!(partition = %id, "partition reset over the admin api");
    Ok(web::Json(reset))
}

/// Resumes a stopped partition from where it stopped.
#[utoipa::path(
    post,
    operation_id = "start_partition",
    path = "/partitions/{id}/start",
    tag = "partitions",
    params(("id" = String, Path, description = "partition id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PartitionSnapshot),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 404, description = "no such partition", body = ErrorBody),
        (status = 409, description = "not stopped", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) or an actor did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn start(
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> Result<web::Json<PartitionSnapshot>, ApiError> {
    let started = state.processor()?.start_partition(&id).await?;
    tracing::info!(partition = %id, "partition started");
    Ok(web::Json(started))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ThroughputQuery {
    /// Seconds of history (default 300, at most 600).
    #[param(minimum = 1, maximum = 600)]
    pub seconds: Option<usize>,
}

/// Lines in and committed per second over all partitions, one sample a
/// second, for the last `seconds`.
#[utoipa::path(
    get,
    operation_id = "throughput_history",
    path = "/throughput",
    tag = "partitions",
    params(ThroughputQuery),
    responses(
        (status = 200, body = ThroughputHistory),
        (status = 400, body = ErrorBody),
    )
)]
pub async fn throughput(
    state: web::Data<AdminState>,
    query: web::Query<ThroughputQuery>,
) -> Result<web::Json<ThroughputHistory>, ApiError> {
    let seconds = query.seconds.unwrap_or(300);
    if seconds == 0 || seconds > HISTORY_SECONDS {
        return Err(ApiError::field(
            "seconds",
            format!("{seconds} is out of range 1..={HISTORY_SECONDS}"),
        ));
    }
    Ok(web::Json(ThroughputHistory {
        interval_seconds: 1,
        samples: state.rates.history(seconds),
    }))
}

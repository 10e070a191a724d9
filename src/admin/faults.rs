//! Fault injection: kill a partition, the sink or the checkpoint actor (their
//! supervisors restart them), and chaos mode.

use actix_web::web;

use super::chaos::ChaosSpec;
use super::error::{ApiError, ErrorBody};
use super::model::{ChaosRequest, ChaosStatus, Killed};
use super::state::AdminState;
use super::views::{ActorList, ActorRestarts};
use crate::actors::checkpoint::KillCheckpoint;
use crate::actors::partition::KillPartition;
use crate::actors::sink::KillSink;
use crate::metrics;

fn unavailable(what: &str, e: actix::MailboxError) -> ApiError {
    ApiError::Unavailable(format!("{what} did not take the kill: {e}"))
}

/// Kills a partition actor; it restarts from its last checkpoint and
/// re-subscribes at its committed offset.
#[utoipa::path(
    post,
    path = "/partitions/{id}/kill",
    tag = "faults",
    params(("id" = String, Path, description = "partition id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Killed),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 404, description = "no such partition", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) or an actor did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn kill_partition(
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> Result<web::Json<Killed>, ApiError> {
    let p = state
        .processor()?
        .partition(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no partition {id}")))?;
    p.addr
        .send(KillPartition)
        .await
        .map_err(|e| unavailable("the partition actor", e))?;
    tracing::warn!(partition = %id, "partition actor killed on request");
    Ok(web::Json(Killed {
        killed: "partition",
        id: Some(id.into_inner()),
        message: format!(
            "partition {} killed; its supervisor restarts it from its last checkpoint",
            p.id
        ),
    }))
}

/// Kills the sink actor; partitions retry the epochs it was writing.
#[utoipa::path(
    post,
    path = "/actors/sink/kill",
    tag = "faults",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Killed),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) or an actor did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn kill_sink(state: web::Data<AdminState>) -> Result<web::Json<Killed>, ApiError> {
    state
        .processor()?
        .sink
        .send(KillSink)
        .await
        .map_err(|e| unavailable("the sink actor", e))?;
    Ok(web::Json(Killed {
        killed: "sink",
        id: None,
        message: "sink actor killed; its supervisor restarts it and partitions retry the epochs it was writing".into(),
    }))
}

/// Kills the checkpoint actor; partitions retry the snapshots it was persisting.
#[utoipa::path(
    post,
    path = "/actors/checkpoint/kill",
    tag = "faults",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Killed),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer) or an actor did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn kill_checkpoint(state: web::Data<AdminState>) -> Result<web::Json<Killed>, ApiError> {
    state
        .processor()?
        .checkpoint
        .send(KillCheckpoint)
        .await
        .map_err(|e| unavailable("the checkpoint actor", e))?;
    Ok(web::Json(Killed {
        killed: "checkpoint",
        id: None,
        message: "checkpoint actor killed; its supervisor restarts it and partitions retry the snapshots it was persisting".into(),
    }))
}

/// Chaos mode's current (or last) run.
#[utoipa::path(
    get,
    path = "/chaos",
    tag = "faults",
    responses(
        (status = 200, body = ChaosStatus),
    )
)]
pub async fn chaos_status(state: web::Data<AdminState>) -> web::Json<ChaosStatus> {
    web::Json(state.chaos.status())
}

/// Starts chaos mode: every `interval_ms`, kill one random actor of `targets`.
#[utoipa::path(
    post,
    path = "/chaos",
    tag = "faults",
    request_body = ChaosRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "started", body = ChaosStatus),
        (status = 400, description = "the body is not the JSON this call takes (`invalid_body`), or a field is malformed or out of range (`invalid_field`, named in `field`)", body = ErrorBody),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 409, description = "already running", body = ErrorBody),
        (status = 413, description = "the body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "the Content-Type is not application/json", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`, e.g. Cassandra does not answer)", body = ErrorBody),
    )
)]
pub async fn chaos_start(
    state: web::Data<AdminState>,
    body: web::Json<ChaosRequest>,
) -> Result<web::Json<ChaosStatus>, ApiError> {
    let spec = ChaosSpec::from_request(body.into_inner())?;
    Ok(web::Json(
        state.chaos.start(state.processor()?.clone(), spec)?,
    ))
}

/// Stops chaos mode; answers with what the run did.
#[utoipa::path(
    delete,
    path = "/chaos",
    tag = "faults",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ChaosStatus),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 409, description = "not running", body = ErrorBody),
    )
)]
pub async fn chaos_stop(state: web::Data<AdminState>) -> Result<web::Json<ChaosStatus>, ApiError> {
    Ok(web::Json(state.chaos.stop().await?))
}

/// Restarts by actor kind and cause (`ssa_actor_restarts_total`): every
/// partition together, the sink, the checkpoint actor and the merger.
#[utoipa::path(
    get,
    operation_id = "list_actors",
    path = "/actors",
    tag = "faults",
    responses((status = 200, body = ActorList))
)]
pub async fn actors() -> web::Json<ActorList> {
    let mut actors: Vec<ActorRestarts> = Vec::new();
    for (actor, cause, n) in metrics::restarts_by_series() {
        let entry = match actors.iter_mut().position(|a| a.actor == actor) {
            Some(i) => &mut actors[i],
            None => {
                actors.push(ActorRestarts {
                    actor: actor.to_string(),
                    restarts: 0,
                    restarts_by_cause: Default::default(),
                });
                actors.last_mut().expect("just pushed")
            }
        };
        entry.restarts += n;
        entry.restarts_by_cause.insert(cause.to_string(), n);
    }
    web::Json(ActorList { actors })
}

//! `GET /cluster` and `POST /partitions/{id}/release`: the members, their
//! heartbeats and leases as Cassandra holds them now, and handing a partition
//! over to the other members.

use actix_web::web;

use super::error::{ApiError, ErrorBody};
use super::state::AdminState;
use crate::actors::partition::PartitionSnapshot;
use crate::cluster::ClusterView;

/// The cluster as Cassandra holds it now: live members with their last
/// heartbeat and the partitions each owns, and every lease of the job with its
/// fencing token and committed position.
#[utoipa::path(
    get,
    operation_id = "cluster",
    path = "/cluster",
    tag = "cluster",
    responses(
        (status = 200, body = ClusterView),
        (status = 404, description = "cluster mode is off (`cluster.enabled = false`)", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`) or Cassandra did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn cluster(state: web::Data<AdminState>) -> Result<web::Json<ClusterView>, ApiError> {
    let processor = state.processor()?;
    let Some(cluster) = processor.cluster.clone() else {
        return Err(ApiError::NotFound(
            "cluster mode is off (cluster.enabled = false)".into(),
        ));
    };
    let view = cluster
        .view(&processor.io)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(web::Json(view))
}

/// Hands a partition this member holds over to the others: it stops reading,
/// commits everything under its lease, drops its state, and the lease is
/// released; this member does not take it back for one `lease_ttl`. Answers
/// once released, with the partition as it is then (stopped).
#[utoipa::path(
    post,
    operation_id = "release_partition",
    path = "/partitions/{id}/release",
    tag = "cluster",
    params(("id" = String, Path, description = "partition id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PartitionSnapshot),
        (status = 401, description = "no valid bearer token", body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"ssa-admin\"`"))),
        (status = 403, description = "no token is configured: mutating calls are disabled", body = ErrorBody),
        (status = 404, description = "no such partition", body = ErrorBody),
        (status = 409, description = "cluster mode is off, or this member does not hold the partition's lease", body = ErrorBody),
        (status = 503, description = "the processor is starting (`starting`) or Cassandra did not answer (`unavailable`)", body = ErrorBody),
    )
)]
pub async fn release(
    state: web::Data<AdminState>,
    id: web::Path<String>,
) -> Result<web::Json<PartitionSnapshot>, ApiError> {
    let released = state.processor()?.release_partition(&id).await?;
    tracing::info!(partition = %id, "partition handed over");
    Ok(web::Json(released))
}

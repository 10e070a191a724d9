//! Liveness, readiness and the Prometheus scrape.

use std::time::Duration;

use actix_web::{web, HttpResponse};

use super::error::{ApiError, ErrorBody};
use super::model::{Health, Ready};
use super::state::AdminState;
use crate::actors::partition::Lifecycle;
use crate::metrics;

/// How long readiness waits for Cassandra to answer.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is alive and serving.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses((status = 200, description = "alive", body = Health))
)]
pub async fn health(state: web::Data<AdminState>) -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs(),
    })
}

/// Ready to process: Cassandra answers and no partition is starting or restarting.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    responses(
        (status = 200, description = "ready", body = Ready),
        (status = 503, description = "not ready (`not_ready`); the message says why, e.g. `waiting for cassandra at HOST:PORT: CAUSE`", body = ErrorBody),
    )
)]
pub async fn ready(state: web::Data<AdminState>) -> Result<web::Json<Ready>, ApiError> {
    let processor = state
        .processor()
        .map_err(|_| ApiError::NotReady(state.startup.get()))?;
    let mut problems = Vec::new();
    let cassandra = if processor.session.is_some() {
        match processor.ping_cassandra(PING_TIMEOUT).await {
            Ok(()) => "reachable",
            Err(e) => {
                problems.push(format!("cassandra unreachable: {e}"));
                "unreachable"
            }
        }
    } else {
        "not used"
    };
    let partitions = processor.partitions();
    for p in &partitions {
        let s = p.status.lifecycle();
        if matches!(s, Lifecycle::Starting | Lifecycle::Restarting) {
            problems.push(format!("partition {} is {}", p.id, s.as_str()));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::NotReady(problems.join("; ")));
    }
    Ok(web::Json(Ready {
        status: "ready",
        cassandra,
        partitions: partitions.len(),
    }))
}

/// Every `ssa_` metric in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String))
)]
pub async fn scrape() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(metrics::render())
}

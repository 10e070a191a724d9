//! The route table of the admin API, and the JSON answers for everything that
//! matches no route: 404 for an unknown path, 405 for a known path with
//! another method, 400 for a body, path or query that does not parse.

use actix_web::{web, HttpRequest, HttpResponse};

use super::error::ApiError;
use super::{console, faults, health, openapi, partitions, rollups, settings, top_keys, verify};

/// Bodies larger than this are refused (400).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Registers every route and the extractors' error handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .content_type_required(false)
            .error_handler(|e, _| ApiError::InvalidBody(e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::InvalidParameter(e.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::InvalidParameter(format!("query string: {e}")).into()),
    )
    .service(resource("/health").route(web::get().to(health::health)))
    .service(resource("/ready").route(web::get().to(health::ready)))
    .service(resource("/metrics").route(web::get().to(health::scrape)))
    .service(resource("/openapi.json").route(web::get().to(openapi::document)))
    .service(
        resource("/partitions")
            .route(web::get().to(partitions::list))
            .route(web::post().to(partitions::add)),
    )
    .service(
        resource("/partitions/{id}")
            .route(web::get().to(partitions::get))
            .route(web::delete().to(partitions::remove)),
    )
    .service(resource("/throughput").route(web::get().to(partitions::throughput)))
    .service(resource("/partitions/{id}/start").route(web::post().to(partitions::start)))
    .service(resource("/partitions/{id}/stop").route(web::post().to(partitions::stop)))
    .service(resource("/partitions/{id}/kill").route(web::post().to(faults::kill_partition)))
    .service(resource("/actors/sink/kill").route(web::post().to(faults::kill_sink)))
    .service(resource("/actors/checkpoint/kill").route(web::post().to(faults::kill_checkpoint)))
    .service(resource("/actors").route(web::get().to(faults::actors)))
    .service(
        resource("/chaos")
            .route(web::get().to(faults::chaos_status))
            .route(web::post().to(faults::chaos_start))
            .route(web::delete().to(faults::chaos_stop)),
    )
    .service(resource("/rollups/{franchise_id}").route(web::get().to(rollups::franchise_rollups)))
    .service(
        resource("/rollups/{franchise_id}/{event_name}").route(web::get().to(rollups::key_rollup)),
    )
    .service(resource("/keys/top").route(web::get().to(top_keys::top_keys)))
    .service(resource("/verify").route(web::get().to(verify::verify)))
    .service(resource("/console").route(web::get().to(console::page)))
    .service(resource("/console/{file}").route(web::get().to(console::asset)))
    .service(
        resource("/config")
            .route(web::get().to(settings::get))
            .route(web::patch().to(settings::patch)),
    )
    .default_service(web::to(not_found));
}

/// A resource whose unmatched methods get a JSON 405.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route {} {}; see /openapi.json",
        req.method(),
        req.path()
    )))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.path().to_string(),
    })
}

//! The route table of the admin API, and the JSON answers for everything that
//! matches no handler: 404 for an unknown path, 405 (with `Allow`) for a known
//! path with another method, 400 for a body, path or query that does not parse,
//! 413 for a body over the limit, 415 for a body that is not JSON. Every `GET`
//! route answers `HEAD` (the same answer without its body); every path answers
//! `OPTIONS` with 204 and its `Allow` header.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, HttpRequest, HttpResponse, Resource, Route};

use super::error::ApiError;
use super::{
    cluster, console, faults, health, openapi, partitions, rollups, settings, top_keys, verify,
};

/// Bodies larger than this are refused (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `Allow` of each kind of resource.
const GET: &str = "GET, HEAD, OPTIONS";
const GET_POST: &str = "GET, HEAD, POST, OPTIONS";
const GET_DELETE: &str = "GET, HEAD, DELETE, OPTIONS";
const GET_POST_DELETE: &str = "GET, HEAD, POST, DELETE, OPTIONS";
const GET_PATCH: &str = "GET, HEAD, PATCH, OPTIONS";
const POST: &str = "POST, OPTIONS";

/// Registers every route and the extractors' error handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            // A body without Content-Type is taken as JSON; one with another type
            // is refused (415) by `json_bodies` before it is read.
            .content_type_required(false)
            .error_handler(|e, _| json_error(e).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::InvalidParameter(e.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::InvalidParameter(format!("query string: {e}")).into()),
    )
    .service(resource("/health", GET).route(read().to(health::health)))
    .service(resource("/ready", GET).route(read().to(health::ready)))
    .service(resource("/metrics", GET).route(read().to(health::scrape)))
    .service(resource("/openapi.json", GET).route(read().to(openapi::document)))
    .service(
        resource("/partitions", GET_POST)
            .wrap(from_fn(json_bodies))
            .route(read().to(partitions::list))
            .route(web::post().to(partitions::add)),
    )
    .service(
        resource("/partitions/{id}", GET_DELETE)
            .route(read().to(partitions::get))
            .route(web::delete().to(partitions::remove)),
    )
    .service(resource("/throughput", GET).route(read().to(partitions::throughput)))
    .service(resource("/partitions/{id}/start", POST).route(web::post().to(partitions::start)))
    .service(resource("/partitions/{id}/stop", POST).route(web::post().to(partitions::stop)))
    .service(resource("/partitions/{id}/reset", POST).route(web::post().to(partitions::reset)))
    .service(resource("/partitions/{id}/release", POST).route(web::post().to(cluster::release)))
    .service(resource("/cluster", GET).route(read().to(cluster::cluster)))
    .service(resource("/partitions/{id}/kill", POST).route(web::post().to(faults::kill_partition)))
    .service(resource("/actors/sink/kill", POST).route(web::post().to(faults::kill_sink)))
    .service(resource("/actors", GET).route(read().to(faults::actors)))
    .service(
        resource("/actors/checkpoint/kill", POST).route(web::post().to(faults::kill_checkpoint)),
    )
    .service(
        resource("/chaos", GET_POST_DELETE)
            .wrap(from_fn(json_bodies))
            .route(read().to(faults::chaos_status))
            .route(web::post().to(faults::chaos_start))
            .route(web::delete().to(faults::chaos_stop)),
    )
    .service(resource("/rollups/{franchise_id}", GET).route(read().to(rollups::franchise_rollups)))
    .service(
        resource("/rollups/{franchise_id}/{event_name}", GET).route(read().to(rollups::key_rollup)),
    )
    .service(resource("/keys/top", GET).route(read().to(top_keys::top_keys)))
    .service(resource("/verify", GET).route(read().to(verify::verify)))
    .service(resource("/console", GET).route(read().to(console::page)))
    .service(resource("/console/{file}", GET).route(read().to(console::asset)))
    .service(
        resource("/config", GET_PATCH)
            .wrap(from_fn(json_bodies))
            .route(read().to(settings::get))
            .route(web::patch().to(settings::patch)),
    )
    .default_service(web::to(not_found));
}

/// A resource that answers `OPTIONS` with its `Allow`, and its other unmatched
/// methods with a JSON 405 carrying the same `Allow`.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path)
        .route(
            web::route()
                .method(Method::OPTIONS)
                .to(move || options(allow)),
        )
        .default_service(web::to(move |req: HttpRequest| {
            method_not_allowed(req, allow)
        }))
}

/// A `GET` route that answers `HEAD` too (actix-http leaves the body out).
fn read() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

async fn options(allow: &'static str) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, allow))
        .finish()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route {} {}; see /openapi.json",
        req.method(),
        req.path()
    )))
}

async fn method_not_allowed(
    req: HttpRequest,
    allow: &'static str,
) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.path().to_string(),
        allow,
    })
}

/// Maps the JSON extractor's failures: over the limit 413, not JSON 415, else 400.
fn json_error(e: JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            ApiError::PayloadTooLarge(format!("{length} bytes is over the limit of {limit} bytes"))
        }
        JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge(format!("over the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => {
            ApiError::UnsupportedMediaType("Content-Type must be application/json".into())
        }
        other => ApiError::InvalidBody(other.to_string()),
    }
}

/// Refuses (415) a `POST` or `PATCH` whose `Content-Type` says it is not JSON;
/// a body without `Content-Type` is taken as JSON.
async fn json_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if matches!(*req.method(), Method::POST | Method::PATCH) {
        if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
            let json = value
                .to_str()
                .ok()
                .and_then(|v| v.parse::<actix_web::mime::Mime>().ok())
                .is_some_and(|m| {
                    m.type_() == actix_web::mime::APPLICATION
                        && (m.subtype() == actix_web::mime::JSON
                            || m.suffix() == Some(actix_web::mime::JSON))
                });
            if !json {
                let shown = value.to_str().unwrap_or("(not text)");
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Content-Type `{shown}` is not application/json"
                ))
                .into());
            }
        }
    }
    next.call(req).await
}

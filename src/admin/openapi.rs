//! The OpenAPI 3 document of the admin API, generated from the handlers and
//! body types (`utoipa`), served at `/openapi.json`.

use actix_web::web;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    cluster, console, error, faults, health, model, partitions, rates, rollups, settings, top_keys,
    verify, views,
};
use crate::actors::partition::{Lifecycle, PartitionSnapshot};
use crate::actors::supervision::ChaosTarget;
use crate::actors::tuning::{ConfigPatch, Tunables};
use crate::config::SourceMode;
use crate::format::Format;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ssa admin API",
        description = "Run and watch ssa: partitions, fault injection, chaos mode, rollups, live tuning, metrics. Every call that is not a GET, HEAD or OPTIONS needs `Authorization: Bearer <token>`. Every GET route answers HEAD; every route answers OPTIONS (204 with `Allow`) and other methods with 405 (with `Allow`). Bodies are JSON (`Content-Type: application/json` or none), at most 64 KiB. Any request may also be answered by the HTTP layer before routing: 400 `malformed_request`, 408 `request_timeout`, 431 `headers_too_large`. Every error is `{\"error\": {\"code\", \"message\", \"field\"?}}`."
    ),
    paths(
        health::health,
        health::ready,
        health::scrape,
        document,
        partitions::list,
        partitions::get,
        partitions::add,
        partitions::remove,
        partitions::stop,
        partitions::start,
        partitions::reset,
        partitions::throughput,
        cluster::cluster,
        cluster::release,
        faults::kill_partition,
        faults::kill_sink,
        faults::kill_checkpoint,
        faults::chaos_status,
        faults::chaos_start,
        faults::chaos_stop,
        faults::actors,
        rollups::franchise_rollups,
        rollups::key_rollup,
        top_keys::top_keys,
        verify::verify,
        console::page,
        console::asset,
        settings::get,
        settings::patch,
    ),
    components(schemas(
        error::ErrorBody,
        error::ErrorDetail,
        model::Health,
        model::Ready,
        PartitionSnapshot,
        model::PartitionList,
        model::NewPartition,
        Lifecycle,
        SourceMode,
        Format,
        model::Killed,
        model::Removed,
        model::ChaosRequest,
        model::ChaosStatus,
        ChaosTarget,
        model::RollupView,
        model::FranchiseRollups,
        ConfigPatch,
        Tunables,
        rates::Throughput,
        views::TopKeys,
        views::ThroughputHistory,
        views::ActorRestarts,
        views::ActorList,
        views::VerifyStatus,
        views::VerifyView,
        crate::cluster::ClusterView,
        crate::cluster::MemberView,
        crate::cluster::LeaseView,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "liveness, readiness, metrics"),
        (name = "partitions", description = "source connections and their actors"),
        (name = "faults", description = "fault injection and chaos mode"),
        (name = "rollups", description = "current totals from memory"),
        (name = "cluster", description = "cluster mode: members, leases and fencing tokens, handing partitions over"),
        (name = "config", description = "running configuration and live tuning"),
        (name = "console", description = "the live web console (read-only to load; its buttons call the mutating routes with the token)"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the mutating paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(
    get,
    operation_id = "openapi_document",
    path = "/openapi.json",
    tag = "health",
    responses((status = 200, description = "OpenAPI 3 document", body = Object))
)]
pub async fn document() -> web::Json<utoipa::openapi::OpenApi> {
    web::Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_every_route() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in [
            ("/health", "get"),
            ("/ready", "get"),
            ("/metrics", "get"),
            ("/openapi.json", "get"),
            ("/partitions", "get"),
            ("/partitions", "post"),
            ("/partitions/{id}", "get"),
            ("/partitions/{id}", "delete"),
            ("/partitions/{id}/start", "post"),
            ("/partitions/{id}/stop", "post"),
            ("/partitions/{id}/reset", "post"),
            ("/partitions/{id}/kill", "post"),
            ("/actors/sink/kill", "post"),
            ("/actors/checkpoint/kill", "post"),
            ("/chaos", "get"),
            ("/chaos", "post"),
            ("/chaos", "delete"),
            ("/rollups/{franchise_id}", "get"),
            ("/rollups/{franchise_id}/{event_name}", "get"),
            ("/config", "get"),
            ("/config", "patch"),
            ("/throughput", "get"),
            ("/actors", "get"),
            ("/keys/top", "get"),
            ("/verify", "get"),
            ("/console", "get"),
            ("/console/{file}", "get"),
        ] {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} missing");
            if method != "get" {
                assert!(op["security"].is_array(), "{method} {path} has no security");
            }
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        let mut ids: Vec<&str> = paths
            .values()
            .flat_map(|ops| ops.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids must be unique");
        let limit = &paths["/rollups/{franchise_id}"]["get"]["parameters"][1];
        assert_eq!(limit["name"], "limit");
        assert_eq!(limit["in"], "query");
        let add = &paths["/partitions"]["post"];
        assert_eq!(add["parameters"][0]["name"], "reset");
        assert_eq!(add["parameters"][0]["in"], "query");
        for status in ["201", "400", "401", "403", "409", "503"] {
            assert!(
                add["responses"][status].is_object(),
                "POST /partitions {status}"
            );
        }
    }

    /// The patterns of a new partition's `id` and `source` accept exactly what
    /// the configuration's validation accepts.
    #[test]
    fn partition_patterns_are_the_validation() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let props = &doc["components"]["schemas"]["NewPartition"]["properties"];
        let re =
            |field: &str| regex::Regex::new(props[field]["pattern"].as_str().unwrap()).unwrap();
        let (id, source) = (re("id"), re("source"));
        let long = "a".repeat(253);
        let too_long = "a".repeat(254);
        let mut sources = vec![
            "tcp://127.0.0.1:7000".to_string(),
            "listen://127.0.0.1:0".into(),
            "tcp://[::1]:9042".into(),
            "tcp://[::]:1".into(),
            "tcp://[]:1".into(),
            "tcp://[:]:1".into(),
            "tcp://::1:1".into(),
            "tcp://host_name-1.example:65535".into(),
            format!("tcp://{long}:1"),
            format!("tcp://{too_long}:1"),
            "tcp://a:".into(),
            "tcp://:80".into(),
            "tcp://a:+80".into(),
            "tcp://a:080".into(),
            "tcp://a:00".into(),
            "tcp://a b:80".into(),
            "tcp://a:80\n".into(),
            "udp://a:80".into(),
            "tcp:/a:80".into(),
            "TCP://a:80".into(),
            "tcp://a:1:2".into(),
        ];
        for port in [
            0u32, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 59999, 60000, 64999, 65000, 65499,
            65500, 65529, 65530, 65535, 65536, 70000, 99999, 100000,
        ] {
            sources.push(format!("listen://h:{port}"));
        }
        for s in &sources {
            let valid = crate::config::SourceAddr::parse(s).is_ok();
            assert_eq!(source.is_match(s), valid, "{s:?}");
        }
        for s in [
            "p0",
            "a_b-C",
            "..",
            ".",
            "",
            "a/b",
            "p.1",
            "é",
            "a b",
            &"p".repeat(64),
            &"p".repeat(65),
        ] {
            let valid = crate::config::validate_partition_id(s).is_ok();
            assert_eq!(id.is_match(s), valid, "{s:?}");
        }
    }
}

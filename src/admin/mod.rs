//! The admin REST API (actix-web) and `/metrics`: JSON over HTTP on
//! `admin.listen`, bearer token on every mutating call, errors as
//! `{"error": {"code", "message"}}`, an OpenAPI document at `/openapi.json`.
//!
//! - `server`: binds and starts the HTTP server and the rate sampler.
//! - `connection`: one connection; the HTTP layer's own error answers get the JSON body.
//! - `routes`: the route table, JSON 404/405, extractor errors.
//! - `auth`: the bearer-token middleware.
//! - `error`: every API error and its HTTP status (the one place they map).
//! - `model`: request and answer bodies; `json_int`: integers as JSON Schema counts them.
//! - `health`, `partitions`, `faults`, `rollups`, `settings`, `cluster`: the handlers.
//! - `top_keys`, `verify`: the read-only views the console adds (largest
//!   totals; committed totals against a demo's ground truth); `views` their bodies.
//! - `console`: the web console page and its embedded files (`console/`).
//! - `chaos`: chaos mode (random kills at a set pace).
//! - `rates`: per-partition events/s, sampled every second.
//! - `openapi`: the OpenAPI 3 document.

mod auth;
mod chaos;
mod cluster;
mod connection;
mod console;
mod error;
mod faults;
mod health;
mod json_int;
mod model;
mod openapi;
mod partitions;
mod rates;
mod rollups;
mod routes;
mod server;
mod settings;
mod state;
mod top_keys;
mod verify;
mod views;

pub use chaos::ChaosSpec;
pub use error::ApiError;
pub use model::{ChaosRequest, NewPartition};
pub use openapi::ApiDoc;
pub use server::{start, start_early, start_if_enabled, AdminServer};
pub use settings::{parse_patch, patched};

//! Starts the admin HTTP server (actix-web) on `admin.listen`, beside the
//! processor, and the once-a-second sampler of partition rates.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use super::auth::require_token;
use super::routes;
use super::state::AdminState;
use crate::cassandra::Startup;
use crate::config::Config;
use crate::processor::Processor;

/// A running admin server.
pub struct AdminServer {
    /// The address it is bound to (the real port when `admin.listen` ends in `:0`).
    pub addr: SocketAddr,
    handle: ServerHandle,
    state: web::Data<AdminState>,
    sampler: tokio::task::JoinHandle<()>,
}

/// Binds `admin.listen` and serves the running `processor`; call inside the
/// actix `System`.
pub fn start(processor: Arc<Processor>) -> anyhow::Result<AdminServer> {
    let server = start_early(&processor.config, Startup::new())?;
    server.attach(processor);
    Ok(server)
}

/// Binds `admin.listen` and serves before the processor exists: `/health`,
/// `/metrics` and `/openapi.json` answer, `/ready` is 503 naming what start-up
/// waits for, every other route 503 `starting`, until [`AdminServer::attach`].
pub fn start_early(config: &Config, startup: Arc<Startup>) -> anyhow::Result<AdminServer> {
    let admin = &config.admin;
    let listen: SocketAddr = admin
        .listen
        .parse()
        .with_context(|| format!("admin.listen `{}` is not ip:port", admin.listen))?;
    // Validation refuses this too; the server checks again because it is the one binding.
    if !listen.ip().is_loopback() && admin.token.is_empty() {
        anyhow::bail!(
            "refusing to serve the admin API on {listen} without a token (set SSA_ADMIN_TOKEN)"
        );
    }
    let state = web::Data::new(AdminState::new(admin, startup));
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(from_fn(require_token))
            .configure(routes::configure)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(2)
    .bind(listen)
    .with_context(|| format!("binding the admin API on {listen}"))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .context("the admin server bound no address")?;
    let server = server.run();
    let handle = server.handle();
    actix::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "admin server failed");
        }
    });
    let sampled = state.clone();
    let sampler = actix::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Ok(processor) = sampled.processor() {
                sampled.rates.sample(processor);
            }
        }
    });
    let auth = if state.token.is_some() {
        "bearer token"
    } else {
        "none configured: mutating calls are refused (403)"
    };
    tracing::info!(addr = %addr, auth, "admin api listening");
    Ok(AdminServer {
        addr,
        handle,
        state,
        sampler,
    })
}

impl AdminServer {
    /// Hands the started processor to the API.
    pub fn attach(&self, processor: Arc<Processor>) {
        self.state.attach(processor);
    }

    /// Stops chaos mode and the server.
    pub async fn stop(self) {
        self.state.chaos.shutdown();
        self.sampler.abort();
        self.handle.stop(true).await;
    }
}

/// Starts the admin server early (see [`start_early`]) when `admin.enabled`; the
/// one call `ssa run` and `ssa demo` make.
pub fn start_if_enabled(
    config: &Config,
    startup: &Arc<Startup>,
) -> anyhow::Result<Option<AdminServer>> {
    if !config.admin.enabled {
        return Ok(None);
    }
    start_early(config, startup.clone()).map(Some)
}

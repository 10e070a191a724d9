//! Starts the admin HTTP server (actix-web) on `admin.listen`, beside the
//! processor, and the once-a-second sampler of partition rates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use super::auth::require_token;
use super::routes;
use super::state::AdminState;
use crate::gen::Workload;
use crate::processor::Processor;

/// A running admin server.
pub struct AdminServer {
    /// The address it is bound to (the real port when `admin.listen` ends in `:0`).
    pub addr: SocketAddr,
    handle: ServerHandle,
    state: web::Data<AdminState>,
    sampler: tokio::task::JoinHandle<()>,
}

/// Binds `admin.listen` and serves; call inside the actix `System`.
pub fn start(processor: Arc<Processor>) -> anyhow::Result<AdminServer> {
    let admin = &processor.config.admin;
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
    let state = web::Data::new(AdminState::new(processor));
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
            sampled.rates.sample(&sampled.processor);
        }
    });
    let auth = if state.token.is_some() {
        "bearer token"
    } else {
        "none configured: mutating calls are refused (403)"
    };
    tracing::info!(addr = %addr, auth, console = %console_url(addr), "admin api listening");
    Ok(AdminServer {
        addr,
        handle,
        state,
        sampler,
    })
}

/// The console's address for a browser on this machine (a wildcard bind is
/// reached through loopback).
pub fn console_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/console", SocketAddr::new(ip, addr.port()))
}

impl AdminServer {
    /// Where the console is served.
    pub fn console_url(&self) -> String {
        console_url(self.addr)
    }

    /// Gives the verify panel the ground truth of a finite run over `cycles`,
    /// computed in the background.
    pub fn expect(&self, workload: Workload, cycles: Range<u64>) {
        self.state.expected.compute(workload, cycles);
    }

    /// The run has ended and every total is written.
    pub fn settle(&self) {
        self.state.expected.settle();
    }

    /// Stops chaos mode and the server.
    pub async fn stop(self) {
        self.state.chaos.shutdown();
        self.sampler.abort();
        self.handle.stop(true).await;
    }
}

/// Starts the admin server when `admin.enabled`; the one call `ssa run` and
/// `ssa demo` make.
pub fn start_if_enabled(processor: &Arc<Processor>) -> anyhow::Result<Option<AdminServer>> {
    if !processor.config.admin.enabled {
        return Ok(None);
    }
    start(processor.clone()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_url_of_a_wildcard_bind_is_loopback() {
        let url = |a: &str| console_url(a.parse().unwrap());
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080/console");
        assert_eq!(url("0.0.0.0:9000"), "http://127.0.0.1:9000/console");
        assert_eq!(url("[::]:9000"), "http://[::1]:9000/console");
        assert_eq!(url("10.1.2.3:80"), "http://10.1.2.3:80/console");
    }
}

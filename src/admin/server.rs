//! Starts the admin HTTP server (actix-web) on `admin.listen`, beside the
//! processor, and the once-a-second sampler of partition rates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive};
use actix_service::{map_config, IntoServiceFactory as _, ServiceFactoryExt as _};
use actix_web::body::MessageBody;
use actix_web::dev::{
    fn_service, AppConfig, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse,
};
use actix_web::error::DispatchError;
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use anyhow::Context as _;
use tokio::net::TcpStream;

use super::auth::require_token;
use super::connection::JsonErrors;
use super::routes;
use super::state::AdminState;
use crate::cassandra::Startup;
use crate::config::Config;
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
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("binding the admin API on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("the admin server bound no address")?;
    let app_state = state.clone();
    let server = actix_web::dev::Server::build()
        .workers(1)
        .disable_signals()
        .shutdown_timeout(2)
        .listen("ssa-admin", listener, move || {
            let app = App::new()
                .app_data(app_state.clone())
                .wrap(from_fn(require_token))
                .configure(routes::configure);
            http_service(app, addr)
        })
        .with_context(|| format!("serving the admin API on {addr}"))?
        .run();
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
    tracing::info!(addr = %addr, auth, console = %console_url(addr), "admin api listening");
    Ok(AdminServer {
        addr,
        handle,
        state,
        sampler,
    })
}

/// HTTP/1.1 over each accepted connection, wrapped so that the answers the HTTP
/// layer gives itself carry the JSON error body (see `connection`). actix-web's
/// `HttpServer` offers no hook on the connection, hence this assembly of the same
/// parts it uses.
fn http_service<T, B>(
    app: App<T>,
    addr: SocketAddr,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = (), InitError = ()>
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let app = map_config(
        app.into_factory()
            .map_err(|e: actix_web::Error| e.error_response()),
        |_| AppConfig::default(),
    );
    let http = HttpService::build()
        .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
        .client_request_timeout(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .local_addr(addr)
        .h1(app);
    fn_service(|io: TcpStream| {
        let peer = io.peer_addr().ok();
        let _ = io.set_nodelay(true);
        std::future::ready(Ok::<_, DispatchError>((JsonErrors::new(io, peer), peer)))
    })
    .and_then(http)
    .map_err(|e| tracing::debug!(error = %e, "admin connection ended on an error"))
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
    /// Hands the started processor to the API.
    pub fn attach(&self, processor: Arc<Processor>) {
        self.state.attach(processor);
    }

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

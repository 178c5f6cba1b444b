//! `dds serve`: the HTTP server and its lifecycle (start, readiness, graceful shutdown).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::app::App;

use crate::config::{Config, ServeFlags};

/// The routes of the service; shared by `main` and the tests.
pub fn router(app: Arc<App>) -> Router {
    let metrics = Arc::new(crate::metrics::Metrics::new());
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/xds/registry", post(crate::edge::registry::handle))
        .route("/xds/repository", post(crate::edge::repository::handle))
        .route("/admin/v1/rejected", get(crate::api::rejected))
        .route("/admin/v1/patients", post(crate::api::add_patient))
        .route(
            "/minlog/v1/patients/{cpr}/entries",
            get(crate::minlog_api::entries),
        )
        .route("/consent/v1/patients/{cpr}", get(crate::consent_api::get))
        .route(
            "/consent/v1/patients/{cpr}/opt-out",
            axum::routing::put(crate::consent_api::put_opt_out)
                .delete(crate::consent_api::delete_opt_out),
        )
        .route(
            "/consent/v1/patients/{cpr}/blocks",
            post(crate::consent_api::post_block),
        )
        .route(
            "/consent/v1/patients/{cpr}/blocks/{id}",
            axum::routing::delete(crate::consent_api::delete_block),
        )
        // The SOAP edge counts body bytes against the configured limits itself (HTTP 413 with
        // a SOAP fault), so axum's default 2 MB cap must not cut in first.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            crate::metrics::track,
        ))
        .layer(axum::Extension(metrics))
        .layer(axum::middleware::from_fn(crate::request_id::assign))
        .with_state(app)
}

pub fn run(flags: ServeFlags) -> anyhow::Result<()> {
    let config = Config::load(flags)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        announce(&config);
        let server = Server::start(config).await?;
        println!("listening on {}://{}", server.scheme(), server.local_addr());
        server.serve_until(shutdown_signal()).await
    })
}

/// A started service: stores open, listener bound. Tests start one on `127.0.0.1:0`.
pub struct Server {
    app: Arc<App>,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl Server {
    /// Opens the stores and binds the listener; the service is ready once this returns.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let listen = config.listen;
        let app = Arc::new(App::open(config).await?);
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local_addr = listener
            .local_addr()
            .context("listener has no local address")?;
        Ok(Server {
            app,
            listener,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Serves until `shutdown` resolves, then stops accepting and finishes requests in flight.
    pub async fn serve_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let tls = match &self.app.config.tls {
            Some(settings) => Some(crate::tls::server_config(settings)?),
            None => None,
        };
        let service = router(self.app).into_make_service_with_connect_info::<SocketAddr>();
        let Some(tls) = tls else {
            // TCP_NODELAY: a streamed answer (MTOM) goes out in several writes; with Nagle's
            // algorithm the last one waits for the client's delayed ACK, about 40 ms per
            // ITI-43 on Linux (measured by `dds bench`).
            let listener = self.listener.tap_io(|tcp| {
                if let Err(error) = tcp.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
                }
            });
            return axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await
                .context("server failed");
        };
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            // No deadline: like the plain server, finish every request in flight.
            stopper.graceful_shutdown(None);
        });
        let listener = self
            .listener
            .into_std()
            .context("cannot hand the listener to the TLS server")?;
        axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(tls),
        )
        .context("cannot start the TLS server")?
        .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor))
        .handle(handle)
        .serve(service)
        .await
        .context("server failed")
    }

    /// `http` or `https`, as clients must address this server.
    pub fn scheme(&self) -> &'static str {
        if self.app.config.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// Resolves on SIGINT or SIGTERM; axum then stops accepting and finishes requests in flight.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Says at start what this process is and where its state lives, so an operator (or a newcomer
/// reading the terminal) sees the effective configuration, not only the file.
fn announce(config: &Config) {
    println!(
        "role: {:?}; data directory: {}",
        config.role,
        config.data.display()
    );
    println!("repositoryUniqueId: {}", config.repository_unique_id);
    if let Some(url) = &config.registry_url {
        println!("registering with the registry at {url}");
    }
    for repository in &config.repositories {
        println!(
            "known repository {} at {}",
            repository.unique_id, repository.url
        );
    }
    match &config.brs_url {
        Some(url) => println!("treatment-relation follow-ups go to {url}"),
        None => println!("no --brs-url: treatment-relation follow-ups wait in the outbox"),
    }
    println!(
        "patient policy: {:?}; dev STS trusted: {}; extra trusted STS certificates: {}",
        config.patient_policy,
        config.trust_dev_sts,
        config.trusted_sts_certs.len()
    );
    println!(
        "body limits: registry {} bytes, repository {} bytes, document {} bytes",
        config.registry_body_bytes_max, config.repository_body_bytes_max, config.document_bytes_max
    );
}

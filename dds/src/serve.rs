//! `dds serve`: the HTTP server and its lifecycle (start, readiness, graceful shutdown).
//!
//! Shutdown order: stop accepting, finish requests in flight (axum), then flush the outbox
//! (bounded by [`OUTBOX_FLUSH_TIME_MAX`]), so follow-ups ordered by the last requests get
//! their chance too. What the flush cannot deliver stays in the outbox for the next start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use minlog::{DeliveryConfig, OutboxWorker};

use crate::app::App;

use crate::config::{Config, Role, ServeFlags};

/// Longest the shutdown waits for the outbox flush: long enough for a request timeout and a
/// backlog's next round, short enough for a container's stop grace period (often 30 s).
pub const OUTBOX_FLUSH_TIME_MAX: Duration = Duration::from_secs(15);

/// The routes of the service, for its role; shared by `main` and the tests. Routes of another
/// role's services are not there at all (404), so a repository-only process exposes nothing
/// but its repository endpoint, health check and metrics.
pub fn router(app: Arc<App>) -> Router {
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let role = app.config.role;
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(crate::metrics::scrape));
    if matches!(role, Role::All | Role::Registry) {
        router = router
            .route("/xds/registry", post(crate::edge::registry::handle))
            .route("/admin/v1/rejected", get(crate::api::rejected))
            .route("/admin/v1/outbox", get(crate::api::outbox))
            .route("/admin/v1/patients", post(crate::api::add_patient))
            .route(
                "/minlog/v1/patients/{cpr}/entries",
                get(crate::minlog_api::entries),
            )
            .route(
                "/minlog/v1/delegations/{doctor_cpr}/entries",
                get(crate::minlog_api::delegations),
            )
            .route("/minlog/", get(crate::minlog_page::page))
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
            );
    }
    if matches!(role, Role::All | Role::Repository) {
        router = router.route("/xds/repository", post(crate::edge::repository::handle));
    }
    router
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
    /// Delivers follow-ups to `brs_url` (none without one: they wait in the outbox). Flushed
    /// by [`Server::serve_until`] after the last request; dropping it stops it.
    outbox: Option<OutboxWorker>,
    /// Forwards MinLog records to `minlog_forward_url`; stopped after the outbox flush.
    minlog_forward: Option<minlog::MinlogForwarder>,
    /// Keeps the full-text index in step with the registry; stopped with the service, so that
    /// the index (one writer per directory) is free again once `serve_until` returns.
    search: Option<SearchTask>,
}

/// The task of `search::Indexer::spawn`; aborted when dropped. Stopping between two index
/// commits loses nothing: each commit carries its own watermark.
struct SearchTask(tokio::task::JoinHandle<()>);

impl SearchTask {
    async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for SearchTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Server {
    /// Opens the stores and binds the listener; the service is ready once this returns.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        // The process's TLS crypto provider, for every outbound client (BRS delivery,
        // forwarding) and for tests' clients in the same process; reqwest and rustls are built
        // without a default one. Idempotent.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listen = config.listen;
        let app = Arc::new(App::open(config).await?);
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        Server::with_app(app, listener)
    }

    /// Like [`Server::start`] on a listener bound beforehand (`config.listen` is not used):
    /// services that must know each other's addresses before either starts (a repository and
    /// its registry in one test) bind first.
    pub async fn start_on(
        config: Config,
        listener: std::net::TcpListener,
    ) -> anyhow::Result<Server> {
        listener
            .set_nonblocking(true)
            .context("cannot make the listener non-blocking")?;
        let listener = TcpListener::from_std(listener).context("cannot use the listener")?;
        let app = Arc::new(App::open(config).await?);
        Server::with_app(app, listener)
    }

    fn with_app(app: Arc<App>, listener: TcpListener) -> anyhow::Result<Server> {
        let local_addr = listener
            .local_addr()
            .context("listener has no local address")?;
        let outbox = match &app.config.brs_url {
            Some(url) => Some(
                OutboxWorker::spawn(
                    app.door.audit.clone(),
                    DeliveryConfig {
                        attempts_max: app.config.brs_attempts_max,
                        ..DeliveryConfig::new(url)
                    },
                )
                .context("cannot start the follow-up delivery")?,
            ),
            None => None,
        };
        let minlog_forward = match &app.config.minlog_forward_url {
            Some(url) => Some(
                minlog::MinlogForwarder::spawn(
                    app.door.audit.clone(),
                    minlog::ForwardConfig::new(url, app.config.brs_attempts_max),
                )
                .context("cannot start the MinLog forwarding")?,
            ),
            None => None,
        };
        // Catching up (a first build may take minutes) must not delay readiness.
        let search = app
            .search
            .as_ref()
            .map(|indexer| SearchTask(indexer.spawn()));
        Ok(Server {
            app,
            listener,
            local_addr,
            outbox,
            minlog_forward,
            search,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Serves until `shutdown` resolves, then stops accepting, finishes requests in flight
    /// and flushes the outbox.
    pub async fn serve_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let tls = match &self.app.config.tls {
            Some(settings) => Some(crate::tls::server_config(settings)?),
            None => None,
        };
        let Server {
            app,
            listener,
            outbox,
            minlog_forward,
            search,
            ..
        } = self;
        let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
        let served = match tls {
            // TCP_NODELAY: a streamed answer (MTOM) goes out in several writes; with Nagle's
            // algorithm the last one waits for the client's delayed ACK, about 40 ms per
            // ITI-43 on Linux (measured by `dds bench`).
            None => axum::serve(
                listener.tap_io(|tcp| {
                    if let Err(error) = tcp.set_nodelay(true) {
                        tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
                    }
                }),
                service,
            )
            .with_graceful_shutdown(shutdown)
            .await
            .context("server failed"),
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    // No deadline: like the plain server, finish every request in flight.
                    stopper.graceful_shutdown(None);
                });
                let listener = listener
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
        };
        if let Some(outbox) = outbox {
            let report = outbox
                .flush(tokio::time::Instant::now() + OUTBOX_FLUSH_TIME_MAX)
                .await;
            let (pending, dead) = report.depth.map_or((None, None), |depth| {
                (Some(depth.pending), Some(depth.dead))
            });
            tracing::info!(
                finished_in_time = report.finished_in_time,
                pending,
                dead,
                "outbox flushed; follow-ups still pending wait for the next start"
            );
        }
        if let Some(forwarder) = minlog_forward {
            forwarder.stop().await;
        }
        if let Some(search) = search {
            search.stop().await;
        }
        served
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
    for line in crate::app::describe_stores(config) {
        println!("{line}");
    }
    if let Some(url) = &config.registry_url
        && config.role == Role::Repository
    {
        println!("registering with the registry at {url}");
    }
    for repository in &config.repositories {
        println!(
            "known repository {} at {} (timeout {} s)",
            repository.unique_id,
            repository.url,
            repository.timeout(config.remote_timeout).as_secs()
        );
    }
    if config.role == Role::Repository || !config.repositories.is_empty() {
        match &config.system_card.file {
            Some(path) => println!(
                "system card for calls to other services: {}",
                path.display()
            ),
            None => println!(
                "system card for calls to other services: minted by the development STS (CVR {})",
                config.system_card.cvr
            ),
        }
    }
    match &config.brs_url {
        Some(url) => println!(
            "treatment-relation follow-ups go to {url} (dead-lettered after {} attempts)",
            config.brs_attempts_max
        ),
        None => println!("no --brs-url: treatment-relation follow-ups wait in the outbox"),
    }
    if let Some(url) = &config.minlog_forward_url {
        println!("MinLog records are also forwarded to {url}");
    }
    println!(
        "patient policy: {:?}; dev STS trusted: {}; extra trusted STS certificates: {}",
        config.patient_policy,
        config.trust_dev_sts,
        config.trusted_sts_certs.len()
    );
    println!(
        "body limits: registry {} bytes, repository {} bytes, document {} bytes, {} MIME parts",
        config.registry_body_bytes_max,
        config.repository_body_bytes_max,
        config.document_bytes_max,
        config.multipart_parts_max
    );
}

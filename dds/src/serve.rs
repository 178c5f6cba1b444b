//! `dds serve`: the HTTP server and its lifecycle (start, readiness, graceful shutdown).

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::config::{Config, ServeFlags};

/// The routes of the service; shared by `main` and the tests.
pub fn app() -> Router {
    Router::new().route("/healthz", get(|| async { "ok\n" }))
}

pub fn run(flags: ServeFlags) -> anyhow::Result<()> {
    let config = Config::load(flags)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("cannot create the data directory {}", config.data.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let local = listener
            .local_addr()
            .context("listener has no local address")?;
        announce(&config);
        println!("listening on http://{local}");
        axum::serve(listener, app())
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server failed")
    })
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

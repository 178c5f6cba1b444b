//! `dds serve`: the HTTP server and its lifecycle (start, readiness, graceful shutdown).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DDS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory: the SQLite store, the documents and the development STS live here.
    #[arg(long, env = "DDS_DATA", default_value = "./data")]
    pub data: PathBuf,
}

/// The routes of the service; shared by `main` and the tests.
pub fn app() -> Router {
    Router::new().route("/healthz", get(|| async { "ok\n" }))
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create the data directory {}", args.data.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener
            .local_addr()
            .context("listener has no local address")?;
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

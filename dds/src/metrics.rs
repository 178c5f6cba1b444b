//! `GET /metrics`: Prometheus text exposition of what an operator watches.
//!
//! - `dds_requests_total{transaction}`, `dds_request_errors_total{transaction}` and
//!   `dds_request_duration_seconds{transaction}` (a histogram) for every request. The
//!   transaction is the IHE one (`ITI-18`, `ITI-41`, …) when the edge answered with a SOAP
//!   response, else the endpoint (`registry`, `repository` for faults; the route for the JSON
//!   APIs). An error is an HTTP status of 400 or more, or an ebRS status Failure. The duration
//!   runs until the response headers are ready: a streamed ITI-43 body is not included.
//! - `dds_outbox_followups{state}`: follow-ups waiting (`pending`) or given up (`dead`).
//! - `dds_store_bytes{store}`: the size of each SQLite store (with its WAL), read when scraped.
//! - `dds_search_index_lag_changes` and `dds_search_index_lag_seconds`: registry changes not
//!   yet in the full-text index, and the age of the oldest (0 and 0 when in step), read when
//!   scraped (both 0 when in step, and without an index: `--role repository`).
//!
//! prometheus-client is the Prometheus project's own Rust client: typed metric families and the
//! text format, without an HTTP server of its own (axum serves it).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use xds_model::vocabulary::action;

use crate::app::App;

/// What the SOAP edge tells the metrics layer about its answer (a response extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionOutcome {
    pub transaction: &'static str,
    /// The ebRS status was Failure.
    pub failed: bool,
}

impl TransactionOutcome {
    /// The outcome of a SOAP answer with this response action and body.
    pub fn of(response_action: &str, body: &[u8]) -> Option<TransactionOutcome> {
        let transaction = transaction_of(response_action)?;
        let failed = memchr::memmem::find(body, b"ResponseStatusType:Failure\"").is_some();
        Some(TransactionOutcome {
            transaction,
            failed,
        })
    }
}

/// The IHE transaction a response action answers.
fn transaction_of(response_action: &str) -> Option<&'static str> {
    Some(match response_action {
        action::REGISTRY_STORED_QUERY_RESPONSE => "ITI-18",
        action::MULTI_PATIENT_QUERY_RESPONSE => "ITI-51",
        action::REGISTER_RESPONSE => "ITI-42",
        action::UPDATE_RESPONSE => "ITI-57",
        action::DELETE_RESPONSE => "ITI-62",
        action::PROVIDE_AND_REGISTER_RESPONSE => "ITI-41",
        action::RETRIEVE_RESPONSE => "ITI-43",
        _ => return None,
    })
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransactionLabels {
    transaction: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    store: String,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<TransactionLabels, Counter>,
    errors: Family<TransactionLabels, Counter>,
    durations: Family<TransactionLabels, Histogram>,
    outbox: Family<StateLabels, Gauge>,
    store_bytes: Family<StoreLabels, Gauge>,
    search_lag_changes: Gauge,
    search_lag_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("dds");
        let requests = Family::<TransactionLabels, Counter>::default();
        let errors = Family::<TransactionLabels, Counter>::default();
        // 0.5 ms to about 33 s, doubling: the SLOs are in milliseconds, retrievals of large
        // documents take seconds.
        let durations = Family::<TransactionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 17))
        });
        let outbox = Family::<StateLabels, Gauge>::default();
        let store_bytes = Family::<StoreLabels, Gauge>::default();
        registry.register(
            "requests",
            "Requests answered, by transaction",
            requests.clone(),
        );
        registry.register(
            "request_errors",
            "Requests answered with an HTTP error or an ebRS Failure, by transaction",
            errors.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to the response headers, by transaction",
            durations.clone(),
        );
        registry.register(
            "outbox_followups",
            "Treatment-relation follow-ups in the outbox, by state (pending, dead)",
            outbox.clone(),
        );
        registry.register(
            "store_bytes",
            "Size of each store: its SQLite file with the write-ahead log, or its PostgreSQL tables with their indexes",
            store_bytes.clone(),
        );
        let search_lag_changes = Gauge::default();
        let search_lag_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "search_index_lag_changes",
            "Registry changes not yet applied to the full-text index",
            search_lag_changes.clone(),
        );
        registry.register(
            "search_index_lag_seconds",
            "Age of the oldest registry change not yet applied to the full-text index",
            search_lag_seconds.clone(),
        );
        Metrics {
            search_lag_changes,
            search_lag_seconds,
            registry,
            requests,
            errors,
            durations,
            outbox,
            store_bytes,
        }
    }

    fn observe(&self, transaction: &str, failed: bool, seconds: f64) {
        let labels = TransactionLabels {
            transaction: transaction.to_owned(),
        };
        self.requests.get_or_create(&labels).inc();
        if failed {
            self.errors.get_or_create(&labels).inc();
        }
        self.durations.get_or_create(&labels).observe(seconds);
    }

    /// Sets the outbox depth gauges.
    pub fn set_outbox(&self, pending: u64, dead: u64) {
        for (state, value) in [("pending", pending), ("dead", dead)] {
            self.outbox
                .get_or_create(&StateLabels {
                    state: state.to_owned(),
                })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
    }
}

/// Middleware: counts and times every request under its transaction label.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(request.uri().path());
    let response = next.run(request).await;
    let outcome = response.extensions().get::<TransactionOutcome>().copied();
    let status = response.status();
    let failed =
        outcome.is_some_and(|o| o.failed) || status.is_client_error() || status.is_server_error();
    let transaction = outcome.map_or(route, |o| o.transaction);
    metrics.observe(transaction, failed, started.elapsed().as_secs_f64());
    response
}

/// The label of a request the SOAP edge did not answer with a transaction (faults, JSON APIs).
fn route_label(path: &str) -> &'static str {
    match path {
        "/xds/registry" => "registry",
        "/xds/repository" => "repository",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        p if p.starts_with("/consent/") => "consent_api",
        p if p.starts_with("/minlog/") => "minlog_api",
        p if p.starts_with("/admin/") => "admin_api",
        _ => "other",
    }
}

/// `GET /metrics`.
pub async fn scrape(
    State(app): State<Arc<App>>,
    metrics: axum::Extension<Arc<Metrics>>,
) -> Response {
    refresh_store_gauges(&app, &metrics).await;
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &metrics.registry) {
        tracing::error!(%error, "cannot encode the metrics");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

async fn refresh_store_gauges(app: &App, metrics: &Metrics) {
    if let Some(search) = &app.search {
        match search.lag().await {
            Ok(lag) => {
                metrics
                    .search_lag_changes
                    .set(i64::try_from(lag.changes).unwrap_or(i64::MAX));
                metrics.search_lag_seconds.set(lag.seconds);
            }
            Err(error) => {
                tracing::warn!(%error, "cannot measure the search index's lag for /metrics")
            }
        }
    }
    match app.door.audit.outbox_depth().await {
        Ok(depth) => metrics.set_outbox(depth.pending, depth.dead),
        Err(error) => tracing::warn!(%error, "cannot count the outbox for /metrics"),
    }
    let stores: [(&str, &[&str]); 3] = [
        (crate::app::REGISTRY_DB, &registry::sqlite::TABLES),
        (crate::app::CONSENT_DB, &consent::store::TABLES),
        (crate::app::MINLOG_DB, &minlog::TABLES),
    ];
    for (file, tables) in stores {
        let on_postgres = match app.door.audit.postgres_table_bytes(tables).await {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(%error, "cannot measure the stores on PostgreSQL for /metrics");
                continue;
            }
        };
        let bytes = match on_postgres {
            Some(bytes) => bytes,
            None => {
                let path = app.config.data.join(file);
                let mut bytes = 0u64;
                for suffix in ["", "-wal"] {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    if let Ok(meta) = std::fs::metadata(&name) {
                        bytes += meta.len();
                    }
                }
                bytes
            }
        };
        let store = file.trim_end_matches(".sqlite").to_owned();
        metrics
            .store_bytes
            .get_or_create(&StoreLabels { store })
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
}

//! One id per HTTP request: in a tracing span around everything the request does, in the
//! `x-request-id` response header, and in every receiver fault and internal-error answer, so
//! an operator can find the log lines of a failure a caller reports.
//!
//! Mechanism: the middleware runs the handler inside a tokio task-local holding the id, so
//! code deep in the edge reads it with [`current`] without threading it through every call.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, or a fresh one outside a request (tests, commands).
pub fn current() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
}

/// Middleware: assigns the id, opens the span, logs the outcome, sets `x-request-id`.
pub async fn assign(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        tracing::info!(status = response.status().as_u16(), elapsed_ms, "answered");
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

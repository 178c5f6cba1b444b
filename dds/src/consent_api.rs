//! The consent JSON API (INTERFACE.md "JSON APIs" → Consent): a citizen manages their own
//! opt-out and blocks, an admin anyone's. Changes are committed before the answer and take
//! effect for the next request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use identity::Operation;
use time::OffsetDateTime;

use crate::api::{ApiError, authenticate};
use crate::app::App;

/// Identifies the caller (a citizen only for their own CPR) and checks the CPR's form.
async fn admit(
    app: &App,
    headers: &HeaderMap,
    peer: SocketAddr,
    route: &str,
    cpr: &str,
) -> Result<(), ApiError> {
    authenticate(
        app,
        headers,
        peer,
        route,
        Operation::ManageConsent,
        Some(cpr),
    )
    .await?;
    if cpr.len() == 10 && cpr.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_cpr",
            format!("{cpr:?} is not a CPR number (10 digits)"),
        ))
    }
}

fn store_failed(error: consent::StoreError) -> ApiError {
    ApiError::internal(&error)
}

/// `GET /consent/v1/patients/{cpr}`: the opt-out state and all blocks.
pub async fn get(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(cpr): Path<String>,
) -> Result<Response, ApiError> {
    admit(&app, &headers, peer, "GET /consent/v1/patients/{cpr}", &cpr).await?;
    let directives = app.consent.directives(&cpr).await.map_err(store_failed)?;
    Ok(Json(serde_json::json!({
        "cpr": cpr,
        "opt_out": directives.opt_out,
        "blocks": directives.blocks,
    }))
    .into_response())
}

/// `PUT /consent/v1/patients/{cpr}/opt-out`: 201 when registered now, 200 when it already was.
pub async fn put_opt_out(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(cpr): Path<String>,
) -> Result<Response, ApiError> {
    admit(
        &app,
        &headers,
        peer,
        "PUT /consent/v1/patients/{cpr}/opt-out",
        &cpr,
    )
    .await?;
    let created = app
        .consent
        .set_opt_out(&cpr, OffsetDateTime::now_utc())
        .await
        .map_err(store_failed)?;
    let directives = app.consent.directives(&cpr).await.map_err(store_failed)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(serde_json::json!({"opt_out": directives.opt_out})),
    )
        .into_response())
}

/// `DELETE /consent/v1/patients/{cpr}/opt-out`: 204, or 404 when none was registered.
pub async fn delete_opt_out(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(cpr): Path<String>,
) -> Result<Response, ApiError> {
    admit(
        &app,
        &headers,
        peer,
        "DELETE /consent/v1/patients/{cpr}/opt-out",
        &cpr,
    )
    .await?;
    if app
        .consent
        .clear_opt_out(&cpr)
        .await
        .map_err(store_failed)?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("patient {cpr} has no opt-out registered"),
        ))
    }
}

/// `POST /consent/v1/patients/{cpr}/blocks`: 201 with `{"id": ...}`; a malformed block is a
/// 400 naming the fault, and nothing is stored.
pub async fn post_block(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(cpr): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admit(
        &app,
        &headers,
        peer,
        "POST /consent/v1/patients/{cpr}/blocks",
        &cpr,
    )
    .await?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_block",
            "the body is not UTF-8 JSON",
        )
    })?;
    let block = consent::parse_block(text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_block", e.to_string()))?;
    let id = app
        .consent
        .add_block(&cpr, block, OffsetDateTime::now_utc())
        .await
        .map_err(store_failed)?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id.0}))).into_response())
}

/// `DELETE /consent/v1/patients/{cpr}/blocks/{id}`: 204, or 404 when the patient has no such
/// block.
pub async fn delete_block(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((cpr, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    admit(
        &app,
        &headers,
        peer,
        "DELETE /consent/v1/patients/{cpr}/blocks/{id}",
        &cpr,
    )
    .await?;
    if app
        .consent
        .remove_block(&cpr, &id)
        .await
        .map_err(store_failed)?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("patient {cpr} has no block {id:?}"),
        ))
    }
}

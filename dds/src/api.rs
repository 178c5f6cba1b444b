//! The JSON APIs: authentication by `Authorization: SAML <base64 card>`, one error shape.
//!
//! Errors answer `{"error": "...", "detail": "..."}` with a 4xx status (INTERFACE.md) and
//! change nothing. A refused card or operation is recorded once, as on the SOAP endpoints.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use identity::{Caller, Operation, Rejection};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::app::App;

/// Largest `Authorization` header accepted, in bytes (a card is a few KiB; base64 adds a third).
const AUTHORIZATION_BYTES_MAX: usize = 96 * 1024;

/// One error of the JSON APIs.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, in words safe to show the caller.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let request_id = crate::request_id::current();
        tracing::error!(%cause, %request_id, "internal failure in the JSON API");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the service failed (request id {request_id})"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({"error": self.error, "detail": self.detail})),
        )
            .into_response()
    }
}

/// Verifies the card of a JSON request and applies the role policy; refusals are recorded.
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    peer: SocketAddr,
    route: &str,
    operation: Operation,
    patient_cpr: Option<&str>,
) -> Result<Caller, ApiError> {
    let caller = verify(app, headers, peer, route).await?;
    authorize(app, &caller, peer, route, operation, patient_cpr).await?;
    Ok(caller)
}

/// Verifies the card in `Authorization` without applying the policy, for routes whose
/// subject comes from the card itself (the "My log" page); refusals are recorded.
pub async fn verify(
    app: &App,
    headers: &HeaderMap,
    peer: SocketAddr,
    route: &str,
) -> Result<Caller, ApiError> {
    let card = match saml_card(headers) {
        Ok(card) => card,
        Err(rejection) => return Err(refuse(app, rejection, None, peer, route).await),
    };
    match app
        .door
        .verifier
        .verify_card(&card, OffsetDateTime::now_utc())
    {
        Ok(caller) => Ok(caller),
        Err(rejection) => Err(refuse(app, rejection, Some(&card), peer, route).await),
    }
}

/// Applies the role policy to a verified caller; a refusal is recorded.
pub async fn authorize(
    app: &App,
    caller: &Caller,
    peer: SocketAddr,
    route: &str,
    operation: Operation,
    patient_cpr: Option<&str>,
) -> Result<(), ApiError> {
    if let Err(rejection) = app.door.policy.authorize(caller, operation, patient_cpr) {
        let subject = caller.cpr().map(|cpr| format!("CPR {cpr}"));
        return Err(record(app, rejection, subject, peer, route).await);
    }
    Ok(())
}

fn saml_card(headers: &HeaderMap) -> Result<Vec<u8>, Rejection> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Rejection::HeaderMissing)?;
    if value.len() > AUTHORIZATION_BYTES_MAX {
        return Err(Rejection::Malformed(
            "the Authorization header is too large".into(),
        ));
    }
    let text = value
        .to_str()
        .map_err(|_| Rejection::Malformed("the Authorization header is not ASCII".into()))?;
    let encoded = text.strip_prefix("SAML ").ok_or_else(|| {
        Rejection::Malformed("expected `Authorization: SAML <base64 card>`".into())
    })?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| Rejection::Malformed("the SAML card is not valid base64".into()))
}

async fn refuse(
    app: &App,
    rejection: Rejection,
    card: Option<&[u8]>,
    peer: SocketAddr,
    route: &str,
) -> ApiError {
    let subject = card.and_then(identity::claimed_subject).map(|s| match s {
        identity::ClaimedSubject::Cpr(cpr) => format!("CPR {cpr}"),
        identity::ClaimedSubject::Cvr(cvr) => format!("CVR {cvr}"),
    });
    record(app, rejection, subject, peer, route).await
}

async fn record(
    app: &App,
    rejection: Rejection,
    claimed_subject: Option<String>,
    peer: SocketAddr,
    route: &str,
) -> ApiError {
    let time = match minlog::now_rfc3339() {
        Ok(time) => time,
        Err(error) => return ApiError::internal(&error),
    };
    let attempt = minlog::RejectedAttempt {
        time,
        remote_address: Some(peer.to_string()),
        claimed_subject,
        transaction: Some(route.to_owned()),
        fault_code: rejection.fault_subcode().qname().to_owned(),
        reason: rejection.to_string(),
    };
    if let Err(error) = app.door.audit.record_rejected(&attempt).await {
        return ApiError::internal(&error);
    }
    let status = match rejection {
        Rejection::NotAuthorized { .. } | Rejection::NotOwnData { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    ApiError::new(status, "unauthorized", rejection.to_string())
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /admin/v1/rejected`: rejected attempts, newest first.
pub async fn rejected(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(page): Query<PageQuery>,
) -> Result<Response, ApiError> {
    authenticate(
        &app,
        &headers,
        peer,
        "GET /admin/v1/rejected",
        Operation::Administer,
        None,
    )
    .await?;
    let listed = app
        .door
        .audit
        .list_rejected(page.limit.unwrap_or(100), page.cursor.as_deref())
        .await;
    match listed {
        Ok(page) => Ok(Json(page).into_response()),
        Err(minlog::AuditError::BadCursor(cursor)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            format!("cursor {cursor:?} is not one this API handed out"),
        )),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// Query of `GET /admin/v1/outbox`; read as text so that a bad value gets the API's own
/// error shape.
#[derive(Debug, Deserialize)]
pub struct OutboxQuery {
    state: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /admin/v1/outbox`: treatment-relation follow-ups in commit order; pending and
/// dead-lettered ones unless `state=pending|dead|delivered` says otherwise.
pub async fn outbox(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<OutboxQuery>,
) -> Result<Response, ApiError> {
    authenticate(
        &app,
        &headers,
        peer,
        "GET /admin/v1/outbox",
        Operation::Administer,
        None,
    )
    .await?;
    let state = match query.state.as_deref() {
        None => None,
        Some(name) => Some(minlog::FollowupState::from_name(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_state",
                format!("state {name:?} is not one of pending, dead, delivered"),
            )
        })?),
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(text) => text.parse::<u32>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_limit",
                format!("limit {text:?} is not a whole number"),
            )
        })?,
    };
    let listed = app
        .door
        .audit
        .list_followups(state, limit, query.cursor.as_deref())
        .await;
    match listed {
        Ok(page) => Ok(Json(page).into_response()),
        Err(minlog::AuditError::BadCursor(cursor)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            format!("cursor {cursor:?} is not one this API handed out"),
        )),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// Body of `POST /admin/v1/patients`: a CPR number, or a full XDS patientId in the Danish
/// assigning authority.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownPatient {
    cpr: Option<String>,
    patient_id: Option<String>,
}

/// `POST /admin/v1/patients`: feeds a known patient for `patient_policy = "known"`.
/// Answers 201 when the patient is new, 200 when already known, with the patientId.
pub async fn add_patient(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    authenticate(
        &app,
        &headers,
        peer,
        "POST /admin/v1/patients",
        Operation::Administer,
        None,
    )
    .await?;
    let request: KnownPatient = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {{\"cpr\": \"DDMMYYSSSS\"}} or {{\"patient_id\": \"CPR^^^&1.2.208.176.1.2&ISO\"}}: {e}"),
        )
    })?;
    let cpr = match (request.cpr, request.patient_id) {
        (Some(cpr), None) => cpr,
        (None, Some(patient_id)) => {
            let parsed = xds_model::xds::parse_cx(&patient_id).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_patient_id", e.to_string())
            })?;
            if parsed.assigning_authority != xds_model::vocabulary::dk::CPR_OID {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_patient_id",
                    format!(
                        "assigning authority {} is not the CPR register ({})",
                        parsed.assigning_authority,
                        xds_model::vocabulary::dk::CPR_OID
                    ),
                ));
            }
            parsed.id
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "give exactly one of `cpr` and `patient_id`",
            ));
        }
    };
    if cpr.len() != 10 || !cpr.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_cpr",
            format!("{cpr:?} is not a CPR number (10 digits)"),
        ));
    }
    let patient_id = xds_model::xds::PatientId {
        id: cpr,
        assigning_authority: xds_model::vocabulary::dk::CPR_OID.to_owned(),
    }
    .to_cx();
    match app.registry.add_known_patient(&patient_id).await {
        Ok(created) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                Json(serde_json::json!({"patient_id": patient_id, "created": created})),
            )
                .into_response())
        }
        Err(error) => Err(ApiError::internal(&error)),
    }
}

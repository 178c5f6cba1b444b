//! The citizen's MinLog API (INTERFACE.md "JSON APIs" → MinLog): who accessed my data, newest
//! first, with date filters and a cursor. A citizen sees only their own log.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use identity::Operation;
use serde::Deserialize;

use crate::api::{ApiError, authenticate};
use crate::app::App;

#[derive(Debug, Deserialize)]
pub struct EntriesQuery {
    /// `YYYY-MM-DD` or an RFC 3339 time; entries at or after it.
    from: Option<String>,
    /// `YYYY-MM-DD` (that whole day included) or an RFC 3339 time (entries before it).
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /minlog/v1/patients/{cpr}/entries`.
pub async fn entries(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(cpr): Path<String>,
    Query(query): Query<EntriesQuery>,
) -> Result<Response, ApiError> {
    authenticate(
        &app,
        &headers,
        peer,
        "GET /minlog/v1/patients/{cpr}/entries",
        Operation::ReadOwnLog,
        Some(&cpr),
    )
    .await?;
    for (name, value) in [("from", &query.from), ("to", &query.to)] {
        if let Some(value) = value
            && !looks_like_time(value)
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_time",
                format!("{name}={value:?} is neither YYYY-MM-DD nor an RFC 3339 time"),
            ));
        }
    }
    // A date-only `to` means "up to and including that day": compare with the next day.
    let to = query.to.as_deref().map(|to| match parse_date(to) {
        Some(date) => date
            .next_day()
            .map(|next| next.to_string())
            .unwrap_or_else(|| to.to_owned()),
        None => to.to_owned(),
    });
    let page = app
        .door
        .audit
        .list_for_patient(
            &cpr,
            query.from.as_deref(),
            to.as_deref(),
            query.limit.unwrap_or(50),
            query.cursor.as_deref(),
        )
        .await;
    let page = match page {
        Ok(page) => page,
        Err(minlog::AuditError::BadCursor(cursor)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_cursor",
                format!("cursor {cursor:?} is not one this API handed out"),
            ));
        }
        Err(error) => return Err(ApiError::internal(&error)),
    };
    let items: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|r| {
            serde_json::json!({
                "time": r.time,
                "user": {
                    "name": r.user_name,
                    "role": r.user_role,
                    "organisation": {
                        "sor": r.organisation_sor,
                        "cvr": r.organisation_cvr,
                        "name": r.organisation_name,
                    },
                },
                "on_behalf_of": r.on_behalf_of,
                "action": r.action,
                "documents": r.documents,
                "override": r.override_reason.as_ref().map(|reason| serde_json::json!({"reason": reason})),
                "outcome": r.outcome,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({"items": items, "next_cursor": page.next_cursor})).into_response())
}

/// `YYYY-MM-DD` or an RFC 3339 time: the forms whose text order is time order in the log.
fn looks_like_time(value: &str) -> bool {
    parse_date(value).is_some()
        || time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
            .is_ok()
}

fn parse_date(value: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format).ok()
}

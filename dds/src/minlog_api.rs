//! The MinLog JSON API (INTERFACE.md "JSON APIs" → MinLog): who accessed a citizen's data
//! (`/minlog/v1/patients/{cpr}/entries`) and what delegates did on a doctor's behalf
//! (`/minlog/v1/delegations/{doctor_cpr}/entries`), newest first, with date filters and a
//! cursor. The "My log" page ([`crate::minlog_page`]) reads through the same [`list`].
//!
//! Invariants:
//! - A citizen sees only their own log; the delegation view only the doctor it names (or an
//!   admin). Both are decided by the role policy before anything is read.
//! - Time bounds reach the store as UTC text in the form the records are written in, so the
//!   store's text comparison is a time comparison (see [`Window`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use identity::Operation;
use minlog::{AccessRecord, Page};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::api::{ApiError, authenticate};
use crate::app::App;

/// Entries per page when the caller gives no `limit` (the store caps any limit at
/// [`minlog::LIST_LIMIT_MAX`]).
pub const ENTRIES_PER_PAGE_DEFAULT: u32 = 50;

#[derive(Debug, Deserialize)]
pub struct EntriesQuery {
    /// `YYYY-MM-DD` or an RFC 3339 time; entries at or after it.
    from: Option<String>,
    /// `YYYY-MM-DD` (that whole day included) or an RFC 3339 time (entries before it).
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Whose entries a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// Entries about this patient (the citizen's log).
    Patient(&'a str),
    /// Entries made on this doctor's behalf (the delegation view).
    Delegations(&'a str),
}

/// A time window as the store compares it: `from` inclusive, `to` exclusive, each a UTC
/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
///
/// Why this form: records are stored as RFC 3339 UTC with a trailing `Z` and an optional
/// fraction, and the store compares text. A bound without the `Z` is a prefix of every
/// record time in its second, so `time >= from` and `time < to` hold exactly as in time order,
/// to the second (sub-second parts of a bound are dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Window {
    /// The API's form: `YYYY-MM-DD` (a UTC day; `to` includes that day) or an RFC 3339 time
    /// with any offset.
    pub fn from_api(from: Option<&str>, to: Option<&str>) -> Result<Window, ApiError> {
        Ok(Window {
            from: from
                .map(|text| api_bound("from", text, false))
                .transpose()?,
            to: to.map(|text| api_bound("to", text, true)).transpose()?,
        })
    }

    /// From instants (the page turns Danish local days into these).
    pub fn between(from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) -> Window {
        Window {
            from: from.map(utc_second),
            to: to.map(utc_second),
        }
    }
}

fn api_bound(name: &str, text: &str, is_end: bool) -> Result<String, ApiError> {
    if let Some(date) = parse_date(text) {
        let day = if is_end {
            // Up to and including that day: compare with the start of the next one.
            date.next_day().unwrap_or(date)
        } else {
            date
        };
        return Ok(day.to_string());
    }
    match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(instant) => Ok(utc_second(instant)),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_time",
            format!("{name}={text:?} is neither YYYY-MM-DD nor an RFC 3339 time"),
        )),
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC (see [`Window`] for why there is no `Z`).
fn utc_second(instant: OffsetDateTime) -> String {
    let utc = instant.to_offset(UtcOffset::UTC);
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    // Formatting a four-digit year with fixed fields cannot fail; fall back to the date
    // prefix (a wider window, never a narrower one) rather than panic.
    utc.format(&format)
        .unwrap_or_else(|_| utc.date().to_string())
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(value: &str) -> Option<Date> {
    let format = format_description!("[year]-[month]-[day]");
    Date::parse(value, &format).ok()
}

/// One page of entries for `subject`, newest first; a cursor this API did not hand out is a
/// 400, a store failure an internal error.
pub async fn list(
    app: &App,
    subject: Subject<'_>,
    window: &Window,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<AccessRecord>, ApiError> {
    let audit = &app.door.audit;
    let (from, to) = (window.from.as_deref(), window.to.as_deref());
    let page = match subject {
        Subject::Patient(cpr) => audit.list_for_patient(cpr, from, to, limit, cursor).await,
        Subject::Delegations(cpr) => audit.list_on_behalf_of(cpr, from, to, limit, cursor).await,
    };
    match page {
        Ok(page) => Ok(page),
        Err(minlog::AuditError::BadCursor(cursor)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            format!("cursor {cursor:?} is not one this API handed out"),
        )),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// One entry as both views answer it (INTERFACE.md MinLog).
pub fn entry_json(record: &AccessRecord) -> serde_json::Value {
    serde_json::json!({
        "time": record.time,
        "user": {
            "name": record.user_name,
            "role": record.user_role,
            "organisation": {
                "sor": record.organisation_sor,
                "cvr": record.organisation_cvr,
                "name": record.organisation_name,
            },
        },
        "on_behalf_of": record.on_behalf_of,
        "action": record.action,
        "documents": record.documents,
        "override": record.override_reason.as_ref().map(|reason| serde_json::json!({"reason": reason})),
        "outcome": record.outcome,
    })
}

/// `GET /minlog/v1/patients/{cpr}/entries`: the citizen's own log.
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
    let window = Window::from_api(query.from.as_deref(), query.to.as_deref())?;
    let page = list(
        &app,
        Subject::Patient(&cpr),
        &window,
        query.limit.unwrap_or(ENTRIES_PER_PAGE_DEFAULT),
        query.cursor.as_deref(),
    )
    .await?;
    let items: Vec<serde_json::Value> = page.items.iter().map(entry_json).collect();
    Ok(Json(serde_json::json!({"items": items, "next_cursor": page.next_cursor})).into_response())
}

/// `GET /minlog/v1/delegations/{doctor_cpr}/entries`: what delegates did on a doctor's
/// behalf, each entry naming the patient concerned.
pub async fn delegations(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(doctor_cpr): Path<String>,
    Query(query): Query<EntriesQuery>,
) -> Result<Response, ApiError> {
    authenticate(
        &app,
        &headers,
        peer,
        "GET /minlog/v1/delegations/{doctor_cpr}/entries",
        Operation::ReadDelegations,
        Some(&doctor_cpr),
    )
    .await?;
    let window = Window::from_api(query.from.as_deref(), query.to.as_deref())?;
    let page = list(
        &app,
        Subject::Delegations(&doctor_cpr),
        &window,
        query.limit.unwrap_or(ENTRIES_PER_PAGE_DEFAULT),
        query.cursor.as_deref(),
    )
    .await?;
    let items: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|record| {
            let mut entry = entry_json(record);
            entry["patient_cpr"] = serde_json::Value::from(record.patient_cpr.as_str());
            entry
        })
        .collect();
    Ok(Json(serde_json::json!({"items": items, "next_cursor": page.next_cursor})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from: Option<&str>, to: Option<&str>) -> Window {
        Window::from_api(from, to).unwrap()
    }

    #[test]
    fn api_bounds_become_utc_text_that_sorts_like_time() {
        assert_eq!(
            window(Some("2026-11-25"), Some("2026-11-25")),
            Window {
                from: Some("2026-11-25".into()),
                to: Some("2026-11-26".into()),
            }
        );
        // An offset is moved to UTC; the fraction is dropped (bounds are to the second).
        assert_eq!(
            window(Some("2026-11-25T11:00:00.75+01:00"), None)
                .from
                .as_deref(),
            Some("2026-11-25T10:00:00")
        );
        // Month and year ends roll over.
        assert_eq!(
            window(None, Some("2026-12-31")).to.as_deref(),
            Some("2027-01-01")
        );
        for bad in ["yesterday", "2026-13-01", "25-11-2026", ""] {
            let error = Window::from_api(Some(bad), None).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn a_bound_without_z_orders_record_times_of_its_own_second_correctly() {
        let bound = window(Some("2026-11-25T10:00:00Z"), None).from.unwrap();
        // Records as `minlog::now_rfc3339` writes them: with or without a fraction.
        assert!("2026-11-25T10:00:00Z" >= bound.as_str());
        assert!("2026-11-25T10:00:00.000001Z" >= bound.as_str());
        assert!("2026-11-25T09:59:59.999999Z" < bound.as_str());
    }
}

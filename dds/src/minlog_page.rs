//! The citizen's "My log" page (`GET /minlog/`): their MinLog as server-rendered HTML in
//! Danish, for the card in the `Authorization` header. A citizen portal fetches it server-side
//! with the citizen's card and embeds or restyles it (README "How a citizen portal reads the
//! log").
//!
//! Invariants:
//! - Only a citizen card reads it, and only its own CPR's log: the subject is taken from the
//!   verified card, never from the request. Other cards get a 403 page, no card a 401 page;
//!   both are recorded as rejected attempts, as on the JSON APIs.
//! - Every record field reaches the HTML through askama's escaping (templates under
//!   `dds/templates/`); nothing is marked safe.
//! - The page needs no JavaScript and loads nothing: styles are inline, links and the form
//!   are relative to the page's own URL (query strings only), so it works wherever a portal
//!   serves it.
//! - Dates the citizen picks and times shown are Danish local time (Europe/Copenhagen);
//!   each shown time carries the exact UTC record time in `<time datetime>`.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use identity::{Caller, Operation};
use minlog::{AccessAction, AccessOutcome, AccessRecord};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::api::{ApiError, authorize, verify};
use crate::app::App;
use crate::minlog_api::{Subject, Window, list, parse_date};

/// Entries on one page: a phone screen shows a few; "Ældre" fetches the next ones.
pub const ENTRIES_PER_PAGE: u32 = 25;

const ROUTE: &str = "GET /minlog/";

/// The page's query string, as its own form and links send it.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Danish local date `YYYY-MM-DD`, inclusive; empty means no bound (an empty form field).
    #[serde(default)]
    from: String,
    /// Danish local date `YYYY-MM-DD`, that whole day included; empty means no bound.
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /minlog/`.
pub async fn page(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let caller = match verify(&app, &headers, peer, ROUTE).await {
        Ok(caller) => caller,
        Err(error) => return error_page(&error),
    };
    // The subject is the card's own CPR: the policy admits a citizen card (own data) and no
    // other by default.
    if let Err(error) = authorize(
        &app,
        &caller,
        peer,
        ROUTE,
        Operation::ReadOwnLog,
        caller.cpr(),
    )
    .await
    {
        return error_page(&error);
    }
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => {
            let error = ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text());
            return error_page(&error);
        }
    };
    match log_page(&app, &caller, &query).await {
        Ok((status, page)) => html(status, page.render()),
        Err(error) => error_page(&error),
    }
}

/// Builds the page for a caller already admitted; a bad filter still renders the page, with
/// the problem stated above the (empty) list.
async fn log_page(
    app: &App,
    caller: &Caller,
    query: &PageQuery,
) -> Result<(StatusCode, LogPage), ApiError> {
    let citizen_name = caller.person.as_ref().map(|p| p.name()).unwrap_or_default();
    let Some(cpr) = caller.cpr() else {
        // authorize() admitted the card for its own CPR, so it has one; answer 403 if not.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unauthorized",
            "the card names no person",
        ));
    };
    let mut page = LogPage {
        citizen_name,
        from: String::new(),
        to: String::new(),
        period: "Viser alle registreringer, nyeste først.".into(),
        notice: None,
        entries: Vec::new(),
        newest_href: None,
        older_href: None,
    };
    let period = match Period::parse(&query.from, &query.to) {
        Ok(period) => period,
        Err(notice) => {
            page.notice = Some(notice);
            return Ok((StatusCode::BAD_REQUEST, page));
        }
    };
    page.from = period.from.map(|d| d.to_string()).unwrap_or_default();
    page.to = period.to.map(|d| d.to_string()).unwrap_or_default();
    page.period = period.describe();
    let cursor = (!query.cursor.is_empty()).then_some(query.cursor.as_str());
    let listed = list(
        app,
        Subject::Patient(cpr),
        &period.window(),
        ENTRIES_PER_PAGE,
        cursor,
    )
    .await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(error) if error.status() == StatusCode::BAD_REQUEST => {
            page.notice = Some(
                "Linket til ældre registreringer er ikke gyldigt. Start forfra fra de nyeste."
                    .into(),
            );
            page.newest_href = Some(period.href(None));
            return Ok((StatusCode::BAD_REQUEST, page));
        }
        Err(error) => return Err(error),
    };
    page.entries = listed.items.iter().map(EntryView::from_record).collect();
    page.older_href = listed.next_cursor.as_deref().map(|c| period.href(Some(c)));
    page.newest_href = cursor.map(|_| period.href(None));
    Ok((StatusCode::OK, page))
}

/// The period the citizen picked, in Danish local dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Period {
    from: Option<Date>,
    to: Option<Date>,
}

impl Period {
    /// Empty fields are no bound; anything else must be a date, and `from` not after `to`.
    /// The error is the notice shown to the citizen.
    fn parse(from: &str, to: &str) -> Result<Period, String> {
        let date = |label: &str, text: &str| -> Result<Option<Date>, String> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            parse_date(text.trim())
                .map(Some)
                .ok_or_else(|| format!("“{label}” skal være en dato som 2026-01-31. Prøv igen."))
        };
        let period = Period {
            from: date("Fra og med", from)?,
            to: date("Til og med", to)?,
        };
        if let (Some(from), Some(to)) = (period.from, period.to)
            && from > to
        {
            return Err("“Fra og med” ligger efter “Til og med”. Byt om på datoerne.".into());
        }
        Ok(period)
    }

    /// The store's window: from local midnight of `from` to local midnight after `to`.
    fn window(&self) -> Window {
        Window::between(
            self.from.map(danish_time::start_of_day),
            self.to
                .map(|to| danish_time::start_of_day(to.next_day().unwrap_or(to))),
        )
    }

    fn describe(&self) -> String {
        match (self.from, self.to) {
            (None, None) => "Viser alle registreringer, nyeste først.".into(),
            (Some(from), None) => format!(
                "Viser registreringer fra og med {}, nyeste først.",
                danish_time::date_text(from)
            ),
            (None, Some(to)) => format!(
                "Viser registreringer til og med {}, nyeste først.",
                danish_time::date_text(to)
            ),
            (Some(from), Some(to)) => format!(
                "Viser registreringer fra og med {} til og med {}, nyeste først.",
                danish_time::date_text(from),
                danish_time::date_text(to)
            ),
        }
    }

    /// A link to this period's page at `cursor` (the first page when `None`), relative to
    /// the page's own URL so it works wherever a portal serves the page.
    fn href(&self, cursor: Option<&str>) -> String {
        let mut pairs = Vec::new();
        if let Some(from) = self.from {
            pairs.push(format!("from={from}"));
        }
        if let Some(to) = self.to {
            pairs.push(format!("to={to}"));
        }
        if let Some(cursor) = cursor {
            // Cursors are row ids the store handed out; digits need no escaping.
            debug_assert!(cursor.bytes().all(|b| b.is_ascii_digit()));
            pairs.push(format!("cursor={cursor}"));
        }
        format!("?{}", pairs.join("&"))
    }
}

/// The page (`templates/minlog.html`); every field is plain text, escaped by askama.
#[derive(Template)]
#[template(path = "minlog.html")]
struct LogPage {
    citizen_name: String,
    /// The form's values (`YYYY-MM-DD` or empty).
    from: String,
    to: String,
    /// What the list shows, in words.
    period: String,
    /// A problem with what the citizen asked for.
    notice: Option<String>,
    entries: Vec<EntryView>,
    newest_href: Option<String>,
    older_href: Option<String>,
}

/// One record as the citizen reads it.
struct EntryView {
    /// The record's own UTC time, for `<time datetime>`.
    time_utc: String,
    /// The same instant in Danish local time, in words.
    time_local: String,
    /// "Opslag", "Hentning", …
    action: &'static str,
    /// What that action means, in a sentence.
    action_explained: &'static str,
    who: String,
    role: String,
    organisation: Option<String>,
    on_behalf_of: Option<String>,
    documents: Vec<String>,
    outcome: &'static str,
    /// `allowed`, `filtered` or `rejected`, for styling.
    outcome_class: &'static str,
    override_reason: Option<String>,
}

impl EntryView {
    fn from_record(record: &AccessRecord) -> EntryView {
        let (time_utc, time_local) = match OffsetDateTime::parse(&record.time, &Rfc3339) {
            Ok(instant) => (record.time.clone(), danish_time::instant_text(instant)),
            // Records are written by minlog::now_rfc3339; show an unreadable one as stored
            // rather than hide the entry.
            Err(_) => (String::new(), record.time.clone()),
        };
        let (action, action_explained) = action_text(record.action);
        let who = record
            .user_name
            .clone()
            .or_else(|| record.it_system.clone())
            .unwrap_or_else(|| "Ukendt".into());
        let organisation = match (&record.organisation_name, &record.organisation_sor) {
            (Some(name), Some(sor)) => Some(format!("{name} (SOR {sor})")),
            (None, Some(sor)) => Some(format!("SOR {sor}")),
            (Some(name), None) => Some(match &record.organisation_cvr {
                Some(cvr) => format!("{name} (CVR {cvr})"),
                None => name.clone(),
            }),
            (None, None) => record.organisation_cvr.as_ref().map(|c| format!("CVR {c}")),
        };
        EntryView {
            time_utc,
            time_local,
            action,
            action_explained,
            who,
            role: role_text(&record.user_role),
            organisation,
            on_behalf_of: record.on_behalf_of.as_deref().map(on_behalf_of_text),
            documents: record.documents.clone(),
            outcome: outcome_text(record.outcome),
            outcome_class: record.outcome.as_str(),
            override_reason: record.override_reason.clone(),
        }
    }
}

fn action_text(action: AccessAction) -> (&'static str, &'static str) {
    match action {
        AccessAction::Query => ("Opslag", "Søgte i oversigten over dine dokumenter."),
        AccessAction::Retrieve => ("Hentning", "Hentede og åbnede dine dokumenter."),
        AccessAction::Register => ("Registrering", "Registrerede et nyt dokument om dig."),
        AccessAction::Update => ("Opdatering", "Ændrede oplysningerne om et dokument om dig."),
        AccessAction::Delete => ("Sletning", "Slettede et dokument om dig."),
    }
}

fn outcome_text(outcome: AccessOutcome) -> &'static str {
    match outcome {
        AccessOutcome::Allowed => "Oplysningerne blev vist",
        AccessOutcome::Filtered => "Delvist vist: dokumenter, du har spærret, blev holdt tilbage",
        AccessOutcome::Rejected => "Afvist: intet blev vist",
    }
}

/// The roles of INTERFACE.md in Danish; anything else (a future role) as recorded.
fn role_text(role: &str) -> String {
    match role {
        "doctor" => "Læge",
        "nurse" => "Sygeplejerske",
        "secretary" => "Lægesekretær",
        "system" => "IT-system",
        "citizen" => "Borger",
        "admin" => "Administrator",
        other => other,
    }
    .to_owned()
}

/// The principal of a delegated access. The record holds only their CPR (the card names no
/// more), and a CPR number is not shown in full to someone else: the date of birth part stays,
/// the serial is masked, as Danish services print it.
fn on_behalf_of_text(cpr: &str) -> String {
    match (cpr.get(..6), cpr.len()) {
        (Some(birth), 10) if cpr.bytes().all(|b| b.is_ascii_digit()) => {
            format!("Sundhedsperson med CPR {birth}-xxxx")
        }
        _ => "En anden sundhedsperson".into(),
    }
}

/// An error answered as a page (`templates/minlog_error.html`).
#[derive(Template)]
#[template(path = "minlog_error.html")]
struct ErrorPage {
    title: &'static str,
    message: &'static str,
    /// The service's own words (English, for the portal's support staff).
    detail: String,
}

fn error_page(error: &ApiError) -> Response {
    let (title, message) = match error.status() {
        StatusCode::UNAUTHORIZED => (
            "Du er ikke logget ind",
            "Log ind på borgerportalen for at se, hvem der har set dine oplysninger.",
        ),
        StatusCode::FORBIDDEN => (
            "Siden er kun for borgere",
            "Min log viser kun din egen log, og kun når du er logget ind som borger. \
             Sundhedspersoner og systemer kan ikke se borgeres log her.",
        ),
        StatusCode::BAD_REQUEST => (
            "Siden kunne ikke vises",
            "Adressen indeholder noget, siden ikke forstår. Gå tilbage til Min log og prøv igen.",
        ),
        _ => (
            "Der opstod en fejl",
            "Din log kunne ikke vises lige nu. Prøv igen senere.",
        ),
    };
    let page = ErrorPage {
        title,
        message,
        detail: error.detail().to_owned(),
    };
    html(error.status(), page.render())
}

/// The page as an HTML response. No frame-busting and no `frame-ancestors`: portals embed it.
fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    let body = match rendered {
        Ok(body) => body,
        Err(error) => {
            let error = ApiError::internal(&error);
            return (StatusCode::INTERNAL_SERVER_ERROR, error.detail().to_owned()).into_response();
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // A person's access log: no shared cache may keep it.
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Danish local time (Europe/Copenhagen) without a time-zone database.
///
/// Denmark keeps CET (UTC+1) and, under the EU rule in force since 1996, CEST (UTC+2) from
/// 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October. The log
/// only holds times from this service's lifetime, so that one rule covers them all; should
/// the EU abolish the clock change, this module is where to say so.
mod danish_time {
    use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

    const CET: UtcOffset = time::macros::offset!(+1);
    const CEST: UtcOffset = time::macros::offset!(+2);

    /// The last Sunday of `month` in `year`.
    fn last_sunday(year: i32, month: Month) -> Date {
        let mut day =
            Date::from_calendar_date(year, month, month.length(year)).unwrap_or(Date::MIN);
        while day.weekday() != Weekday::Sunday {
            day = day.previous_day().unwrap_or(Date::MIN);
        }
        day
    }

    /// The offset in force at `instant`.
    pub fn offset_at(instant: OffsetDateTime) -> UtcOffset {
        let utc = instant.to_offset(UtcOffset::UTC);
        let year = utc.year();
        let one_am = Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT);
        let summer_starts =
            PrimitiveDateTime::new(last_sunday(year, Month::March), one_am).assume_utc();
        let summer_ends =
            PrimitiveDateTime::new(last_sunday(year, Month::October), one_am).assume_utc();
        if utc >= summer_starts && utc < summer_ends {
            CEST
        } else {
            CET
        }
    }

    /// The instant local midnight begins `date`. Midnight is never inside a clock change
    /// (they happen at 02:00 and 03:00 local), so its offset is that of the evening before.
    pub fn start_of_day(date: Date) -> OffsetDateTime {
        let as_cet = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(CET);
        as_cet.replace_offset(offset_at(as_cet))
    }

    /// "tirsdag 25. november 2026".
    pub fn date_text(date: Date) -> String {
        format!(
            "{} {}. {} {}",
            weekday(date.weekday()),
            date.day(),
            month(date.month()),
            date.year()
        )
    }

    /// "tirsdag 25. november 2026 kl. 11.01" (Danish writes the clock with a full stop).
    pub fn instant_text(instant: OffsetDateTime) -> String {
        let local = instant.to_offset(offset_at(instant));
        format!(
            "{} kl. {:02}.{:02}",
            date_text(local.date()),
            local.hour(),
            local.minute()
        )
    }

    fn weekday(day: Weekday) -> &'static str {
        match day {
            Weekday::Monday => "mandag",
            Weekday::Tuesday => "tirsdag",
            Weekday::Wednesday => "onsdag",
            Weekday::Thursday => "torsdag",
            Weekday::Friday => "fredag",
            Weekday::Saturday => "lørdag",
            Weekday::Sunday => "søndag",
        }
    }

    fn month(month: Month) -> &'static str {
        match month {
            Month::January => "januar",
            Month::February => "februar",
            Month::March => "marts",
            Month::April => "april",
            Month::May => "maj",
            Month::June => "juni",
            Month::July => "juli",
            Month::August => "august",
            Month::September => "september",
            Month::October => "oktober",
            Month::November => "november",
            Month::December => "december",
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use time::macros::{date, datetime};

        #[test]
        fn clock_changes_on_the_last_sundays_of_march_and_october_at_one_utc() {
            assert_eq!(offset_at(datetime!(2026-03-29 00:59:59 UTC)), CET);
            assert_eq!(offset_at(datetime!(2026-03-29 01:00:00 UTC)), CEST);
            assert_eq!(offset_at(datetime!(2026-10-25 00:59:59 UTC)), CEST);
            assert_eq!(offset_at(datetime!(2026-10-25 01:00:00 UTC)), CET);
            assert_eq!(offset_at(datetime!(2027-03-28 01:00:00 UTC)), CEST);
            assert_eq!(offset_at(datetime!(2026-01-15 12:00:00 UTC)), CET);
        }

        #[test]
        fn local_midnight_and_readable_times() {
            assert_eq!(
                start_of_day(date!(2026 - 11 - 25)),
                datetime!(2026-11-24 23:00:00 UTC)
            );
            assert_eq!(
                start_of_day(date!(2026 - 07 - 01)),
                datetime!(2026-06-30 22:00:00 UTC)
            );
            // The day summer time begins still starts in winter time, and the day it ends
            // still starts in summer time.
            assert_eq!(
                start_of_day(date!(2026 - 03 - 29)),
                datetime!(2026-03-28 23:00:00 UTC)
            );
            assert_eq!(
                start_of_day(date!(2026 - 10 - 25)),
                datetime!(2026-10-24 22:00:00 UTC)
            );
            assert_eq!(
                instant_text(datetime!(2026-11-25 10:01:30 UTC)),
                "onsdag 25. november 2026 kl. 11.01"
            );
            assert_eq!(
                instant_text(datetime!(2026-06-30 22:30:00 UTC)),
                "onsdag 1. juli 2026 kl. 00.30"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_is_checked_and_linked_relative_to_the_page() {
        assert_eq!(Period::parse("", " "), Ok(Period::default()));
        let period = Period::parse("2026-11-01", "2026-11-30").unwrap();
        assert_eq!(
            period.href(Some("42")),
            "?from=2026-11-01&to=2026-11-30&cursor=42"
        );
        assert_eq!(Period::default().href(None), "?");
        assert_eq!(
            period.window(),
            Window {
                from: Some("2026-10-31T23:00:00".into()),
                to: Some("2026-11-30T23:00:00".into()),
            }
        );
        assert!(
            Period::parse("i går", "")
                .unwrap_err()
                .contains("Fra og med")
        );
        assert!(
            Period::parse("2026-12-01", "2026-11-01")
                .unwrap_err()
                .contains("ligger efter")
        );
    }

    #[test]
    fn a_delegating_professionals_cpr_is_masked() {
        assert_eq!(
            on_behalf_of_text("0101700013"),
            "Sundhedsperson med CPR 010170-xxxx"
        );
        assert_eq!(on_behalf_of_text("12"), "En anden sundhedsperson");
    }
}

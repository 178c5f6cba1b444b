//! The HTTP edge: the only code that knows HTTP, SOAP and MTOM.
//!
//! Requests are framed here ([`transport`]), identified ([`auth`]), dispatched to the registry
//! ([`registry`]), and every typed error is mapped to a SOAP fault or an ebRS `RegistryError` in
//! one place ([`respond`]).

pub mod access_log;
pub mod auth;
pub mod consent_filter;
pub mod registry;
pub mod repository;
pub mod respond;
pub mod text_search;
pub mod transport;

use soap::ElementSlice;
use xds_model::message::Message;

/// Parses the SOAP body's element as an XDS message, with the namespaces it inherits from
/// the envelope.
pub fn parse_body(body: &ElementSlice<'_>) -> Result<Message, xds_model::xml::ParseError> {
    let inherited: Vec<(Option<&str>, &str)> = body
        .namespaces
        .iter()
        .map(|b| (b.prefix.as_deref(), b.uri.as_str()))
        .collect();
    xds_model::message::parse_message_in_scope(
        body.bytes(),
        &inherited,
        xds_model::limits::XmlLimits::default(),
    )
}

use std::net::SocketAddr;

use axum::response::Response;
use identity::Caller;
use soap::{EnvelopeOptions, FaultCode};

use crate::app::App;
use auth::Attempt;
use respond::{fault_response, internal_fault};

/// A SOAP request that got past the door: what it asks, who asks, and its decoded body.
pub struct Admitted {
    /// The request action (`wsa:Action`, else the Content-Type's `action`).
    pub action: String,
    /// The request's `wsa:MessageID`, for `wsa:RelatesTo` on the answer.
    pub relates_to: Option<String>,
    pub caller: Caller,
    /// The caller's card exactly as verified, for calls made on the caller's behalf (the
    /// registry look-up of `--role repository`, `dds:OriginalCaller`).
    pub card: ::repository::CallerCard,
    pub body: Message,
    /// The consent override the request asked for (`dds:ConsentOverride` or
    /// `hsuid:HsuidHeader`); only a health professional's lifts anything.
    pub consent_override: Option<soap::ConsentOverride>,
    /// For a system card: the verified card of the source a repository acts for
    /// (`dds:OriginalCaller`, see `crate::remote`), which MinLog names as the one who acted.
    pub original_caller: Option<Caller>,
}

/// The steps every SOAP endpoint takes before its own work: parse the envelope, take the
/// action and check this endpoint serves it, verify the ID card, decode the body. A request
/// refused before its card is verified, or by the card check, is recorded once as a rejected
/// attempt; a body that does not decode (from an identified caller) is answered but is not an
/// access attempt.
pub async fn admit(
    app: &App,
    peer: SocketAddr,
    envelope_bytes: &[u8],
    content_type_action: Option<&str>,
    options: &EnvelopeOptions<'_>,
    serves: &[&str],
    endpoint: &str,
) -> Result<Admitted, Response> {
    let envelope = match soap::parse_envelope(envelope_bytes, options) {
        Ok(envelope) => envelope,
        Err(error) => {
            let reason = error.to_string();
            let code = error.fault_code();
            let response = fault_response(code, None, &reason, None);
            let label = format!("soap:{}", code.local_name());
            return Err(app
                .door
                .record_unauthenticated(peer, None, &label, &reason, response)
                .await);
        }
    };
    let relates_to = envelope.addressing.message_id.clone();
    let Some(action) = envelope.action(content_type_action).map(str::to_owned) else {
        let reason = "The request names no action: send a wsa:Action header (or the action parameter of the Content-Type).";
        let response = fault_response(FaultCode::Sender, None, reason, relates_to.as_deref());
        return Err(app
            .door
            .record_unauthenticated(peer, None, "soap:Sender", reason, response)
            .await);
    };
    if !serves.contains(&action.as_str()) {
        let reason = format!(
            "The {endpoint} endpoint does not serve action {action:?}; it serves {}.",
            serves.join(", ")
        );
        let response = fault_response(FaultCode::Sender, None, &reason, relates_to.as_deref());
        return Err(app
            .door
            .record_unauthenticated(peer, Some(&action), "soap:Sender", &reason, response)
            .await);
    }
    let attempt = Attempt {
        peer,
        transaction: &action,
        card: None,
        relates_to: relates_to.as_deref(),
    };
    let caller = app.door.authenticate(&envelope, attempt).await?;
    let original_caller = if caller.role == identity::Role::System {
        match crate::remote::original_caller::read(
            &envelope,
            &app.door.verifier,
            time::OffsetDateTime::now_utc(),
        ) {
            None => None,
            Some(Ok(original)) => Some(original),
            Some(Err(error)) => {
                return Err(fault_response(
                    FaultCode::Sender,
                    None,
                    &format!("{error}"),
                    relates_to.as_deref(),
                ));
            }
        }
    } else {
        None
    };
    let consent_override = envelope.consent_override().map_err(|error| {
        fault_response(
            FaultCode::Sender,
            None,
            &format!("The consent override header is malformed: {error}"),
            relates_to.as_deref(),
        )
    })?;
    let card = match envelope.security.as_ref().map(|header| {
        let bindings: Vec<(&str, &str)> = header
            .element
            .namespaces
            .iter()
            .map(|b| (b.prefix.as_deref().unwrap_or(""), b.uri.as_str()))
            .collect();
        identity::standalone_security_header(header.element.bytes(), &bindings)
    }) {
        Some(Ok(header)) => ::repository::CallerCard::new(header),
        // Verification succeeded on this very header, so neither can happen.
        Some(Err(error)) => return Err(internal_fault(&error, relates_to.as_deref())),
        None => {
            return Err(internal_fault(
                &"a verified caller without a card",
                relates_to.as_deref(),
            ));
        }
    };
    let body = parse_body(&envelope.body).map_err(|error| {
        fault_response(
            FaultCode::Sender,
            None,
            &format!("The SOAP body is not a valid XDS message: {error}"),
            relates_to.as_deref(),
        )
    })?;
    Ok(Admitted {
        action,
        relates_to,
        caller,
        card,
        body,
        consent_override,
        original_caller,
    })
}

//! Building SOAP responses and faults: the one place typed errors become wire answers.
//!
//! SOAP 1.2 faults travel with HTTP 400 when the sender is at fault and 500 when we are
//! (INTERFACE.md). Internal detail never reaches the response: a receiver fault says only that
//! the service failed and names the request id under which the log line can be found.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use soap::{Fault, FaultCode, ResponseHeaders, Subcode};
use xds_model::message::{RegistryError, RegistryErrorList};
use xds_model::vocabulary::severity;

/// Content type of every plain SOAP 1.2 response.
pub const SOAP_CONTENT_TYPE: &str = "application/soap+xml; charset=UTF-8";

/// A fresh `wsa:MessageID` for a response.
pub fn new_message_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// A SOAP envelope around `body` with the response action, related to the request's
/// MessageID; MTOM-packaged (one root part) when the request was MTOM, so a client gets the
/// encoding it spoke.
pub fn soap_response(action: &str, relates_to: Option<&str>, body: &[u8], mtom: bool) -> Response {
    let message_id = new_message_id();
    let envelope = soap::writer::write_envelope(
        &ResponseHeaders {
            action,
            message_id: &message_id,
            relates_to,
        },
        body,
    );
    let outcome = crate::metrics::TransactionOutcome::of(action, body);
    let mut response = soap_package(action, relates_to, &message_id, envelope, mtom);
    if let Some(outcome) = outcome {
        response.extensions_mut().insert(outcome);
    }
    response
}

fn soap_package(
    action: &str,
    relates_to: Option<&str>,
    message_id: &str,
    envelope: Vec<u8>,
    mtom: bool,
) -> Response {
    if !mtom {
        return with_soap_type(StatusCode::OK, envelope);
    }
    let packaged = soap::MtomWriter::from_id(message_id).and_then(|writer| {
        let content_type = writer.content_type(action)?;
        let mut bytes = writer.head(&envelope)?;
        bytes.extend(writer.tail());
        Ok((content_type, bytes))
    });
    match packaged {
        Ok((content_type, bytes)) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            match HeaderValue::from_str(&content_type) {
                Ok(value) => {
                    response.headers_mut().insert(header::CONTENT_TYPE, value);
                    response
                }
                Err(error) => internal_fault(&error, relates_to),
            }
        }
        Err(error) => internal_fault(&error, relates_to),
    }
}

/// A SOAP 1.2 fault; the HTTP status follows the fault code (400 sender, 500 receiver).
pub fn fault_response(
    code: FaultCode,
    subcode: Option<Subcode<'_>>,
    reason: &str,
    relates_to: Option<&str>,
) -> Response {
    fault_response_with_status(code, subcode, reason, relates_to, None)
}

/// Like [`fault_response`], with an explicit HTTP status (413 for an oversized body).
pub fn fault_response_with_status(
    code: FaultCode,
    subcode: Option<Subcode<'_>>,
    reason: &str,
    relates_to: Option<&str>,
    status: Option<StatusCode>,
) -> Response {
    let message_id = new_message_id();
    let mut fault = Fault::new(code, reason);
    fault.subcode = subcode;
    let headers = ResponseHeaders {
        action: soap::FAULT_ACTION,
        message_id: &message_id,
        relates_to,
    };
    let status = status.unwrap_or_else(|| {
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    });
    match soap::writer::write_fault(&fault, &headers) {
        Ok(envelope) => with_soap_type(status, envelope),
        Err(error) => {
            // Only our own constant subcodes reach the writer, so this is a programming error.
            tracing::error!(%error, "cannot write a SOAP fault");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A receiver fault for an internal failure: logged with its cause, answered without it.
pub fn internal_fault(cause: &dyn std::fmt::Display, relates_to: Option<&str>) -> Response {
    let request_id = crate::request_id::current();
    tracing::error!(%cause, %request_id, "internal failure");
    fault_response(
        FaultCode::Receiver,
        None,
        &format!("The service failed to process the request (request id {request_id})."),
        relates_to,
    )
}

fn with_soap_type(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SOAP_CONTENT_TYPE),
    );
    response
}

/// An ebRS RegistryError of severity Error.
pub fn registry_error(
    code: &str,
    context: impl Into<String>,
    location: Option<String>,
) -> RegistryError {
    RegistryError {
        error_code: code.to_owned(),
        code_context: context.into(),
        location,
        severity: Some(severity::ERROR.to_owned()),
        value: String::new(),
    }
}

/// The error list of a response, with `highestSeverity` computed; `None` when empty.
pub fn error_list(errors: Vec<RegistryError>) -> Option<RegistryErrorList> {
    if errors.is_empty() {
        return None;
    }
    let any_error = errors
        .iter()
        .any(|e| e.severity.as_deref() != Some(severity::WARNING));
    Some(RegistryErrorList {
        highest_severity: Some(
            if any_error {
                severity::ERROR
            } else {
                severity::WARNING
            }
            .to_owned(),
        ),
        errors,
    })
}

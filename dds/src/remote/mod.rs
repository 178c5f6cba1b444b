//! Calls to other services over SOAP: what this service does as a *client*.
//!
//! - `--role repository`: [`registry::RemoteRegistry`] registers ITI-41 submissions with the
//!   registry (ITI-42) and looks DocumentEntries up there (ITI-18 GetDocuments) for ITI-43.
//! - `[[repositories]]`: [`repositories::ForwardingRepositories`] forwards ITI-43 requests for
//!   another repository's documents there and streams the documents back into temporary files.
//!
//! Who we say we are: our own system card ([`system_card::SystemCard`]) in `wsse:Security`,
//! with the caller we act for carried along in a `dds:OriginalCaller` header
//! ([`original_caller`]). The one exception is the registry look-up of ITI-43: it goes with the
//! *caller's* card, because the registry must answer for that caller (consent filter, MinLog)
//! and a document whose entry it does not return must not be returned.
//!
//! [`SoapClient`] is the one way out: it writes the request envelope (plain SOAP, or MTOM with
//! the envelope as the only part, which asks a repository for a streamed MTOM answer), bounds
//! every wait by the peer's timeout (connecting, and each read of the answer), frames the
//! answer with the same reader the endpoints use (attachments go to an
//! [`AttachmentSink`], never whole into memory) and tells a SOAP fault from a body.
//!
//! Invariant: a failed call says whether the request certainly never reached the peer
//! ([`CallError::Unreachable`]); only then may a caller treat "not done" as certain.

pub mod original_caller;
pub mod registry;
pub mod repositories;
pub mod system_card;

use std::time::Duration;

use axum::body::Body;
use axum::http::header;
use soap::{EnvelopeLimits, EnvelopeOptions, MultipartLimits, ReceivedFault, RequestHeaders};
use xds_model::message::Message;

use crate::edge::respond::SOAP_CONTENT_TYPE;
use crate::edge::transport::{AttachmentSink, TransportError, read_soap_message};

pub use registry::RemoteRegistry;
pub use repositories::ForwardingRepositories;
pub use system_card::{SystemCard, SystemCardError};

/// Why a call to another service gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection could be made: the request was certainly not received.
    #[error("cannot connect to {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// The request may have been received, but the answer did not come (timeout, connection
    /// lost, an answer cut off).
    #[error("the exchange with {url} failed: {detail}")]
    Exchange { url: String, detail: String },
    /// The peer answered, but not with a SOAP message (a proxy's error page, a wrong URL).
    #[error("{url} answered HTTP {status} without a SOAP message")]
    Status { url: String, status: u16 },
    /// The peer answered a SOAP fault.
    #[error("{url} answered a SOAP fault ({}): {}", .fault.code, .fault.reason)]
    Fault { url: String, fault: ReceivedFault },
    /// The answer could not be read as the expected SOAP message.
    #[error("the answer of {url} is not readable: {detail}")]
    Unreadable { url: String, detail: String },
    /// This service could not build or send the request (ours).
    #[error("cannot call {url}: {detail}")]
    Local { url: String, detail: String },
}

/// Bounds on what a peer may answer.
#[derive(Debug, Clone, Copy)]
pub struct ResponseLimits {
    /// The whole HTTP body, in bytes.
    pub body_bytes_max: u64,
    pub multipart: MultipartLimits,
    /// The largest text node in the SOAP body (an inline document is one).
    pub body_text_bytes_max: usize,
}

/// One request to send.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub action: &'a str,
    /// Header blocks after the WS-Addressing ones, each a self-contained element
    /// (`wsse:Security` first).
    pub header_blocks: Vec<String>,
    /// The body element's XML.
    pub body: String,
    /// Package as MTOM (the envelope as the only part), so that the answer comes as MTOM too.
    pub mtom: bool,
}

/// A peer's answer: its body, decoded, and the attachments the sink received.
#[derive(Debug)]
pub struct Answer<A> {
    pub message: Message,
    pub attachments: Vec<A>,
}

/// An HTTP client for one peer, with that peer's timeout.
#[derive(Debug, Clone)]
pub struct SoapClient {
    http: reqwest::Client,
}

impl SoapClient {
    /// A client whose connect and every read give up after `timeout` of silence.
    pub fn new(timeout: Duration) -> Result<SoapClient, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .build()?;
        Ok(SoapClient { http })
    }

    /// Sends `request` to `url` and reads the answer; see the module documentation.
    pub async fn call<S: AttachmentSink>(
        &self,
        url: &str,
        request: Outgoing<'_>,
        limits: &ResponseLimits,
        sink: &mut S,
    ) -> Result<Answer<S::Attachment>, CallError> {
        let local = |detail: &dyn std::fmt::Display| CallError::Local {
            url: url.to_owned(),
            detail: detail.to_string(),
        };
        let message_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let blocks: Vec<&[u8]> = request.header_blocks.iter().map(|b| b.as_bytes()).collect();
        let envelope = soap::write_request_envelope(
            &RequestHeaders {
                action: request.action,
                message_id: &message_id,
                to: url,
            },
            &blocks,
            request.body.as_bytes(),
        );
        let (content_type, bytes) = if request.mtom {
            let writer = soap::MtomWriter::from_id(&message_id).map_err(|e| local(&e))?;
            let content_type = writer.content_type(request.action).map_err(|e| local(&e))?;
            let mut bytes = writer.head(&envelope).map_err(|e| local(&e))?;
            bytes.extend(writer.tail());
            (content_type, bytes)
        } else {
            (
                format!("{SOAP_CONTENT_TYPE}; action=\"{}\"", request.action),
                envelope,
            )
        };
        let response = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await
            .map_err(|e| {
                let detail = error_chain(&e);
                if e.is_connect() {
                    CallError::Unreachable {
                        url: url.to_owned(),
                        detail,
                    }
                } else {
                    CallError::Exchange {
                        url: url.to_owned(),
                        detail,
                    }
                }
            })?;
        let status = response.status();
        let response_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Body::from_stream(response.bytes_stream());
        let framed = read_soap_message(
            response_type.as_deref(),
            body,
            limits.body_bytes_max,
            limits.multipart,
            sink,
        )
        .await
        .map_err(|e| match e {
            TransportError::Read(detail) => CallError::Exchange {
                url: url.to_owned(),
                detail,
            },
            _ if !status.is_success() => CallError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            },
            other => CallError::Unreadable {
                url: url.to_owned(),
                detail: other.to_string(),
            },
        })?;
        let unreadable = |detail: &dyn std::fmt::Display| CallError::Unreadable {
            url: url.to_owned(),
            detail: detail.to_string(),
        };
        let options = EnvelopeOptions {
            limits: EnvelopeLimits {
                envelope_bytes_max: usize::try_from(limits.body_bytes_max).unwrap_or(usize::MAX),
                body_text_bytes_max: limits.body_text_bytes_max,
                ..EnvelopeLimits::default()
            },
            ..EnvelopeOptions::default()
        };
        let envelope =
            soap::parse_envelope(&framed.envelope, &options).map_err(|e| unreadable(&e))?;
        if let Some(fault) = soap::received::fault(&envelope.body).map_err(|e| unreadable(&e))? {
            return Err(CallError::Fault {
                url: url.to_owned(),
                fault,
            });
        }
        let message = crate::edge::parse_body(&envelope.body).map_err(|e| unreadable(&e))?;
        Ok(Answer {
            message,
            attachments: framed.attachments,
        })
    }
}

/// An error with its causes, for the log ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

//! Response envelopes and SOAP 1.2 faults.
//!
//! Job: wrap a response body (bytes from the `xds-model` serializer) in a SOAP 1.2 envelope
//! with the WS-Addressing headers of a response, and build SOAP 1.2 faults (Part 1 §5.4) with
//! an optional subcode such as `wsse:InvalidSecurity`, for which the fault action of
//! WS-Addressing is used.
//!
//! Invariants:
//! - Deterministic: the caller supplies every id; no randomness, no clock.
//! - All text (ids, actions, reasons, qnames) is escaped; only `body` and `detail` are copied
//!   as given, and they must be well-formed XML from our own serializers (never client input).
//! - Output is UTF-8 without an XML declaration, so it can be the root part of an MTOM message
//!   or a plain `application/soap+xml` body.

use crate::xml::{escape_into, is_ascii_ncname};
use crate::{FAULT_ACTION, ns};

/// The WS-Addressing headers of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHeaders<'a> {
    /// `wsa:Action`, e.g. `urn:ihe:iti:2007:RegistryStoredQueryResponse`.
    pub action: &'a str,
    /// `wsa:MessageID` of this response, chosen by the caller (e.g. `urn:uuid:...`).
    pub message_id: &'a str,
    /// `wsa:RelatesTo`: the request's `wsa:MessageID`, if it had one.
    pub relates_to: Option<&'a str>,
}

/// The WS-Addressing headers of a request this service sends to another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeaders<'a> {
    /// `wsa:Action`, e.g. `urn:ihe:iti:2007:RegisterDocumentSet-b`.
    pub action: &'a str,
    /// `wsa:MessageID` of this request, chosen by the caller.
    pub message_id: &'a str,
    /// `wsa:To`: the endpoint URL.
    pub to: &'a str,
}

/// `wsa:ReplyTo` of a request answered on the same HTTP exchange.
const ANONYMOUS: &str = "http://www.w3.org/2005/08/addressing/anonymous";

/// A whole request envelope: the WS-Addressing headers (`wsa:Action` with mustUnderstand,
/// `wsa:MessageID`, `wsa:To`, an anonymous `wsa:ReplyTo`), then `header_blocks` as given (a
/// `wsse:Security` with a verified card, our own headers), then `body`. Like `body`, every
/// header block must be a well-formed, self-contained element (all prefixes it uses declared
/// on it).
pub fn write_request_envelope(
    headers: &RequestHeaders<'_>,
    header_blocks: &[&[u8]],
    body: &[u8],
) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(body.len() + header_blocks.iter().map(|b| b.len()).sum::<usize>() + 768);
    open_envelope(&mut out);
    out.extend_from_slice(b"<soap:Header><wsa:Action soap:mustUnderstand=\"true\">");
    escape_into(&mut out, headers.action);
    out.extend_from_slice(b"</wsa:Action><wsa:MessageID>");
    escape_into(&mut out, headers.message_id);
    out.extend_from_slice(b"</wsa:MessageID><wsa:To>");
    escape_into(&mut out, headers.to);
    out.extend_from_slice(b"</wsa:To><wsa:ReplyTo><wsa:Address>");
    out.extend_from_slice(ANONYMOUS.as_bytes());
    out.extend_from_slice(b"</wsa:Address></wsa:ReplyTo>");
    for block in header_blocks {
        out.extend_from_slice(block);
    }
    out.extend_from_slice(b"</soap:Header><soap:Body>");
    out.extend_from_slice(body);
    out.extend_from_slice(ENVELOPE_TAIL);
    out
}

/// What closes an envelope opened by [`write_envelope_head`].
pub const ENVELOPE_TAIL: &[u8] = b"</soap:Body></soap:Envelope>";

/// Writes the envelope up to and including `<soap:Body>`; the caller then appends the body
/// and [`ENVELOPE_TAIL`] (useful to stream a large body).
pub fn write_envelope_head(headers: &ResponseHeaders<'_>, out: &mut Vec<u8>) {
    open_envelope(out);
    out.extend_from_slice(b"<soap:Header>");
    write_addressing(out, headers.action, headers);
    out.extend_from_slice(b"</soap:Header><soap:Body>");
}

/// A whole response envelope around `body`.
pub fn write_envelope(headers: &ResponseHeaders<'_>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 512);
    write_envelope_head(headers, &mut out);
    out.extend_from_slice(body);
    out.extend_from_slice(ENVELOPE_TAIL);
    out
}

fn open_envelope(out: &mut Vec<u8>) {
    out.extend_from_slice(b"<soap:Envelope xmlns:soap=\"");
    out.extend_from_slice(ns::SOAP12.as_bytes());
    out.extend_from_slice(b"\" xmlns:wsa=\"");
    out.extend_from_slice(ns::WSA.as_bytes());
    out.extend_from_slice(b"\">");
}

fn write_addressing(out: &mut Vec<u8>, action: &str, headers: &ResponseHeaders<'_>) {
    out.extend_from_slice(b"<wsa:Action soap:mustUnderstand=\"true\">");
    escape_into(out, action);
    out.extend_from_slice(b"</wsa:Action><wsa:MessageID>");
    escape_into(out, headers.message_id);
    out.extend_from_slice(b"</wsa:MessageID>");
    if let Some(relates_to) = headers.relates_to {
        out.extend_from_slice(b"<wsa:RelatesTo>");
        escape_into(out, relates_to);
        out.extend_from_slice(b"</wsa:RelatesTo>");
    }
}

/// SOAP 1.2 fault codes (Part 1 §5.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    VersionMismatch,
    MustUnderstand,
    DataEncodingUnknown,
    Sender,
    Receiver,
}

impl FaultCode {
    /// The local name in the SOAP envelope namespace.
    pub fn local_name(self) -> &'static str {
        match self {
            FaultCode::VersionMismatch => "VersionMismatch",
            FaultCode::MustUnderstand => "MustUnderstand",
            FaultCode::DataEncodingUnknown => "DataEncodingUnknown",
            FaultCode::Sender => "Sender",
            FaultCode::Receiver => "Receiver",
        }
    }

    /// HTTP status of a fault with this code (SOAP 1.2 Part 2 §7.5.1.2): 400 for
    /// `soap:Sender`, 500 for every other code, as INTERFACE.md promises for sender and
    /// receiver faults.
    pub fn http_status(self) -> u16 {
        match self {
            FaultCode::Sender => 400,
            _ => 500,
        }
    }
}

/// A fault subcode QName with its namespace, declared where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subcode<'a> {
    pub namespace: &'a str,
    /// Must be an NCName other than `soap`, `xml` and `xmlns`.
    pub prefix: &'a str,
    pub local_name: &'a str,
}

impl Subcode<'static> {
    /// WS-Security 1.0 §12 fault codes (INTERFACE.md: requests without a valid ID card).
    pub const WSSE_UNSUPPORTED_SECURITY_TOKEN: Subcode<'static> =
        Subcode::wsse("UnsupportedSecurityToken");
    pub const WSSE_INVALID_SECURITY: Subcode<'static> = Subcode::wsse("InvalidSecurity");
    pub const WSSE_INVALID_SECURITY_TOKEN: Subcode<'static> = Subcode::wsse("InvalidSecurityToken");
    pub const WSSE_FAILED_AUTHENTICATION: Subcode<'static> = Subcode::wsse("FailedAuthentication");
    pub const WSSE_FAILED_CHECK: Subcode<'static> = Subcode::wsse("FailedCheck");
    pub const WSSE_SECURITY_TOKEN_UNAVAILABLE: Subcode<'static> =
        Subcode::wsse("SecurityTokenUnavailable");

    const fn wsse(local_name: &'static str) -> Self {
        Subcode {
            namespace: ns::WSSE,
            prefix: "wsse",
            local_name,
        }
    }
}

/// A SOAP 1.2 fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault<'a> {
    pub code: FaultCode,
    pub subcode: Option<Subcode<'a>>,
    /// Human-readable reason, written as `soap:Text xml:lang="en"`.
    pub reason: &'a str,
    /// Contents of `soap:Detail`, as well-formed XML from our own serializer.
    pub detail: Option<&'a [u8]>,
    /// For `MustUnderstand` faults: the `(namespace, local name)` of each header not
    /// understood, written as `soap:NotUnderstood` header blocks (Part 1 §5.4.8).
    pub not_understood: &'a [(&'a str, &'a str)],
}

impl<'a> Fault<'a> {
    /// A fault with a code and a reason only.
    pub fn new(code: FaultCode, reason: &'a str) -> Self {
        Fault {
            code,
            subcode: None,
            reason,
            detail: None,
            not_understood: &[],
        }
    }
}

/// Why a fault could not be written (a bug in the caller's constants, not client input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultWriteError {
    #[error("`{name}` is not usable as a prefix or local name of a fault QName")]
    InvalidQName { name: String },
}

/// Writes a whole fault envelope. `headers.action` is ignored: a fault always carries
/// [`FAULT_ACTION`].
pub fn write_fault(
    fault: &Fault<'_>,
    headers: &ResponseHeaders<'_>,
) -> Result<Vec<u8>, FaultWriteError> {
    let check = |name: &str, is_prefix: bool| {
        let reserved = is_prefix && matches!(name, "soap" | "xml" | "xmlns");
        if is_ascii_ncname(name) && !reserved {
            Ok(())
        } else {
            Err(FaultWriteError::InvalidQName {
                name: name.to_string(),
            })
        }
    };
    if let Some(subcode) = &fault.subcode {
        check(subcode.prefix, true)?;
        check(subcode.local_name, false)?;
    }
    for (_, local_name) in fault.not_understood {
        check(local_name, false)?;
    }

    let mut out = Vec::with_capacity(1024);
    open_envelope(&mut out);
    out.extend_from_slice(b"<soap:Header>");
    if fault.code == FaultCode::VersionMismatch {
        out.extend_from_slice(
            b"<soap:Upgrade><soap:SupportedEnvelope qname=\"soap:Envelope\"/></soap:Upgrade>",
        );
    }
    for (namespace, local_name) in fault.not_understood {
        out.extend_from_slice(b"<soap:NotUnderstood xmlns:nu=\"");
        escape_into(&mut out, namespace);
        out.extend_from_slice(b"\" qname=\"nu:");
        out.extend_from_slice(local_name.as_bytes());
        out.extend_from_slice(b"\"/>");
    }
    write_addressing(&mut out, FAULT_ACTION, headers);
    out.extend_from_slice(b"</soap:Header><soap:Body><soap:Fault><soap:Code><soap:Value>soap:");
    out.extend_from_slice(fault.code.local_name().as_bytes());
    out.extend_from_slice(b"</soap:Value>");
    if let Some(subcode) = &fault.subcode {
        out.extend_from_slice(b"<soap:Subcode><soap:Value xmlns:");
        out.extend_from_slice(subcode.prefix.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_into(&mut out, subcode.namespace);
        out.extend_from_slice(b"\">");
        out.extend_from_slice(subcode.prefix.as_bytes());
        out.push(b':');
        out.extend_from_slice(subcode.local_name.as_bytes());
        out.extend_from_slice(b"</soap:Value></soap:Subcode>");
    }
    out.extend_from_slice(b"</soap:Code><soap:Reason><soap:Text xml:lang=\"en\">");
    escape_into(&mut out, fault.reason);
    out.extend_from_slice(b"</soap:Text></soap:Reason>");
    if let Some(detail) = fault.detail {
        out.extend_from_slice(b"<soap:Detail>");
        out.extend_from_slice(detail);
        out.extend_from_slice(b"</soap:Detail>");
    }
    out.extend_from_slice(b"</soap:Fault>");
    out.extend_from_slice(ENVELOPE_TAIL);
    Ok(out)
}

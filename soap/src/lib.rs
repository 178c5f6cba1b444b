//! SOAP 1.2 framing for the XDS endpoints.
//!
//! Owns: the SOAP 1.2 envelope with its WS-Addressing headers, the `wsse:Security` header kept
//! as its exact bytes for signature verification, the consent-override headers, SOAP faults,
//! the HTTP `Content-Type` of SOAP and MTOM requests, and a streaming MTOM/XOP
//! multipart/related reader and writer.
//!
//! Modules:
//! - [`envelope`]: parse a SOAP 1.2 envelope borrowed from the request bytes ([`Envelope`]).
//! - [`consent`]: typed consent override from `dds:ConsentOverride` or `hsuid:HsuidHeader`.
//! - [`writer`]: response and request envelopes, and SOAP 1.2 faults.
//! - [`content_type`]: the `Content-Type` header of a request.
//! - [`multipart`]: push-style MTOM/XOP reader fed with byte chunks.
//! - [`cid`]: Content-ID normalisation and `xop:Include` reference resolution.
//! - [`mtom_writer`]: streaming MTOM writer.
//! - [`received`]: what another service answered (a fault, a value header), for our own calls.
//!
//! Invariants:
//! - No I/O, no async, no randomness, no clock: bytes in, typed values or typed errors out.
//! - The multipart reader is fed byte chunks and hands attachment bytes on as they arrive
//!   (borrowed from the chunk), so a document never has to sit whole in memory.
//! - Every input limit is a named constant in [`limits`] and is enforced while reading.
//! - Any DOCTYPE is rejected; nothing is ever fetched or expanded.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod cid;
pub mod consent;
pub mod content_type;
pub mod envelope;
#[doc(hidden)]
pub mod invariants;
pub mod limits;
pub mod mtom_writer;
pub mod multipart;
pub mod received;
pub mod writer;
mod xml;

pub use cid::{ContentId, XopError, XopResolution, resolve_xop_references};
pub use consent::{ConsentOverride, ConsentOverrideError, OverrideSource};
pub use content_type::{ContentType, ContentTypeError, MultipartRelated, SoapContentType};
pub use envelope::{
    Addressing, ElementSlice, Envelope, EnvelopeError, EnvelopeOptions, HeaderBlock,
    NamespaceBinding, parse_envelope,
};
pub use limits::{EnvelopeLimits, MultipartLimits};
pub use mtom_writer::{MtomWriteError, MtomWriter};
pub use multipart::{
    Event, Feed, MultipartError, MultipartReader, PartHeaders, PartStart, TransferEncoding,
};
pub use received::{ReceivedFault, TextError};
pub use writer::{
    Fault, FaultCode, FaultWriteError, RequestHeaders, ResponseHeaders, Subcode,
    write_request_envelope,
};

/// Namespaces and URIs this crate needs beyond [`xds_model::vocabulary::ns`].
///
/// Spelled here (not in `xds-model`) because only the SOAP layer uses them.
pub mod ns {
    pub use xds_model::vocabulary::ns::*;

    /// SOAP 1.1 envelope namespace; only recognised in order to answer `VersionMismatch`.
    pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    /// The DDS-accepted Danish override header (INTERFACE.md "Consent override").
    pub const HSUID: &str = "http://www.nsi.dk/hsuid/2016/08/hsuid-1.1.xsd";
    /// DGWS `medcom:Header` (DK-PROFILE.md §2).
    pub const MEDCOM: &str = "http://www.medcom.dk/dgws/2006/04/dgws-1.0.xsd";
    /// DGWS SOSI namespace (DK-PROFILE.md §2).
    pub const SOSI: &str = "http://www.sosi.dk/sosi/2006/04/sosi-1.0.xsd";
}

/// `wsa:Action` of every SOAP fault (WS-Addressing 1.0 SOAP Binding §6).
pub const FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";

/// SOAP 1.2 roles (SOAP 1.2 Part 1 §2.2) a header can be targeted at.
pub mod role {
    pub const NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
    pub const NONE: &str = "http://www.w3.org/2003/05/soap-envelope/role/none";
    pub const ULTIMATE_RECEIVER: &str =
        "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";
}

/// Header namespaces the DDS server processes: what a server passes as
/// [`EnvelopeOptions::understood_namespaces`] unless it knows better.
pub const UNDERSTOOD_NAMESPACES: &[&str] = &[
    ns::WSA,
    ns::WSSE,
    ns::WSU,
    ns::DDS,
    ns::HSUID,
    ns::MEDCOM,
    ns::SOSI,
];

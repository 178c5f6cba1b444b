//! `dds:OriginalCaller`: the card of the caller on whose behalf this service calls another.
//!
//! When a repository registers a submission with its registry (ITI-42), or a service forwards an
//! ITI-43 to another repository, it authenticates with its own system card in `wsse:Security`
//! (the receiver's policy decides what *the service* may do), and carries the caller along in
//! this header, so the receiver can log and audit who the request is really for:
//!
//! ```xml
//! <dds:OriginalCaller xmlns:dds="urn:dds:2026">BASE64</dds:OriginalCaller>
//! ```
//!
//! `BASE64` is the caller's `wsse:Security` element exactly as the first service verified it
//! (self-contained, see [`repository::CallerCard`]), base64-encoded like the
//! `Authorization: SAML` of the JSON APIs, so that it cannot be confused with the envelope's
//! own `wsse:Security` and survives any re-serialisation byte for byte. The header is not
//! `mustUnderstand`: a receiver that ignores it still processes the request under the service's
//! own card.
//!
//! A receiver reads it with [`read`], which verifies the card with the receiver's own trust
//! store, exactly like an incoming `wsse:Security`: it is a claim the receiver checks, never
//! one it takes on trust.

use base64::Engine;
use identity::{Caller, Rejection, Verifier};
use repository::CallerCard;
use soap::{Envelope, TextError};
use time::OffsetDateTime;
use xds_model::vocabulary::ns;

/// Local name of the header (namespace `urn:dds:2026`).
pub const LOCAL_NAME: &str = "OriginalCaller";

/// The header block for `caller`.
pub fn header_block(caller: &CallerCard) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(caller.security_header());
    format!(
        "<dds:{LOCAL_NAME} xmlns:dds=\"{dds}\">{encoded}</dds:{LOCAL_NAME}>",
        dds = ns::DDS
    )
}

/// Why a `dds:OriginalCaller` header was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum OriginalCallerError {
    #[error("the request carries more than one dds:OriginalCaller header")]
    Duplicate,
    #[error("dds:OriginalCaller is malformed: {0}")]
    Text(#[from] TextError),
    #[error("dds:OriginalCaller is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("the card in dds:OriginalCaller is not accepted: {0}")]
    Rejected(#[from] Rejection),
}

/// The original caller a request names, verified; `None` when it names none.
pub fn read(
    envelope: &Envelope<'_>,
    verifier: &Verifier,
    now: OffsetDateTime,
) -> Option<Result<Caller, OriginalCallerError>> {
    let mut headers = envelope.headers_named(ns::DDS, LOCAL_NAME);
    let header = headers.next()?;
    if headers.next().is_some() {
        return Some(Err(OriginalCallerError::Duplicate));
    }
    Some((|| {
        let text = soap::received::element_text(&header.element)?;
        let compact: String = text.split_ascii_whitespace().collect();
        let card = base64::engine::general_purpose::STANDARD.decode(compact)?;
        Ok(verifier.verify(&card, &[], now)?)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity::{CardRequest, DevSts, Role, TrustStore, VerifyConfig};
    use soap::{EnvelopeOptions, RequestHeaders};

    #[test]
    fn the_original_caller_travels_and_verifies_at_the_receiver() {
        let data = tempfile::tempdir().unwrap();
        let sts = DevSts::open_or_create(data.path()).unwrap();
        let mut doctor = CardRequest::new(Role::Doctor);
        doctor.cpr = Some("0101011234".into());
        doctor.org_sor = Some("123456789012345".into());
        let card = sts.issue(&doctor).unwrap();
        let caller = CallerCard::new(identity::security_header(&card, OffsetDateTime::now_utc()));
        let block = header_block(&caller);
        let envelope = soap::write_request_envelope(
            &RequestHeaders {
                action: "urn:ihe:iti:2007:RegisterDocumentSet-b",
                message_id: "urn:uuid:1",
                to: "http://registry.example/xds/registry",
            },
            &[block.as_bytes()],
            b"<x:Body xmlns:x=\"urn:x\"/>",
        );
        let parsed = soap::parse_envelope(&envelope, &EnvelopeOptions::default()).unwrap();
        let verifier = Verifier::new(TrustStore::with_dev_sts(&sts), VerifyConfig::default());
        let original = read(&parsed, &verifier, OffsetDateTime::now_utc())
            .unwrap()
            .unwrap();
        assert_eq!(original.role, Role::Doctor);
        assert_eq!(original.cpr(), Some("0101011234"));

        // Another STS's verifier does not take it on trust.
        let other = tempfile::tempdir().unwrap();
        let other_sts = DevSts::open_or_create(other.path()).unwrap();
        let stranger = Verifier::new(
            TrustStore::with_dev_sts(&other_sts),
            VerifyConfig::default(),
        );
        assert!(matches!(
            read(&parsed, &stranger, OffsetDateTime::now_utc()),
            Some(Err(OriginalCallerError::Rejected(_)))
        ));
    }
}

//! Why an ID card (or a request made with one) was turned away.
//!
//! One variant per cause, so the rejected-attempt record and the metrics can count causes.
//! Messages say what was wrong without echoing card contents: no CPR numbers, names or
//! signature bytes ever appear in a `Rejection`'s text (the rejected-attempt record gets the
//! claimed subject separately, from [`crate::claimed_subject`]).

use crate::caller::Role;
use crate::policy::Operation;

/// The WS-Security 1.0 fault subcode a rejection is answered with (SOAP 1.2 `Code/Subcode`,
/// `Code/Value` being `soap:Sender`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultSubcode {
    /// `wsse:InvalidSecurity`: the `wsse:Security` header could not be processed (missing,
    /// malformed, structurally unacceptable).
    InvalidSecurity,
    /// `wsse:InvalidSecurityToken`: the ID card itself is unacceptable (expired, wrong
    /// algorithm, missing attributes).
    InvalidSecurityToken,
    /// `wsse:FailedAuthentication`: the card could not be authenticated (bad signature,
    /// untrusted issuer) or does not authorise the operation.
    FailedAuthentication,
}

impl FaultSubcode {
    /// The qualified name as it goes on the wire, with the conventional `wsse` prefix.
    pub fn qname(self) -> &'static str {
        match self {
            FaultSubcode::InvalidSecurity => "wsse:InvalidSecurity",
            FaultSubcode::InvalidSecurityToken => "wsse:InvalidSecurityToken",
            FaultSubcode::FailedAuthentication => "wsse:FailedAuthentication",
        }
    }

    /// The local part (namespace: `crate::ns::WSSE`).
    pub fn local_name(self) -> &'static str {
        match self {
            FaultSubcode::InvalidSecurity => "InvalidSecurity",
            FaultSubcode::InvalidSecurityToken => "InvalidSecurityToken",
            FaultSubcode::FailedAuthentication => "FailedAuthentication",
        }
    }
}

/// A rejected ID card or a refused operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error("the request carries no wsse:Security header")]
    HeaderMissing,
    #[error("the wsse:Security header carries no saml:Assertion ID card")]
    AssertionMissing,
    #[error("the wsse:Security header is larger than {limit_bytes} bytes")]
    HeaderTooLarge { limit_bytes: usize },
    #[error("the wsse:Security header is not acceptable XML: {0}")]
    Malformed(String),
    #[error("a DOCTYPE declaration is not allowed in the wsse:Security header")]
    DoctypeForbidden,
    #[error("the ID card carries no ds:Signature")]
    SignatureMissing,
    #[error("the wsse:Security header carries more than one ds:Signature")]
    MultipleSignatures,
    #[error("the ds:Signature is not the last child of the ID card assertion")]
    SignatureMisplaced,
    #[error("the ID card signature does not verify: {0}")]
    SignatureInvalid(&'static str),
    #[error("the signature's Reference does not point to the ID card assertion's own id")]
    ReferenceMismatch,
    #[error("the signed element is not the ID card that would be read: {0}")]
    Wrapping(&'static str),
    #[error("the id value {0:?} occurs on more than one element")]
    DuplicateId(String),
    #[error("the wsse:Security header carries more than one assertion")]
    MultipleAssertions,
    #[error("algorithm not allowed for the ID card's {role}: {uri}")]
    AlgorithmNotAllowed { role: &'static str, uri: String },
    #[error("the ID card has expired")]
    Expired,
    #[error("the ID card is not yet valid")]
    NotYetValid,
    #[error("the ID card is valid for longer than 24 hours")]
    LifetimeTooLong,
    #[error("the ID card is not signed by a trusted STS")]
    UntrustedIssuer,
    #[error("the ID card lacks the required {0}")]
    MissingAttribute(&'static str),
    #[error("the ID card's {name} is not acceptable: {why}")]
    InvalidAttribute {
        name: &'static str,
        why: &'static str,
    },
    #[error("the ID card's user role is not one this service knows")]
    UnknownRole,
    #[error("role {role} may not {operation}")]
    NotAuthorized { role: Role, operation: Operation },
    #[error("the caller may only {operation} concerning their own CPR")]
    NotOwnData { operation: Operation },
}

impl Rejection {
    /// The WS-Security fault subcode this rejection is answered with.
    pub fn fault_subcode(&self) -> FaultSubcode {
        use Rejection::*;
        match self {
            HeaderMissing
            | AssertionMissing
            | HeaderTooLarge { .. }
            | Malformed(_)
            | DoctypeForbidden
            | MultipleSignatures
            | SignatureMisplaced
            | ReferenceMismatch
            | Wrapping(_)
            | DuplicateId(_)
            | MultipleAssertions => FaultSubcode::InvalidSecurity,
            SignatureMissing
            | AlgorithmNotAllowed { .. }
            | Expired
            | NotYetValid
            | LifetimeTooLong
            | MissingAttribute(_)
            | InvalidAttribute { .. }
            | UnknownRole => FaultSubcode::InvalidSecurityToken,
            SignatureInvalid(_) | UntrustedIssuer | NotAuthorized { .. } | NotOwnData { .. } => {
                FaultSubcode::FailedAuthentication
            }
        }
    }

    /// The DGWS `medcom:FaultCode` (DK-PROFILE.md §2) for clients that read the DGWS detail.
    pub fn medcom_fault_code(&self) -> &'static str {
        use Rejection::*;
        match self {
            HeaderMissing | AssertionMissing => "missing_required_header",
            HeaderTooLarge { .. } | Malformed(_) | DoctypeForbidden => "syntax_error",
            SignatureMissing
            | MultipleSignatures
            | SignatureMisplaced
            | SignatureInvalid(_)
            | ReferenceMismatch
            | Wrapping(_)
            | DuplicateId(_)
            | MultipleAssertions
            | AlgorithmNotAllowed { .. } => "invalid_signature",
            Expired | NotYetValid => "expired_idcard",
            LifetimeTooLong | MissingAttribute(_) | InvalidAttribute { .. } | UnknownRole => {
                "invalid_idcard"
            }
            UntrustedIssuer => "invalid_certificate",
            NotAuthorized { .. } | NotOwnData { .. } => "not_authorized",
        }
    }

    /// A short stable name of the cause, for metrics labels and the rejected-attempt record.
    pub fn kind(&self) -> &'static str {
        use Rejection::*;
        match self {
            HeaderMissing => "header_missing",
            AssertionMissing => "assertion_missing",
            HeaderTooLarge { .. } => "header_too_large",
            Malformed(_) => "malformed",
            DoctypeForbidden => "doctype_forbidden",
            SignatureMissing => "signature_missing",
            MultipleSignatures => "multiple_signatures",
            SignatureMisplaced => "signature_misplaced",
            SignatureInvalid(_) => "signature_invalid",
            ReferenceMismatch => "reference_mismatch",
            Wrapping(_) => "wrapping",
            DuplicateId(_) => "duplicate_id",
            MultipleAssertions => "multiple_assertions",
            AlgorithmNotAllowed { .. } => "algorithm_not_allowed",
            Expired => "expired",
            NotYetValid => "not_yet_valid",
            LifetimeTooLong => "lifetime_too_long",
            UntrustedIssuer => "untrusted_issuer",
            MissingAttribute(_) => "missing_attribute",
            InvalidAttribute { .. } => "invalid_attribute",
            UnknownRole => "unknown_role",
            NotAuthorized { .. } => "not_authorized",
            NotOwnData { .. } => "not_own_data",
        }
    }
}

//! Caller identity from signed ID cards.
//!
//! This crate verifies the DGWS/SOSI ID card (a SAML 2.0 `saml:Assertion` with an enveloped
//! XML signature) in a request's `wsse:Security` header and turns it into a [`Caller`]; it
//! decides with a [`Policy`] whether that caller may do an [`Operation`]; and it runs the
//! development STS ([`DevSts`]) of a data dir.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use identity::{CardRequest, DevSts, Operation, Policy, Role, TrustStore, Verifier};
//! let sts = DevSts::open_or_create(std::path::Path::new("./data"))?;
//! let mut request = CardRequest::new(Role::Doctor);
//! request.cpr = Some("0101011234".into());
//! request.org_sor = Some("123456789012345".into());
//! let card = sts.issue(&request)?;
//! let header = identity::security_header(&card, time::OffsetDateTime::now_utc());
//!
//! let verifier = Verifier::new(TrustStore::with_dev_sts(&sts), Default::default());
//! let caller = verifier.verify(header.as_bytes(), &[], time::OffsetDateTime::now_utc())?;
//! Policy::default().authorize(&caller, Operation::Query, Some("0202021234"))?;
//! # Ok(()) }
//! ```
//!
//! # How the card carries what we read
//!
//! DK-PROFILE.md §2 layout (DGWS 1.0.1). Attribute names are compared as literal strings, as
//! every DGWS implementation does.
//! - Person: `medcom:UserCivilRegistrationNumber` (must equal `saml:NameID` when its format is
//!   `medcom:cprnumber`), `medcom:UserGivenName`, `medcom:UserSurName`.
//! - Role: a system card (`sosi:IDCardType` = `system`, `NameID` format `medcom:cvrnumber`,
//!   no user attributes) is [`Role::System`]. A user card names its role in `medcom:UserRole`:
//!   `doctor`, `nurse`, `secretary`, `citizen`, `admin`, or the Danish words national STSs use
//!   (see [`Role::from_user_role`]); anything else is [`Rejection::UnknownRole`].
//! - Organisation: `medcom:CareProviderID` with `NameFormat` `medcom:sornumber` and/or
//!   `medcom:cvrnumber` (at most one of each), `medcom:CareProviderName`. Required for health
//!   professionals and systems.
//! - `medcom:UserAuthorizationCode`, `medcom:ITSystemName`: optional.
//! - On behalf of: `dds:OnBehalfOfCivilRegistrationNumber` (ours; DGWS has no such attribute,
//!   HSUID's equivalent is `nsi:ResponsibleUserCivilRegistrationNumber`), a CPR.
//!
//! Invariants:
//! - The assertion the business logic reads is exactly the element the signature covers: the
//!   values of a [`Caller`] are read from the node the XML-DSig library resolved its one
//!   reference to, in the same DOM it hashed (see `verify`'s module docs for every check).
//! - Only keys of the [`TrustStore`] verify a card; the key a card carries is never trusted.
//! - Nothing downstream re-reads card XML.
//! - Every rejection is a [`Rejection`] variant naming its cause, with the WS-Security fault
//!   subcode it is answered with; its message never contains card contents.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
mod caller;
mod error;
pub mod ns;
mod policy;
mod scan;
mod sts;
mod trust;
mod verify;

pub use caller::{Caller, Organisation, Person, Role};
pub use error::{FaultSubcode, Rejection};
pub use policy::{Operation, Policy};
pub use scan::{
    ClaimedSubject, SECURITY_HEADER_BYTES_MAX, XML_DEPTH_MAX, XML_ELEMENTS_MAX, claimed_subject,
    standalone_security_header,
};
pub use sts::{
    CardRequest, DEV_STS_NAME, DevSts, STS_CERT_FILE, STS_KEY_FILE, StsError, security_header,
    signature_template,
};
pub use trust::{TrustStore, TrustStoreError, TrustedCert};
pub use verify::{CARD_LIFETIME_MAX, CLOCK_SKEW_MAX, Verifier, VerifyConfig};

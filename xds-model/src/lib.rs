//! The shared metadata model of the document registry and repository.
//!
//! `xds-model` owns three layers, each built on the one before:
//! - [`rim`]: the ebRIM 3.0 registry objects exactly as they travel (`ExtrinsicObject`,
//!   `RegistryPackage`, `Association`, `Classification`, `ExternalIdentifier`, `Slot`,
//!   `ObjectRef`, localized names), with an XML codec that reads and writes them.
//! - [`xds`]: the IHE XDS.b views over those objects (`DocumentEntry`, `SubmissionSet`,
//!   `Folder`, `Association` types), converted both ways without loss: slots and
//!   classifications the view does not know are carried along untouched.
//! - [`message`]: the request and response bodies of ITI-18, ITI-41, ITI-42, ITI-43, ITI-51,
//!   ITI-57 and ITI-62, with [`message::parse_message`] as the one entry point for a SOAP
//!   body, and the typed stored-query parameter values ([`message::query_value`]).
//!
//! Under them: [`xml`], the bounded namespace-aware reader and the compact writer every codec
//! uses, and [`codec`], the ebRIM object codec.
//!
//! Invariants:
//! - No I/O and no async: bytes in, typed values or a typed error out.
//! - Every parser enforces the limits in [`limits`] while it reads, and rejects any DOCTYPE.
//! - The vocabulary of XDS (scheme UUIDs, status URNs, error codes) is spelled once, in
//!   [`vocabulary`].
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod codec;
pub mod limits;
pub mod message;
pub mod rim;
pub mod vocabulary;
pub mod xds;
pub mod xml;

pub use xml::ParseError;

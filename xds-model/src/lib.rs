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
//!   ITI-57 and ITI-62.
//!
//! Invariants:
//! - No I/O and no async: bytes in, typed values or a typed error out.
//! - Every parser enforces the limits in [`limits`] while it reads, and rejects any DOCTYPE.
//! - The vocabulary of XDS (scheme UUIDs, status URNs, error codes) is spelled once, in
//!   [`vocabulary`].
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod limits;
pub mod rim;
pub mod vocabulary;

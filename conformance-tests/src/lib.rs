//! Conformance scenarios against the real server.
//!
//! A scenario runner that starts `dds serve` in-process on `127.0.0.1:0` with a throw-away data
//! directory and speaks SOAP 1.2 to `/xds/registry`, with one scenario per NIST XDS registry
//! test it mirrors (register, stored query, metadata update, delete): purpose, requests, and
//! assertions on status, error codes and the resulting state. The scenarios live in `tests/`;
//! this library holds the machinery:
//!
//! - [`harness`]: the server, ID cards from its development STS, SOAP POSTs, row counts.
//! - [`metadata`]: ITI-42/57 submissions from the `samples/iti-42/register-apd.xml` template
//!   with fresh entryUUIDs and uniqueIds.
//! - [`envelope`]: request envelopes (stored queries, deletes).
//! - [`runner`]: [`Scenario`], [`Step`], [`Expect`] and the one runner, [`check`].
//!
//! ```no_run
//! use conformance_tests::{Card, Doc, Query, Scenario, Step, Submission, check, query_id};
//! # async fn run() {
//! let doc = Doc::new("0201919990");
//! check(Scenario {
//!     name: "register_then_get",
//!     purpose: "a registered DocumentEntry is found by its uniqueId",
//!     nist: Some("11966"),
//!     steps: vec![
//!         Step::new("register", Card::System, Submission::new("0201919990").doc(&doc).register())
//!             .succeeds(),
//!         Step::new(
//!             "get",
//!             Card::System,
//!             Query::new(query_id::GET_DOCUMENTS)
//!                 .list("$XDSDocumentEntryUniqueId", &[&doc.unique_id])
//!                 .envelope(),
//!         )
//!         .returns(&[&doc.entry_uuid]),
//!     ],
//! })
//! .await;
//! # }
//! ```
//!
//! Invariant: test infrastructure only; a panic here is a test failure, so `expect` on
//! setup is deliberate.

pub mod envelope;
pub mod harness;
pub mod metadata;
pub mod runner;

pub use envelope::{Query, query_id, remove_objects};
pub use harness::{Card, Harness};
pub use metadata::{Assoc, Doc, Folder, Submission, association, patient_id, status};
pub use runner::{Answer, Expect, Kind, Scenario, Step, check, check_configured, response_status};

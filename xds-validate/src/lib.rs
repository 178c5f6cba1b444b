//! Validation of XDS metadata against IHE ITI TF-3 and the Danish profile (DK-IHE).
//!
//! The job: given the ebRIM objects of one message and the transaction they arrived in, report
//! every broken rule of the [`CATALOGUE`] as a [`Finding`] that names the rule, its severity,
//! the XDS error code it becomes, the object (kind, id, uniqueId) and attribute, and says in
//! plain words what is wrong and what was expected.
//!
//! ```
//! use xds_model::rim::RegistryObjectList;
//! use xds_validate::{validate_submission, Transaction, ValidationConfig};
//!
//! let report = validate_submission(&RegistryObjectList::default(), Transaction::Iti42,
//!     &ValidationConfig::default());
//! assert!(report.rejects());
//! assert_eq!(report.error_codes(), ["XDSRegistryMetadataError"]);
//! ```
//!
//! Entry points:
//! - [`validate_submission`]: ITI-41/42/57 submissions, ITI-18 response metadata, ITI-62
//!   delete requests.
//! - [`validate_provide_and_register`]: ITI-41 with its attached documents.
//! - [`validate_adhoc_query_request`] / [`validate_query`]: ITI-18 and ITI-51 requests.
//!
//! It works on `xds_model::rim` objects, not on the typed XDS views, so that what a view would
//! hide (two classCodes, a slot sent twice, a classification pointing at another object) is
//! seen and reported. It works out by itself which RegistryPackage is the SubmissionSet and
//! which a Folder (see `index`).
//!
//! Invariants:
//! - Pure functions over `xds-model` values; no I/O, no state. It never rejects by itself: it
//!   reports, and the caller decides with [`Report::rejects`].
//! - Every rule is checked on every object; validation never stops at the first finding.
//! - Severities come only from [`ValidationConfig`] (transaction > rule > default).
//! - What needs stored state (does the replaced document exist, is PreviousVersion the latest,
//!   is the patient known) is the registry's to check, not this crate's.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod catalogue;
mod checks;
mod config;
pub mod format;
mod index;
mod query;
mod report;
mod severity;

use xds_model::rim::RegistryObjectList;

pub use catalogue::{CATALOGUE, Rule, rule};
pub use config::{ConfigError, ValidationConfig, ValidationConfigToml};
pub use query::{QueryParameter, validate_adhoc_query_request, validate_query};
pub use report::{Finding, ObjectKind, Report};
pub use severity::{Severity, Transaction};

/// The rules by constant, for callers that refer to one (e.g. to test for it).
pub mod rules {
    pub use crate::catalogue::*;
}

/// Validates the metadata of one message.
///
/// - ITI-41, ITI-42, ITI-57: a submission (`SubmitObjectsRequest/RegistryObjectList`).
/// - ITI-18: the `RegistryObjectList` of a query response (LeafClass).
/// - ITI-62: the `ObjectRefList` of a delete request, as `ObjectRef`s.
/// - ITI-43: carries no metadata; the report is empty.
pub fn validate_submission(
    list: &RegistryObjectList,
    tx: Transaction,
    cfg: &ValidationConfig,
) -> Report {
    let mut ctx = checks::Ctx::new(tx, cfg);
    match tx {
        Transaction::Iti43 => {}
        Transaction::Iti62 => checks::delete::check(&mut ctx, list),
        Transaction::Iti18 | Transaction::Iti41 | Transaction::Iti42 | Transaction::Iti57 => {
            let ix = index::Index::build(list);
            checks::structure::check(&mut ctx, &ix);
            checks::attributes::check(&mut ctx, &ix);
            checks::associations::check(&mut ctx, &ix);
            if tx == Transaction::Iti57 {
                checks::update::check(&mut ctx, &ix);
            }
            checks::dk::check(&mut ctx, &ix);
        }
    }
    Report {
        findings: ctx.findings,
    }
}

/// Validates an ITI-41 Provide and Register request: the metadata as
/// [`validate_submission`] with [`Transaction::Iti41`], plus that every DocumentEntry has an
/// attached document and every attached document a DocumentEntry. `attached_document_ids` are
/// the `xdsb:Document/@id` values. Hash and size are not compared here: the repository computes
/// them while it streams the document (XDSNonIdenticalHash/Size are its findings).
pub fn validate_provide_and_register(
    list: &RegistryObjectList,
    attached_document_ids: &[&str],
    cfg: &ValidationConfig,
) -> Report {
    let mut report = validate_submission(list, Transaction::Iti41, cfg);
    let mut ctx = checks::Ctx::new(Transaction::Iti41, cfg);
    let ix = index::Index::build(list);
    checks::structure::documents(&mut ctx, &ix, attached_document_ids);
    report.findings.extend(ctx.findings);
    report
}

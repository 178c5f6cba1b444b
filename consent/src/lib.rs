//! The citizen's consent: opt-out (frabedelse), blocks (Min Spærring) and override
//! (værdispring), decided by one pure function.
//!
//! This crate holds the directive model ([`Directives`], [`Block`], with the JSON form of
//! INTERFACE.md and [`parse_block`] for the consent API) and [`decide`], which answers for one
//! document whether an accessor may see it. Storage of directives is [`store`]; the JSON API
//! and the wiring into ITI-18 and ITI-43 live in `dds` (`consent_api`, `edge::consent_filter`).
//!
//! # Invariants
//! - **Pure, no I/O**: [`decide`] reads only its arguments; the caller passes `now`. The same
//!   inputs give the same [`Decision`] on every path.
//! - **Fails closed**: a document whose patient differs from the directives' patient, or an
//!   undated document under a period block, is withheld.
//! - A withheld document becomes visible only through an override, and an override never
//!   lifts an opt-out unless [`ConsentOptions::override_lifts_opt_out`] is set.
//! - A citizen always sees their own documents.
//! - Every [`Block`] value is valid (see [`directive`]), so `decide` never re-checks input.
//!
//! # Rules, in the order `decide` applies them
//! "Inside the authoring organisation" means: the accessor's SOR equals one of the document's
//! author institution SORs.
//!
//! | # | Condition | Decision |
//! |---|---|---|
//! | 1 | document's patient ≠ `patient_cpr` | Withhold `PatientMismatch` |
//! | 2 | citizen, own CPR | Allow (directives do not hide a citizen's data from themself) |
//! | 2 | citizen, another CPR | Withhold `NotOwnData` |
//! | 3 | opt-out registered, accessor outside every authoring organisation | Withhold `OptOut`, unless a valid override **and** `override_lifts_opt_out` (then lifted) |
//! | 4 | professional block on the accessor's CPR (or on the CPR it acts on behalf of) | hides |
//! | 4 | organisation block on a SOR among the author institutions, accessor not in that SOR | hides |
//! | 4 | period block `[from, to]` containing the document's UTC date (service start, else creation time; undated: always) | hides |
//! | 5 | some active block hides it | Withhold `Blocked` with their ids, unless a valid override (then `AllowedByOverride` listing them) |
//! | 6 | otherwise | Allow (or `AllowedByOverride` if rule 3 lifted the opt-out) |
//!
//! A block is *active* when `now`'s UTC date lies in its inclusive `valid_from..=valid_to`. A
//! *valid override* is an [`Override`] with a non-blank reason sent by a health professional.
//!
//! # Choices made here
//! - **Dates are UTC dates.** Period bounds, validity bounds and the document's time are
//!   compared as UTC calendar dates. Danish local time is 1–2 hours ahead, so a document
//!   timestamped between 00:00 and 02:00 Danish time falls on the previous UTC day. Chosen for
//!   determinism (no time-zone database in a pure crate); revisit with the product owner.
//! - **System cards** (no person) are treated like a professional of their organisation: the
//!   opt-out and organisation blocks apply by their SOR (a system known only by CVR is outside
//!   every organisation), period blocks apply, professional blocks cannot match, and they
//!   cannot override.
//! - **Admins** are not clinical readers: every directive applies to them as to an accessor
//!   outside every organisation, and they cannot override. (The edge is expected not to let
//!   admins query documents at all.)
//! - The opt-out's `since` is informational; a registered opt-out always applies.
//! - Author persons are not used: a professional block hides documents *from* the
//!   professional, not documents written by them.
//!
//! # Known limitations
//! - **SOR hierarchy**: DK-PROFILE says a block on an organisation includes its sub-units.
//!   This crate compares SOR codes exactly; it does not know the SOR tree. Until it does, the
//!   edge should put each author institution's known SOR ancestors into
//!   [`DocumentFacts::author_institution_sors`]; without them a document authored at a
//!   sub-unit of a blocked organisation is **not** hidden by that block.
//!
//! # How the edge uses it
//! - **ITI-18**: `decide` per DocumentEntry the answer reaches (`registry::restrict`); withheld
//!   ones are removed and the response gets the `DDSConsentFiltered` warning. SubmissionSets,
//!   Folders and Associations are returned only through visible members (an Association only
//!   if both ends are visible, a SubmissionSet or Folder only if it has a visible member or
//!   none), ObjectRef results included.
//! - **ITI-43**: `decide` per requested document (every version of its uniqueId) before any
//!   byte is read; a withheld one gets `DDSConsentBlocked`.
//! - A health professional's override is written to MinLog with its reason whenever it was
//!   sent (DOMAIN.md: the override itself is logged), with outcome `filtered` if something
//!   was still withheld.
//!
//! ```
//! use consent::*;
//! use time::macros::datetime;
//!
//! let directives = Directives {
//!     opt_out: None,
//!     blocks: vec![parse_block(r#"{"kind":"organisation","sor":"123"}"#)
//!         .unwrap()
//!         .with_id(BlockId("b1".into()))],
//! };
//! let document = DocumentFacts {
//!     patient_cpr: "0101011234".into(),
//!     author_institution_sors: vec!["123".into()],
//!     service_start: None,
//!     creation_time: Some(datetime!(2025-01-01 10:00 UTC)),
//! };
//! let doctor = Accessor::HealthProfessional {
//!     cpr: "0202021234".into(),
//!     organisation_sor: Some("999".into()),
//!     on_behalf_of: None,
//! };
//! let now = datetime!(2026-01-01 0:00 UTC);
//! let options = ConsentOptions::default();
//! let d = decide(&doctor, "0101011234", &document, &directives, None, now, &options);
//! assert!(!d.is_visible());
//! let urgent = Override { reason: "acute".into() };
//! let d = decide(&doctor, "0101011234", &document, &directives, Some(&urgent), now, &options);
//! assert_eq!(d, Decision::AllowedByOverride { lifted: vec![Lifted::Block(BlockId("b1".into()))] });
//! ```

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
mod decide;
pub mod directive;
pub mod store;

pub use decide::{
    Accessor, ConsentOptions, Decision, DocumentFacts, Lifted, Override, WithholdReason, decide,
};
pub use directive::{
    Block, BlockError, BlockId, BlockKind, Directives, NewBlock, OptOut, SOR_CHARS_MAX, parse_block,
};
pub use store::{ConsentStore, StoreError};

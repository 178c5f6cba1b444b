//! Full-text search over a patient's DocumentEntries: their metadata (title, code display
//! names, authors, institutions, comments) and the text of the documents themselves where this
//! process holds them and can read them (CDA narrative, plain text, XML).
//!
//! - [`analyzer`]: Danish tokenising, stemming and æøå folding, for documents and queries
//!   alike.
//! - [`extract`]: a document's text from its bytes.
//! - [`index`]: the tantivy index, searched in two steps so that documents withheld from the
//!   caller never influence the ranking or the snippets of what is shown.
//! - [`indexer`]: keeping the index in step with the registry's change log, crash-consistently
//!   (the index commit carries the change-log seq it includes).
//! - [`entry`]: what of a DocumentEntry is indexed.
//!
//! Invariants: knows nothing of SOAP, consent or MinLog (the edge filters and logs); the query
//! text never reaches a query parser, only the analyzer; the index is derived data, rebuildable
//! from the registry at any time.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod analyzer;
pub mod entry;
pub mod error;
pub mod extract;
pub mod index;
pub mod indexer;

pub use error::SearchError;
pub use index::{IndexOp, IndexedEntry, Matches, Ranked, SearchIndex};
pub use indexer::{DocumentSource, Indexer, Lag, NoDocuments};

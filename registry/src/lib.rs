//! The XDS.b document registry: durable metadata store, ITI-42 registration, ITI-57 metadata
//! update, ITI-62 delete, ITI-18 / ITI-51 stored queries.
//!
//! - [`store::RegistryStore`]: the backend-neutral trait the edge calls; [`sqlite`] is the
//!   embedded implementation, [`postgres`] the one several instances can share. Both run the
//!   same SQL (a crate-private engine generic over the sqlx database) and pass the same tests.
//! - [`submission`]: the ITI-42 rules shared by every backend (UUID assignment, patient policy,
//!   uniqueIds, references, RPLC / APND / XFRM / XFRM_RPLC / signs lifecycle).
//! - [`update`]: the ITI-57 rules (new versions of DocumentEntries and Folders with association
//!   propagation, availabilityStatus updates, added Folder memberships).
//! - [`delete`]: the ITI-62 rules (existence, no dangling associations).
//! - [`query`]: stored-query requests and their parameter checking.
//! - [`index`]: what is indexed about each object; [`dtm`]: time normalisation.
//! - [`error`]: typed errors, each mapped to its XDS error code.
//! - [`change`]: the change log, one row per DocumentEntry written, in commit order, for
//!   derived copies (the full-text index) to follow.
//! - [`visibility`]: withholding DocumentEntries (the caller's consent decision) from an
//!   answer, with every association, SubmissionSet and Folder that would reveal them.
//!
//! Stored queries (ITI-18 unless noted), all with `returnType` LeafClass or ObjectRef,
//! `$MetadataLevel` 1|2 (1 hides superseded versions, see [`query::MetadataLevel`]) and
//! `$homeCommunityId` accepted: FindDocuments,
//! FindDocumentsByReferenceId, FindSubmissionSets, FindFolders, GetAll, GetDocuments,
//! GetFolders, GetAssociations, GetDocumentsAndAssociations, GetSubmissionSets,
//! GetSubmissionSetAndContents, GetFolderAndContents, GetFoldersForDocument,
//! GetRelatedDocuments, and ITI-51 FindDocumentsForMultiplePatients /
//! FindFoldersForMultiplePatients. Parameters: see [`query::param`].
//!
//! ```no_run
//! # async fn run(list: xds_model::rim::RegistryObjectList) -> Result<(), Box<dyn std::error::Error>> {
//! use registry::{RegistryStore, SqliteRegistryStore, StoreConfig, RegisterOptions};
//! let store = SqliteRegistryStore::open("data/registry.db".as_ref(), StoreConfig::default()).await?;
//! match store.register(&list, RegisterOptions::default()).await {
//!     Ok(registered) => println!("stored {:?}", registered.stored),
//!     Err(rejection) => println!("{:?}", rejection.registry_errors()),
//! }
//! # Ok(()) }
//! ```
//!
//! Invariants: knows nothing of SOAP or HTTP; takes `xds-model` values and answers typed
//! results. A rejected registration stores nothing. Metadata rules that need no store are
//! `xds-validate`'s, run by the caller before [`store::RegistryStore::register`].
//!
//! The full-text query (FindDocumentsByText) is answered by the `search` crate at the edge;
//! [`query::parse_text_query`] checks its parameters here, like every other query's.
//!
//! Not yet here (registry issue): of ITI-57, status updates of Folders,
//! relationship associations and reference memberships added by an update (each refused with
//! `UnsupportedCapabilityException`, see [`update`]).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod change;
mod codec;
pub mod delete;
pub mod dtm;
mod engine;
pub mod error;
mod group_commit;
pub mod index;
pub mod postgres;
pub mod query;
pub mod sqlite;
pub mod store;
pub mod submission;
pub mod update;
pub mod visibility;

pub use change::{Change, ChangeBacklog};
pub use delete::{DeleteError, Deleted, RemoveError};
pub use error::{QueryError, RegisterError, StoreError, SubmissionError};
pub use postgres::PgRegistryStore;
pub use query::{QueryResponse, ReturnType, StoredQueryRequest};
pub use sqlite::SqliteRegistryStore;
pub use store::{QUERY_RESULTS_MAX, RegistryStore, StoreConfig};
pub use submission::{PatientPolicy, RegisterOptions, Registered};
pub use update::{UpdateError, UpdateFinding, Updated};
pub use visibility::{
    AnsweredDocument, EntryFacts, QueryResult, Reach, Restricted, ResultObject, reach, restrict,
};

//! The registry store behind a backend-neutral trait.
//!
//! [`RegistryStore`] is what the SOAP edge calls: ITI-42 registration, ITI-18/ITI-51 stored
//! queries, and the known-patient feed. SQLite ([`crate::sqlite::SqliteRegistryStore`]) is the
//! embedded default; PostgreSQL ([`crate::postgres::PgRegistryStore`]) serves several
//! instances from one database. Both pass the same tests.
//!
//! Invariants every implementation keeps:
//! - A registration, an update and a delete are each one transaction: they write everything
//!   or nothing, and a rejection lists every finding ([`crate::submission`],
//!   [`crate::update`] and [`crate::delete`] hold the rules, shared by all backends).
//! - Version numbers of updated objects are decided inside the write transaction, from the
//!   stored latest version, so two updates naming the same PreviousVersion cannot both win.
//! - Registrations are serialized, so the uniqueId and reference checks made inside the
//!   transaction still hold when it commits (SQLite: one writer connection; PostgreSQL:
//!   SERIALIZABLE transactions, a conflicting one run again from the start).
//! - Queries are read-only and parameterised; stored-query parameters are checked by
//!   [`crate::query::StoredQuery::parse`] before any SQL runs.

use std::time::Duration;

use async_trait::async_trait;
use xds_model::rim::RegistryObjectList;

use crate::change::{Change, ChangeBacklog};
use crate::delete::{DeleteError, Deleted};
use crate::error::{QueryError, RegisterError, StoreError};
use crate::query::{QueryResponse, StoredQueryRequest};
use crate::submission::{RegisterOptions, Registered};
use crate::update::{UpdateError, Updated};
use crate::visibility::{QueryResult, ResultObject};

/// Most objects one stored query may answer; above it the query fails with
/// `XDSTooManyResults` (never a silent truncation). 10,000 covers a lifetime of appointments
/// for one patient many times over while bounding the memory of one response (each LeafClass
/// object is a few KiB of XML).
pub const QUERY_RESULTS_MAX: usize = 10_000;

/// Connections of the read pool. Reads run concurrently with the writers (SQLite: the single
/// writer, under WAL).
pub const READ_CONNECTIONS_MAX: u32 = 4;

/// How long a connection waits for a lock before the store reports the database busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many values one SQL `IN (...)` list binds; longer lists are split. Well below
/// SQLite's 32,766 and PostgreSQL's 65,535 bind parameters.
pub const IN_LIST_VALUES_MAX: usize = 500;

/// Tunables of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// See [`QUERY_RESULTS_MAX`].
    pub query_results_max: usize,
    /// See [`READ_CONNECTIONS_MAX`].
    pub read_connections_max: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            query_results_max: QUERY_RESULTS_MAX,
            read_connections_max: READ_CONNECTIONS_MAX,
        }
    }
}

/// The registry's durable metadata store.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// ITI-42: registers the contents of a SubmitObjectsRequest, all or nothing. The caller
    /// has already run `xds-validate` over it; this enforces what needs the store (patient
    /// policy, uniqueIds, references, lifecycle) and the structural integrity of the set.
    async fn register(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Registered, RegisterError>;

    /// ITI-57: applies the operations of an Update Document Set request (new versions of
    /// DocumentEntries and Folders, availabilityStatus updates, added Folder memberships), all
    /// or nothing. The caller has run `xds-validate` over it; see [`crate::update`].
    async fn update(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Updated, UpdateError>;

    /// ITI-18 / ITI-51: runs one stored query and answers its objects as stored, for the
    /// caller to restrict ([`crate::visibility::restrict`]) before they become the response.
    async fn query_result(&self, request: &StoredQueryRequest) -> Result<QueryResult, QueryError>;

    /// ITI-18 / ITI-51: runs one stored query, unrestricted.
    async fn query(&self, request: &StoredQueryRequest) -> Result<QueryResponse, QueryError> {
        self.query_result(request).await?.into_response()
    }

    /// The stored objects with these entryUUIDs (those that exist), for restricting answers.
    async fn objects_by_ids(&self, entry_uuids: &[String])
    -> Result<Vec<ResultObject>, QueryError>;

    /// `(object, authorInstitution XON)` of every author institution of these objects, as
    /// indexed when they were stored: what a consent decision needs besides the row's own
    /// columns, so that it need not parse the XML.
    async fn author_institutions(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<(String, String)>, QueryError>;

    /// `(container, member)` of every HasMember association whose source is one of
    /// `containers` (SubmissionSets or Folders), whatever its status.
    async fn has_member_targets(
        &self,
        containers: &[String],
    ) -> Result<Vec<(String, String)>, QueryError>;

    /// ITI-62: deletes the named objects (entryUUIDs of the `rim:ObjectRefList`), all or
    /// nothing. The caller has checked the request's form (no AdhocQuery, no deletionScope).
    async fn delete(&self, entry_uuids: &[String]) -> Result<Deleted, DeleteError>;

    /// Known-patient feed (`POST /admin/v1/patients`). Returns false when already known.
    async fn add_known_patient(&self, patient_id: &str) -> Result<bool, StoreError>;

    /// Whether any DocumentEntry, of any status and any repository, has this `hash` (40
    /// lower-case hexadecimal characters). The repository's garbage collector keeps every file
    /// for which this is true.
    async fn hash_referenced(&self, hash: &str) -> Result<bool, StoreError>;

    /// The change log after `after` (a seq; 0 for the start), oldest first, at most `limit`
    /// rows (see [`crate::change`]).
    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<Change>, StoreError>;

    /// How far a consumer that applied the change log up to `after` is behind.
    async fn change_backlog(&self, after: i64) -> Result<ChangeBacklog, StoreError>;

    /// Every DocumentEntry, of any status, in storage order after `after` (the seq this
    /// answers with each; 0 for the start), at most `limit`: for rebuilding a derived copy.
    async fn document_entries_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, ResultObject)>, StoreError>;
}

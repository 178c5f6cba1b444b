//! The embedded registry store on SQLite (sqlx).
//!
//! Mechanism: two pools on one database file in WAL mode with `synchronous=FULL` and foreign
//! keys on. The *writer* pool has exactly one connection, so registrations, updates and deletes
//! queue for it and run one at a time: the checks one makes inside its transaction (uniqueIds,
//! references, statuses, latest versions) cannot be invalidated by a concurrent one before it
//! commits, and no write ever has to be run again. The *reader* pool serves queries
//! concurrently; under WAL they see the last committed state and never block the writer. The
//! schema lives in `registry/migrations/` (embedded, append-only); the SQL is the engine's,
//! shared with PostgreSQL (`engine.rs`).
//!
//! Registrations queue for a committer task that registers the ones waiting at that moment in
//! one transaction, a savepoint each ([`crate::group_commit`]); updates and deletes take the
//! writer connection one at a time.
//!
//! Invariants: see `engine.rs`; in addition only one write transaction exists at a time.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use std::future::Future;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};
use xds_model::rim::RegistryObjectList;

use crate::change::{Change, ChangeBacklog};
use crate::delete::{DeleteError, Deleted};
use crate::dtm;
use crate::engine::{Backend, Engine};
use crate::error::{QueryError, RegisterError, StoreError};
use crate::group_commit::RegistrationCommitter;
use crate::query::StoredQueryRequest;
use crate::store::{BUSY_TIMEOUT, RegistryStore, StoreConfig};
use crate::submission::{self, RegisterOptions, Registered};
use crate::update::{UpdateError, Updated};
use crate::visibility::{QueryResult, ResultObject};

pub use crate::engine::TABLES;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The registry store on one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteRegistryStore {
    /// The writer pool has exactly one connection: registrations are serialized by waiting
    /// for it. The reader pool's connections are read-only.
    engine: Engine<Sqlite>,
    /// Registrations share commits ([`crate::group_commit`]).
    registrations: RegistrationCommitter,
}

impl Backend for Sqlite {
    /// SQLite's deferred `BEGIN`: with one writer connection nothing else can write meanwhile.
    const BEGIN_WRITE: Option<&'static str> = None;

    /// None: with one writer connection every write runs alone.
    fn write_gate(_alone: bool) -> Option<&'static str> {
        None
    }

    /// None: with one writer connection, rows are numbered in commit order anyway.
    const CHANGE_LOG_LOCK: Option<&'static str> = None;

    /// Never: writes never run concurrently.
    fn is_write_conflict(_: &sqlx::Error) -> bool {
        false
    }

    /// SQLite's `LIKE` is already ASCII case-insensitive, without an escape character.
    fn push_like<'a>(qb: &mut QueryBuilder<'a, Self>, column: &str, pattern: &'a str) {
        qb.push(column);
        qb.push(" LIKE ");
        qb.push_bind(pattern);
    }

    fn fetch_all<'c>(
        connection: &'c mut SqliteConnection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<Vec<SqliteRow>, sqlx::Error>> + Send + 'c {
        qb.build().fetch_all(connection)
    }

    fn fetch_one<'c>(
        connection: &'c mut SqliteConnection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<SqliteRow, sqlx::Error>> + Send + 'c {
        qb.build().fetch_one(connection)
    }

    fn execute<'c>(
        connection: &'c mut SqliteConnection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c {
        let query = qb.build();
        async move { Ok(query.execute(connection).await?.rows_affected()) }
    }
}

impl SqliteRegistryStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path, config: StoreConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // No ping before each hand-out (sqlx's default): a SQLite connection is a file opened by
        // this process, which a ping cannot find broken, and the ping is one more round trip to
        // the connection's worker thread each time — under load, one more wait for a CPU.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(config.read_connections_max.max(1))
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        let engine = Engine {
            writer,
            reader,
            config,
        };
        Ok(SqliteRegistryStore {
            registrations: RegistrationCommitter::spawn(engine.clone()),
            engine,
        })
    }

    /// Rows per table, for operations and for tests proving a rejection stored nothing.
    pub async fn table_row_counts(&self) -> Result<BTreeMap<&'static str, i64>, StoreError> {
        self.engine.table_row_counts().await
    }

    /// Write transactions that committed registrations so far (several registrations
    /// commit together under load; see [`crate::group_commit`]).
    pub fn registration_commits(&self) -> u64 {
        self.registrations.commits()
    }

    /// Closes both pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.engine.close().await
    }
}

#[async_trait]
impl RegistryStore for SqliteRegistryStore {
    async fn register(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Registered, RegisterError> {
        // Planned here, concurrently with other requests; only the store's part is serialized.
        let plan = submission::plan(submission, &dtm::now());
        self.registrations.register(plan, options).await
    }

    async fn update(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Updated, UpdateError> {
        self.engine.update(submission, options).await
    }

    async fn query_result(&self, request: &StoredQueryRequest) -> Result<QueryResult, QueryError> {
        self.engine.query_result(request).await
    }

    async fn objects_by_ids(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<ResultObject>, QueryError> {
        self.engine.objects_by_ids(entry_uuids).await
    }

    async fn author_institutions(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<(String, String)>, QueryError> {
        self.engine.author_institutions(entry_uuids).await
    }

    async fn has_member_targets(
        &self,
        containers: &[String],
    ) -> Result<Vec<(String, String)>, QueryError> {
        self.engine.has_member_targets(containers).await
    }

    async fn delete(&self, entry_uuids: &[String]) -> Result<Deleted, DeleteError> {
        self.engine.delete(entry_uuids).await
    }

    async fn add_known_patient(&self, patient_id: &str) -> Result<bool, StoreError> {
        self.engine.add_known_patient(patient_id).await
    }

    async fn hash_referenced(&self, hash: &str) -> Result<bool, StoreError> {
        self.engine.hash_referenced(hash).await
    }

    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.engine.changes_after(after, limit).await
    }

    async fn change_backlog(&self, after: i64) -> Result<ChangeBacklog, StoreError> {
        self.engine.change_backlog(after).await
    }

    async fn document_entries_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, ResultObject)>, StoreError> {
        self.engine.document_entries_after(after, limit).await
    }
}

//! The registry store on PostgreSQL (sqlx), for several `dds serve` instances sharing one
//! database.
//!
//! Mechanism: two pools on one database. The *writer* pool (at most
//! [`WRITE_CONNECTIONS_MAX`] connections) runs registrations, updates and deletes, each as one
//! transaction at isolation level **SERIALIZABLE**; the *reader* pool's connections are
//! read-only (`default_transaction_read_only`) and answer queries, each statement seeing the
//! last committed state. The SQL is the engine's, shared with SQLite (`engine.rs`); the
//! schema lives in `registry/migrations-postgres/` (embedded, append-only; sqlx takes an
//! advisory lock while migrating, so instances starting together apply it once).
//!
//! Why SERIALIZABLE, and not locks: every write reads what it checks (uniqueIds, references,
//! statuses, latest versions, associations) inside its transaction and writes only if the
//! checks pass, exactly as on SQLite, where one writer connection makes that safe. Here
//! writers run concurrently, in other processes too, and PostgreSQL's serializable snapshot
//! isolation guarantees that committed transactions have the effect of running one at a time:
//! when two registrations of the same uniqueId overlap, each read the other's absence, and one
//! of them fails with a serialization failure (SQLSTATE 40001) instead of committing. The engine
//! then runs that write again from the start, re-reading its facts, and now it sees the
//! winner's rows and is rejected with the proper XDS error (`XDSDuplicateUniqueIdInRegistry`
//! …). A write that keeps losing (contention on one patient) runs its
//! `engine::ALONE_FROM_ATTEMPT`th attempt alone, behind the exclusive write gate (the empty
//! `registry_write_gate` table, locked before the snapshot is taken), where nothing can
//! conflict with it; so every write ends, and [`StoreError::WriteConflict`] (`XDSRegistryBusy`)
//! after `engine::WRITE_ATTEMPTS_MAX` attempts only guards that promise. This covers every rule the
//! shared checks make, present and future, without a list of lock keys to keep in step with
//! them; the alternatives were one global advisory lock (serializes every write of every
//! instance, as SQLite does: simple, but no write scale-out) or per-key advisory locks (the
//! keys — uniqueIds, entryUUIDs, logicalIds, the patients of objects a delete names — must
//! mirror the rules exactly, or a rule silently loses its guarantee). A uniqueId cannot be a
//! unique index: several versions and a DocumentEntry registered again with the same hash
//! share one. The cost: unrelated writes may occasionally conflict (predicate locks are coarser
//! than rows) and are simply run again.
//!
//! Invariants: see `engine.rs`; in addition every write transaction is SERIALIZABLE and
//! nothing on the reader pool can write.

use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::{Connection, Executor, Postgres, QueryBuilder};
use xds_model::rim::RegistryObjectList;

use crate::change::{Change, ChangeBacklog};
use crate::delete::{DeleteError, Deleted};
use crate::engine::{Backend, Engine};
use crate::error::{QueryError, RegisterError, StoreError};
use crate::query::StoredQueryRequest;
use crate::store::{BUSY_TIMEOUT, RegistryStore, StoreConfig};
use crate::submission::{RegisterOptions, Registered};
use crate::update::{UpdateError, Updated};
use crate::visibility::{QueryResult, ResultObject};

/// The schema's migrations (`registry/migrations-postgres/`). The consent and audit stores
/// keep their tables in the same schema and record their own migrations in the same
/// `_sqlx_migrations` table, under versions of their own: this migrator ignores those
/// (instead of refusing a database that has migrations it does not know).
pub fn postgres_migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations-postgres");
    migrator.set_ignore_missing(true);
    migrator
}

/// Connections of one store's writer pool: how many registrations, updates and deletes of one
/// instance run at once. More would mostly add serialization failures among writes of the same
/// patient; fewer than a handful would queue unrelated submissions behind a slow one.
pub const WRITE_CONNECTIONS_MAX: u32 = 4;

/// SQLSTATE of a serialization failure: a concurrent transaction won, run again.
const SERIALIZATION_FAILURE: &str = "40001";
/// SQLSTATE of a detected deadlock: PostgreSQL ended this transaction to free the other.
const DEADLOCK_DETECTED: &str = "40P01";

/// The registry store on a PostgreSQL database (several instances may share it).
#[derive(Debug, Clone)]
pub struct PgRegistryStore {
    engine: Engine<Postgres>,
}

impl Backend for Postgres {
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN ISOLATION LEVEL SERIALIZABLE");

    /// The empty `registry_write_gate` table (its migration says why): ROW SHARE admits any
    /// number of writes, EXCLUSIVE one alone. Transaction-scoped, so a write that fails or
    /// whose connection breaks can never leave it locked.
    fn write_gate(alone: bool) -> Option<&'static str> {
        Some(if alone {
            "LOCK TABLE registry_write_gate IN EXCLUSIVE MODE"
        } else {
            "LOCK TABLE registry_write_gate IN ROW SHARE MODE"
        })
    }

    /// A transaction-scoped advisory lock, released at commit (after the commit is visible),
    /// taken as the last step of a write: change rows are numbered in commit order. Advisory
    /// locks never cause serialization failures; only the tail of concurrent writes queues.
    /// The key is this store's own constant ("dds registry_change" in ASCII, truncated).
    const CHANGE_LOG_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(7234011523437922)");

    fn is_write_conflict(error: &sqlx::Error) -> bool {
        error
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == SERIALIZATION_FAILURE || code == DEADLOCK_DETECTED)
    }

    /// `ILIKE … ESCAPE ''`: PostgreSQL's `LIKE` is case-sensitive and takes `\` as escape
    /// character; SQLite's is neither. With the columns' "C" collation ILIKE folds ASCII
    /// letters only, as SQLite does.
    fn push_like<'a>(qb: &mut QueryBuilder<'a, Self>, column: &str, pattern: &'a str) {
        qb.push(column);
        qb.push(" ILIKE ");
        qb.push_bind(pattern);
        qb.push(" ESCAPE ''");
    }

    fn fetch_all<'c>(
        connection: &'c mut PgConnection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<Vec<PgRow>, sqlx::Error>> + Send + 'c {
        qb.build().fetch_all(connection)
    }

    fn fetch_one<'c>(
        connection: &'c mut PgConnection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<PgRow, sqlx::Error>> + Send + 'c {
        qb.build().fetch_one(connection)
    }

    fn execute<'c>(
        connection: &'c mut PgConnection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c {
        let query = qb.build();
        async move { Ok(query.execute(connection).await?.rows_affected()) }
    }
}

impl PgRegistryStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`; add
    /// `?options=-c%20search_path%3Dschema` for a schema other than `public`) and applies
    /// pending migrations.
    pub async fn open(url: &str, config: StoreConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let writer = PgPoolOptions::new()
            .max_connections(WRITE_CONNECTIONS_MAX)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        postgres_migrator().run(&writer).await?;
        let reader = PgPoolOptions::new()
            .max_connections(config.read_connections_max.max(1))
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options.options([("default_transaction_read_only", "on")]))
            .await?;
        Ok(PgRegistryStore {
            engine: Engine {
                writer,
                reader,
                config,
            },
        })
    }

    /// Rows per table, for operations and for tests proving a rejection stored nothing.
    pub async fn table_row_counts(&self) -> Result<BTreeMap<&'static str, i64>, StoreError> {
        self.engine.table_row_counts().await
    }

    /// Closes both pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.engine.close().await
    }
}

#[async_trait]
impl RegistryStore for PgRegistryStore {
    async fn register(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Registered, RegisterError> {
        self.engine.register(submission, options).await
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

// ---------------------------------------------------------------------------------------------
// Scratch schemas for tests.

/// Name prefix of every [`ScratchSchema`]; nothing else may use it.
pub const SCRATCH_SCHEMA_PREFIX: &str = "dds_scratch_";

/// Scratch schemas older than this are someone's leftovers (a test process killed before it
/// could drop its own) and are dropped by the next [`ScratchSchema::create`]. A day is far
/// longer than any test run.
pub const SCRATCH_SCHEMA_AGE_MAX_SECONDS: u64 = 24 * 60 * 60;

/// How long dropping a scratch schema waits for a lock before giving up (and leaving it to
/// the sweep), so that a connection still inside a transaction cannot hang a test's end.
const SCRATCH_DROP_LOCK_TIMEOUT: &str = "10s";

/// A fresh, uniquely named, empty schema in a PostgreSQL database, for one test or one
/// throw-away server: [`ScratchSchema::url`] makes every connection of a store opened on it
/// work inside that schema (`search_path`), so tests running at the same time, in one process
/// or several, never see each other's rows. Dropped with all it holds by
/// [`ScratchSchema::remove`], or when the value is dropped (from a helper thread, waiting for
/// it, so that the next test does not start beside it).
///
/// The name is `dds_scratch_<unix seconds>_<random>`; the seconds let a later `create` drop the
/// leftovers of killed runs (see [`SCRATCH_SCHEMA_AGE_MAX_SECONDS`]).
#[derive(Debug)]
pub struct ScratchSchema {
    base_url: String,
    name: String,
    url: String,
    removed: bool,
}

impl ScratchSchema {
    /// Creates the schema in the database at `base_url` (`postgres://…`), after dropping
    /// scratch schemas older than [`SCRATCH_SCHEMA_AGE_MAX_SECONDS`].
    pub async fn create(base_url: &str) -> Result<ScratchSchema, StoreError> {
        let now = unix_seconds();
        let random = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{SCRATCH_SCHEMA_PREFIX}{now}_{}", &random[..12]);
        let mut connection = PgConnection::connect(base_url).await?;
        sweep_stale_schemas(&mut connection, now).await;
        // The name is ours, made of ASCII letters, digits and underscores only.
        connection
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await?;
        connection.close().await?;
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-c%20search_path%3D{name}");
        Ok(ScratchSchema {
            base_url: base_url.to_owned(),
            name,
            url,
            removed: false,
        })
    }

    /// The database URL whose connections use this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the schema and everything in it. Close the stores opened on it first, or their
    /// open transactions hold the drop up.
    pub async fn remove(mut self) -> Result<(), StoreError> {
        self.removed = true;
        drop_schema(&self.base_url, &self.name).await
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let base_url = self.base_url.clone();
        let name = self.name.clone();
        // Drop cannot await, and the caller's runtime may be single-threaded and busy
        // dropping this very value; a thread with a runtime of its own can.
        let removal = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_schema(&base_url, &name))
                .map_err(|e| e.to_string())
        });
        // A failed drop leaves the schema to the sweep of a later `create`.
        let _ = removal.join();
    }
}

async fn drop_schema(base_url: &str, name: &str) -> Result<(), StoreError> {
    let mut connection = PgConnection::connect(base_url).await?;
    connection
        .execute(format!("SET lock_timeout = '{SCRATCH_DROP_LOCK_TIMEOUT}'").as_str())
        .await?;
    connection
        .execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
        .await?;
    connection.close().await?;
    Ok(())
}

/// Drops scratch schemas created more than [`SCRATCH_SCHEMA_AGE_MAX_SECONDS`] ago. Best
/// effort: another process may be sweeping the same ones.
async fn sweep_stale_schemas(connection: &mut PgConnection, now: u64) {
    let names: Vec<String> = match sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
    )
    .bind(SCRATCH_SCHEMA_PREFIX)
    .fetch_all(&mut *connection)
    .await
    {
        Ok(names) => names,
        Err(_) => return,
    };
    for name in names {
        let created = name
            .strip_prefix(SCRATCH_SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|seconds| seconds.parse::<u64>().ok());
        let safe = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if let Some(created) = created
            && safe
            && now.saturating_sub(created) > SCRATCH_SCHEMA_AGE_MAX_SECONDS
        {
            let _ = connection
                .execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
                .await;
        }
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

//! Durable storage of the directives: `consent.sqlite` in the data directory, or a
//! PostgreSQL schema shared by several instances (`database_url`).
//!
//! The decision function stays pure; this module only reads and writes what it decides from.
//! Invariants: a change is committed before the call returns and takes effect for the next
//! request (no cache); every block read back passes the same checks as a posted one, so a
//! damaged row is an error, never a silently different rule.

use std::path::Path;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Row, Sqlite,
    Type,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::directive::{Block, BlockId, Directives, NewBlock, OptOut};

/// Connections of one store's pool on PostgreSQL: the consent reads of one instance's
/// requests at once (each is one short query) and the API's changes.
pub const POSTGRES_CONNECTIONS_MAX: u32 = 8;

/// The store's tables (both backends).
pub const TABLES: [&str; 2] = ["opt_out", "block"];

/// A storage problem. Callers treat it as internal: a decision that cannot read the
/// directives must not allow anything (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the consent store at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate the consent store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("consent store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored directive {id} is not valid: {detail}")]
    Corrupt { id: String, detail: String },
    #[error("time cannot be formatted: {0}")]
    Time(#[from] time::error::Format),
}

/// The directive store: `consent.sqlite` in the data directory, or tables in a PostgreSQL
/// schema that several instances share.
#[derive(Debug, Clone)]
pub struct ConsentStore {
    engine: Engines,
}

/// The store's connections on the backend it was opened on; every statement is one text
/// with `$n` placeholders, which both drivers bind by number.
#[derive(Debug, Clone)]
enum Engines {
    Sqlite(Pool<Sqlite>),
    Postgres(Pool<Postgres>),
}

/// Runs `$call` with `$pool` bound to the store's pool, whichever backend it is.
macro_rules! dispatch {
    ($store:expr, $pool:ident => $call:expr) => {
        match &$store.engine {
            Engines::Sqlite($pool) => $call,
            Engines::Postgres($pool) => $call,
        }
    };
}

/// The PostgreSQL schema's migrations (`consent/migrations-postgres/`). Their versions differ
/// from the registry's and the audit store's, which share the schema's `_sqlx_migrations`
/// table; each store's migrator ignores the versions that are not its own.
pub fn postgres_migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations-postgres");
    migrator.set_ignore_missing(true);
    migrator
}

/// A patient's opt-out and blocks in one statement (the ITI-18 hot path reads it per
/// request): part 0 is the opt-out row (`body` = its `since`), part 1 the blocks in the order
/// they were made.
const DIRECTIVES: &str = "SELECT 0 AS part, '' AS id, since AS body, '' AS created_at \
     FROM opt_out WHERE patient_cpr = $1 \
     UNION ALL \
     SELECT 1 AS part, id, body, created_at FROM block WHERE patient_cpr = $1 \
     ORDER BY part, created_at, id";

impl ConsentStore {
    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<ConsentStore, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        // No ping before each hand-out (sqlx's default): a SQLite connection is a file opened by
        // this process, which a ping cannot find broken, and the ping is one more round trip to
        // the connection's worker thread each time — under load, one more wait for a CPU.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(ConsentStore {
            engine: Engines::Sqlite(pool),
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://…`; a schema other than
    /// `public` through `?options=-c%20search_path%3D…`) and applies pending migrations.
    pub async fn open_postgres(url: &str) -> Result<ConsentStore, StoreError> {
        let open_error = |source| StoreError::Open {
            path: "PostgreSQL (database_url)".to_owned(),
            source,
        };
        // A change returns once it is on disk, whatever the server's default says.
        let options = PgConnectOptions::from_str(url)
            .map_err(open_error)?
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS_MAX)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        postgres_migrator().run(&pool).await?;
        Ok(ConsentStore {
            engine: Engines::Postgres(pool),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.engine {
            Engines::Sqlite(_) => "sqlite",
            Engines::Postgres(_) => "postgres",
        }
    }

    /// Closes the store's connections (waits for those in use to be returned).
    pub async fn close(&self) {
        dispatch!(self, pool => pool.close().await)
    }

    /// Everything the decision function needs about one patient, read in one query.
    pub async fn directives(&self, patient_cpr: &str) -> Result<Directives, StoreError> {
        dispatch!(self, pool => directives(pool, patient_cpr).await)
    }

    /// Registers an opt-out; returns false when one was already registered (unchanged).
    pub async fn set_opt_out(
        &self,
        patient_cpr: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let since = now.format(&Rfc3339)?;
        let sql = "INSERT INTO opt_out (patient_cpr, since) VALUES ($1, $2) \
                   ON CONFLICT (patient_cpr) DO NOTHING";
        let changed =
            dispatch!(self, pool => execute(pool, sql, &[patient_cpr, since.as_str()]).await)?;
        Ok(changed == 1)
    }

    /// Withdraws the opt-out; returns false when there was none.
    pub async fn clear_opt_out(&self, patient_cpr: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM opt_out WHERE patient_cpr = $1";
        let changed = dispatch!(self, pool => execute(pool, sql, &[patient_cpr]).await)?;
        Ok(changed == 1)
    }

    /// Stores a checked block under a new id.
    pub async fn add_block(
        &self,
        patient_cpr: &str,
        block: NewBlock,
        now: OffsetDateTime,
    ) -> Result<BlockId, StoreError> {
        let id = BlockId(uuid::Uuid::new_v4().to_string());
        let block = block.with_id(id.clone());
        let body = serde_json::to_string(&block).map_err(|e| StoreError::Corrupt {
            id: id.0.clone(),
            detail: e.to_string(),
        })?;
        let created_at = now.format(&Rfc3339)?;
        let sql = "INSERT INTO block (id, patient_cpr, body, created_at) VALUES ($1, $2, $3, $4)";
        let values = [
            id.0.as_str(),
            patient_cpr,
            body.as_str(),
            created_at.as_str(),
        ];
        dispatch!(self, pool => execute(pool, sql, &values).await)?;
        Ok(id)
    }

    /// Removes one of the patient's blocks; returns false when the patient has no such block.
    pub async fn remove_block(&self, patient_cpr: &str, id: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM block WHERE id = $1 AND patient_cpr = $2";
        let changed = dispatch!(self, pool => execute(pool, sql, &[id, patient_cpr]).await)?;
        Ok(changed == 1)
    }
}

/// How many rows a statement changed (sqlx has no trait for it).
trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// Runs `sql` with `values` bound as `$1`, `$2`, …; answers how many rows it changed.
async fn execute<DB>(pool: &Pool<DB>, sql: &str, values: &[&str]) -> Result<u64, StoreError>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let mut query = sqlx::query::<DB>(sql);
    for value in values {
        query = query.bind(*value);
    }
    Ok(query.execute(pool).await?.rows_affected())
}

async fn directives<DB>(pool: &Pool<DB>, patient_cpr: &str) -> Result<Directives, StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i32: for<'r> Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(DIRECTIVES)
        .bind(patient_cpr)
        .fetch_all(pool)
        .await?;
    let mut directives = Directives::default();
    for row in &rows {
        let part: i32 = row.try_get("part")?;
        let body: String = row.try_get("body")?;
        if part == 0 {
            directives.opt_out = Some(OptOut {
                since: OffsetDateTime::parse(&body, &Rfc3339).map_err(|e| StoreError::Corrupt {
                    id: format!("opt-out of {patient_cpr}"),
                    detail: e.to_string(),
                })?,
            });
        } else {
            let id: String = row.try_get("id")?;
            let block: Block = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                id: id.clone(),
                detail: e.to_string(),
            })?;
            directives.blocks.push(block);
        }
    }
    Ok(directives)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directive::parse_block;

    /// Where one run of a test keeps its store: a SQLite file, or (when
    /// `DDS_TEST_DATABASE_URL` names a database) a PostgreSQL scratch schema.
    enum Backing {
        Sqlite(tempfile::TempDir),
        Postgres(registry::postgres::ScratchSchema),
    }

    impl Backing {
        async fn open(&self) -> ConsentStore {
            match self {
                Backing::Sqlite(dir) => ConsentStore::open(&dir.path().join("consent.sqlite"))
                    .await
                    .unwrap(),
                Backing::Postgres(schema) => {
                    ConsentStore::open_postgres(schema.url()).await.unwrap()
                }
            }
        }
    }

    async fn backings() -> Vec<Backing> {
        let mut backings = vec![Backing::Sqlite(tempfile::tempdir().unwrap())];
        match std::env::var("DDS_TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
        {
            Some(url) => backings.push(Backing::Postgres(
                registry::postgres::ScratchSchema::create(&url)
                    .await
                    .unwrap(),
            )),
            None => println!("SKIPPED on PostgreSQL: DDS_TEST_DATABASE_URL is not set"),
        }
        backings
    }

    #[tokio::test]
    async fn directives_round_trip_and_survive_reopen() {
        for backing in backings().await {
            round_trip(&backing).await;
        }
    }

    #[tokio::test]
    async fn blocks_come_back_in_the_order_they_were_made_with_the_opt_out() {
        for backing in backings().await {
            let store = backing.open().await;
            let t0 = OffsetDateTime::now_utc();
            let mut made = Vec::new();
            for (i, sor) in ["3", "1", "2"].into_iter().enumerate() {
                let block =
                    parse_block(&format!(r#"{{"kind":"organisation","sor":"{sor}"}}"#)).unwrap();
                let at = t0 + time::Duration::seconds(i as i64);
                made.push(store.add_block("0201919990", block, at).await.unwrap());
            }
            assert!(
                store
                    .directives("0201919990")
                    .await
                    .unwrap()
                    .opt_out
                    .is_none()
            );
            store.set_opt_out("0201919990", t0).await.unwrap();
            let directives = store.directives("0201919990").await.unwrap();
            assert_eq!(
                directives.opt_out.map(|o| o.since.unix_timestamp()),
                Some(t0.unix_timestamp())
            );
            let read: Vec<&BlockId> = directives.blocks.iter().map(|b| b.id()).collect();
            assert_eq!(read, made.iter().collect::<Vec<_>>());
        }
    }

    async fn round_trip(backing: &Backing) {
        let now = OffsetDateTime::now_utc();
        let id = {
            let store = backing.open().await;
            assert!(store.set_opt_out("0201919990", now).await.unwrap());
            assert!(!store.set_opt_out("0201919990", now).await.unwrap());
            let block = parse_block(r#"{"kind":"organisation","sor":"328081000016004"}"#).unwrap();
            store.add_block("0201919990", block, now).await.unwrap()
        };
        let store = backing.open().await;
        let directives = store.directives("0201919990").await.unwrap();
        assert!(directives.opt_out.is_some());
        assert_eq!(directives.blocks.len(), 1);
        assert_eq!(directives.blocks[0].id(), &id);
        assert_eq!(
            store.directives("0101700013").await.unwrap(),
            Directives::default()
        );

        // Another patient cannot remove this block by id.
        assert!(!store.remove_block("0101700013", &id.0).await.unwrap());
        assert!(store.remove_block("0201919990", &id.0).await.unwrap());
        assert!(store.clear_opt_out("0201919990").await.unwrap());
        assert!(!store.clear_opt_out("0201919990").await.unwrap());
        assert_eq!(
            store.directives("0201919990").await.unwrap(),
            Directives::default()
        );
    }
}

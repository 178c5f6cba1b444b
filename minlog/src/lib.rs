//! MinLog access records and treatment-relation (BRS) follow-ups.
//!
//! Owns the durable audit of who touched whose data: the record of every rejected access
//! attempt ([`AuditStore::record_rejected`]), listed for operations; the access record of
//! every access that concerns a patient ([`access`](AuditStore::record_access)); and the outbox
//! of treatment-relation follow-ups ([`outbox`]) that [`OutboxWorker`] delivers at least once,
//! in order per patient, with back-off and dead-lettering ([`delivery`]).
//!
//! Invariants:
//! - Records are committed durably (SQLite WAL with `synchronous=FULL`; PostgreSQL with
//!   `synchronous_commit = on`) before the call that writes them returns; a caller that gets
//!   `Ok` may answer its client.
//! - The store is one SQLite file ([`AuditStore::open`]) or a PostgreSQL schema that several
//!   instances share ([`AuditStore::open_postgres`]); the SQL is the same on both (see
//!   `backend`), and so is every invariant here.
//! - Records are append-only: nothing here updates or deletes them. Follow-ups change only
//!   their delivery state (see [`outbox`]).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Postgres, Sqlite};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::backend::Engine;

/// The store's tables (both backends).
pub const TABLES: [&str; 6] = [
    "rejected_attempt",
    "access_record",
    "followup_outbox",
    "followup_head",
    "minlog_forward_cursor",
    "minlog_forward_dead",
];

/// Most rows one list call returns, whatever the caller asks for.
pub const LIST_LIMIT_MAX: u32 = 500;

/// Connections of one store's pool on PostgreSQL: the requests of one instance that write
/// their records at once, the delivery worker and the forwarder.
pub const POSTGRES_CONNECTIONS_MAX: u32 = 8;

/// An audit store problem. Callers treat every variant as an internal error: an access that
/// cannot be recorded must not be served (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit store at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate the audit store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("audit store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("writing access records failed: {0}")]
    Write(String),
    #[error("the access log's committer has stopped; nothing more can be recorded")]
    CommitterStopped,
    #[error("committing access records failed and whether they were committed is unknown: {0}")]
    CommitOutcomeUnknown(String),
    #[error("cursor {0:?} is not one this API handed out")]
    BadCursor(String),
    #[error("time cannot be formatted: {0}")]
    Time(#[from] time::error::Format),
    #[error("a stored record is not readable: {0}")]
    Corrupt(String),
}

/// One request turned away before it reached the registry or repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectedAttempt {
    /// RFC 3339 UTC time the attempt was turned away.
    pub time: String,
    pub remote_address: Option<String>,
    /// What the card claimed to be (CPR or CVR), if it could be read; never trusted.
    pub claimed_subject: Option<String>,
    /// The transaction (wsa:Action) or API route the attempt was for.
    pub transaction: Option<String>,
    /// The fault subcode answered, e.g. `wsse:FailedAuthentication`.
    pub fault_code: String,
    /// Why, in words safe to show an operator (no secrets, no key material).
    pub reason: String,
}

/// A page of a list, newest first, with the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The durable audit store: one SQLite file in the data directory, or tables in a
/// PostgreSQL schema that several instances share.
#[derive(Debug, Clone)]
pub struct AuditStore {
    engine: Engines,
    /// Poked after every commit that ordered a follow-up; the delivery worker of this process
    /// waits on it (besides its periodic poll, which also finds follow-ups other processes
    /// committed). `notify_one` keeps a permit while the worker is busy, so none is lost.
    followup_committed: Arc<Notify>,
    /// Writes access records in groups (see [`group_commit`]).
    committer: group_commit::GroupCommitter,
}

/// The store's SQL engine on the backend it was opened on; every operation is written once,
/// in [`Engine`], and run through [`dispatch!`].
#[derive(Debug, Clone)]
enum Engines {
    Sqlite(Engine<Sqlite>),
    Postgres(Engine<Postgres>),
}

/// Runs `$call` with `$engine` bound to the store's engine, whichever backend it is.
macro_rules! dispatch {
    ($store:expr, $engine:ident => $call:expr) => {
        match &$store.engine {
            crate::Engines::Sqlite($engine) => $call,
            crate::Engines::Postgres($engine) => $call,
        }
    };
}

mod access;
mod backend;
pub mod delivery;
pub mod forward;
pub mod group_commit;
pub mod outbox;
mod sqlite_writer;
#[cfg(test)]
mod testing;
pub use access::{AccessAction, AccessOutcome, AccessRecord, RecordedAccess};
pub use delivery::{DeliveryConfig, DeliveryError, FlushReport, OutboxWorker, retry_delay};
pub use forward::{ForwardConfig, ForwardError, ForwardState, MinlogForwarder};
pub use outbox::{
    AttemptOutcome, ClaimRequest, ClaimedFollowup, FailedAttempt, Followup, FollowupState,
    OutboxDepth, Settled, Settlement,
};

/// The PostgreSQL schema's migrations (`minlog/migrations-postgres/`). Their versions differ
/// from the registry's and the consent store's, which share the schema's `_sqlx_migrations`
/// table; each store's migrator ignores the versions that are not its own.
pub fn postgres_migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations-postgres");
    migrator.set_ignore_missing(true);
    migrator
}

impl AuditStore {
    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<AuditStore, AuditError> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|source| AuditError::Open {
                path: path.display().to_string(),
                source,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        // No ping before each hand-out (sqlx's default): a SQLite connection is a file opened by
        // this process, which a ping cannot find broken, and the ping is one more round trip to
        // the connection's worker thread each time — under load, one more wait for a CPU.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|source| AuditError::Open {
                path: path.display().to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|source| AuditError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let access_writer = sqlite_writer::SqliteWriter::open(path)?;
        Ok(AuditStore::with(Engines::Sqlite(Engine {
            pool,
            writer,
            write_gate: Some(Arc::new(tokio::sync::Mutex::new(()))),
            access_writer: Some(access_writer),
        })))
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://…`; a schema other than
    /// `public` through `?options=-c%20search_path%3D…`) and applies pending migrations.
    /// Several instances may open the same database: they share the log, the outbox and the
    /// forwarding cursor.
    pub async fn open_postgres(url: &str) -> Result<AuditStore, AuditError> {
        let open_error = |source| AuditError::Open {
            path: redacted(url),
            source,
        };
        // A commit returns once it is on disk (PostgreSQL's default, insisted on here because
        // Ok must mean durable, whatever the server's configuration says).
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
        Ok(AuditStore::with(Engines::Postgres(Engine {
            writer: pool.clone(),
            pool,
            write_gate: None,
            access_writer: None,
        })))
    }

    fn with(engine: Engines) -> AuditStore {
        let followup_committed = Arc::new(Notify::new());
        AuditStore {
            committer: group_commit::GroupCommitter::spawn(
                engine.clone(),
                followup_committed.clone(),
            ),
            engine,
            followup_committed,
        }
    }

    /// Transactions this handle (and its clones) committed access records in: fewer than the
    /// requests that recorded accesses when group commit grouped them.
    pub fn access_commits(&self) -> u64 {
        self.committer.commits()
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
        dispatch!(self, e => {
            e.writer.close().await;
            e.pool.close().await
        })
    }

    /// On PostgreSQL, the bytes the named tables of this store's schema take with their
    /// indexes (for `/metrics`; any store's tables in the same schema may be named); `None` on
    /// SQLite, whose file is measured instead.
    pub async fn postgres_table_bytes(&self, tables: &[&str]) -> Result<Option<u64>, AuditError> {
        let Engines::Postgres(engine) = &self.engine else {
            return Ok(None);
        };
        let tables: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
        let bytes: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT \
             FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY($1)",
        )
        .bind(tables)
        .fetch_one(&engine.pool)
        .await?;
        Ok(Some(u64::try_from(bytes).unwrap_or(0)))
    }

    /// Notified whenever this store commits a follow-up (see the field's docs).
    pub fn followup_signal(&self) -> Arc<Notify> {
        self.followup_committed.clone()
    }

    /// Records one rejected attempt; returns only once the row is durable.
    pub async fn record_rejected(&self, attempt: &RejectedAttempt) -> Result<(), AuditError> {
        dispatch!(self, e => e.record_rejected(attempt).await)
    }

    /// Rejected attempts, newest first. `cursor` is the `next_cursor` of the previous page.
    pub async fn list_rejected(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<RejectedAttempt>, AuditError> {
        let limit = limit.clamp(1, LIST_LIMIT_MAX);
        let before_id = match cursor {
            None => i64::MAX,
            Some(text) => parse_cursor(text)?,
        };
        dispatch!(self, e => e.list_rejected(limit, before_id).await)
    }

    /// Number of rejected attempts recorded (for tests and metrics).
    pub async fn rejected_count(&self) -> Result<u64, AuditError> {
        dispatch!(self, e => e.rejected_count().await)
    }
}

/// A cursor this API handed out: a positive row id.
pub(crate) fn parse_cursor(text: &str) -> Result<i64, AuditError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AuditError::BadCursor(text.to_owned()))
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

/// One page of rows read newest first: the rows beyond `limit` only say there is more.
pub(crate) fn page<T>(rows: Vec<(i64, T)>, limit: u32) -> Page<T> {
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last_id = None;
    for (id, item) in rows.into_iter().take(limit as usize) {
        last_id = Some(id);
        items.push(item);
    }
    Page {
        items,
        next_cursor: if more {
            last_id.map(|id| id.to_string())
        } else {
            None
        },
    }
}

/// The current time as the audit records spell it: RFC 3339 UTC, microsecond precision.
pub fn now_rfc3339() -> Result<String, AuditError> {
    format_time(OffsetDateTime::now_utc())
}

/// `time` as the audit records spell it: RFC 3339 in UTC with exactly six fractional digits.
///
/// The width is fixed (`time`'s own RFC 3339 formatting drops trailing zeros, and the whole
/// fraction when it is zero) because the stores compare these strings as text: time order
/// and text order agree only when every value has the same shape.
pub fn format_time(time: OffsetDateTime) -> Result<String, AuditError> {
    const FIXED_RFC3339_UTC: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    Ok(time
        .to_offset(time::UtcOffset::UTC)
        .format(FIXED_RFC3339_UTC)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(reason: &str) -> RejectedAttempt {
        RejectedAttempt {
            time: now_rfc3339().unwrap(),
            remote_address: Some("127.0.0.1:5000".into()),
            claimed_subject: Some("0101700013".into()),
            transaction: Some("urn:ihe:iti:2007:RegistryStoredQuery".into()),
            fault_code: "wsse:FailedAuthentication".into(),
            reason: reason.into(),
        }
    }

    #[tokio::test]
    async fn rejected_attempts_survive_reopen_and_page_newest_first() {
        for backing in crate::testing::backings().await {
            rejected_attempts_case(&backing).await;
        }
    }

    async fn rejected_attempts_case(backing: &crate::testing::Backing) {
        {
            let store = backing.open().await;
            for i in 0..5 {
                store
                    .record_rejected(&attempt(&format!("reason {i}")))
                    .await
                    .unwrap();
            }
        }
        let store = backing.open().await;
        assert_eq!(store.rejected_count().await.unwrap(), 5);
        let first = store.list_rejected(2, None).await.unwrap();
        assert_eq!(
            first
                .items
                .iter()
                .map(|a| a.reason.as_str())
                .collect::<Vec<_>>(),
            ["reason 4", "reason 3"]
        );
        let second = store
            .list_rejected(2, first.next_cursor.as_deref())
            .await
            .unwrap();
        assert_eq!(second.items[0].reason, "reason 2");
        let third = store
            .list_rejected(2, second.next_cursor.as_deref())
            .await
            .unwrap();
        assert_eq!(third.items.len(), 1);
        assert_eq!(third.next_cursor, None);
    }

    #[test]
    fn times_have_one_width_so_text_order_is_time_order() {
        use time::macros::datetime;
        let whole = format_time(datetime!(2026-11-25 10:00:00 UTC)).unwrap();
        let half = format_time(datetime!(2026-11-25 10:00:00.5 UTC)).unwrap();
        let later = format_time(datetime!(2026-11-25 10:00:00.51 +01:00)).unwrap();
        assert_eq!(whole, "2026-11-25T10:00:00.000000Z");
        assert_eq!(half, "2026-11-25T10:00:00.500000Z");
        assert_eq!(later, "2026-11-25T09:00:00.510000Z");
        assert!(whole < half);
        let now = now_rfc3339().unwrap();
        assert_eq!(now.len(), whole.len(), "{now}");
        assert!(
            time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn foreign_cursor_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuditStore::open(&dir.path().join("m.sqlite"))
            .await
            .unwrap();
        for bad in ["abc", "-3", "0"] {
            assert!(matches!(
                store.list_rejected(10, Some(bad)).await,
                Err(AuditError::BadCursor(_))
            ));
        }
    }
}

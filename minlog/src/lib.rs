//! MinLog access records and treatment-relation (BRS) follow-ups.
//!
//! Owns the durable audit of who touched whose data: the record of every rejected access
//! attempt ([`AuditStore::record_rejected`]), listed for operations; the access record of
//! every access that concerns a patient ([`access`](AuditStore::record_access)); and the outbox
//! of treatment-relation follow-ups ([`outbox`]) that [`OutboxWorker`] delivers at least once,
//! in order per patient, with back-off and dead-lettering ([`delivery`]).
//!
//! Invariants:
//! - Records are committed durably (SQLite WAL with `synchronous=FULL`) before the call that
//!   writes them returns; a caller that gets `Ok` may answer its client.
//! - Records are append-only: nothing here updates or deletes them. Follow-ups change only
//!   their delivery state (see [`outbox`]).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// Most rows one list call returns, whatever the caller asks for.
pub const LIST_LIMIT_MAX: u32 = 500;

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

/// The durable audit store (one SQLite file in the data directory).
#[derive(Debug, Clone)]
pub struct AuditStore {
    pool: SqlitePool,
    /// Poked after every commit that ordered a follow-up; the delivery worker of this process
    /// waits on it (besides its periodic poll, which also finds follow-ups other processes
    /// committed). `notify_one` keeps a permit while the worker is busy, so none is lost.
    followup_committed: Arc<Notify>,
}

mod access;
pub mod delivery;
pub mod forward;
pub mod outbox;
pub use access::{AccessAction, AccessOutcome, AccessRecord, RecordedAccess};
pub use delivery::{DeliveryConfig, DeliveryError, FlushReport, OutboxWorker, retry_delay};
pub use forward::{ForwardConfig, ForwardError, ForwardState, MinlogForwarder};
pub use outbox::{ClaimedFollowup, FailedAttempt, Followup, FollowupState, OutboxDepth};

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
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| AuditError::Open {
                path: path.display().to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(AuditStore {
            pool,
            followup_committed: Arc::new(Notify::new()),
        })
    }

    /// Notified whenever this store commits a follow-up (see the field's docs).
    pub fn followup_signal(&self) -> Arc<Notify> {
        self.followup_committed.clone()
    }

    /// Records one rejected attempt; returns only once the row is durable.
    pub async fn record_rejected(&self, attempt: &RejectedAttempt) -> Result<(), AuditError> {
        sqlx::query(
            "INSERT INTO rejected_attempt \
             (time, remote_address, claimed_subject, transaction_name, fault_code, reason) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&attempt.time)
        .bind(&attempt.remote_address)
        .bind(&attempt.claimed_subject)
        .bind(&attempt.transaction)
        .bind(&attempt.fault_code)
        .bind(&attempt.reason)
        .execute(&self.pool)
        .await?;
        Ok(())
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
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| AuditError::BadCursor(text.to_owned()))?,
        };
        let rows = sqlx::query(
            "SELECT id, time, remote_address, claimed_subject, transaction_name, fault_code, reason \
             FROM rejected_attempt WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        let mut last_id = None;
        for row in rows.iter().take(limit as usize) {
            last_id = Some(row.try_get::<i64, _>("id")?);
            items.push(RejectedAttempt {
                time: row.try_get("time")?,
                remote_address: row.try_get("remote_address")?,
                claimed_subject: row.try_get("claimed_subject")?,
                transaction: row.try_get("transaction_name")?,
                fault_code: row.try_get("fault_code")?,
                reason: row.try_get("reason")?,
            });
        }
        Ok(Page {
            items,
            next_cursor: if more {
                last_id.map(|id| id.to_string())
            } else {
                None
            },
        })
    }

    /// Number of rejected attempts recorded (for tests and metrics).
    pub async fn rejected_count(&self) -> Result<u64, AuditError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rejected_attempt")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("minlog.sqlite");
        {
            let store = AuditStore::open(&path).await.unwrap();
            for i in 0..5 {
                store
                    .record_rejected(&attempt(&format!("reason {i}")))
                    .await
                    .unwrap();
            }
        }
        let store = AuditStore::open(&path).await.unwrap();
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

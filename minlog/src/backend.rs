//! The SQL engine of the audit store, written once for both backends (SQLite, PostgreSQL).
//!
//! [`Engine`] is generic over the sqlx database; every statement is one text with `$n`
//! placeholders, which both drivers bind by number. What differs is the small [`Backend`]
//! trait: the locks a claim and a settle take on PostgreSQL, where several instances share one
//! outbox, and what the forwarder needs there to read the log in commit order (see
//! [`Backend::RECORD_AFTER_WITH_SNAPSHOT`]).
//!
//! Each `impl` block of [`Engine`] (here and in `access`, `outbox`, `forward`) repeats the
//! same `where` clause: the encodings and decodings the shared SQL uses, which generic code
//! over any sqlx database must state (Rust does not carry such bounds from a trait).

use std::sync::Arc;

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use crate::{AuditError, RejectedAttempt};

/// What differs between the backends the [`Engine`] runs on.
pub(crate) trait Backend: Database {
    /// Appended to the claim's inner `SELECT` of due heads: on PostgreSQL `FOR UPDATE SKIP
    /// LOCKED`, so that instances claiming at the same moment take different heads instead of
    /// waiting for each other; SQLite's single writer needs (and has) no such clause.
    const CLAIM_LOCK: &'static str;

    /// Appended to the `SELECT … ORDER BY patient_cpr` with which settling follow-ups first
    /// locks the heads it will change: on PostgreSQL ` FOR UPDATE`, so that the heads are
    /// locked in patient order (as access-record commits lock them) and concurrent
    /// transactions changing several patients' heads cannot deadlock. `None` on SQLite,
    /// whose single writer needs no row locks (the statement is skipped).
    const HEADS_LOCK: Option<&'static str>;

    /// Run first in the transaction that writes an access record. On PostgreSQL it gives the
    /// transaction its id *before* the record takes its row id, which the forwarder's
    /// commit-order check relies on (see [`Backend::RECORD_AFTER_WITH_SNAPSHOT`]).
    const BEFORE_RECORD: Option<&'static str>;

    /// PostgreSQL only: the first record after the cursor (`$1`), with the snapshot the
    /// statement ran in (`snapshot`, as text).
    ///
    /// Row ids are taken when a record is inserted, but transactions commit in any order, so
    /// record 11 can be visible while record 10 is still being committed by another instance;
    /// a cursor that moved past 11 would never send 10. Every transaction that can still
    /// commit an id below a visible record had its transaction id before it took that id
    /// ([`Backend::BEFORE_RECORD`]), and so was in progress in this snapshot; once none of
    /// the snapshot's in-progress transactions is ([`Backend::SNAPSHOT_SETTLED`]), the first
    /// record after the cursor, read again, is final. SQLite commits one writer at a time, in
    /// id order: `None`.
    ///
    /// The snapshot's in-progress transactions are those of the whole database server, so a
    /// transaction someone holds open (any database, any client) delays forwarding until it
    /// ends: delayed, never skipped. Narrowing the wait to transactions that write this
    /// store would need their ids, which only the server's activity view has.
    const RECORD_AFTER_WITH_SNAPSHOT: Option<&'static str>;

    /// PostgreSQL only: whether none of the transactions in progress in snapshot `$1` still
    /// is.
    const SNAPSHOT_SETTLED: Option<&'static str>;

    /// How many rows a statement changed (sqlx has no trait for it).
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl Backend for sqlx::Sqlite {
    const CLAIM_LOCK: &'static str = "";
    const HEADS_LOCK: Option<&'static str> = None;
    const BEFORE_RECORD: Option<&'static str> = None;
    const RECORD_AFTER_WITH_SNAPSHOT: Option<&'static str> = None;
    const SNAPSHOT_SETTLED: Option<&'static str> = None;

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl Backend for sqlx::Postgres {
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const HEADS_LOCK: Option<&'static str> = Some(" FOR UPDATE");
    const BEFORE_RECORD: Option<&'static str> = Some("SELECT pg_current_xact_id()");
    const RECORD_AFTER_WITH_SNAPSHOT: Option<&'static str> = Some(
        "SELECT r.*, pg_current_snapshot()::text AS snapshot FROM access_record AS r \
         WHERE r.id > $1 ORDER BY r.id LIMIT 1",
    );
    const SNAPSHOT_SETTLED: Option<&'static str> = Some(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_snapshot_xip($1::text::pg_snapshot) AS x \
         WHERE pg_xact_status(x) = 'in progress')",
    );

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// The store's connections on one backend.
pub(crate) struct Engine<DB: Database> {
    /// Connections for reads.
    pub(crate) pool: Pool<DB>,
    /// Connections for writes, each taken after [`Engine::writing`]. SQLite: one connection of
    /// its own for every write but the group commits and the outbox worker's settle-and-claim
    /// rounds (which run on `access_writer`), so that consecutive writes find its page cache
    /// valid (SQLite empties a connection's cache when another connection
    /// wrote since its last transaction, and the next transaction reads the pages it needs
    /// back from the file). PostgreSQL: the same pool as reads.
    pub(crate) writer: Pool<DB>,
    /// SQLite only: taken around every write, so that this process's writers (the group
    /// committer, the outbox worker, the forwarder) queue here, in order, instead of colliding
    /// on SQLite's one write lock, where the loser sleeps in the busy handler for 1, 2, 5,
    /// 10 … ms at a time whatever the lock's holder does — a collision cost an ITI-18 waiting
    /// for its access record several milliseconds. PostgreSQL has row locks: `None`.
    pub(crate) write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    /// SQLite only: the thread that commits the access records' groups and the outbox
    /// worker's settle-and-claim rounds (see [`crate::sqlite_writer`]); PostgreSQL writes them
    /// through `writer`: `None`.
    pub(crate) access_writer: Option<crate::sqlite_writer::SqliteWriter>,
}

impl<DB: Database> Clone for Engine<DB> {
    fn clone(&self) -> Self {
        Engine {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            write_gate: self.write_gate.clone(),
            access_writer: self.access_writer.clone(),
        }
    }
}

impl<DB: Database> Engine<DB> {
    /// Waits for this process's turn to write (SQLite); hold the answer until the write
    /// committed or rolled back.
    pub(crate) async fn writing(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }
}

impl<DB: Database> std::fmt::Debug for Engine<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("pool", &self.pool).finish()
    }
}

impl<DB> Engine<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    pub(crate) async fn record_rejected(
        &self,
        attempt: &RejectedAttempt,
    ) -> Result<(), AuditError> {
        let _writing = self.writing().await;
        sqlx::query(
            "INSERT INTO rejected_attempt \
             (time, remote_address, claimed_subject, transaction_name, fault_code, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(attempt.time.as_str())
        .bind(attempt.remote_address.as_deref())
        .bind(attempt.claimed_subject.as_deref())
        .bind(attempt.transaction.as_deref())
        .bind(attempt.fault_code.as_str())
        .bind(attempt.reason.as_str())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn list_rejected(
        &self,
        limit: u32,
        before_id: i64,
    ) -> Result<crate::Page<RejectedAttempt>, AuditError> {
        let rows = sqlx::query(
            "SELECT id, time, remote_address, claimed_subject, transaction_name, fault_code, reason \
             FROM rejected_attempt WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push((
                row.try_get::<i64, _>("id")?,
                RejectedAttempt {
                    time: row.try_get("time")?,
                    remote_address: row.try_get("remote_address")?,
                    claimed_subject: row.try_get("claimed_subject")?,
                    transaction: row.try_get("transaction_name")?,
                    fault_code: row.try_get("fault_code")?,
                    reason: row.try_get("reason")?,
                },
            ));
        }
        Ok(crate::page(items, limit))
    }

    pub(crate) async fn rejected_count(&self) -> Result<u64, AuditError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rejected_attempt")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

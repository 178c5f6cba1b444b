//! The access records' transactions on SQLite, on a thread that owns its connection.
//!
//! sqlx's SQLite driver runs each statement on its connection's thread and hands the results
//! back: a group commit of BEGIN, three inserts and COMMIT was five round trips between a
//! tokio worker and that thread, and under load each round trip waited for a CPU, so the
//! group's commit, and every request waiting for it, took milliseconds longer than SQLite's
//! own work. Here the whole transaction is one job for this thread: one hand-off there and
//! one back, whatever the group holds.
//!
//! Invariants (those of [`crate::access`] and [`crate::group_commit`] hold unchanged):
//! - The job runs the same statements, row by row, as the shared SQL does for PostgreSQL, in
//!   one `BEGIN IMMEDIATE` transaction; nothing of a failed group is written.
//! - It runs only while the caller holds the store's write gate ([`crate::backend::Engine::writing`]),
//!   so the outbox's writers on sqlx's connection never meet it at SQLite's write lock.
//! - The outbox worker's settle-and-claim rounds run here too, so that the store's busiest
//!   writes share one connection and its page cache (SQLite empties a connection's cache
//!   when another connection wrote since its last transaction).
//! - The thread ends when the last store handle is dropped (the job channel closes).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Statement, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::AuditError;
use crate::access::{
    AccessRecord, RecordedAccess, followup_payload, insert_followups_sql, insert_records_sql,
};
use crate::outbox::{
    ClaimedFollowup, FailedAttempt, FollowupState, Settled, attempts_count, claim_followups_sql,
    claim_heads_sql, enqueue_heads_sql, refresh_heads_delete_sql, refresh_heads_insert_sql,
    settle_delivered_sql, settle_failed_sql, stale_heads,
};

/// How long a write waits for SQLite's lock held by another process (a backup, an operator's
/// shell) before it fails; the same as sqlx's default for the store's other connections.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept: the group commit's three, and the outbox round's, one per
/// number of rows they settle or claim.
const STATEMENTS_CACHED: usize = 256;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The sending side of the writer thread; every clone sends to the same thread.
#[derive(Debug, Clone)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens the (migrated) store at `path` with the store's durability settings and starts
    /// the thread.
    pub(crate) fn open(path: &Path) -> Result<SqliteWriter, AuditError> {
        let open_error = |e: rusqlite::Error| AuditError::Write(e.to_string());
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_error)?;
        // WAL was set when the store was created (it is a property of the file); a commit
        // returns once it is on disk, as on the store's other connections.
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(open_error)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // The settle and claim statements differ with their number of rows (up to 64 each).
        connection.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        let (jobs, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("minlog-writer".to_owned())
            .spawn(move || {
                let mut connection = connection;
                while let Ok(job) = receiver.recv() {
                    job(&mut connection);
                }
            })
            .map_err(|e| AuditError::Write(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteWriter { jobs })
    }

    /// Settles and claims as `Engine::settle_and_claim` does on sqlx, in one transaction.
    /// Hold the store's write gate while awaiting it.
    pub(crate) async fn settle_and_claim(&self, job: SettleAndClaim) -> Result<Round, AuditError> {
        self.run(move |connection| settle_and_claim(connection, &job))
            .await?
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> T + Send + 'static,
    ) -> Result<T, AuditError> {
        let (answer, outcome) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let _ = answer.send(work(connection));
        });
        self.jobs
            .send(job)
            .map_err(|_| AuditError::CommitterStopped)?;
        outcome.await.map_err(|_| AuditError::CommitterStopped)
    }

    /// Commits `records` (each with whether it orders a follow-up) in one transaction, in the
    /// order given, as `access::insert_accesses` does on sqlx; returns once all are durable,
    /// or commits none. Hold the store's write gate while awaiting it.
    pub(crate) async fn record_accesses(
        &self,
        records: Vec<(AccessRecord, bool)>,
    ) -> Result<Vec<RecordedAccess>, AuditError> {
        self.run(move |connection| record_accesses(connection, &records))
            .await?
    }
}

/// What a round settled (each follow-up changed, with what became of it) and claimed.
pub(crate) type Round = (Vec<(String, Settled)>, Vec<ClaimedFollowup>);

/// The settle and claim of one round of the outbox worker, owned (it crosses to the thread).
pub(crate) struct SettleAndClaim {
    /// `(event_id, at)` of each delivered attempt.
    pub(crate) delivered: Vec<(String, String)>,
    /// `(event_id, at, error, retry_at)` of each failed attempt.
    pub(crate) failed: Vec<(String, String, String, String)>,
    pub(crate) attempts_max: u32,
    pub(crate) now: String,
    pub(crate) lease_until: String,
    pub(crate) limit: u32,
}

fn write_error(error: rusqlite::Error) -> AuditError {
    AuditError::Write(error.to_string())
}

/// Binds `values` to a statement of the shared SQL, whose placeholders are `$1`, `$2`, …:
/// SQLite numbers such parameters in the order they first appear, not by their number, so
/// each is bound by its name (as sqlx's SQLite driver does).
fn bind_numbered(statement: &mut Statement<'_>, values: &[&dyn ToSql]) -> Result<(), AuditError> {
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .filter(|number| (1..=values.len()).contains(number))
            .ok_or_else(|| {
                AuditError::Write(format!("parameter {index} of a statement is not bound"))
            })?;
        statement
            .raw_bind_parameter(index, values[number - 1])
            .map_err(write_error)?;
    }
    Ok(())
}

fn settle_and_claim(
    connection: &mut Connection,
    job: &SettleAndClaim,
) -> Result<Round, AuditError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(write_error)?;
    let changed = settle(&transaction, job)?;
    let claimed = claim(&transaction, job)?;
    transaction.commit().map_err(write_error)?;
    Ok((changed, claimed))
}

fn settle(
    transaction: &rusqlite::Transaction<'_>,
    job: &SettleAndClaim,
) -> Result<Vec<(String, Settled)>, AuditError> {
    let mut changed = Vec::with_capacity(job.delivered.len() + job.failed.len());
    let mut patients = std::collections::BTreeSet::new();
    if !job.delivered.is_empty() {
        let mut statement = transaction
            .prepare_cached(&settle_delivered_sql(job.delivered.len()))
            .map_err(write_error)?;
        let values: Vec<&dyn ToSql> = job
            .delivered
            .iter()
            .flat_map(|(event_id, at)| [event_id as &dyn ToSql, at as &dyn ToSql])
            .collect();
        bind_numbered(&mut statement, &values)?;
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next().map_err(write_error)? {
            let event_id: String = row.get(0).map_err(write_error)?;
            patients.insert(row.get::<_, String>(1).map_err(write_error)?);
            changed.push((event_id, Settled::Delivered));
        }
    }
    if !job.failed.is_empty() {
        let mut statement = transaction
            .prepare_cached(&settle_failed_sql(job.failed.len()))
            .map_err(write_error)?;
        let attempts_max = i64::from(job.attempts_max);
        let mut values: Vec<&dyn ToSql> = vec![&attempts_max];
        for (event_id, at, error, retry_at) in &job.failed {
            values.extend([
                event_id as &dyn ToSql,
                at as &dyn ToSql,
                error as &dyn ToSql,
                retry_at as &dyn ToSql,
            ]);
        }
        bind_numbered(&mut statement, &values)?;
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next().map_err(write_error)? {
            let event_id: String = row.get(0).map_err(write_error)?;
            patients.insert(row.get::<_, String>(1).map_err(write_error)?);
            let state = FollowupState::parse(&row.get::<_, String>(2).map_err(write_error)?)?;
            let attempts = attempts_count(row.get(3).map_err(write_error)?)?;
            changed.push((event_id, Settled::Failed(FailedAttempt { state, attempts })));
        }
    }
    let patients: Vec<&str> = patients.iter().map(String::as_str).collect();
    refresh_heads(transaction, &patients)?;
    Ok(changed)
}

fn claim(
    transaction: &rusqlite::Transaction<'_>,
    job: &SettleAndClaim,
) -> Result<Vec<ClaimedFollowup>, AuditError> {
    let mut heads: Vec<(i64, String)> = Vec::new();
    {
        let mut statement = transaction
            .prepare_cached(&claim_heads_sql(""))
            .map_err(write_error)?;
        let limit = i64::from(job.limit);
        bind_numbered(&mut statement, &[&job.lease_until, &job.now, &limit])?;
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next().map_err(write_error)? {
            heads.push((
                row.get(0).map_err(write_error)?,
                row.get(1).map_err(write_error)?,
            ));
        }
    }
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    let mut claimed: Vec<(i64, ClaimedFollowup)> = Vec::with_capacity(heads.len());
    {
        let mut statement = transaction
            .prepare_cached(&claim_followups_sql(heads.len()))
            .map_err(write_error)?;
        let mut values: Vec<&dyn ToSql> = vec![&job.lease_until];
        values.extend(heads.iter().map(|(id, _)| id as &dyn ToSql));
        bind_numbered(&mut statement, &values)?;
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next().map_err(write_error)? {
            claimed.push((
                row.get(0).map_err(write_error)?,
                ClaimedFollowup {
                    event_id: row.get(1).map_err(write_error)?,
                    patient_cpr: row.get(2).map_err(write_error)?,
                    payload: row.get(3).map_err(write_error)?,
                    attempts: attempts_count(row.get(4).map_err(write_error)?)?,
                },
            ));
        }
    }
    refresh_heads(transaction, &stale_heads(&heads, &claimed))?;
    claimed.sort_by_key(|(id, _)| *id);
    Ok(claimed.into_iter().map(|(_, followup)| followup).collect())
}

fn refresh_heads(
    transaction: &rusqlite::Transaction<'_>,
    patients: &[&str],
) -> Result<(), AuditError> {
    if patients.is_empty() {
        return Ok(());
    }
    let values: Vec<&dyn ToSql> = patients.iter().map(|p| p as &dyn ToSql).collect();
    for sql in [
        refresh_heads_delete_sql(patients.len()),
        refresh_heads_insert_sql(patients.len()),
    ] {
        let mut statement = transaction.prepare_cached(&sql).map_err(write_error)?;
        bind_numbered(&mut statement, &values)?;
        statement.raw_execute().map_err(write_error)?;
    }
    Ok(())
}

fn record_accesses(
    connection: &mut Connection,
    records: &[(AccessRecord, bool)],
) -> Result<Vec<RecordedAccess>, AuditError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(write_error)?;
    let mut recorded = Vec::with_capacity(records.len());
    {
        // One row each: on this thread a statement costs no hand-off, so the multi-row
        // statements sqlx needs would only add binding work. Their `$n` run in order, so the
        // values bind by position.
        let mut insert_record = transaction
            .prepare_cached(&insert_records_sql(1))
            .map_err(write_error)?;
        let mut insert_followup = transaction
            .prepare_cached(&insert_followups_sql(1))
            .map_err(write_error)?;
        let mut enqueue_head = transaction
            .prepare_cached(&enqueue_heads_sql(1))
            .map_err(write_error)?;
        for (record, order_followup) in records {
            let documents = serde_json::to_string(&record.documents)
                .map_err(|e| AuditError::Corrupt(e.to_string()))?;
            let record_id: i64 = insert_record
                .query_row(
                    params![
                        record.time,
                        record.patient_cpr,
                        record.user_cpr,
                        record.user_name,
                        record.user_role,
                        record.organisation_sor,
                        record.organisation_cvr,
                        record.organisation_name,
                        record.it_system,
                        record.on_behalf_of,
                        record.action.as_str(),
                        documents,
                        record.override_reason,
                        record.outcome.as_str(),
                    ],
                    |row| row.get(0),
                )
                .map_err(write_error)?;
            let followup_event_id = if *order_followup {
                let event_id = uuid::Uuid::now_v7().to_string();
                let payload = followup_payload(record, &event_id);
                let followup_id: i64 = insert_followup
                    .query_row(
                        params![
                            event_id,
                            record_id,
                            record.patient_cpr,
                            payload,
                            "pending",
                            0i64,
                            record.time,
                        ],
                        |row| row.get(0),
                    )
                    .map_err(write_error)?;
                enqueue_head
                    .execute(params![record.patient_cpr, followup_id, record.time])
                    .map_err(write_error)?;
                Some(event_id)
            } else {
                None
            };
            recorded.push(RecordedAccess {
                record_id,
                followup_event_id,
            });
        }
    }
    // A failed commit may still have committed (the disk failed while syncing): the group
    // committer must not write such records again.
    transaction
        .commit()
        .map_err(|e| AuditError::CommitOutcomeUnknown(e.to_string()))?;
    Ok(recorded)
}

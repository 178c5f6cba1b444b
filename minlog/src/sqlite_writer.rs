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
//! - The thread ends when the last store handle is dropped (the job channel closes).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::AuditError;
use crate::access::{AccessRecord, RecordedAccess, followup_payload};
use crate::outbox::values_rows;

/// How long a write waits for SQLite's lock held by another process (a backup, an operator's
/// shell) before it fails; the same as sqlx's default for the store's other connections.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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

    /// Commits `records` (each with whether it orders a follow-up) in one transaction, in the
    /// order given, as `access::insert_accesses` does on sqlx; returns once all are durable,
    /// or commits none. Hold the store's write gate while awaiting it.
    pub(crate) async fn record_accesses(
        &self,
        records: Vec<(AccessRecord, bool)>,
    ) -> Result<Vec<RecordedAccess>, AuditError> {
        let (answer, outcome) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let _ = answer.send(record_accesses(connection, &records));
        });
        self.jobs
            .send(job)
            .map_err(|_| AuditError::CommitterStopped)?;
        outcome.await.map_err(|_| AuditError::CommitterStopped)?
    }
}

fn record_accesses(
    connection: &mut Connection,
    records: &[(AccessRecord, bool)],
) -> Result<Vec<RecordedAccess>, AuditError> {
    let write = |e: rusqlite::Error| AuditError::Write(e.to_string());
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(write)?;
    let mut recorded = Vec::with_capacity(records.len());
    {
        let mut insert_record = transaction
            .prepare_cached(&format!(
                "INSERT INTO access_record (time, patient_cpr, user_cpr, user_name, user_role, \
                 organisation_sor, organisation_cvr, organisation_name, it_system, on_behalf_of, \
                 action, documents, override_reason, outcome) VALUES {}",
                values_rows(1, 14, 1)
            ))
            .map_err(write)?;
        let mut insert_followup = transaction
            .prepare_cached(&format!(
                "INSERT INTO followup_outbox (event_id, access_record_id, patient_cpr, payload, \
                 state, attempts, next_attempt_at) VALUES {}",
                values_rows(1, 7, 1)
            ))
            .map_err(write)?;
        // A patient's head is its oldest pending follow-up: an existing one stays.
        let mut enqueue_head = transaction
            .prepare_cached(&format!(
                "INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at) VALUES {} \
                 ON CONFLICT (patient_cpr) DO NOTHING",
                values_rows(1, 3, 1)
            ))
            .map_err(write)?;
        for (record, order_followup) in records {
            let documents = serde_json::to_string(&record.documents)
                .map_err(|e| AuditError::Corrupt(e.to_string()))?;
            insert_record
                .execute(params![
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
                ])
                .map_err(write)?;
            let record_id = transaction.last_insert_rowid();
            let followup_event_id = if *order_followup {
                let event_id = uuid::Uuid::now_v7().to_string();
                let payload = followup_payload(record, &event_id);
                insert_followup
                    .execute(params![
                        event_id,
                        record_id,
                        record.patient_cpr,
                        payload,
                        "pending",
                        0i64,
                        record.time,
                    ])
                    .map_err(write)?;
                let followup_id = transaction.last_insert_rowid();
                enqueue_head
                    .execute(params![record.patient_cpr, followup_id, record.time])
                    .map_err(write)?;
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

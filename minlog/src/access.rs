//! Access records (MinLog) and the treatment-relation follow-ups they order.
//!
//! An access record and, for a health professional's access to a patient's data, its BRS
//! follow-up are written in **one transaction**: either both are durable or neither is, so a
//! follow-up can never be lost while its access is logged, nor ordered for an access that was
//! not. The caller commits this before it answers (fail closed: no record, no data).
//!
//! Invariants:
//! - Append-only for records; follow-ups only move `pending` → `delivered` or `pending` →
//!   `dead`, and only through [`crate::outbox`].
//! - Committing a follow-up wakes the delivery worker of this process
//!   ([`AuditStore::followup_signal`]), so it does not wait for its next poll.
//! - Lists are newest first with an opaque cursor (the row id), never by offset, so concurrent
//!   writes do not shift pages.

use serde::Serialize;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::backend::{Backend, Engine};
use crate::outbox::{FOLLOWUP_COLUMNS, Followup, enqueue_heads, followup_from_row, values_rows};
use crate::{AuditError, AuditStore, LIST_LIMIT_MAX, Page, parse_cursor};

/// What the access did (INTERFACE.md MinLog `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessAction {
    Query,
    Retrieve,
    Register,
    Update,
    Delete,
}

impl AccessAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessAction::Query => "query",
            AccessAction::Retrieve => "retrieve",
            AccessAction::Register => "register",
            AccessAction::Update => "update",
            AccessAction::Delete => "delete",
        }
    }

    fn parse(text: &str) -> Result<Self, AuditError> {
        Ok(match text {
            "query" => AccessAction::Query,
            "retrieve" => AccessAction::Retrieve,
            "register" => AccessAction::Register,
            "update" => AccessAction::Update,
            "delete" => AccessAction::Delete,
            other => return Err(AuditError::Corrupt(format!("unknown action {other:?}"))),
        })
    }
}

/// How the access ended (INTERFACE.md MinLog `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessOutcome {
    /// Everything asked for was given.
    Allowed,
    /// Some documents were withheld by the citizen's consent.
    Filtered,
    /// Nothing was given.
    Rejected,
}

impl AccessOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessOutcome::Allowed => "allowed",
            AccessOutcome::Filtered => "filtered",
            AccessOutcome::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Result<Self, AuditError> {
        Ok(match text {
            "allowed" => AccessOutcome::Allowed,
            "filtered" => AccessOutcome::Filtered,
            "rejected" => AccessOutcome::Rejected,
            other => return Err(AuditError::Corrupt(format!("unknown outcome {other:?}"))),
        })
    }
}

/// One access that concerns a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    /// RFC 3339 UTC ([`crate::now_rfc3339`]).
    pub time: String,
    pub patient_cpr: String,
    pub user_cpr: Option<String>,
    pub user_name: Option<String>,
    /// The caller's role (`doctor`, `system`, …).
    pub user_role: String,
    pub organisation_sor: Option<String>,
    pub organisation_cvr: Option<String>,
    pub organisation_name: Option<String>,
    pub it_system: Option<String>,
    /// CPR of the doctor on whose behalf the user acted.
    pub on_behalf_of: Option<String>,
    pub action: AccessAction,
    /// uniqueIds of the documents concerned.
    pub documents: Vec<String>,
    /// The reason given with a consent override, if one was used.
    pub override_reason: Option<String>,
    pub outcome: AccessOutcome,
}

/// What a committed access produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAccess {
    pub record_id: i64,
    /// The follow-up's `event_id`, when one was ordered.
    pub followup_event_id: Option<String>,
}

impl AuditStore {
    /// Commits an access record and, when `order_followup`, its BRS follow-up, in one
    /// transaction; returns once both are durable.
    pub async fn record_access(
        &self,
        record: &AccessRecord,
        order_followup: bool,
    ) -> Result<RecordedAccess, AuditError> {
        self.record_accesses(vec![(record.clone(), order_followup)])
            .await?
            .pop()
            .ok_or(AuditError::CommitterStopped)
    }

    /// Commits access records (each with whether it orders a follow-up) in one transaction,
    /// grouped with other callers' records that are waiting at the same moment
    /// ([`crate::group_commit`]); returns once all are durable, in the order given.
    pub async fn record_accesses(
        &self,
        records: Vec<(AccessRecord, bool)>,
    ) -> Result<Vec<RecordedAccess>, AuditError> {
        self.committer.commit(records).await
    }

    /// A patient's access records, newest first, optionally within `[from, to)` (RFC 3339
    /// or date prefixes compare as text).
    pub async fn list_for_patient(
        &self,
        patient_cpr: &str,
        from: Option<&str>,
        to: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AccessRecord>, AuditError> {
        let (limit, before_id) = list_bounds(limit, cursor)?;
        dispatch!(self, e => e
            .list_where("patient_cpr", patient_cpr, from, to, limit, before_id)
            .await)
    }

    /// Access records made on a doctor's behalf (the delegation view), newest first,
    /// optionally within `[from, to)` (compared as in [`AuditStore::list_for_patient`]).
    pub async fn list_on_behalf_of(
        &self,
        doctor_cpr: &str,
        from: Option<&str>,
        to: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AccessRecord>, AuditError> {
        let (limit, before_id) = list_bounds(limit, cursor)?;
        dispatch!(self, e => e
            .list_where("on_behalf_of", doctor_cpr, from, to, limit, before_id)
            .await)
    }

    /// Follow-ups in the outbox in the order they were committed (pending, delivered and
    /// dead alike); [`AuditStore::list_followups`] pages and filters them.
    pub async fn followups(&self, limit: u32) -> Result<Vec<Followup>, AuditError> {
        dispatch!(self, e => e.followups(limit.clamp(1, LIST_LIMIT_MAX)).await)
    }

    /// Number of access records (for tests and operations).
    pub async fn access_count(&self) -> Result<u64, AuditError> {
        dispatch!(self, e => e.access_count().await)
    }
}

fn list_bounds(limit: u32, cursor: Option<&str>) -> Result<(u32, i64), AuditError> {
    let before_id = match cursor {
        None => i64::MAX,
        Some(text) => parse_cursor(text)?,
    };
    Ok((limit.clamp(1, LIST_LIMIT_MAX), before_id))
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
    /// Commits `records` (each with whether it orders a follow-up) in one transaction, in the
    /// order given; returns once all are durable, or commits none.
    pub(crate) async fn record_accesses(
        &self,
        records: &[(&AccessRecord, bool)],
    ) -> Result<Vec<RecordedAccess>, AuditError> {
        let _writing = self.writing().await;
        let mut tx = self.writer.begin().await?;
        if let Some(sql) = DB::BEFORE_RECORD {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        let recorded = insert_accesses::<DB>(&mut tx, records).await?;
        // A failed commit may still have committed (a connection lost while committing): the
        // group committer must not write such records again.
        tx.commit()
            .await
            .map_err(|e| AuditError::CommitOutcomeUnknown(e.to_string()))?;
        Ok(recorded)
    }

    async fn followups(&self, limit: u32) -> Result<Vec<Followup>, AuditError> {
        let rows = sqlx::query(&format!(
            "SELECT {FOLLOWUP_COLUMNS} FROM followup_outbox ORDER BY id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(followup_from_row::<DB>).collect()
    }

    async fn access_count(&self) -> Result<u64, AuditError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_record")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// One query for both list views; `column` is one of our two constant column names,
    /// never caller input.
    async fn list_where(
        &self,
        column: &'static str,
        value: &str,
        from: Option<&str>,
        to: Option<&str>,
        limit: u32,
        before_id: i64,
    ) -> Result<Page<AccessRecord>, AuditError> {
        debug_assert!(matches!(column, "patient_cpr" | "on_behalf_of"));
        let sql = format!(
            "SELECT * FROM access_record WHERE {column} = $1 AND id < $2 \
             AND ($3 IS NULL OR time >= $3) AND ($4 IS NULL OR time < $4) \
             ORDER BY id DESC LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(value)
            .bind(before_id)
            .bind(from)
            .bind(to)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let records = rows
            .iter()
            .map(record_from_row::<DB>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::page(records, limit))
    }
}

/// An `access_record` row (all columns) as its id and record.
pub(crate) fn record_from_row<DB>(row: &DB::Row) -> Result<(i64, AccessRecord), AuditError>
where
    DB: Database,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'r> Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let documents: String = row.try_get("documents")?;
    let record = AccessRecord {
        time: row.try_get("time")?,
        patient_cpr: row.try_get("patient_cpr")?,
        user_cpr: row.try_get("user_cpr")?,
        user_name: row.try_get("user_name")?,
        user_role: row.try_get("user_role")?,
        organisation_sor: row.try_get("organisation_sor")?,
        organisation_cvr: row.try_get("organisation_cvr")?,
        organisation_name: row.try_get("organisation_name")?,
        it_system: row.try_get("it_system")?,
        on_behalf_of: row.try_get("on_behalf_of")?,
        action: AccessAction::parse(&row.try_get::<String, _>("action")?)?,
        documents: serde_json::from_str(&documents)
            .map_err(|e| AuditError::Corrupt(e.to_string()))?,
        override_reason: row.try_get("override_reason")?,
        outcome: AccessOutcome::parse(&row.try_get::<String, _>("outcome")?)?,
    };
    Ok((row.try_get("id")?, record))
}

/// Most access records one multi-row `INSERT` writes: 14 bound values a row stays far below
/// SQLite's 32,766 bind parameters (and PostgreSQL's 65,535).
const INSERT_RECORDS_MAX: usize = 256;

/// Inserts `records` (each with whether it orders a follow-up) with their follow-ups and the
/// patients' outbox heads, in the order given, in the caller's transaction.
///
/// Three multi-row statements per [`INSERT_RECORDS_MAX`] records (records, follow-ups,
/// heads) instead of three per record: on SQLite every statement is a round trip to the
/// connection's worker thread, and under load each round trip waits for a CPU, so a group
/// of records written one statement at a time kept the committer, and every request waiting
/// for it, waiting on the scheduler.
async fn insert_accesses<DB>(
    connection: &mut DB::Connection,
    records: &[(&AccessRecord, bool)],
) -> Result<Vec<RecordedAccess>, AuditError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    let mut recorded = Vec::with_capacity(records.len());
    for chunk in records.chunks(INSERT_RECORDS_MAX) {
        let documents = chunk
            .iter()
            .map(|(record, _)| serde_json::to_string(&record.documents))
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| AuditError::Corrupt(e.to_string()))?;
        let sql = insert_records_sql(chunk.len());
        let mut query = sqlx::query_scalar::<DB, i64>(&sql);
        for ((record, _), documents) in chunk.iter().zip(&documents) {
            query = query
                .bind(record.time.as_str())
                .bind(record.patient_cpr.as_str())
                .bind(record.user_cpr.as_deref())
                .bind(record.user_name.as_deref())
                .bind(record.user_role.as_str())
                .bind(record.organisation_sor.as_deref())
                .bind(record.organisation_cvr.as_deref())
                .bind(record.organisation_name.as_deref())
                .bind(record.it_system.as_deref())
                .bind(record.on_behalf_of.as_deref())
                .bind(record.action.as_str())
                .bind(documents.as_str())
                .bind(record.override_reason.as_deref())
                .bind(record.outcome.as_str());
        }
        let mut record_ids = query.fetch_all(&mut *connection).await?;
        if record_ids.len() != chunk.len() {
            return Err(AuditError::Corrupt(format!(
                "{} access records inserted, {} ids returned",
                chunk.len(),
                record_ids.len()
            )));
        }
        // The rows take their ids as the statement inserts them, in the order of its VALUES list
        // (the identity or rowid grows with each); RETURNING promises no order of its own.
        record_ids.sort_unstable();

        // The follow-ups: (record's index, event id, payload).
        let followups: Vec<(usize, String, String)> = chunk
            .iter()
            .enumerate()
            .filter(|(_, (_, order_followup))| *order_followup)
            .map(|(index, (record, _))| {
                let event_id = uuid::Uuid::now_v7().to_string();
                let payload = followup_payload(record, &event_id);
                (index, event_id, payload)
            })
            .collect();
        let mut followup_ids = std::collections::HashMap::with_capacity(followups.len());
        if !followups.is_empty() {
            let sql = insert_followups_sql(followups.len());
            let mut query = sqlx::query(&sql);
            for (index, event_id, payload) in &followups {
                let record = chunk[*index].0;
                query = query
                    .bind(event_id.as_str())
                    .bind(record_ids[*index])
                    .bind(record.patient_cpr.as_str())
                    .bind(payload.as_str())
                    .bind("pending")
                    .bind(0i64)
                    .bind(record.time.as_str());
            }
            for row in query.fetch_all(&mut *connection).await? {
                followup_ids.insert(
                    row.try_get::<String, _>("event_id")?,
                    row.try_get::<i64, _>("id")?,
                );
            }
            // Each patient's first follow-up of the chunk becomes its head unless it has one:
            // a head is the oldest pending follow-up, and an existing one is older.
            let mut heads: Vec<(&str, i64, &str)> = Vec::new();
            for (index, event_id, _) in &followups {
                let record = chunk[*index].0;
                if heads.iter().any(|(cpr, _, _)| *cpr == record.patient_cpr) {
                    continue;
                }
                let followup_id = followup_ids.get(event_id).copied().ok_or_else(|| {
                    AuditError::Corrupt(format!("follow-up {event_id} inserted without an id"))
                })?;
                heads.push((
                    record.patient_cpr.as_str(),
                    followup_id,
                    record.time.as_str(),
                ));
            }
            enqueue_heads::<DB>(&mut *connection, &heads).await?;
        }
        let mut chunk_recorded = record_ids
            .into_iter()
            .map(|record_id| RecordedAccess {
                record_id,
                followup_event_id: None,
            })
            .collect::<Vec<_>>();
        for (index, event_id, _) in followups {
            chunk_recorded[index].followup_event_id = Some(event_id);
        }
        recorded.extend(chunk_recorded);
    }
    Ok(recorded)
}

/// Inserts `rows` access records, 14 values each (the columns in this order); returns `id`.
pub(crate) fn insert_records_sql(rows: usize) -> String {
    format!(
        "INSERT INTO access_record (time, patient_cpr, user_cpr, user_name, user_role, \
         organisation_sor, organisation_cvr, organisation_name, it_system, on_behalf_of, \
         action, documents, override_reason, outcome) VALUES {} RETURNING id",
        values_rows(rows, 14, 1)
    )
}

/// Inserts `rows` follow-ups, 7 values each (the columns in this order); returns `id,
/// event_id`.
pub(crate) fn insert_followups_sql(rows: usize) -> String {
    format!(
        "INSERT INTO followup_outbox (event_id, access_record_id, patient_cpr, payload, \
         state, attempts, next_attempt_at) VALUES {} RETURNING id, event_id",
        values_rows(rows, 7, 1)
    )
}

/// The JSON a follow-up delivers (INTERFACE.md, "Treatment-relation follow-up").
pub(crate) fn followup_payload(record: &AccessRecord, event_id: &str) -> String {
    serde_json::json!({
        "event_id": event_id,
        "time": record.time,
        "patient_cpr": record.patient_cpr,
        "professional_cpr": record.user_cpr,
        "organisation": {
            "sor": record.organisation_sor,
            "cvr": record.organisation_cvr,
            "name": record.organisation_name,
        },
        "on_behalf_of": record.on_behalf_of,
        "action": record.action.as_str(),
        "documents": record.documents,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(patient: &str, minute: u32, on_behalf_of: Option<&str>) -> AccessRecord {
        AccessRecord {
            time: format!("2026-11-25T10:{minute:02}:00.000000Z"),
            patient_cpr: patient.into(),
            user_cpr: Some("0804569723".into()),
            user_name: Some("Ida Engel".into()),
            user_role: "secretary".into(),
            organisation_sor: Some("328081000016004".into()),
            organisation_cvr: None,
            organisation_name: Some("Rigshospitalet".into()),
            it_system: Some("EOJ".into()),
            on_behalf_of: on_behalf_of.map(Into::into),
            action: AccessAction::Query,
            documents: vec!["2.25.1".into(), "2.25.2".into()],
            override_reason: None,
            outcome: AccessOutcome::Allowed,
        }
    }

    /// More records than one multi-row INSERT takes, in one call: each stored as given under
    /// the id answered for it, each follow-up with its own record, the heads right.
    #[tokio::test]
    async fn records_beyond_one_insert_keep_their_ids_follow_ups_and_heads() {
        let patients = ["0101700013", "0201919990", "2512489996"];
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let records: Vec<(AccessRecord, bool)> = (0..INSERT_RECORDS_MAX + 44)
                .map(|n| {
                    let mut access = record(patients[n % 3], 0, None);
                    access.documents = vec![format!("2.25.{n}")];
                    (access, n % 2 == 0)
                })
                .collect();
            let recorded = store.record_accesses(records.clone()).await.unwrap();
            assert_eq!(recorded.len(), records.len());
            for (n, ((access, followup), recorded)) in records.iter().zip(&recorded).enumerate() {
                let stored = store
                    .test_rows(&format!(
                        "SELECT patient_cpr, id, documents FROM access_record WHERE id = {}",
                        recorded.record_id
                    ))
                    .await;
                assert_eq!(stored[0].0, access.patient_cpr, "record {n}");
                assert_eq!(stored[0].2, format!("[\"2.25.{n}\"]"), "record {n}");
                assert_eq!(
                    recorded.followup_event_id.is_some(),
                    *followup,
                    "record {n}"
                );
                if let Some(event_id) = &recorded.followup_event_id {
                    let outbox = store
                        .test_rows(&format!(
                            "SELECT event_id, access_record_id, patient_cpr FROM followup_outbox \
                             WHERE event_id = '{event_id}'"
                        ))
                        .await;
                    assert_eq!(outbox[0].1, recorded.record_id, "record {n}");
                    assert_eq!(outbox[0].2, access.patient_cpr, "record {n}");
                }
            }
            let (kept, expected) = store.heads_kept_and_expected().await;
            assert_eq!(kept.len(), patients.len());
            assert_eq!(kept, expected);
        }
    }

    #[tokio::test]
    async fn record_and_followup_commit_together_and_read_back() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let recorded = store
                .record_access(&record("0201919990", 1, Some("0101700013")), true)
                .await
                .unwrap();
            let event_id = recorded.followup_event_id.unwrap();
            let followups = store.followups(10).await.unwrap();
            assert_eq!(followups.len(), 1);
            assert_eq!(followups[0].event_id, event_id);
            assert_eq!(followups[0].state, "pending");
            assert_eq!(followups[0].payload["patient_cpr"], "0201919990");
            assert_eq!(followups[0].payload["professional_cpr"], "0804569723");
            assert_eq!(followups[0].payload["documents"][1], "2.25.2");

            let page = store
                .list_for_patient("0201919990", None, None, 10, None)
                .await
                .unwrap();
            assert_eq!(
                page.items,
                vec![record("0201919990", 1, Some("0101700013"))]
            );
            let delegated = store
                .list_on_behalf_of("0101700013", None, None, 10, None)
                .await
                .unwrap();
            assert_eq!(delegated.items.len(), 1);
            let before = store
                .list_on_behalf_of("0101700013", None, Some("2026-11-25T10:01"), 10, None)
                .await
                .unwrap();
            assert!(before.items.is_empty());
            let within = store
                .list_on_behalf_of(
                    "0101700013",
                    Some("2026-11-25"),
                    Some("2026-11-26"),
                    10,
                    None,
                )
                .await
                .unwrap();
            assert_eq!(within.items.len(), 1);
        }
    }

    #[tokio::test]
    async fn lists_page_newest_first_and_filter_by_time() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            for minute in 0..5 {
                store
                    .record_access(&record("0201919990", minute, None), false)
                    .await
                    .unwrap();
            }
            store
                .record_access(&record("0101700013", 9, None), false)
                .await
                .unwrap();
            assert!(store.followups(10).await.unwrap().is_empty());
            let first = store
                .list_for_patient("0201919990", None, None, 2, None)
                .await
                .unwrap();
            let minutes: Vec<&str> = first.items.iter().map(|r| &r.time[14..16]).collect();
            assert_eq!(minutes, ["04", "03"]);
            let rest = store
                .list_for_patient("0201919990", None, None, 10, first.next_cursor.as_deref())
                .await
                .unwrap();
            assert_eq!(rest.items.len(), 3);
            assert_eq!(rest.next_cursor, None);
            let window = store
                .list_for_patient(
                    "0201919990",
                    Some("2026-11-25T10:01"),
                    Some("2026-11-25T10:03"),
                    10,
                    None,
                )
                .await
                .unwrap();
            let minutes: Vec<&str> = window.items.iter().map(|r| &r.time[14..16]).collect();
            assert_eq!(minutes, ["02", "01"]);
        }
    }
}

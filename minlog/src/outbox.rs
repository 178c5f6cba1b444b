//! The outbox of treatment-relation follow-ups: what is due, claiming it for one delivery
//! attempt, settling the attempt, and the views operations need (depth, listing).
//!
//! A follow-up is committed `pending` together with its access record
//! ([`AuditStore::record_access`]); the delivery worker ([`crate::delivery`]) moves it on.
//!
//! Invariants:
//! - States only move `pending` → `delivered` or `pending` → `dead`; a settled follow-up is
//!   never touched again (every update is guarded by `state = 'pending'`).
//! - **In order per patient**: only the oldest *pending* follow-up of a patient (its head) can
//!   be claimed, so a later follow-up is never sent before an earlier one has settled.
//!   A dead-lettered follow-up no longer blocks: once the configured attempts are spent, the
//!   patient's later follow-ups proceed (a receiver that refuses one event forever must not
//!   stop a patient's follow-ups for good); the dead one stays listed for operations.
//! - **Heads are indexed**: table `followup_head` holds, for every patient with pending
//!   follow-ups, the id and `next_attempt_at` of the oldest. It changes in the same
//!   transaction as the follow-ups it summarises ([`enqueue_heads`], [`refresh_heads`]), so a
//!   claim reads only the due heads (an index range), never the queues behind them: a long
//!   BRS outage makes the backlog grow, not the cost of each claim. Being derived, it can be
//!   rebuilt from the outbox at any time ([`AuditStore::rebuild_followup_heads`]).
//! - **Claims are leases**: claiming moves `next_attempt_at` to the end of a lease, so a second
//!   claimer (the shutdown flush, another process on PostgreSQL) does not take the same
//!   follow-up, and one whose claimer died becomes due again when the lease ends
//!   (at-least-once). The claim is one `UPDATE followup_head … WHERE patient_cpr IN (SELECT …)
//!   RETURNING`; on PostgreSQL, where several instances claim from one outbox, the inner
//!   select takes `FOR UPDATE SKIP LOCKED` (instances claiming together take different heads)
//!   and `record_access` locks the patient's head row ([`enqueue_heads`]); SQLite's single
//!   writer does both for us.
//! - **Settling is batched**: [`AuditStore::settle_followups`] records many attempts' outcomes
//!   and their patients' new heads in one transaction (one durable commit), each exactly as
//!   if settled alone (only a pending follow-up changes). On PostgreSQL it first locks the
//!   heads it changes in patient order, the order access-record commits lock them in.
//!   [`AuditStore::settle_and_claim_followups`] claims in the same transaction, after the
//!   settle, so the delivery worker takes one turn at the writer per round, not two.
//! - On PostgreSQL two accesses to one patient that commit at the same moment (through two
//!   instances) are delivered in the order their follow-ups became the head, which is one of
//!   the orders they committed in; accesses one after another are delivered in that order.
//! - Every write transaction here starts with a write, so SQLite takes its lock at once
//!   instead of failing to upgrade a read.
//! - All state is in the database: a restarted process resumes where the last one stopped.
//! - Times are [`crate::format_time`] strings (fixed width), so SQL compares them as text.

use serde::Serialize;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::backend::{Backend, Engine};
use crate::{AuditError, AuditStore, LIST_LIMIT_MAX, Page, format_time, parse_cursor};

/// Longest `last_error` kept per follow-up, in characters: enough for a status line or a
/// connection error, bounded so a chatty receiver cannot grow the outbox.
pub const LAST_ERROR_CHARS_MAX: usize = 500;

/// Where a follow-up is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowupState {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every configured attempt failed; kept for operations, never retried.
    Dead,
}

impl FollowupState {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowupState::Pending => "pending",
            FollowupState::Delivered => "delivered",
            FollowupState::Dead => "dead",
        }
    }

    /// The state a caller named (`pending`, `delivered`, `dead`), if it is one.
    pub fn from_name(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(FollowupState::Pending),
            "delivered" => Some(FollowupState::Delivered),
            "dead" => Some(FollowupState::Dead),
            _ => None,
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, AuditError> {
        Self::from_name(text)
            .ok_or_else(|| AuditError::Corrupt(format!("unknown follow-up state {text:?}")))
    }
}

impl PartialEq<&str> for FollowupState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A treatment-relation follow-up as it waits in (or has left) the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Followup {
    pub event_id: String,
    pub patient_cpr: String,
    /// The JSON body for `POST {brs-url}`.
    pub payload: serde_json::Value,
    pub state: FollowupState,
    /// Delivery attempts made so far (the successful one included).
    pub attempts: u32,
    /// Not tried again before this time (RFC 3339 UTC); while an attempt is under way, the
    /// end of its claim.
    pub next_attempt_at: String,
    /// Why the latest failed attempt failed.
    pub last_error: Option<String>,
    /// When the receiver answered 2xx.
    pub delivered_at: Option<String>,
}

/// A follow-up claimed for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedFollowup {
    pub event_id: String,
    pub patient_cpr: String,
    /// The JSON body exactly as committed.
    pub payload: String,
    /// Attempts already made before this one.
    pub attempts: u32,
}

/// How many follow-ups wait, and how many gave up (for metrics and the operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OutboxDepth {
    pub pending: u64,
    pub dead: u64,
}

/// What a failed attempt left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedAttempt {
    /// `Pending` (will be retried) or `Dead` (attempts spent).
    pub state: FollowupState,
    pub attempts: u32,
}

/// Most settlements one transaction of [`AuditStore::settle_followups`] records; a longer
/// slice is committed in several. Bounds the statements' parameter lists (SQLite's default
/// limit is 32,766 parameters; a failed attempt takes four).
pub const SETTLE_BATCH_MAX: usize = 512;

/// How one claimed delivery attempt ended, for [`AuditStore::settle_followups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub event_id: String,
    /// When the receiver answered (or the attempt failed).
    pub at: OffsetDateTime,
    pub outcome: AttemptOutcome,
}

/// What the receiver made of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// It answered 2xx.
    Delivered,
    /// Anything else: tried again at `retry_at`, unless this was the last attempt allowed.
    Failed {
        error: String,
        retry_at: OffsetDateTime,
    },
}

/// What settling did to one follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Now `delivered`; its patient's next follow-up is the head.
    Delivered,
    /// The failure was recorded: retried later (`Pending`) or dead-lettered (`Dead`).
    Failed(FailedAttempt),
    /// It was not pending (settled before, dead-lettered meanwhile, or named earlier in the
    /// same batch): nothing changed.
    NotPending,
}

/// The columns every [`Followup`] is read from.
pub(crate) const FOLLOWUP_COLUMNS: &str = "id, event_id, patient_cpr, payload, state, attempts, next_attempt_at, last_error, delivered_at";

pub(crate) fn followup_from_row<DB>(row: &DB::Row) -> Result<Followup, AuditError>
where
    DB: Database,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'r> Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    let payload: String = row.try_get("payload")?;
    Ok(Followup {
        event_id: row.try_get("event_id")?,
        patient_cpr: row.try_get("patient_cpr")?,
        payload: serde_json::from_str(&payload).map_err(|e| AuditError::Corrupt(e.to_string()))?,
        state: FollowupState::parse(&row.try_get::<String, _>("state")?)?,
        attempts: attempts_from::<DB>(row)?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

fn attempts_from<DB>(row: &DB::Row) -> Result<u32, AuditError>
where
    DB: Database,
    i64: for<'r> Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
{
    attempts_count(row.try_get("attempts")?)
}

/// A stored `attempts` value as a count.
pub(crate) fn attempts_count(attempts: i64) -> Result<u32, AuditError> {
    u32::try_from(attempts).map_err(|_| AuditError::Corrupt(format!("attempts = {attempts}")))
}

/// The claimed heads (`(followup_id, patient_cpr)`) whose follow-up was not pending, so the
/// claim leased none (the rows were changed by hand): their patients, whose heads the
/// claim repairs; the patient's real head is claimed by the next pass.
pub(crate) fn stale_heads<'a>(
    heads: &'a [(i64, String)],
    claimed: &[(i64, ClaimedFollowup)],
) -> Vec<&'a str> {
    heads
        .iter()
        .filter(|(id, _)| !claimed.iter().any(|(claimed_id, _)| claimed_id == id))
        .map(|(id, patient_cpr)| {
            tracing::warn!(%patient_cpr, followup_id = id, "repairing a stale follow-up head");
            patient_cpr.as_str()
        })
        .collect()
}

/// Inserts `rows` heads (`(patient_cpr, followup_id, next_attempt_at)` each), keeping any
/// existing one: a head is its patient's oldest pending follow-up, and an existing one is
/// older. On PostgreSQL the no-op update still locks the existing head row.
pub(crate) fn enqueue_heads_sql(rows: usize) -> String {
    format!(
        "INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at) VALUES {} \
         ON CONFLICT (patient_cpr) DO UPDATE SET followup_id = followup_head.followup_id \
         WHERE false",
        values_rows(rows, 3, 1)
    )
}

/// `text` cut to at most [`LAST_ERROR_CHARS_MAX`] characters (on a character boundary).
fn bounded_error(text: &str) -> &str {
    match text.char_indices().nth(LAST_ERROR_CHARS_MAX) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Makes each of `heads` (patient, follow-up id, next attempt) its patient's head unless the
/// patient already has one (an older pending follow-up: then it waits behind it), in one
/// statement; at most one entry per patient (PostgreSQL refuses a statement whose conflict
/// clause meets its own row twice). Runs inside the transaction that inserts the follow-ups.
///
/// The upsert's `DO UPDATE … WHERE false` changes nothing but, unlike `DO NOTHING`, locks an
/// existing head row on PostgreSQL until this transaction ends: a concurrent settle of that
/// head (which deletes it and picks the oldest pending follow-up it can see) then waits for
/// this commit and sees the new follow-up, instead of deleting the head while this follow-up
/// is invisible to it and leaving it without one. The rows are locked in the order given (the
/// group committer gives them in patient order). SQLite's single writer needs no lock; the
/// statement means the same there.
pub(crate) async fn enqueue_heads<DB>(
    connection: &mut DB::Connection,
    heads: &[(&str, i64, &str)],
) -> Result<(), AuditError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
{
    if heads.is_empty() {
        return Ok(());
    }
    let sql = enqueue_heads_sql(heads.len());
    let mut query = sqlx::query(&sql);
    for (patient_cpr, followup_id, next_attempt_at) in heads {
        query = query
            .bind(*patient_cpr)
            .bind(*followup_id)
            .bind(*next_attempt_at);
    }
    query.execute(connection).await?;
    Ok(())
}

/// Recomputes the heads of `patients` from the outbox after some of their follow-ups
/// changed: each one's oldest pending follow-up (with its `next_attempt_at`), or none. Two
/// statements whatever the number of patients; each head is found through the index of
/// pending follow-ups (`followup_outbox_pending_patient`), never by reading a patient's queue.
pub(crate) async fn refresh_heads<DB>(
    connection: &mut DB::Connection,
    patients: &[&str],
) -> Result<(), AuditError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    if patients.is_empty() {
        return Ok(());
    }
    let delete = refresh_heads_delete_sql(patients.len());
    let mut query = sqlx::query(&delete);
    for patient in patients {
        query = query.bind(*patient);
    }
    query.execute(&mut *connection).await?;
    let insert = refresh_heads_insert_sql(patients.len());
    let mut query = sqlx::query(&insert);
    for patient in patients {
        query = query.bind(*patient);
    }
    query.execute(&mut *connection).await?;
    Ok(())
}

/// Removes the heads of `patients` patients (`$1…`), before [`refresh_heads_insert_sql`].
pub(crate) fn refresh_heads_delete_sql(patients: usize) -> String {
    format!(
        "DELETE FROM followup_head WHERE patient_cpr IN ({})",
        placeholders(patients, 1)
    )
}

/// Inserts the heads of `patients` patients (`$1…`): each one's oldest pending follow-up.
pub(crate) fn refresh_heads_insert_sql(patients: usize) -> String {
    format!(
        "WITH refreshed (refreshed_cpr) AS (VALUES {}) \
         INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at) \
         SELECT o.patient_cpr, o.id, o.next_attempt_at FROM followup_outbox AS o \
         WHERE o.id IN (SELECT ( \
             SELECT i.id FROM followup_outbox AS i \
             WHERE i.patient_cpr = refreshed.refreshed_cpr AND i.state = 'pending' \
             ORDER BY i.id LIMIT 1) FROM refreshed)",
        values_rows(patients, 1, 1)
    )
}

/// Leases due heads: lease end `$1`, now `$2`, limit `$3`; `lock` as [`Backend::CLAIM_LOCK`].
/// Returns `followup_id, patient_cpr`.
pub(crate) fn claim_heads_sql(lock: &str) -> String {
    format!(
        "UPDATE followup_head SET next_attempt_at = $1 \
         WHERE patient_cpr IN ( \
             SELECT patient_cpr FROM followup_head WHERE next_attempt_at <= $2 \
             ORDER BY next_attempt_at, followup_id LIMIT $3{lock}) \
         RETURNING followup_id, patient_cpr"
    )
}

/// Leases the claimed heads' follow-ups: lease end `$1`, then `heads` ids. Returns `id,
/// event_id, patient_cpr, payload, attempts`.
pub(crate) fn claim_followups_sql(heads: usize) -> String {
    format!(
        "UPDATE followup_outbox SET next_attempt_at = $1 \
         WHERE state = 'pending' AND id IN ({}) \
         RETURNING id, event_id, patient_cpr, payload, attempts",
        placeholders(heads, 2)
    )
}

/// Settles `rows` delivered attempts: `(event_id, at)` each. Returns `event_id, patient_cpr`.
pub(crate) fn settle_delivered_sql(rows: usize) -> String {
    format!(
        "WITH settled (settled_event_id, settled_at) AS (VALUES {}) \
         UPDATE followup_outbox SET state = 'delivered', attempts = attempts + 1, \
         delivered_at = settled.settled_at, next_attempt_at = settled.settled_at \
         FROM settled WHERE followup_outbox.event_id = settled.settled_event_id \
         AND followup_outbox.state = 'pending' \
         RETURNING event_id, patient_cpr",
        values_rows(rows, 2, 1)
    )
}

/// Settles `rows` failed attempts: attempts allowed `$1`, then `(event_id, at, error,
/// retry_at)` each. Returns `event_id, patient_cpr, state, attempts`.
pub(crate) fn settle_failed_sql(rows: usize) -> String {
    format!(
        "WITH settled (settled_event_id, settled_at, settled_error, settled_retry_at) \
         AS (VALUES {}) \
         UPDATE followup_outbox SET attempts = attempts + 1, \
         last_error = settled.settled_error, \
         state = CASE WHEN attempts + 1 >= $1 THEN 'dead' ELSE 'pending' END, \
         next_attempt_at = CASE WHEN attempts + 1 >= $1 \
             THEN settled.settled_at ELSE settled.settled_retry_at END \
         FROM settled WHERE followup_outbox.event_id = settled.settled_event_id \
         AND followup_outbox.state = 'pending' \
         RETURNING event_id, patient_cpr, state, attempts",
        values_rows(rows, 4, 2)
    )
}

/// `$first, $first+1, …`: `count` numbered placeholders for an `IN` list.
fn placeholders(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($first, …), (…), …`: `rows` rows of `width` numbered placeholders for a `VALUES` list.
pub(crate) fn values_rows(rows: usize, width: usize, first: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(width, first + row * width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A delivered attempt as the settling SQL binds it.
pub(crate) struct DeliveredRow<'a> {
    event_id: &'a str,
    at: String,
}

/// A failed attempt as the settling SQL binds it.
pub(crate) struct FailedRow<'a> {
    event_id: &'a str,
    at: String,
    error: &'a str,
    retry_at: String,
}

/// The rows that settle `settlements`: the first settlement of each follow-up only (a later
/// one of the same follow-up in one batch would find it no longer pending).
fn settlement_rows(
    settlements: &[Settlement],
) -> Result<(Vec<DeliveredRow<'_>>, Vec<FailedRow<'_>>), AuditError> {
    let mut first_of_event = std::collections::HashSet::new();
    let mut delivered = Vec::new();
    let mut failed = Vec::new();
    for settlement in settlements {
        if !first_of_event.insert(settlement.event_id.as_str()) {
            continue;
        }
        let at = format_time(settlement.at)?;
        match &settlement.outcome {
            AttemptOutcome::Delivered => delivered.push(DeliveredRow {
                event_id: &settlement.event_id,
                at,
            }),
            AttemptOutcome::Failed { error, retry_at } => failed.push(FailedRow {
                event_id: &settlement.event_id,
                at,
                error: bounded_error(error),
                retry_at: format_time(*retry_at)?,
            }),
        }
    }
    Ok((delivered, failed))
}

/// What became of each of `settlements`, in their order, from the follow-ups the store
/// `changed`: each changed one is reported once, at its first settlement.
fn report_settled(settlements: &[Settlement], changed: Vec<(String, Settled)>) -> Vec<Settled> {
    let changed: std::collections::HashMap<String, Settled> = changed.into_iter().collect();
    let mut reported = std::collections::HashSet::new();
    settlements
        .iter()
        .map(|settlement| match changed.get(&settlement.event_id) {
            Some(outcome) if reported.insert(settlement.event_id.as_str()) => *outcome,
            _ => Settled::NotPending,
        })
        .collect()
}

/// A claim made together with a settle ([`AuditStore::settle_and_claim_followups`]): what
/// [`AuditStore::claim_due_followups`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRequest {
    pub now: OffsetDateTime,
    pub lease_until: OffsetDateTime,
    pub limit: u32,
}

impl ClaimRequest {
    /// As the claim's SQL binds it: both times formatted, the limit within bounds.
    fn bound(&self) -> Result<(String, String, u32), AuditError> {
        debug_assert!(
            self.lease_until > self.now,
            "a claim must outlast its start"
        );
        Ok((
            format_time(self.now)?,
            format_time(self.lease_until)?,
            self.limit.clamp(1, LIST_LIMIT_MAX),
        ))
    }
}

impl AuditStore {
    /// Claims up to `limit` due follow-ups, at most one per patient (each patient's oldest
    /// pending one, if its `next_attempt_at <= now`), longest due first, and keeps them from
    /// other claimers until `lease_until`. The caller settles each with
    /// [`AuditStore::mark_followup_delivered`] or [`AuditStore::record_failed_delivery`]; one it
    /// never settles is due again after the lease.
    pub async fn claim_due_followups(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ClaimedFollowup>, AuditError> {
        let (now, lease_until, limit) = ClaimRequest {
            now,
            lease_until,
            limit,
        }
        .bound()?;
        dispatch!(self, e => e.claim_due_followups(&now, &lease_until, limit).await)
    }

    /// Settles a follow-up as delivered (its patient's next one becomes the head, due at
    /// once); `false` when it was not pending (already settled by an earlier attempt, or
    /// dead-lettered meanwhile), which changes nothing.
    pub async fn mark_followup_delivered(
        &self,
        event_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AuditError> {
        let settlement = Settlement {
            event_id: event_id.to_owned(),
            at: now,
            outcome: AttemptOutcome::Delivered,
        };
        // attempts_max only bounds failed attempts.
        let settled = self.settle_followups(&[settlement], 1).await?;
        Ok(settled.first() == Some(&Settled::Delivered))
    }

    /// Records a failed attempt: the follow-up is tried again at `next_attempt_at`, or, when
    /// this was attempt number `attempts_max` (or later), dead-lettered (and its patient's
    /// next one becomes the head). `None` when it was not pending, which changes nothing.
    pub async fn record_failed_delivery(
        &self,
        event_id: &str,
        error: &str,
        now: OffsetDateTime,
        next_attempt_at: OffsetDateTime,
        attempts_max: u32,
    ) -> Result<Option<FailedAttempt>, AuditError> {
        let settlement = Settlement {
            event_id: event_id.to_owned(),
            at: now,
            outcome: AttemptOutcome::Failed {
                error: error.to_owned(),
                retry_at: next_attempt_at,
            },
        };
        match self
            .settle_followups(&[settlement], attempts_max)
            .await?
            .first()
        {
            Some(Settled::Failed(failed)) => Ok(Some(*failed)),
            _ => Ok(None),
        }
    }

    /// Settles claimed attempts, [`SETTLE_BATCH_MAX`] to a transaction (one durable commit),
    /// and says what became of each, in the order given. Each means what
    /// [`AuditStore::mark_followup_delivered`] or [`AuditStore::record_failed_delivery`] (with
    /// `attempts_max`) would on its own: a follow-up that is not pending changes nothing
    /// ([`Settled::NotPending`]), and so does a second settlement of one follow-up in the same
    /// call (the first counts, as if they had been settled one after the other).
    ///
    /// Settling follow-ups of many patients at once is safe for their order: a patient has at
    /// most one claimed follow-up (its head), and the next becomes the head only in the
    /// transaction that settles it.
    pub async fn settle_followups(
        &self,
        settlements: &[Settlement],
        attempts_max: u32,
    ) -> Result<Vec<Settled>, AuditError> {
        debug_assert!(attempts_max >= 1);
        let mut settled = Vec::with_capacity(settlements.len());
        for batch in settlements.chunks(SETTLE_BATCH_MAX) {
            settled.extend(self.settle_batch(batch, attempts_max).await?);
        }
        Ok(settled)
    }

    /// Settles `settlements` as [`AuditStore::settle_followups`] does and then, when `claim`
    /// is given, claims as [`AuditStore::claim_due_followups`] does, in one transaction: one
    /// durable commit and one turn at the store's writer instead of two. The patients whose
    /// follow-ups this settles can have their next ones claimed by the same call.
    pub async fn settle_and_claim_followups(
        &self,
        settlements: &[Settlement],
        attempts_max: u32,
        claim: Option<ClaimRequest>,
    ) -> Result<(Vec<Settled>, Vec<ClaimedFollowup>), AuditError> {
        debug_assert!(attempts_max >= 1);
        let Some(claim) = claim else {
            return Ok((
                self.settle_followups(settlements, attempts_max).await?,
                Vec::new(),
            ));
        };
        let (now, lease_until, limit) = claim.bound()?;
        // All but the last batch alone (the worker never holds more than one batch).
        let last_start = settlements.len().saturating_sub(1) / SETTLE_BATCH_MAX * SETTLE_BATCH_MAX;
        let (earlier, last) = settlements.split_at(last_start);
        let mut settled = self.settle_followups(earlier, attempts_max).await?;
        let (delivered, failed) = settlement_rows(last)?;
        // On SQLite the whole transaction is one job for MinLog's writer thread.
        let sqlite_writer = match &self.engine {
            crate::Engines::Sqlite(engine) => {
                engine.access_writer.as_ref().map(|writer| (engine, writer))
            }
            crate::Engines::Postgres(_) => None,
        };
        let (changed, claimed) = match sqlite_writer {
            Some((engine, writer)) => {
                let job = crate::sqlite_writer::SettleAndClaim {
                    delivered: delivered
                        .iter()
                        .map(|row| (row.event_id.to_owned(), row.at.clone()))
                        .collect(),
                    failed: failed
                        .iter()
                        .map(|row| {
                            (
                                row.event_id.to_owned(),
                                row.at.clone(),
                                row.error.to_owned(),
                                row.retry_at.clone(),
                            )
                        })
                        .collect(),
                    attempts_max,
                    now,
                    lease_until,
                    limit,
                };
                let _writing = engine.writing().await;
                writer.settle_and_claim(job).await?
            }
            None => dispatch!(self, e => e
                .settle_and_claim(&delivered, &failed, attempts_max, (&now, &lease_until, limit))
                .await)?,
        };
        settled.extend(report_settled(last, changed));
        Ok((settled, claimed))
    }

    async fn settle_batch(
        &self,
        settlements: &[Settlement],
        attempts_max: u32,
    ) -> Result<Vec<Settled>, AuditError> {
        let (delivered, failed) = settlement_rows(settlements)?;
        let changed =
            dispatch!(self, e => e.settle_followups(&delivered, &failed, attempts_max).await)?;
        Ok(report_settled(settlements, changed))
    }

    /// When the next follow-up becomes claimable (the earliest head), or `None` when nothing
    /// is pending. The worker sleeps until then.
    pub async fn next_followup_due_at(&self) -> Result<Option<OffsetDateTime>, AuditError> {
        let earliest = dispatch!(self, e => e.next_followup_due_at().await)?;
        earliest
            .map(|text| {
                OffsetDateTime::parse(&text, &Rfc3339)
                    .map_err(|e| AuditError::Corrupt(format!("next_attempt_at {text:?}: {e}")))
            })
            .transpose()
    }

    /// Rebuilds every patient's head from the outbox (the heads are derived data); returns
    /// how many patients have pending follow-ups. The worker runs it once at start, so heads
    /// that went astray (a manual repair in the database) cannot hold a patient back.
    /// Reads every pending follow-up once.
    pub async fn rebuild_followup_heads(&self) -> Result<u64, AuditError> {
        dispatch!(self, e => e.rebuild_followup_heads().await)
    }

    /// Follow-ups waiting and dead-lettered.
    pub async fn outbox_depth(&self) -> Result<OutboxDepth, AuditError> {
        dispatch!(self, e => e.outbox_depth().await)
    }

    /// Follow-ups in commit order (the order they are delivered in per patient), in `state`,
    /// or pending and dead-lettered ones when `state` is `None` (what an operator watches).
    /// `cursor` is the `next_cursor` of the previous page.
    pub async fn list_followups(
        &self,
        state: Option<FollowupState>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Followup>, AuditError> {
        let limit = limit.clamp(1, LIST_LIMIT_MAX);
        let after_id = match cursor {
            None => 0,
            Some(text) => parse_cursor(text)?,
        };
        let states = match state {
            Some(state) => (state.as_str(), state.as_str()),
            None => (
                FollowupState::Pending.as_str(),
                FollowupState::Dead.as_str(),
            ),
        };
        dispatch!(self, e => e.list_followups(states, limit, after_id).await)
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
    async fn claim_due_followups(
        &self,
        now: &str,
        lease_until: &str,
        limit: u32,
    ) -> Result<Vec<ClaimedFollowup>, AuditError> {
        let _writing = self.writing().await;
        let mut tx = self.writer.begin().await?;
        let claimed = Self::claim_in(&mut tx, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// The claim of [`AuditStore::claim_due_followups`], in the caller's transaction.
    async fn claim_in(
        tx: &mut DB::Connection,
        now: &str,
        lease_until: &str,
        limit: u32,
    ) -> Result<Vec<ClaimedFollowup>, AuditError> {
        let heads = sqlx::query(&claim_heads_sql(DB::CLAIM_LOCK))
            .bind(lease_until)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get::<i64, _>("followup_id")?,
                    row.try_get("patient_cpr")?,
                ))
            })
            .collect::<Result<Vec<(i64, String)>, AuditError>>()?;
        if heads.is_empty() {
            return Ok(Vec::new());
        }
        let leased = claim_followups_sql(heads.len());
        let mut query = sqlx::query(&leased).bind(lease_until);
        for (id, _) in &heads {
            query = query.bind(*id);
        }
        let mut claimed = Vec::with_capacity(heads.len());
        for row in query.fetch_all(&mut *tx).await? {
            claimed.push((
                row.try_get::<i64, _>("id")?,
                ClaimedFollowup {
                    event_id: row.try_get("event_id")?,
                    patient_cpr: row.try_get("patient_cpr")?,
                    payload: row.try_get("payload")?,
                    attempts: attempts_from::<DB>(&row)?,
                },
            ));
        }
        refresh_heads::<DB>(&mut *tx, &stale_heads(&heads, &claimed)).await?;
        // RETURNING gives no order; oldest first reads best in logs and tests.
        claimed.sort_by_key(|(id, _)| *id);
        Ok(claimed.into_iter().map(|(_, followup)| followup).collect())
    }

    /// One transaction: the attempts' new states, then their patients' heads. Returns the
    /// follow-ups that were pending (the others changed nothing) with what became of them.
    async fn settle_followups(
        &self,
        delivered: &[DeliveredRow<'_>],
        failed: &[FailedRow<'_>],
        attempts_max: u32,
    ) -> Result<Vec<(String, Settled)>, AuditError> {
        if delivered.is_empty() && failed.is_empty() {
            return Ok(Vec::new());
        }
        let _writing = self.writing().await;
        let mut tx = self.writer.begin().await?;
        let changed = Self::settle_in(&mut tx, delivered, failed, attempts_max).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Settles `delivered` and `failed` (when there are any), then claims as
    /// [`Engine::claim_in`] does with `claim` (now, lease end, limit): one transaction, one
    /// durable commit for both. The settled patients' next follow-ups can be claimed by
    /// the same transaction.
    async fn settle_and_claim(
        &self,
        delivered: &[DeliveredRow<'_>],
        failed: &[FailedRow<'_>],
        attempts_max: u32,
        (now, lease_until, limit): (&str, &str, u32),
    ) -> Result<(Vec<(String, Settled)>, Vec<ClaimedFollowup>), AuditError> {
        let _writing = self.writing().await;
        let mut tx = self.writer.begin().await?;
        let changed = if delivered.is_empty() && failed.is_empty() {
            Vec::new()
        } else {
            Self::settle_in(&mut tx, delivered, failed, attempts_max).await?
        };
        let claimed = Self::claim_in(&mut tx, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok((changed, claimed))
    }

    /// The settle of [`Engine::settle_followups`], in the caller's transaction.
    async fn settle_in(
        tx: &mut DB::Connection,
        delivered: &[DeliveredRow<'_>],
        failed: &[FailedRow<'_>],
        attempts_max: u32,
    ) -> Result<Vec<(String, Settled)>, AuditError> {
        if let Some(lock) = DB::HEADS_LOCK {
            // Lock the heads in patient order, as access-record commits do (see
            // `group_commit`), before any of them is touched: two transactions that both
            // change heads of several patients then cannot wait for each other in a circle.
            let events = delivered
                .iter()
                .map(|row| row.event_id)
                .chain(failed.iter().map(|row| row.event_id));
            let sql = format!(
                "SELECT h.patient_cpr FROM followup_head AS h WHERE h.patient_cpr IN ( \
                 SELECT o.patient_cpr FROM followup_outbox AS o WHERE o.event_id IN ({})) \
                 ORDER BY h.patient_cpr{lock}",
                placeholders(delivered.len() + failed.len(), 1)
            );
            let mut query = sqlx::query(&sql);
            for event_id in events {
                query = query.bind(event_id);
            }
            query.fetch_all(&mut *tx).await?;
        }
        let mut changed = Vec::with_capacity(delivered.len() + failed.len());
        let mut patients = std::collections::BTreeSet::new();
        if !delivered.is_empty() {
            let sql = settle_delivered_sql(delivered.len());
            let mut query = sqlx::query(&sql);
            for row in delivered {
                query = query.bind(row.event_id).bind(row.at.as_str());
            }
            for row in query.fetch_all(&mut *tx).await? {
                patients.insert(row.try_get::<String, _>("patient_cpr")?);
                changed.push((row.try_get("event_id")?, Settled::Delivered));
            }
        }
        if !failed.is_empty() {
            let sql = settle_failed_sql(failed.len());
            let mut query = sqlx::query(&sql).bind(i64::from(attempts_max));
            for row in failed {
                query = query
                    .bind(row.event_id)
                    .bind(row.at.as_str())
                    .bind(row.error)
                    .bind(row.retry_at.as_str());
            }
            for row in query.fetch_all(&mut *tx).await? {
                patients.insert(row.try_get::<String, _>("patient_cpr")?);
                let failed = FailedAttempt {
                    state: FollowupState::parse(&row.try_get::<String, _>("state")?)?,
                    attempts: attempts_from::<DB>(&row)?,
                };
                changed.push((row.try_get("event_id")?, Settled::Failed(failed)));
            }
        }
        let patients: Vec<&str> = patients.iter().map(String::as_str).collect();
        refresh_heads::<DB>(&mut *tx, &patients).await?;
        Ok(changed)
    }

    async fn next_followup_due_at(&self) -> Result<Option<String>, AuditError> {
        Ok(
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM followup_head")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// An upsert rather than a plain insert: on PostgreSQL another instance may commit a new
    /// patient's first follow-up (and head) between this delete and this insert.
    async fn rebuild_followup_heads(&self) -> Result<u64, AuditError> {
        let _writing = self.writing().await;
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM followup_head")
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at) \
             SELECT head.patient_cpr, head.id, head.next_attempt_at \
             FROM followup_outbox AS head \
             WHERE head.state = 'pending' AND head.id = ( \
                 SELECT MIN(older.id) FROM followup_outbox AS older \
                 WHERE older.patient_cpr = head.patient_cpr AND older.state = 'pending') \
             ON CONFLICT (patient_cpr) DO UPDATE SET followup_id = excluded.followup_id, \
             next_attempt_at = excluded.next_attempt_at",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&inserted))
    }

    async fn outbox_depth(&self) -> Result<OutboxDepth, AuditError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS count FROM followup_outbox \
             WHERE state IN ('pending', 'dead') GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut depth = OutboxDepth::default();
        for row in rows {
            let count = u64::try_from(row.try_get::<i64, _>("count")?).unwrap_or(0);
            match FollowupState::parse(&row.try_get::<String, _>("state")?)? {
                FollowupState::Pending => depth.pending = count,
                FollowupState::Dead => depth.dead = count,
                FollowupState::Delivered => {}
            }
        }
        Ok(depth)
    }

    async fn list_followups(
        &self,
        (first, second): (&str, &str),
        limit: u32,
        after_id: i64,
    ) -> Result<Page<Followup>, AuditError> {
        let rows = sqlx::query(&format!(
            "SELECT {FOLLOWUP_COLUMNS} FROM followup_outbox \
             WHERE state IN ($1, $2) AND id > $3 ORDER BY id LIMIT $4"
        ))
        .bind(first)
        .bind(second)
        .bind(after_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push((row.try_get::<i64, _>("id")?, followup_from_row::<DB>(row)?));
        }
        Ok(crate::page(items, limit))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;
    use crate::{AccessAction, AccessOutcome, AccessRecord};

    const T0: OffsetDateTime = datetime!(2026-11-25 10:00:00 UTC);
    const LEASE: Duration = Duration::from_secs(30);

    fn record(patient: &str) -> AccessRecord {
        AccessRecord {
            time: format_time(T0).unwrap(),
            patient_cpr: patient.into(),
            user_cpr: Some("0804569723".into()),
            user_name: Some("Ida Engel".into()),
            user_role: "doctor".into(),
            organisation_sor: Some("328081000016004".into()),
            organisation_cvr: None,
            organisation_name: None,
            it_system: None,
            on_behalf_of: None,
            action: AccessAction::Query,
            documents: vec!["2.25.1".into()],
            override_reason: None,
            outcome: AccessOutcome::Allowed,
        }
    }

    async fn order(store: &AuditStore, patient: &str) -> String {
        store
            .record_access(&record(patient), true)
            .await
            .unwrap()
            .followup_event_id
            .unwrap()
    }

    async fn claim(store: &AuditStore, now: OffsetDateTime) -> Vec<String> {
        store
            .claim_due_followups(now, now + LEASE, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.event_id)
            .collect()
    }

    #[tokio::test]
    async fn only_each_patients_oldest_pending_followup_is_claimed() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let a1 = order(&store, "0101700013").await;
            let b1 = order(&store, "0201919990").await;
            let a2 = order(&store, "0101700013").await;
            assert_eq!(claim(&store, T0).await, [a1.as_str(), b1.as_str()]);
            // Claimed ones are leased: nobody else takes them, and a2 still waits behind a1.
            assert!(claim(&store, T0).await.is_empty());
            assert!(store.mark_followup_delivered(&a1, T0).await.unwrap());
            assert_eq!(claim(&store, T0).await, [a2.as_str()]);
            // A claim nobody settles (its claimer died) is due again when the lease ends.
            assert_eq!(claim(&store, T0 + LEASE).await, [b1.as_str(), a2.as_str()]);
            // Settling twice changes nothing.
            assert!(!store.mark_followup_delivered(&a1, T0).await.unwrap());
        }
    }

    #[tokio::test]
    async fn failed_attempts_back_off_then_dead_letter_and_unblock_the_patient() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let first = order(&store, "0101700013").await;
            let second = order(&store, "0101700013").await;
            let mut now = T0;
            for attempt in 1..=3u32 {
                assert_eq!(
                    claim(&store, now).await,
                    [first.as_str()],
                    "attempt {attempt}"
                );
                let retry_at = now + Duration::from_secs(2);
                let failed = store
                    .record_failed_delivery(&first, "HTTP 500", now, retry_at, 3)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(failed.attempts, attempt);
                if attempt < 3 {
                    assert_eq!(failed.state, FollowupState::Pending);
                    assert!(claim(&store, now).await.is_empty(), "backing off");
                    assert_eq!(store.next_followup_due_at().await.unwrap(), Some(retry_at));
                    now = retry_at;
                } else {
                    assert_eq!(failed.state, FollowupState::Dead);
                }
            }
            assert_eq!(
                store.outbox_depth().await.unwrap(),
                OutboxDepth {
                    pending: 1,
                    dead: 1
                }
            );
            // The dead one no longer holds the patient's later follow-ups back.
            assert_eq!(claim(&store, now).await, [second.as_str()]);
            // A dead follow-up is settled: neither attempts nor deliveries change it.
            assert!(
                store
                    .record_failed_delivery(&first, "late", now, now, 3)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(!store.mark_followup_delivered(&first, now).await.unwrap());

            let dead = store
                .list_followups(Some(FollowupState::Dead), 10, None)
                .await
                .unwrap();
            assert_eq!(dead.items.len(), 1);
            assert_eq!(dead.items[0].event_id, first);
            assert_eq!(dead.items[0].attempts, 3);
            assert_eq!(dead.items[0].last_error.as_deref(), Some("HTTP 500"));
            assert_eq!(dead.items[0].state, "dead");
        }
    }

    #[tokio::test]
    async fn listing_pages_in_commit_order_and_filters_by_state() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let mut ids = Vec::new();
            for patient in ["0101700013", "0201919990", "2512489996", "0804569723"] {
                ids.push(order(&store, patient).await);
            }
            store.mark_followup_delivered(&ids[1], T0).await.unwrap();
            let first = store.list_followups(None, 2, None).await.unwrap();
            let listed: Vec<&str> = first.items.iter().map(|f| f.event_id.as_str()).collect();
            assert_eq!(
                listed,
                [ids[0].as_str(), ids[2].as_str()],
                "delivered skipped"
            );
            let rest = store
                .list_followups(None, 2, first.next_cursor.as_deref())
                .await
                .unwrap();
            assert_eq!(rest.items.len(), 1);
            assert_eq!(rest.items[0].event_id, ids[3]);
            assert_eq!(rest.next_cursor, None);
            let delivered = store
                .list_followups(Some(FollowupState::Delivered), 10, None)
                .await
                .unwrap();
            assert_eq!(delivered.items.len(), 1);
            assert_eq!(delivered.items[0].attempts, 1);
            assert!(delivered.items[0].delivered_at.is_some());
            assert!(matches!(
                store.list_followups(None, 10, Some("x")).await,
                Err(AuditError::BadCursor(_))
            ));
        }
    }

    /// The heads as kept, and as they should be (each patient's oldest pending follow-up).
    #[tokio::test]
    async fn heads_stay_each_patients_oldest_pending_follow_up_through_every_change() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let patients = ["0101700013", "0201919990", "2512489996"];
            // A fixed pseudo-random walk over commits, claims, deliveries and failures.
            let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
            let mut next = move |bound: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % bound
            };
            let mut now = T0;
            let mut in_flight: Vec<String> = Vec::new();
            for step in 0..300 {
                match next(5) {
                    0 => {
                        order(&store, patients[next(3) as usize]).await;
                    }
                    1 => {
                        let claimed = store
                            .claim_due_followups(now, now + LEASE, 2)
                            .await
                            .unwrap();
                        in_flight.extend(claimed.into_iter().map(|c| c.event_id));
                    }
                    2 if !in_flight.is_empty() => {
                        let event_id = in_flight.remove(next(in_flight.len() as u64) as usize);
                        store.mark_followup_delivered(&event_id, now).await.unwrap();
                    }
                    3 if in_flight.len() >= 2 => {
                        // Everything in flight settled at once, some delivered, some failed.
                        let batch: Vec<Settlement> = std::mem::take(&mut in_flight)
                            .into_iter()
                            .map(|event_id| {
                                if next(2) == 0 {
                                    delivered(&event_id, now)
                                } else {
                                    failed(&event_id, now, now + Duration::from_secs(1))
                                }
                            })
                            .collect();
                        store.settle_followups(&batch, 3).await.unwrap();
                    }
                    _ if !in_flight.is_empty() => {
                        let event_id = in_flight.remove(next(in_flight.len() as u64) as usize);
                        let retry_at = now + Duration::from_secs(1);
                        store
                            .record_failed_delivery(&event_id, "HTTP 503", now, retry_at, 3)
                            .await
                            .unwrap();
                    }
                    _ => now += Duration::from_secs(1),
                }
                let (kept, expected) = store.heads_kept_and_expected().await;
                assert_eq!(kept, expected, "after step {step}");
            }
            let depth = store.outbox_depth().await.unwrap();
            assert!(
                depth.pending > 0 && depth.dead > 0,
                "the walk covered dead-letters: {depth:?}"
            );
        }
    }

    #[tokio::test]
    async fn heads_lost_or_stale_are_repaired() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let first = order(&store, "0101700013").await;
            let second = order(&store, "0101700013").await;
            store
                .test_execute(
                    "DELETE FROM followup_head WHERE patient_cpr = $1",
                    "0101700013",
                )
                .await;
            assert!(
                claim(&store, T0).await.is_empty(),
                "no head, nothing claimable"
            );
            assert_eq!(store.rebuild_followup_heads().await.unwrap(), 1);
            assert_eq!(claim(&store, T0 + LEASE).await, [first.as_str()]);

            // Settled by hand behind the store's back: the claim repairs the head.
            store
                .test_execute(
                    "UPDATE followup_outbox SET state = 'dead' WHERE event_id = $1",
                    &first,
                )
                .await;
            let later = T0 + LEASE + LEASE;
            assert!(claim(&store, later).await.is_empty());
            assert_eq!(claim(&store, later).await, [second.as_str()]);
        }
    }

    fn delivered(event_id: &str, at: OffsetDateTime) -> Settlement {
        Settlement {
            event_id: event_id.to_owned(),
            at,
            outcome: AttemptOutcome::Delivered,
        }
    }

    fn failed(event_id: &str, at: OffsetDateTime, retry_at: OffsetDateTime) -> Settlement {
        Settlement {
            event_id: event_id.to_owned(),
            at,
            outcome: AttemptOutcome::Failed {
                error: "HTTP 503".to_owned(),
                retry_at,
            },
        }
    }

    /// A follow-up as stored: (state, attempts, last_error, next_attempt_at).
    async fn stored(
        store: &AuditStore,
        event_id: &str,
    ) -> (FollowupState, u32, Option<String>, String) {
        let all = store.followups(LIST_LIMIT_MAX).await.unwrap();
        let followup = all.iter().find(|f| f.event_id == event_id).unwrap();
        (
            followup.state,
            followup.attempts,
            followup.last_error.clone(),
            followup.next_attempt_at.clone(),
        )
    }

    #[tokio::test]
    async fn one_settle_moves_every_patient_on_by_exactly_one_in_order() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let patients = ["0101700013", "0201919990", "2512489996", "0804569723"];
            let mut queues: Vec<Vec<String>> = vec![Vec::new(); patients.len()];
            for _ in 0..3 {
                for (queue, patient) in queues.iter_mut().zip(patients) {
                    queue.push(order(&store, patient).await);
                }
            }
            let mut now = T0;
            for round in 0..3 {
                let mut heads = claim(&store, now).await;
                heads.sort();
                let mut expected: Vec<String> = queues.iter().map(|q| q[round].clone()).collect();
                expected.sort();
                assert_eq!(heads, expected, "round {round}: each patient's next, once");
                // Delivered and failed-for-good in one batch: both let the patient go on.
                let batch: Vec<Settlement> = heads
                    .iter()
                    .enumerate()
                    .map(|(n, id)| {
                        if n % 2 == 0 {
                            delivered(id, now)
                        } else {
                            failed(id, now, now + LEASE)
                        }
                    })
                    .collect();
                let settled = store.settle_followups(&batch, 1).await.unwrap();
                assert_eq!(settled.len(), batch.len());
                for (n, settled) in settled.iter().enumerate() {
                    let expected = if n % 2 == 0 {
                        Settled::Delivered
                    } else {
                        Settled::Failed(FailedAttempt {
                            state: FollowupState::Dead,
                            attempts: 1,
                        })
                    };
                    assert_eq!(*settled, expected, "round {round}, settlement {n}");
                }
                now += Duration::from_secs(1);
            }
            assert!(claim(&store, now + LEASE).await.is_empty(), "all settled");
            assert_eq!(
                store.outbox_depth().await.unwrap(),
                OutboxDepth {
                    pending: 0,
                    dead: 6
                }
            );
        }
    }

    /// One call settles and claims: the settled patients' next follow-ups are claimed at once,
    /// a failed one's patient waits for its retry, and each settlement is reported as alone.
    #[tokio::test]
    async fn a_settle_and_claim_claims_what_the_settle_made_due() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let patients = ["0101700013", "0201919990"];
            let mut queues: Vec<Vec<String>> = vec![Vec::new(); patients.len()];
            for _ in 0..3 {
                for (queue, patient) in queues.iter_mut().zip(patients) {
                    queue.push(order(&store, patient).await);
                }
            }
            let now = T0 + Duration::from_secs(1);
            let request = |limit| {
                Some(ClaimRequest {
                    now,
                    lease_until: now + LEASE,
                    limit,
                })
            };
            let first = claim(&store, now).await;
            assert_eq!(first.len(), 2);
            let batch: Vec<Settlement> = first.iter().map(|id| delivered(id, now)).collect();
            let (settled, claimed) = store
                .settle_and_claim_followups(&batch, 20, request(10))
                .await
                .unwrap();
            assert_eq!(settled, [Settled::Delivered, Settled::Delivered]);
            let mut claimed: Vec<String> = claimed.into_iter().map(|c| c.event_id).collect();
            claimed.sort();
            let mut expected = vec![queues[0][1].clone(), queues[1][1].clone()];
            expected.sort();
            assert_eq!(
                claimed, expected,
                "each patient's second, claimed with the settle"
            );

            // Patient 0's second is delivered, patient 1's fails and is retried in a minute.
            let batch = [
                delivered(&queues[0][1], now),
                failed(&queues[1][1], now, now + Duration::from_secs(60)),
                delivered(&queues[0][1], now),
            ];
            let (settled, claimed) = store
                .settle_and_claim_followups(&batch, 20, request(10))
                .await
                .unwrap();
            assert_eq!(
                settled,
                [
                    Settled::Delivered,
                    Settled::Failed(FailedAttempt {
                        state: FollowupState::Pending,
                        attempts: 1,
                    }),
                    Settled::NotPending,
                ]
            );
            let claimed: Vec<String> = claimed.into_iter().map(|c| c.event_id).collect();
            assert_eq!(claimed, [queues[0][2].clone()]);

            // Nothing to settle and nothing due: nothing happens.
            let (settled, claimed) = store
                .settle_and_claim_followups(&[], 20, request(10))
                .await
                .unwrap();
            assert!(settled.is_empty() && claimed.is_empty());
            // The failed one comes back when its retry is due.
            store
                .settle_followups(&[delivered(&queues[0][2], now)], 20)
                .await
                .unwrap();
            let retried = claim(&store, now + Duration::from_secs(61)).await;
            assert_eq!(retried, [queues[1][1].clone()]);
            // Its second failure is its last when two attempts are allowed: dead-lettered,
            // and the patient's next one claimed by the same call.
            let later = now + Duration::from_secs(62);
            let (settled, claimed) = store
                .settle_and_claim_followups(
                    &[failed(
                        &queues[1][1],
                        later,
                        later + Duration::from_secs(60),
                    )],
                    2,
                    request(10),
                )
                .await
                .unwrap();
            assert_eq!(
                settled,
                [Settled::Failed(FailedAttempt {
                    state: FollowupState::Dead,
                    attempts: 2,
                })]
            );
            let claimed: Vec<String> = claimed.into_iter().map(|c| c.event_id).collect();
            assert_eq!(claimed, [queues[1][2].clone()]);
        }
    }

    #[tokio::test]
    async fn a_settle_batch_changes_nothing_for_a_follow_up_that_is_not_pending() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let settled_before = order(&store, "0101700013").await;
            let dead_before = order(&store, "0201919990").await;
            let retried = order(&store, "2512489996").await;
            let fresh = order(&store, "0804569723").await;
            assert_eq!(claim(&store, T0).await.len(), 4);
            store
                .settle_followups(
                    &[
                        delivered(&settled_before, T0),
                        failed(&dead_before, T0, T0 + LEASE),
                    ],
                    1,
                )
                .await
                .unwrap();
            let untouched = [
                stored(&store, &settled_before).await,
                stored(&store, &dead_before).await,
            ];
            let later = T0 + Duration::from_secs(7);
            let batch = [
                // Late answers for follow-ups already settled: nothing changes for them.
                failed(&settled_before, later, later + LEASE),
                delivered(&dead_before, later),
                failed(&retried, later, later + LEASE),
                delivered(&fresh, later),
                // Named twice in one batch: the first settlement counts, the second is late.
                delivered(&retried, later),
                failed(&fresh, later, later + LEASE),
            ];
            let settled = store.settle_followups(&batch, 3).await.unwrap();
            assert_eq!(
                settled,
                [
                    Settled::NotPending,
                    Settled::NotPending,
                    Settled::Failed(FailedAttempt {
                        state: FollowupState::Pending,
                        attempts: 1
                    }),
                    Settled::Delivered,
                    Settled::NotPending,
                    Settled::NotPending,
                ]
            );
            assert_eq!(stored(&store, &settled_before).await, untouched[0]);
            assert_eq!(stored(&store, &dead_before).await, untouched[1]);
            let (state, attempts, error, next_attempt_at) = stored(&store, &retried).await;
            assert_eq!((state, attempts), (FollowupState::Pending, 1));
            assert_eq!(error.as_deref(), Some("HTTP 503"));
            assert_eq!(next_attempt_at, format_time(later + LEASE).unwrap());
            let (state, attempts, error, _) = stored(&store, &fresh).await;
            assert_eq!(
                (state, attempts, error),
                (FollowupState::Delivered, 1, None)
            );
            let (kept, expected) = store.heads_kept_and_expected().await;
            assert_eq!(kept, expected);
            assert!(store.settle_followups(&[], 3).await.unwrap().is_empty());
        }
    }

    /// A batch is one transaction: when any part of it fails, none of it is recorded, and
    /// every follow-up in it (answered 2xx or not) is claimed and sent again once its lease
    /// ends — at least once.
    #[tokio::test]
    async fn a_failed_settle_batch_records_nothing_and_its_follow_ups_are_sent_again() {
        for backing in crate::testing::backings().await {
            let store = backing.open().await;
            let alone = order(&store, "0101700013").await;
            let first = order(&store, "0201919990").await;
            let second = order(&store, "0201919990").await;
            assert_eq!(claim(&store, T0).await, [alone.as_str(), first.as_str()]);
            // Behind the store's back, another head already names `second`, so making it its
            // patient's head (the last step of the batch) violates followup_head's UNIQUE.
            store
                .test_execute(
                    "INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at) \
                     SELECT '9999999999', id, '9999' FROM followup_outbox WHERE event_id = $1",
                    &second,
                )
                .await;
            let before = [stored(&store, &alone).await, stored(&store, &first).await];
            let outcome = store
                .settle_followups(&[delivered(&alone, T0), delivered(&first, T0)], 3)
                .await;
            assert!(matches!(outcome, Err(AuditError::Query(_))), "{outcome:?}");
            assert_eq!(stored(&store, &alone).await, before[0]);
            assert_eq!(stored(&store, &first).await, before[1]);
            store
                .test_execute(
                    "DELETE FROM followup_head WHERE patient_cpr = $1",
                    "9999999999",
                )
                .await;
            assert!(claim(&store, T0).await.is_empty(), "still leased");
            assert_eq!(
                claim(&store, T0 + LEASE).await,
                [alone.as_str(), first.as_str()]
            );
        }
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let long = "æ".repeat(LAST_ERROR_CHARS_MAX + 10);
        assert_eq!(bounded_error(&long).chars().count(), LAST_ERROR_CHARS_MAX);
        assert_eq!(bounded_error("short"), "short");
    }
}

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
//!   transaction as the follow-ups it summarises ([`enqueue_head`], [`refresh_head`]), so a
//!   claim reads only the due heads (an index range), never the queues behind them: a long
//!   BRS outage makes the backlog grow, not the cost of each claim. Being derived, it can be
//!   rebuilt from the outbox at any time ([`AuditStore::rebuild_followup_heads`]).
//! - **Claims are leases**: claiming moves `next_attempt_at` to the end of a lease, so a second
//!   claimer (the shutdown flush, another process on PostgreSQL) does not take the same
//!   follow-up, and one whose claimer died becomes due again when the lease ends
//!   (at-least-once). The claim is one `UPDATE followup_head … WHERE patient_cpr IN (SELECT …)
//!   RETURNING`; on PostgreSQL, where several instances claim from one outbox, the inner
//!   select takes `FOR UPDATE SKIP LOCKED` (instances claiming together take different heads)
//!   and `record_access` locks the patient's head row ([`enqueue_head`]); SQLite's single
//!   writer does both for us.
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

    fn parse(text: &str) -> Result<Self, AuditError> {
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
    let attempts: i64 = row.try_get("attempts")?;
    u32::try_from(attempts).map_err(|_| AuditError::Corrupt(format!("attempts = {attempts}")))
}

/// `text` cut to at most [`LAST_ERROR_CHARS_MAX`] characters (on a character boundary).
fn bounded_error(text: &str) -> &str {
    match text.char_indices().nth(LAST_ERROR_CHARS_MAX) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Makes a just-committed follow-up its patient's head, unless the patient already has one
/// (then it waits behind it). Runs inside the transaction that inserts the follow-up.
///
/// The upsert's `DO UPDATE … WHERE false` changes nothing but, unlike `DO NOTHING`, locks an
/// existing head row on PostgreSQL until this transaction ends: a concurrent settle of that
/// head (which deletes it and picks the oldest pending follow-up it can see) then waits for
/// this commit and sees the new follow-up, instead of deleting the head while this follow-up
/// is invisible to it and leaving it without one. SQLite's single writer needs no lock; the
/// statement means the same there.
pub(crate) async fn enqueue_head<DB>(
    connection: &mut DB::Connection,
    patient_cpr: &str,
    followup_id: i64,
    next_attempt_at: &str,
) -> Result<(), AuditError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at) VALUES ($1, $2, $3) \
         ON CONFLICT (patient_cpr) DO UPDATE SET followup_id = followup_head.followup_id \
         WHERE false",
    )
    .bind(patient_cpr)
    .bind(followup_id)
    .bind(next_attempt_at)
    .execute(connection)
    .await?;
    Ok(())
}

/// Recomputes a patient's head from the outbox after one of their follow-ups changed: the
/// oldest pending one (with its `next_attempt_at`), or none.
pub(crate) async fn refresh_head<DB>(
    connection: &mut DB::Connection,
    patient_cpr: &str,
) -> Result<(), AuditError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    sqlx::query("DELETE FROM followup_head WHERE patient_cpr = $1")
        .bind(patient_cpr)
        .execute(&mut *connection)
        .await?;
    sqlx::query(
        "INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at) \
         SELECT patient_cpr, id, next_attempt_at FROM followup_outbox \
         WHERE patient_cpr = $1 AND state = 'pending' ORDER BY id LIMIT 1",
    )
    .bind(patient_cpr)
    .execute(&mut *connection)
    .await?;
    Ok(())
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
        debug_assert!(lease_until > now, "a claim must outlast its start");
        let now = format_time(now)?;
        let lease_until = format_time(lease_until)?;
        let limit = limit.clamp(1, LIST_LIMIT_MAX);
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
        let now = format_time(now)?;
        dispatch!(self, e => e.mark_followup_delivered(event_id, &now).await)
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
        debug_assert!(attempts_max >= 1);
        let now = format_time(now)?;
        let next_attempt_at = format_time(next_attempt_at)?;
        dispatch!(self, e => e
            .record_failed_delivery(event_id, bounded_error(error), &now, &next_attempt_at, attempts_max)
            .await)
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
        let mut tx = self.pool.begin().await?;
        let heads = sqlx::query(&format!(
            "UPDATE followup_head SET next_attempt_at = $1 \
             WHERE patient_cpr IN ( \
                 SELECT patient_cpr FROM followup_head WHERE next_attempt_at <= $2 \
                 ORDER BY next_attempt_at, followup_id LIMIT $3{}) \
             RETURNING followup_id, patient_cpr",
            DB::CLAIM_LOCK
        ))
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
        let mut claimed = Vec::with_capacity(heads.len());
        for (id, patient_cpr) in heads {
            let row = sqlx::query(
                "UPDATE followup_outbox SET next_attempt_at = $1 \
                 WHERE id = $2 AND state = 'pending' \
                 RETURNING id, event_id, patient_cpr, payload, attempts",
            )
            .bind(lease_until)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                // A head that is not pending (the rows were changed by hand): repair it; the
                // patient's real head is claimed by the next pass.
                tracing::warn!(%patient_cpr, followup_id = id, "repairing a stale follow-up head");
                refresh_head::<DB>(&mut tx, &patient_cpr).await?;
                continue;
            };
            claimed.push((
                id,
                ClaimedFollowup {
                    event_id: row.try_get("event_id")?,
                    patient_cpr: row.try_get("patient_cpr")?,
                    payload: row.try_get("payload")?,
                    attempts: attempts_from::<DB>(&row)?,
                },
            ));
        }
        tx.commit().await?;
        // RETURNING gives no order; oldest first reads best in logs and tests.
        claimed.sort_by_key(|(id, _)| *id);
        Ok(claimed.into_iter().map(|(_, followup)| followup).collect())
    }

    async fn mark_followup_delivered(&self, event_id: &str, now: &str) -> Result<bool, AuditError> {
        let mut tx = self.pool.begin().await?;
        let patient_cpr: Option<String> = sqlx::query_scalar(
            "UPDATE followup_outbox SET state = 'delivered', attempts = attempts + 1, \
             delivered_at = $1, next_attempt_at = $1 \
             WHERE event_id = $2 AND state = 'pending' RETURNING patient_cpr",
        )
        .bind(now)
        .bind(event_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(patient_cpr) = patient_cpr else {
            return Ok(false);
        };
        refresh_head::<DB>(&mut tx, &patient_cpr).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn record_failed_delivery(
        &self,
        event_id: &str,
        error: &str,
        now: &str,
        next_attempt_at: &str,
        attempts_max: u32,
    ) -> Result<Option<FailedAttempt>, AuditError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE followup_outbox SET attempts = attempts + 1, last_error = $1, \
             state = CASE WHEN attempts + 1 >= $2 THEN 'dead' ELSE 'pending' END, \
             next_attempt_at = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE $4 END \
             WHERE event_id = $5 AND state = 'pending' \
             RETURNING patient_cpr, state, attempts",
        )
        .bind(error)
        .bind(i64::from(attempts_max))
        .bind(now)
        .bind(next_attempt_at)
        .bind(event_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let failed = FailedAttempt {
            state: FollowupState::parse(&row.try_get::<String, _>("state")?)?,
            attempts: attempts_from::<DB>(&row)?,
        };
        refresh_head::<DB>(&mut tx, &row.try_get::<String, _>("patient_cpr")?).await?;
        tx.commit().await?;
        Ok(Some(failed))
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
        let mut tx = self.pool.begin().await?;
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
    async fn heads_kept_and_expected(
        store: &AuditStore,
    ) -> (Vec<(String, i64, String)>, Vec<(String, i64, String)>) {
        let kept = store
            .test_rows(
                "SELECT patient_cpr, followup_id, next_attempt_at FROM followup_head \
                 ORDER BY patient_cpr",
            )
            .await;
        let expected = store
            .test_rows(
                "SELECT o.patient_cpr, o.id, o.next_attempt_at FROM followup_outbox AS o \
                 WHERE o.state = 'pending' AND o.id = (SELECT MIN(i.id) FROM followup_outbox AS i \
                 WHERE i.patient_cpr = o.patient_cpr AND i.state = 'pending') \
                 ORDER BY o.patient_cpr",
            )
            .await;
        (kept, expected)
    }

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
                match next(4) {
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
                let (kept, expected) = heads_kept_and_expected(&store).await;
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

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let long = "æ".repeat(LAST_ERROR_CHARS_MAX + 10);
        assert_eq!(bounded_error(&long).chars().count(), LAST_ERROR_CHARS_MAX);
        assert_eq!(bounded_error("short"), "short");
    }
}

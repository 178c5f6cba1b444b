//! Forwarding MinLog records to an external MinLog endpoint, when one is configured
//! (`--minlog-forward-url`), the same way follow-ups reach BRS: a background worker,
//! at least once, in record order, exponential back-off with jitter ([`retry_delay`]),
//! dead-letter after the configured attempts, resumed after a restart.
//!
//! The access log is append-only with increasing ids, so a cursor (`minlog_forward_cursor`)
//! is the whole delivery state: every record up to it was answered 2xx or dead-lettered. Each
//! record is POSTed as one JSON object ([`forwarded_json`]) with
//! `event_id = "<store_id>:<record id>"`, by which the receiver deduplicates.
//!
//! Invariants:
//! - The cursor moves past a record only after the endpoint answered 2xx, or after it was
//!   written to `minlog_forward_dead` in the same transaction.
//! - Records are sent one at a time in id order (hence in order per patient).
//! - The worker holds no state of its own; a restart continues at the cursor.
//! - **One forwarder at a time** per store, however many instances share it (PostgreSQL): the
//!   cursor row carries a lease (`holder`, `lease_until`) that each step takes or renews, and
//!   only the holder moves the cursor (every update is guarded by `holder`, and the cursor
//!   never moves back). A forwarder that stops releases it, so another instance takes over at
//!   its next poll; one that dies holds it until the lease ends. One that was paused past its
//!   lease may send its record once more after another took over (at least once; the
//!   receiver deduplicates by `event_id`), but cannot move the cursor.
//! - **In commit order on PostgreSQL**: a record is sent only once no record with a smaller
//!   id can still be committed (see `Backend::RECORD_AFTER_WITH_SNAPSHOT`), so the cursor never
//!   passes a record that another instance commits late.

use std::time::Duration;

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::record_from_row;
use crate::backend::{Backend, Engine};
use crate::delivery::retry_delay;
use crate::outbox::LAST_ERROR_CHARS_MAX;
use crate::{AccessRecord, AuditError, AuditStore, format_time};

/// How the forwarder delivers.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    pub url: String,
    /// Attempts per record before it is dead-lettered (at least 1).
    pub attempts_max: u32,
    pub request_timeout: Duration,
    /// Longest sleep without looking for new records.
    pub poll_interval: Duration,
}

impl ForwardConfig {
    pub fn new(url: impl Into<String>, attempts_max: u32) -> ForwardConfig {
        ForwardConfig {
            url: url.into(),
            attempts_max,
            request_timeout: crate::delivery::REQUEST_TIMEOUT_DEFAULT,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// The forwarder cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("cannot build the HTTP client for MinLog forwarding: {0}")]
    Client(#[source] reqwest::Error),
    #[error("attempts_max must be at least 1")]
    NoAttempts,
    #[error(transparent)]
    Store(#[from] AuditError),
}

/// Where forwarding stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ForwardState {
    pub last_record_id: i64,
    /// Records after the cursor.
    pub behind: u64,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub dead: u64,
}

/// The JSON a record is forwarded as.
pub fn forwarded_json(store_id: &str, record_id: i64, record: &AccessRecord) -> serde_json::Value {
    serde_json::json!({
        "event_id": format!("{store_id}:{record_id}"),
        "time": record.time,
        "patient_cpr": record.patient_cpr,
        "user": {
            "cpr": record.user_cpr,
            "name": record.user_name,
            "role": record.user_role,
            "organisation": {
                "sor": record.organisation_sor,
                "cvr": record.organisation_cvr,
                "name": record.organisation_name,
            },
            "it_system": record.it_system,
        },
        "on_behalf_of": record.on_behalf_of,
        "action": record.action.as_str(),
        "documents": record.documents,
        "override": record.override_reason.as_ref().map(|reason| serde_json::json!({"reason": reason})),
        "outcome": record.outcome.as_str(),
    })
}

struct Cursor {
    store_id: String,
    last_record_id: i64,
    attempts: u32,
    next_attempt_at: String,
}

/// How long a forwarder's hold on the cursor lasts without being renewed: every step renews
/// it, and a step is bounded by the request timeout. Another instance takes over this long
/// after the holder stopped without releasing it (it died).
fn lease_length(config: &ForwardConfig) -> Duration {
    config.request_timeout + LEASE_MARGIN
}

/// What a lease adds to the request timeout: the store's own statements of one step.
const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// Longest the PostgreSQL forwarder waits for the transactions that may still commit a record
/// before the next one (see `Backend::RECORD_AFTER_WITH_SNAPSHOT`) before it tries again later.
const SETTLE_WAIT_MAX: Duration = Duration::from_secs(2);

impl AuditStore {
    /// Takes (or renews) the forwarding cursor for `holder` until `lease_until`, unless another
    /// forwarder holds an unexpired lease; the cursor as it stands, or `None` when another
    /// forwarder has it.
    async fn hold_forward_cursor(
        &self,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<Cursor>, AuditError> {
        let now = OffsetDateTime::now_utc();
        let now_text = format_time(now)?;
        let lease_until = format_time(now + lease)?;
        let store_id = uuid::Uuid::new_v4().to_string();
        dispatch!(self, e => e.hold_forward_cursor(&store_id, holder, &now_text, &lease_until).await)
    }

    /// Lets another forwarder take the cursor at once.
    async fn release_forward_cursor(&self, holder: &str) -> Result<(), AuditError> {
        dispatch!(self, e => e.release_forward_cursor(holder).await)
    }

    /// The next record after the cursor that is final: no record with a smaller id can still
    /// be committed (see `Backend::RECORD_AFTER_WITH_SNAPSHOT`). `None` when there is none
    /// yet.
    async fn record_after(&self, id: i64) -> Result<Option<(i64, AccessRecord)>, AuditError> {
        dispatch!(self, e => e.record_after(id).await)
    }

    /// Moves the cursor past `record_id` (delivered), if `holder` still holds it.
    async fn forwarded(&self, holder: &str, record_id: i64) -> Result<(), AuditError> {
        dispatch!(self, e => e.forwarded(holder, record_id).await)
    }

    /// Records a failed attempt for `record_id`; after `attempts_max` the record is
    /// dead-lettered and the cursor moves past it, in one transaction (if `holder` still
    /// holds the cursor).
    async fn forward_failed(
        &self,
        holder: &str,
        record_id: i64,
        attempts: u32,
        attempts_max: u32,
        error: &str,
    ) -> Result<(), AuditError> {
        let error: String = error.chars().take(LAST_ERROR_CHARS_MAX).collect();
        let now = OffsetDateTime::now_utc();
        let dead = attempts >= attempts_max;
        let next = format_time(now + retry_delay(attempts, rand::random::<f64>()))?;
        let now = format_time(now)?;
        dispatch!(self, e => e
            .forward_failed(holder, record_id, attempts, dead, &error, &now, &next)
            .await)
    }

    /// Where forwarding stands (for operators and tests).
    pub async fn forward_state(&self) -> Result<ForwardState, AuditError> {
        let store_id = uuid::Uuid::new_v4().to_string();
        let now = format_time(OffsetDateTime::now_utc())?;
        dispatch!(self, e => e.forward_state(&store_id, &now).await)
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
    bool: for<'r> Decode<'r, DB> + Type<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    /// Creates the cursor (at the start of the log: everything is forwarded) on first use.
    async fn ensure_forward_cursor(&self, store_id: &str, now: &str) -> Result<(), AuditError> {
        let _writing = self.writing().await;
        sqlx::query(
            "INSERT INTO minlog_forward_cursor (id, store_id, last_record_id, attempts, next_attempt_at) \
             VALUES (1, $1, 0, 0, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(store_id)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn hold_forward_cursor(
        &self,
        store_id: &str,
        holder: &str,
        now: &str,
        lease_until: &str,
    ) -> Result<Option<Cursor>, AuditError> {
        self.ensure_forward_cursor(store_id, now).await?;
        let _writing = self.writing().await;
        let row = sqlx::query(
            "UPDATE minlog_forward_cursor SET holder = $1, lease_until = $2 \
             WHERE id = 1 AND (holder IS NULL OR holder = $1 OR lease_until < $3) \
             RETURNING store_id, last_record_id, attempts, next_attempt_at",
        )
        .bind(holder)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| {
            Ok(Cursor {
                store_id: row.try_get("store_id")?,
                last_record_id: row.try_get("last_record_id")?,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                next_attempt_at: row.try_get("next_attempt_at")?,
            })
        })
        .transpose()
    }

    async fn release_forward_cursor(&self, holder: &str) -> Result<(), AuditError> {
        let _writing = self.writing().await;
        sqlx::query(
            "UPDATE minlog_forward_cursor SET holder = NULL, lease_until = NULL \
             WHERE id = 1 AND holder = $1",
        )
        .bind(holder)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn first_record_after(&self, id: i64) -> Result<Option<(i64, AccessRecord)>, AuditError> {
        let row = sqlx::query("SELECT * FROM access_record WHERE id > $1 ORDER BY id LIMIT 1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row::<DB>).transpose()
    }

    async fn record_after(&self, id: i64) -> Result<Option<(i64, AccessRecord)>, AuditError> {
        let (Some(with_snapshot), Some(settled)) =
            (DB::RECORD_AFTER_WITH_SNAPSHOT, DB::SNAPSHOT_SETTLED)
        else {
            return self.first_record_after(id).await;
        };
        let Some(row) = sqlx::query(with_snapshot)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let snapshot: String = row.try_get("snapshot")?;
        let deadline = tokio::time::Instant::now() + SETTLE_WAIT_MAX;
        loop {
            let done: bool = sqlx::query_scalar(settled)
                .bind(snapshot.as_str())
                .fetch_one(&self.pool)
                .await?;
            if done {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.first_record_after(id).await
    }

    async fn forwarded(&self, holder: &str, record_id: i64) -> Result<(), AuditError> {
        let _writing = self.writing().await;
        sqlx::query(
            "UPDATE minlog_forward_cursor SET last_record_id = $1, attempts = 0, last_error = NULL \
             WHERE id = 1 AND holder = $2 AND last_record_id < $1",
        )
        .bind(record_id)
        .bind(holder)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn forward_failed(
        &self,
        holder: &str,
        record_id: i64,
        attempts: u32,
        dead: bool,
        error: &str,
        now: &str,
        next_attempt_at: &str,
    ) -> Result<(), AuditError> {
        let _writing = self.writing().await;
        let mut tx = self.writer.begin().await?;
        if dead {
            let moved = sqlx::query(
                "UPDATE minlog_forward_cursor SET last_record_id = $1, attempts = 0, last_error = $2 \
                 WHERE id = 1 AND holder = $3 AND last_record_id < $1",
            )
            .bind(record_id)
            .bind(error)
            .bind(holder)
            .execute(&mut *tx)
            .await?;
            if DB::rows_affected(&moved) == 1 {
                sqlx::query(
                    "INSERT INTO minlog_forward_dead (record_id, time, error) VALUES ($1, $2, $3) \
                     ON CONFLICT (record_id) DO NOTHING",
                )
                .bind(record_id)
                .bind(now)
                .bind(error)
                .execute(&mut *tx)
                .await?;
            }
        } else {
            sqlx::query(
                "UPDATE minlog_forward_cursor SET attempts = $1, next_attempt_at = $2, last_error = $3 \
                 WHERE id = 1 AND holder = $4",
            )
            .bind(i64::from(attempts))
            .bind(next_attempt_at)
            .bind(error)
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn forward_state(&self, store_id: &str, now: &str) -> Result<ForwardState, AuditError> {
        self.ensure_forward_cursor(store_id, now).await?;
        let row = sqlx::query(
            "SELECT last_record_id, attempts, last_error, \
             (SELECT COUNT(*) FROM access_record AS r WHERE r.id > c.last_record_id) AS behind, \
             (SELECT COUNT(*) FROM minlog_forward_dead) AS dead \
             FROM minlog_forward_cursor AS c WHERE c.id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ForwardState {
            last_record_id: row.try_get("last_record_id")?,
            behind: u64::try_from(row.try_get::<i64, _>("behind")?).unwrap_or(0),
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            last_error: row.try_get("last_error")?,
            dead: u64::try_from(row.try_get::<i64, _>("dead")?).unwrap_or(0),
        })
    }
}

/// The forwarding task of one process; dropping it stops the task, [`MinlogForwarder::stop`]
/// lets the record in flight finish first.
#[derive(Debug)]
pub struct MinlogForwarder {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl MinlogForwarder {
    pub fn spawn(
        store: AuditStore,
        config: ForwardConfig,
    ) -> Result<MinlogForwarder, ForwardError> {
        if config.attempts_max == 0 {
            return Err(ForwardError::NoAttempts);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dds-minlog-forward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ForwardError::Client)?;
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(run(store, client, config, stopping));
        Ok(MinlogForwarder {
            stop,
            task: Some(task),
        })
    }

    /// Stops after the record in flight (bounded by the request timeout).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MinlogForwarder {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn run(
    store: AuditStore,
    client: reqwest::Client,
    config: ForwardConfig,
    mut stopping: watch::Receiver<bool>,
) {
    // Names this forwarder in the cursor's lease (see the module docs).
    let holder = uuid::Uuid::new_v4().to_string();
    loop {
        if *stopping.borrow() {
            break;
        }
        let wait = match step(&store, &client, &config, &holder).await {
            Ok(Step::Forwarded) => continue,
            Ok(Step::Wait(wait)) => wait,
            Err(error) => {
                tracing::error!(%error, "MinLog forwarding cannot read its store; retrying");
                config.poll_interval
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stopping.changed() => {}
        }
    }
    if let Err(error) = store.release_forward_cursor(&holder).await {
        tracing::warn!(%error, "cannot release the MinLog forwarding cursor; another instance takes it when the lease ends");
    }
}

enum Step {
    Forwarded,
    Wait(Duration),
}

async fn step(
    store: &AuditStore,
    client: &reqwest::Client,
    config: &ForwardConfig,
    holder: &str,
) -> Result<Step, AuditError> {
    let Some(cursor) = store
        .hold_forward_cursor(holder, lease_length(config))
        .await?
    else {
        // Another instance forwards; take over if it stops.
        return Ok(Step::Wait(config.poll_interval));
    };
    if cursor.attempts > 0 {
        let due = OffsetDateTime::parse(
            &cursor.next_attempt_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| AuditError::Corrupt(e.to_string()))?;
        let ahead = due - OffsetDateTime::now_utc();
        if ahead.is_positive() {
            return Ok(Step::Wait(
                Duration::try_from(ahead)
                    .unwrap_or(config.poll_interval)
                    .min(config.poll_interval),
            ));
        }
    }
    let Some((record_id, record)) = store.record_after(cursor.last_record_id).await? else {
        return Ok(Step::Wait(config.poll_interval));
    };
    let body = forwarded_json(&cursor.store_id, record_id, &record);
    let outcome = client.post(&config.url).json(&body).send().await;
    let error = match outcome {
        Ok(response) if response.status().is_success() => None,
        Ok(response) => Some(format!(
            "the MinLog endpoint answered {}",
            response.status()
        )),
        Err(error) => Some(format!("the MinLog endpoint did not answer: {error}")),
    };
    match error {
        None => {
            store.forwarded(holder, record_id).await?;
            Ok(Step::Forwarded)
        }
        Some(error) => {
            let attempts = cursor.attempts.saturating_add(1);
            tracing::warn!(record_id, attempts, %error, "forwarding a MinLog record failed");
            store
                .forward_failed(holder, record_id, attempts, config.attempts_max, &error)
                .await?;
            Ok(Step::Forwarded)
        }
    }
}

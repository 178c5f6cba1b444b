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

use std::time::Duration;

use sqlx::Row;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::record_from_row;
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

impl AuditStore {
    /// The forwarding cursor, created (at the start of the log: everything is forwarded) on
    /// first use.
    async fn forward_cursor(&self) -> Result<Cursor, AuditError> {
        let now = format_time(OffsetDateTime::now_utc())?;
        sqlx::query(
            "INSERT INTO minlog_forward_cursor (id, store_id, last_record_id, attempts, next_attempt_at) \
             VALUES (1, ?, 0, 0, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT store_id, last_record_id, attempts, next_attempt_at FROM minlog_forward_cursor WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Cursor {
            store_id: row.try_get("store_id")?,
            last_record_id: row.try_get("last_record_id")?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            next_attempt_at: row.try_get("next_attempt_at")?,
        })
    }

    /// The next record after the cursor, with its id.
    async fn record_after(&self, id: i64) -> Result<Option<(i64, AccessRecord)>, AuditError> {
        let row = sqlx::query("SELECT * FROM access_record WHERE id > ? ORDER BY id LIMIT 1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Moves the cursor past `record_id` (delivered).
    async fn forwarded(&self, record_id: i64) -> Result<(), AuditError> {
        sqlx::query(
            "UPDATE minlog_forward_cursor SET last_record_id = ?, attempts = 0, last_error = NULL WHERE id = 1",
        )
        .bind(record_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt for `record_id`; after `attempts_max` the record is
    /// dead-lettered and the cursor moves past it, in one transaction.
    async fn forward_failed(
        &self,
        record_id: i64,
        attempts: u32,
        attempts_max: u32,
        error: &str,
    ) -> Result<(), AuditError> {
        let error: String = error.chars().take(LAST_ERROR_CHARS_MAX).collect();
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await?;
        if attempts >= attempts_max {
            sqlx::query("INSERT OR IGNORE INTO minlog_forward_dead (record_id, time, error) VALUES (?, ?, ?)")
                .bind(record_id)
                .bind(format_time(now)?)
                .bind(&error)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE minlog_forward_cursor SET last_record_id = ?, attempts = 0, last_error = ? WHERE id = 1",
            )
            .bind(record_id)
            .bind(&error)
            .execute(&mut *tx)
            .await?;
        } else {
            let next = now + retry_delay(attempts, rand::random::<f64>());
            sqlx::query(
                "UPDATE minlog_forward_cursor SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = 1",
            )
            .bind(i64::from(attempts))
            .bind(format_time(next)?)
            .bind(&error)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Where forwarding stands (for operators and tests).
    pub async fn forward_state(&self) -> Result<ForwardState, AuditError> {
        let cursor = self.forward_cursor().await?;
        let behind: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_record WHERE id > ?")
            .bind(cursor.last_record_id)
            .fetch_one(&self.pool)
            .await?;
        let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM minlog_forward_dead")
            .fetch_one(&self.pool)
            .await?;
        let last_error: Option<String> =
            sqlx::query_scalar("SELECT last_error FROM minlog_forward_cursor WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(ForwardState {
            last_record_id: cursor.last_record_id,
            behind: u64::try_from(behind).unwrap_or(0),
            attempts: cursor.attempts,
            last_error,
            dead: u64::try_from(dead).unwrap_or(0),
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
    loop {
        if *stopping.borrow() {
            return;
        }
        let wait = match step(&store, &client, &config).await {
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
}

enum Step {
    Forwarded,
    Wait(Duration),
}

async fn step(
    store: &AuditStore,
    client: &reqwest::Client,
    config: &ForwardConfig,
) -> Result<Step, AuditError> {
    let cursor = store.forward_cursor().await?;
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
            store.forwarded(record_id).await?;
            Ok(Step::Forwarded)
        }
        Some(error) => {
            let attempts = cursor.attempts.saturating_add(1);
            tracing::warn!(record_id, attempts, %error, "forwarding a MinLog record failed");
            store
                .forward_failed(record_id, attempts, config.attempts_max, &error)
                .await?;
            Ok(Step::Forwarded)
        }
    }
}

//! Delivering treatment-relation follow-ups to BRS: the [`OutboxWorker`].
//!
//! The worker claims due follow-ups ([`AuditStore::claim_due_followups`]: each patient's
//! oldest pending one), POSTs each one's JSON to the BRS URL, and settles it: a 2xx answer
//! delivers it; anything else (another status, a refused connection, a timeout) schedules a
//! retry after [`retry_delay`], until [`DeliveryConfig::attempts_max`] attempts are spent and
//! it is dead-lettered.
//!
//! Invariants:
//! - At least once: a follow-up is settled only after the receiver answered 2xx; a crash
//!   between the answer and the settling sends it again (receivers deduplicate by `event_id`).
//! - In order per patient: guaranteed by the claim, not by the worker; claims of one pass
//!   concern different patients and are delivered concurrently (at most
//!   [`DELIVERIES_IN_FLIGHT_MAX`]).
//! - The worker holds no state of its own: everything is in the outbox table, so a restart
//!   resumes where the last process stopped.
//! - Bounded: every request has a timeout, every wait a poll interval, the shutdown flush a
//!   deadline.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::outbox::{ClaimedFollowup, FollowupState, OutboxDepth};
use crate::{AuditError, AuditStore};

/// Attempts before a follow-up is dead-lettered, unless configured (INTERFACE.md: 20).
pub const ATTEMPTS_MAX_DEFAULT: u32 = 20;
/// Longest wait for one BRS answer.
pub const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);
/// Upper bound of the delay after the first failure (INTERFACE.md: "first retry within 1 s").
pub const RETRY_DELAY_FIRST: Duration = Duration::from_secs(1);
/// The back-off stops doubling here (INTERFACE.md: "capped at 60 s").
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(60);
/// Longest the worker sleeps without looking at the outbox: finds follow-ups that no signal
/// announced (committed by another process) and bounds the harm of a missed wake-up.
pub const POLL_INTERVAL_DEFAULT: Duration = Duration::from_secs(5);
/// Most follow-ups in flight at once (each for a different patient): enough to keep a slow
/// receiver busy, few enough not to flood it when a backlog drains.
pub const DELIVERIES_IN_FLIGHT_MAX: u32 = 16;
/// How long a claim outlives its request's timeout: the time to settle it in the store.
const CLAIM_LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Shortest sleep between passes, so a due time that the claim and the clock disagree about
/// cannot spin the worker.
const IDLE_WAIT_MIN: Duration = Duration::from_millis(50);
/// How long the worker waits after a store error before it tries again.
const STORE_ERROR_WAIT: Duration = Duration::from_secs(1);

/// The delay before the next attempt after `failed_attempts` failures (1 for the first):
/// [`RETRY_DELAY_FIRST`] doubled per further failure, capped at [`RETRY_DELAY_MAX`], then
/// jittered down by up to half (`jitter` in `[0, 1]`, drawn uniformly by the worker) so that
/// follow-ups that failed together (the receiver was down) do not all retry together.
///
/// The result lies in `[nominal / 2, nominal]`: never later than the nominal schedule.
pub fn retry_delay(failed_attempts: u32, jitter: f64) -> Duration {
    let doublings = failed_attempts.saturating_sub(1);
    let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
    let nominal = RETRY_DELAY_FIRST
        .saturating_mul(factor)
        .min(RETRY_DELAY_MAX);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    nominal.mul_f64(1.0 - jitter / 2.0)
}

/// How the worker delivers.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// `POST` target for every follow-up (`--brs-url`).
    pub url: String,
    /// Attempts before a follow-up is dead-lettered (at least 1).
    pub attempts_max: u32,
    pub request_timeout: Duration,
    pub poll_interval: Duration,
}

impl DeliveryConfig {
    /// Delivery to `url` with the defaults of INTERFACE.md.
    pub fn new(url: impl Into<String>) -> DeliveryConfig {
        DeliveryConfig {
            url: url.into(),
            attempts_max: ATTEMPTS_MAX_DEFAULT,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
            poll_interval: POLL_INTERVAL_DEFAULT,
        }
    }
}

/// The worker cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("cannot build the HTTP client for BRS delivery: {0}")]
    Client(#[source] reqwest::Error),
    #[error("attempts_max must be at least 1")]
    NoAttempts,
}

/// What the shutdown flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    /// `false` when the deadline cut the flush short (requests in flight were abandoned;
    /// their follow-ups are due again after the claim lease).
    pub finished_in_time: bool,
    /// What is left in the outbox, if the store could say.
    pub depth: Option<OutboxDepth>,
}

/// The delivery task of one process. Dropping it stops the task; [`OutboxWorker::flush`]
/// stops it gracefully.
#[derive(Debug)]
pub struct OutboxWorker {
    store: AuditStore,
    /// The shutdown mechanism: `None` while running; `Some(deadline)` tells the task to stop
    /// waiting, deliver whatever is due until nothing is or the deadline passes, and return.
    drain: watch::Sender<Option<Instant>>,
    /// `None` once flushed; aborted on drop otherwise.
    task: Option<JoinHandle<()>>,
}

impl OutboxWorker {
    /// Starts delivering `store`'s follow-ups on the current tokio runtime: at once (what a
    /// previous process left is due now), whenever the store commits a follow-up, and at
    /// least every poll interval.
    pub fn spawn(store: AuditStore, config: DeliveryConfig) -> Result<OutboxWorker, DeliveryError> {
        if config.attempts_max == 0 {
            return Err(DeliveryError::NoAttempts);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            // A redirect is not a delivery: it is an answer other than 2xx, retried as such.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dds-outbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(DeliveryError::Client)?;
        let (drain, drain_requested) = watch::channel(None);
        let courier = Courier {
            store: store.clone(),
            client,
            config: Arc::new(config),
        };
        let signal = store.followup_signal();
        let task = tokio::spawn(courier.run(drain_requested, signal));
        Ok(OutboxWorker {
            store,
            drain,
            task: Some(task),
        })
    }

    /// Stops the worker: delivers what is due (including follow-ups that become due as
    /// earlier ones of their patient settle) until nothing is due or `deadline`, then returns.
    /// Follow-ups that fail are scheduled as usual, so a receiver that is down costs one
    /// attempt per patient, not the whole deadline.
    pub async fn flush(mut self, deadline: Instant) -> FlushReport {
        let _ = self.drain.send(Some(deadline));
        let finished_in_time = match self.task.take() {
            None => true,
            Some(mut task) => {
                match tokio::time::timeout_at(deadline + CLAIM_LEASE_MARGIN, &mut task).await {
                    Ok(_) => true,
                    Err(_) => {
                        task.abort();
                        false
                    }
                }
            }
        };
        let depth = match self.store.outbox_depth().await {
            Ok(depth) => Some(depth),
            Err(error) => {
                tracing::error!(%error, "cannot count the outbox after the flush");
                None
            }
        };
        FlushReport {
            finished_in_time,
            depth,
        }
    }
}

impl Drop for OutboxWorker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The delivering side of the worker; cheap to clone into each delivery task.
#[derive(Clone)]
struct Courier {
    store: AuditStore,
    client: reqwest::Client,
    config: Arc<DeliveryConfig>,
}

impl Courier {
    async fn run(self, mut drain: watch::Receiver<Option<Instant>>, signal: Arc<Notify>) {
        match self.store.rebuild_followup_heads().await {
            Ok(patients) => tracing::info!(patients, "outbox delivery started"),
            // Not fatal: the heads kept by every commit are still there.
            Err(error) => tracing::error!(%error, "cannot rebuild the outbox's queue heads"),
        }
        loop {
            let drain_deadline = *drain.borrow_and_update();
            if let Some(deadline) = drain_deadline {
                self.drain(deadline).await;
                return;
            }
            let wait = match self.pass(None).await {
                // Settling may have unblocked a patient's next follow-up: look again at once.
                Ok(claimed) if claimed > 0 => continue,
                Ok(_) => self.until_next_due().await,
                Err(error) => {
                    tracing::error!(%error, "cannot read the outbox; retrying");
                    STORE_ERROR_WAIT
                }
            };
            tokio::select! {
                () = signal.notified() => {}
                () = tokio::time::sleep(wait) => {}
                changed = drain.changed() => {
                    if changed.is_err() {
                        // The OutboxWorker is gone without a flush: nobody wants delivery.
                        return;
                    }
                }
            }
        }
    }

    /// Delivers what is due until nothing is, or the deadline passes.
    async fn drain(&self, deadline: Instant) {
        while Instant::now() < deadline {
            match tokio::time::timeout_at(deadline, self.pass(Some(deadline))).await {
                // Nothing due, or out of time (deliveries in flight are dropped; their claims
                // lapse and they are due again after the lease).
                Ok(Ok(0)) | Err(_) => return,
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::error!(%error, "cannot read the outbox while flushing");
                    return;
                }
            }
        }
    }

    /// How long to sleep until the earliest follow-up is due, at most one poll interval.
    async fn until_next_due(&self) -> Duration {
        let poll = self.config.poll_interval;
        match self.store.next_followup_due_at().await {
            Ok(Some(due)) => {
                let ahead = due - OffsetDateTime::now_utc();
                Duration::try_from(ahead)
                    .unwrap_or(Duration::ZERO)
                    .clamp(IDLE_WAIT_MIN, poll.max(IDLE_WAIT_MIN))
            }
            Ok(None) => poll,
            Err(error) => {
                tracing::error!(%error, "cannot read the outbox's next due time");
                poll
            }
        }
    }

    /// One round: claims what is due and delivers it concurrently; returns how many it
    /// claimed. `deadline` (when flushing) shortens each request's timeout to fit.
    async fn pass(&self, deadline: Option<Instant>) -> Result<usize, AuditError> {
        let timeout = match deadline {
            None => self.config.request_timeout,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(0);
                }
                left.min(self.config.request_timeout)
            }
        };
        let now = OffsetDateTime::now_utc();
        let lease_until = now + timeout + CLAIM_LEASE_MARGIN;
        let claimed = self
            .store
            .claim_due_followups(now, lease_until, DELIVERIES_IN_FLIGHT_MAX)
            .await?;
        let count = claimed.len();
        let mut deliveries = tokio::task::JoinSet::new();
        for followup in claimed {
            let courier = self.clone();
            deliveries.spawn(async move { courier.deliver(followup, timeout).await });
        }
        let mut first_error = None;
        while let Some(joined) = deliveries.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(join_error) => {
                    tracing::error!(%join_error, "a follow-up delivery task failed");
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(count),
        }
    }

    /// One attempt for one follow-up, settled in the store.
    async fn deliver(
        &self,
        followup: ClaimedFollowup,
        timeout: Duration,
    ) -> Result<(), AuditError> {
        let attempt = followup.attempts + 1;
        let answer = self
            .client
            .post(&self.config.url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(followup.payload)
            .send()
            .await;
        let failure = match answer {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("BRS answered HTTP {}", response.status())),
            // without_url: the URL may carry credentials; the operator knows where it points.
            Err(error) => Some(describe(&error.without_url())),
        };
        let now = OffsetDateTime::now_utc();
        let Some(failure) = failure else {
            if !self
                .store
                .mark_followup_delivered(&followup.event_id, now)
                .await?
            {
                tracing::warn!(event_id = %followup.event_id, "delivered a follow-up that was no longer pending");
            }
            tracing::debug!(event_id = %followup.event_id, attempt, "follow-up delivered");
            return Ok(());
        };
        let next_attempt_at = now + retry_delay(attempt, rand::random::<f64>());
        let settled = self
            .store
            .record_failed_delivery(
                &followup.event_id,
                &failure,
                now,
                next_attempt_at,
                self.config.attempts_max,
            )
            .await?;
        match settled {
            Some(failed) if failed.state == FollowupState::Dead => tracing::error!(
                event_id = %followup.event_id,
                attempts = failed.attempts,
                %failure,
                "follow-up dead-lettered after its last attempt"
            ),
            Some(failed) => tracing::warn!(
                event_id = %followup.event_id,
                attempts = failed.attempts,
                %failure,
                "follow-up not delivered; will retry"
            ),
            None => {}
        }
        Ok(())
    }
}

/// An HTTP client error with its causes ("error sending request: connection refused").
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_retry_comes_within_a_second_and_the_delay_doubles_to_the_cap() {
        let nominal: Vec<u64> = (1..=9).map(|n| retry_delay(n, 0.0).as_secs()).collect();
        assert_eq!(nominal, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_delay(u32::MAX, 0.0), RETRY_DELAY_MAX);
        assert_eq!(
            retry_delay(0, 0.0),
            RETRY_DELAY_FIRST,
            "treated as the first"
        );
    }

    #[test]
    fn jitter_only_shortens_and_by_at_most_half() {
        for failed in 1..=25 {
            let nominal = retry_delay(failed, 0.0);
            for jitter in [0.0, 0.25, 0.5, 0.999, 1.0] {
                let delay = retry_delay(failed, jitter);
                assert!(delay <= nominal, "{failed} {jitter}");
                assert!(delay >= nominal / 2, "{failed} {jitter}");
            }
            assert!(retry_delay(failed, 1.0) < nominal, "jitter moves the time");
        }
        assert_eq!(retry_delay(1, f64::NAN), RETRY_DELAY_FIRST);
        assert_eq!(retry_delay(1, 7.0), RETRY_DELAY_FIRST / 2);
    }
}

//! Delivering treatment-relation follow-ups to BRS: the [`OutboxWorker`].
//!
//! The worker claims due follow-ups ([`AuditStore::claim_due_followups`]: each patient's
//! oldest pending one), POSTs each one's JSON to the BRS URL, and settles the attempts
//! ([`AuditStore::settle_followups`]): a 2xx answer delivers a follow-up; anything else
//! (another status, a refused connection, a timeout) schedules a retry after
//! [`retry_delay`], until [`DeliveryConfig::attempts_max`] attempts are spent and it is
//! dead-lettered. Claiming, sending and settling overlap: the attempts answered while the
//! store was busy are settled together, and the free request slots refilled, in one
//! transaction (see `Pipeline`).
//!
//! Invariants:
//! - At least once: a follow-up is settled only after the receiver answered 2xx; a crash
//!   between the answer and the settling sends it again (receivers deduplicate by `event_id`).
//! - In order per patient: guaranteed by the claim, not by the worker; the follow-ups in
//!   flight concern different patients and are delivered concurrently (at most
//!   [`DELIVERIES_IN_FLIGHT_MAX`]), and a patient's next one is claimable only once the
//!   transaction settling its predecessor committed.
//! - The worker holds no state of its own that matters: everything is in the outbox table,
//!   so a restart resumes where the last process stopped (attempts answered but not yet
//!   settled are made again once their claims lapse).
//! - Bounded: every request has a timeout, every wait a poll interval, the shutdown flush a
//!   deadline; at most [`DELIVERIES_IN_FLIGHT_MAX`] requests and [`CLAIMED_MAX`] unsettled
//!   claims at once.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::outbox::{
    AttemptOutcome, ClaimRequest, ClaimedFollowup, FollowupState, OutboxDepth, SETTLE_BATCH_MAX,
    Settled, Settlement,
};
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
/// Most requests in flight at once (each for a different patient): enough to keep the
/// receiver busy while the store settles the previous answers, few enough not to flood it
/// when a backlog drains.
pub const DELIVERIES_IN_FLIGHT_MAX: usize = 32;
/// Most follow-ups one worker holds claimed and unsettled (in flight, or answered and waiting
/// for their settle): a full round in flight plus a round being settled.
pub const CLAIMED_MAX: usize = 2 * DELIVERIES_IN_FLIGHT_MAX;
// Everything held can be settled in one transaction.
const _: () = assert!(CLAIMED_MAX <= SETTLE_BATCH_MAX);
/// Longest 2xx answer body read (and dropped) so that its connection can be reused.
const ANSWER_BYTES_MAX: usize = 64 * 1024;
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
        let pipeline = Pipeline {
            store: store.clone(),
            courier: Courier {
                client,
                config: Arc::new(config),
            },
            in_flight: JoinSet::new(),
            answered: Vec::new(),
            store_op: JoinSet::new(),
            settling: 0,
            // What a previous process left is due now.
            due_maybe: true,
            store_paused_until: None,
        };
        let signal = store.followup_signal();
        let task = tokio::spawn(pipeline.run(drain_requested, signal));
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

/// What the worker needs to make one attempt; cheap to clone into each delivery task.
#[derive(Clone)]
struct Courier {
    /// One client for every attempt, so connections to the receiver are kept alive and
    /// reused (its pool), not opened per follow-up.
    client: reqwest::Client,
    config: Arc<DeliveryConfig>,
}

impl Courier {
    /// One attempt for one follow-up: how it ended, to be settled in the store.
    async fn attempt(self, followup: ClaimedFollowup, timeout: Duration) -> Settlement {
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
            Ok(response) if response.status().is_success() => {
                read_answer_body(response).await;
                None
            }
            Ok(response) => Some(format!("BRS answered HTTP {}", response.status())),
            // without_url: the URL may carry credentials; the operator knows where it points.
            Err(error) => Some(describe(&error.without_url())),
        };
        let at = OffsetDateTime::now_utc();
        let outcome = match failure {
            None => AttemptOutcome::Delivered,
            Some(error) => AttemptOutcome::Failed {
                error,
                retry_at: at + retry_delay(attempt, rand::random::<f64>()),
            },
        };
        Settlement {
            event_id: followup.event_id,
            at,
            outcome,
        }
    }
}

/// Reads (and drops) up to [`ANSWER_BYTES_MAX`] of a 2xx answer's body: a connection is
/// returned to the client's pool only once its answer was read to the end, so a receiver
/// that answers `200` with a small body keeps its connection too. The answer itself means
/// nothing beyond its status; a larger or broken body just costs that connection.
async fn read_answer_body(mut response: reqwest::Response) {
    let mut read = 0;
    while read <= ANSWER_BYTES_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => return,
        }
    }
}

/// What the store did (or failed to do) for the worker: a settle of `batch` (which may be
/// empty) and, when `claim` was asked, a claim after it, in one transaction; one at a time,
/// see [`Pipeline`].
struct StoreDone {
    batch: Vec<Settlement>,
    claim: Option<ClaimAsked>,
    outcome: Result<(Vec<Settled>, Vec<ClaimedFollowup>), AuditError>,
}

/// A claim as the worker asked for it.
#[derive(Clone, Copy)]
struct ClaimAsked {
    /// Free request slots: the most follow-ups asked for.
    asked: usize,
    /// Each claimed follow-up's request timeout.
    timeout: Duration,
}

/// The worker's state: a pipeline in which claiming, sending and settling overlap.
///
/// Requests run concurrently (at most [`DELIVERIES_IN_FLIGHT_MAX`]); each answer joins
/// `answered`, and everything answered while the store was busy is settled together in the
/// next transaction (like [`crate::group_commit`] does for access records), so one durable
/// commit settles many follow-ups and the commit's cost per follow-up falls as the load
/// rises. Claims refill free request slots as soon as the store is free, without waiting for
/// the slowest request of a round.
///
/// One store operation at a time, which settles everything answered and claims for the free
/// request slots in one transaction: one durable commit and one turn at the store's writer
/// (which the access records' group commits also wait for) instead of two. A claim takes at
/// most as many follow-ups as there are free request slots, so each is sent at once and its
/// lease (request timeout plus [`CLAIM_LEASE_MARGIN`]) covers its request and its settle as
/// before; and never more than [`CLAIMED_MAX`] are held unsettled.
struct Pipeline {
    store: AuditStore,
    courier: Courier,
    /// Requests under way; each ends with the settlement of its attempt.
    in_flight: JoinSet<Settlement>,
    /// Attempts answered and not yet settled.
    answered: Vec<Settlement>,
    /// The store operation under way (none or one).
    store_op: JoinSet<StoreDone>,
    /// Attempts in the settle under way.
    settling: usize,
    /// Whether a claim may find something: false once a claim found fewer than it asked
    /// for, until something that can make more due has happened (a settle, a follow-up
    /// committed by this process, the earliest due time, the poll).
    due_maybe: bool,
    /// No store operation before this (after one failed).
    store_paused_until: Option<Instant>,
}

impl Pipeline {
    async fn run(mut self, mut drain: watch::Receiver<Option<Instant>>, signal: Arc<Notify>) {
        match self.store.rebuild_followup_heads().await {
            Ok(patients) => tracing::info!(patients, "outbox delivery started"),
            // Not fatal: the heads kept by every commit are still there.
            Err(error) => tracing::error!(%error, "cannot rebuild the outbox's queue heads"),
        }
        loop {
            let drain_deadline = *drain.borrow_and_update();
            if drain_deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                break;
            }
            self.start_store_op(drain_deadline);
            if self.is_idle() {
                if drain_deadline.is_some() {
                    // Flushed: nothing is due and nothing is under way.
                    break;
                }
                let wait = self.until_next_due().await;
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
                self.due_maybe = true;
                continue;
            }
            let wake = match (self.store_paused_until, drain_deadline) {
                (Some(paused), Some(deadline)) => Some(paused.min(deadline)),
                (paused, deadline) => paused.or(deadline),
            };
            tokio::select! {
                Some(joined) = self.in_flight.join_next() => match joined {
                    Ok(settlement) => self.answered.push(settlement),
                    // Its claim lapses and it is sent again.
                    Err(join_error) => tracing::error!(%join_error, "a follow-up delivery task failed"),
                },
                Some(joined) = self.store_op.join_next() => match joined {
                    Ok(done) => self.store_done(done),
                    Err(join_error) => {
                        tracing::error!(%join_error, "an outbox store task failed");
                        self.settling = 0;
                        self.store_paused_until = Some(Instant::now() + STORE_ERROR_WAIT);
                    }
                },
                () = signal.notified() => self.due_maybe = true,
                changed = drain.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.due_maybe = true;
                }
                () = sleep_until_some(wake) => {}
            }
        }
        self.finish_drain().await;
    }

    /// After the flush's deadline (or once nothing was left): requests still under way are
    /// abandoned (their claims lapse and they are due again after the lease), and what was
    /// answered is settled, so that it is not sent again.
    async fn finish_drain(mut self) {
        self.in_flight.shutdown().await;
        // A store task that failed settled nothing: its attempts are made again.
        while let Some(Ok(mut done)) = self.store_op.join_next().await {
            // Too late to send what it claimed: those claims lapse.
            if let Ok((_, claimed)) = &mut done.outcome {
                claimed.clear();
            }
            self.store_done(done);
        }
        if self.answered.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.answered);
        let outcome = self
            .store
            .settle_followups(&batch, self.courier.config.attempts_max)
            .await
            .map(|settled| (settled, Vec::new()));
        self.store_done(StoreDone {
            batch,
            claim: None,
            outcome,
        });
    }

    /// Nothing under way, nothing to settle, and nothing known to be due.
    fn is_idle(&self) -> bool {
        self.store_op.is_empty()
            && self.in_flight.is_empty()
            && self.answered.is_empty()
            && !self.due_maybe
    }

    /// Follow-ups claimed and not yet settled.
    fn held(&self) -> usize {
        self.in_flight.len() + self.answered.len() + self.settling
    }

    /// Starts the next store operation, if none is under way and one is wanted: a settle of
    /// everything answered, or a claim for the free request slots.
    fn start_store_op(&mut self, drain_deadline: Option<Instant>) {
        if !self.store_op.is_empty() {
            return;
        }
        if let Some(paused) = self.store_paused_until {
            if Instant::now() < paused {
                return;
            }
            self.store_paused_until = None;
        }
        let claimable = DELIVERIES_IN_FLIGHT_MAX
            .saturating_sub(self.in_flight.len())
            .min(CLAIMED_MAX.saturating_sub(self.held()));
        let claim = if self.due_maybe && claimable > 0 {
            // When flushing, each request's timeout shrinks to fit the deadline.
            let timeout = match drain_deadline {
                None => self.courier.config.request_timeout,
                Some(deadline) => deadline
                    .saturating_duration_since(Instant::now())
                    .min(self.courier.config.request_timeout),
            };
            if timeout.is_zero() {
                self.due_maybe = false;
                None
            } else {
                Some(ClaimAsked {
                    asked: claimable,
                    timeout,
                })
            }
        } else {
            None
        };
        if self.answered.is_empty() && claim.is_none() {
            return;
        }
        let batch = std::mem::take(&mut self.answered);
        debug_assert!(
            batch.len() <= SETTLE_BATCH_MAX,
            "held follow-ups are bounded"
        );
        self.settling = batch.len();
        let store = self.store.clone();
        let attempts_max = self.courier.config.attempts_max;
        self.store_op.spawn(async move {
            let request = claim.map(|claim| {
                let now = OffsetDateTime::now_utc();
                ClaimRequest {
                    now,
                    lease_until: now + claim.timeout + CLAIM_LEASE_MARGIN,
                    limit: u32::try_from(claim.asked).unwrap_or(u32::MAX),
                }
            });
            let outcome = store
                .settle_and_claim_followups(&batch, attempts_max, request)
                .await;
            StoreDone {
                batch,
                claim,
                outcome,
            }
        });
    }

    fn store_done(&mut self, done: StoreDone) {
        self.settling = 0;
        let StoreDone {
            batch,
            claim,
            outcome,
        } = done;
        match outcome {
            Ok((settled, claimed)) => {
                if !batch.is_empty() {
                    log_settled(&batch, &settled);
                }
                self.due_maybe = match claim {
                    // The claim ran after the settle and saw the settled patients' next
                    // follow-ups: a full claim suggests more is due, a short one that nothing is.
                    Some(claim) => claimed.len() >= claim.asked,
                    // Settling made the patients' next follow-ups their heads.
                    None => !batch.is_empty() || self.due_maybe,
                };
                let timeout = claim.map_or(self.courier.config.request_timeout, |c| c.timeout);
                for followup in claimed {
                    let courier = self.courier.clone();
                    self.in_flight.spawn(courier.attempt(followup, timeout));
                }
            }
            Err(error) => {
                if batch.is_empty() {
                    tracing::error!(%error, "cannot claim from the outbox; retrying");
                } else {
                    tracing::error!(
                        %error,
                        attempts = batch.len(),
                        "cannot settle delivery attempts; they are made again once their claims lapse"
                    );
                }
                self.store_paused_until = Some(Instant::now() + STORE_ERROR_WAIT);
            }
        }
    }

    /// How long to sleep until the earliest follow-up is due, at most one poll interval.
    async fn until_next_due(&self) -> Duration {
        let poll = self.courier.config.poll_interval;
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
}

/// Sleeps until `wake`, or forever when there is nothing to wake for.
async fn sleep_until_some(wake: Option<Instant>) {
    match wake {
        Some(wake) => tokio::time::sleep_until(wake).await,
        None => std::future::pending().await,
    }
}

/// One log line per settled attempt that needs the operator's eye (failures, dead-letters,
/// a delivery that was no longer pending); successes at debug level.
fn log_settled(batch: &[Settlement], settled: &[Settled]) {
    for (settlement, settled) in batch.iter().zip(settled) {
        let event_id = &settlement.event_id;
        let failure = match &settlement.outcome {
            AttemptOutcome::Failed { error, .. } => error.as_str(),
            AttemptOutcome::Delivered => "",
        };
        match settled {
            Settled::Delivered => tracing::debug!(%event_id, "follow-up delivered"),
            Settled::Failed(failed) if failed.state == FollowupState::Dead => tracing::error!(
                %event_id,
                attempts = failed.attempts,
                %failure,
                "follow-up dead-lettered after its last attempt"
            ),
            Settled::Failed(failed) => tracing::warn!(
                %event_id,
                attempts = failed.attempts,
                %failure,
                "follow-up not delivered; will retry"
            ),
            Settled::NotPending if failure.is_empty() => tracing::warn!(
                %event_id,
                "delivered a follow-up that was no longer pending"
            ),
            Settled::NotPending => {}
        }
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

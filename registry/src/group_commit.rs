//! Group commit of registrations on SQLite: the ITI-42 submissions that arrive while one
//! transaction commits are registered together in the next, each inside a `SAVEPOINT` of its
//! own, so the durable commit (an `fdatasync` of the WAL) is paid once per group instead of
//! once per submission.
//!
//! SQLite has one writer connection ([`crate::sqlite`]), so registrations run one after the
//! other anyway; what grouping changes is only how many of them share a commit. Under light
//! load a group is one submission and nothing waits; under load the group grows with the
//! commit latency. The submission is planned (rewritten, symbolic ids assigned) by the caller
//! before it queues, so that work runs concurrently, outside the serialized writer.
//!
//! Invariants:
//! - A submission is answered `Ok` only after the transaction holding it committed; each one's
//!   rows are inside its own savepoint, so a rejected submission writes nothing and does not
//!   disturb the others of its group.
//! - Submissions are applied in arrival order, each seeing the rows of those before it, so a
//!   group decides exactly what the same submissions one after the other would.
//! - A group that fails before its commit (a store error, not a rejection) is run again one
//!   submission per transaction, so one submission's trouble is not another's. If the commit
//!   itself fails, the group may have been written: every submission of it is answered with
//!   that error and nothing is run again (a store error never acknowledges anything).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Sqlite;
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Engine, GroupFailure};
use crate::error::{RegisterError, StoreError};
use crate::submission::{Plan, RegisterOptions, Registered};

/// Most submissions one group registers; more wait for the next group. Bounds the time one
/// write transaction holds the writer (updates and deletes queue behind it).
pub(crate) const GROUP_SUBMISSIONS_MAX: usize = 64;
/// Submissions that may wait for the committer before senders wait for room (back-pressure).
const QUEUE_SUBMISSIONS_MAX: usize = 1024;

/// One planned submission and where its outcome goes.
struct Pending {
    plan: Plan,
    options: RegisterOptions,
    answer: oneshot::Sender<Result<Registered, RegisterError>>,
}

/// The sending side, held by every clone of the store.
#[derive(Debug, Clone)]
pub(crate) struct RegistrationCommitter {
    requests: mpsc::Sender<Pending>,
    /// Transactions the committer has committed.
    commits: Arc<AtomicU64>,
}

impl RegistrationCommitter {
    /// Starts the committer task for `engine` on the current tokio runtime. It ends when the
    /// last store handle is dropped, after answering every submission it received.
    pub(crate) fn spawn(engine: Engine<Sqlite>) -> Self {
        let (requests, receiver) = mpsc::channel(QUEUE_SUBMISSIONS_MAX);
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(engine, receiver, commits.clone()));
        RegistrationCommitter { requests, commits }
    }

    /// Write transactions committed so far by this committer.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Registers `plan` with whatever else is waiting; returns once it is durable (or
    /// rejected).
    pub(crate) async fn register(
        &self,
        plan: Plan,
        options: RegisterOptions,
    ) -> Result<Registered, RegisterError> {
        let (answer, outcome) = oneshot::channel();
        self.requests
            .send(Pending {
                plan,
                options,
                answer,
            })
            .await
            .map_err(|_| StoreError::CommitterStopped)?;
        outcome.await.map_err(|_| StoreError::CommitterStopped)?
    }
}

async fn run(
    engine: Engine<Sqlite>,
    mut receiver: mpsc::Receiver<Pending>,
    commits: Arc<AtomicU64>,
) {
    while let Some(first) = receiver.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_SUBMISSIONS_MAX {
            match receiver.try_recv() {
                Ok(pending) => group.push(pending),
                Err(_) => break,
            }
        }
        commit_group(&engine, group, &commits).await;
    }
}

/// Registers a group and answers each of its submissions.
async fn commit_group(engine: &Engine<Sqlite>, group: Vec<Pending>, commits: &AtomicU64) {
    let plans: Vec<(&Plan, RegisterOptions)> = group.iter().map(|p| (&p.plan, p.options)).collect();
    let failure = match engine.register_group(&plans).await {
        Ok(outcomes) => {
            if outcomes.iter().any(Result::is_ok) {
                commits.fetch_add(1, Ordering::Relaxed);
            }
            for (pending, outcome) in group.into_iter().zip(outcomes) {
                // The caller may have given up (its request was cancelled): the rows stay.
                let _ = pending
                    .answer
                    .send(outcome.map_err(RegisterError::Rejected));
            }
            return;
        }
        Err(failure) => failure,
    };
    match failure {
        GroupFailure::Commit(error) => {
            tracing::error!(%error, submissions = group.len(), "the registry's group commit failed");
            let detail = error.to_string();
            for pending in group {
                let _ = pending
                    .answer
                    .send(Err(StoreError::CommitFailed(detail.clone()).into()));
            }
        }
        GroupFailure::BeforeCommit(error) => {
            if group.len() > 1 {
                tracing::warn!(%error, submissions = group.len(), "a group of registrations failed; registering them one at a time");
            }
            for pending in group {
                let outcome = engine.register_plan(&pending.plan, pending.options).await;
                if outcome.is_ok() {
                    commits.fetch_add(1, Ordering::Relaxed);
                }
                let _ = pending.answer.send(outcome);
            }
        }
    }
}

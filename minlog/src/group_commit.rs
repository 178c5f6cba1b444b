//! Group commit of access records: the requests that arrive while one transaction commits are
//! committed together in the next, so the durable commit (an `fdatasync` on SQLite, a WAL
//! flush on PostgreSQL) is paid once per group instead of once per request.
//!
//! One committer task per store handle (and its clones) takes the first waiting request, adds
//! every request already queued behind it (up to [`GROUP_RECORDS_MAX`] records), and writes
//! them in one transaction. Under light load a group is one request and nothing waits; under
//! load the group grows with the commit latency, which is what makes the log's cost per
//! request fall as the load rises.
//!
//! Invariants:
//! - A request is answered `Ok` only after the transaction holding all its records committed;
//!   a request's records are in one transaction (all or none).
//! - A failed group does not fail its requests for each other: each is then committed on its
//!   own, and answered with its own outcome — unless the group's commit itself failed, when
//!   it may have committed: then every request gets that error, and nothing is written twice.
//! - Within a group, records are written in the order of their patients' CPR (requests in
//!   arrival order for one patient), so that two instances' groups on PostgreSQL take the
//!   patients' outbox head rows in the same order and cannot deadlock each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Postgres, Sqlite};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::access::{AccessRecord, RecordedAccess};
use crate::backend::Engine;
use crate::{AuditError, Engines};

/// Most records one group commits; more wait for the next group.
pub const GROUP_RECORDS_MAX: usize = 256;
/// Requests that may wait for the committer before senders wait for room (back-pressure).
const QUEUE_REQUESTS_MAX: usize = 4096;

/// One caller's records and where its outcome goes.
pub(crate) struct CommitRequest {
    records: Vec<(AccessRecord, bool)>,
    answer: oneshot::Sender<Result<Vec<RecordedAccess>, AuditError>>,
}

/// The sending side, held by every clone of the store.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommitter {
    requests: mpsc::Sender<CommitRequest>,
    /// Transactions the committer has committed (for `/metrics` and tests).
    commits: Arc<AtomicU64>,
}

impl GroupCommitter {
    /// Starts the committer task for `engine` (in the current tokio runtime). It ends when the
    /// last store handle is dropped, after answering every request it received.
    pub(crate) fn spawn(engine: Engines, followup_committed: Arc<Notify>) -> Self {
        let (requests, receiver) = mpsc::channel(QUEUE_REQUESTS_MAX);
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(engine, receiver, followup_committed, commits.clone()));
        GroupCommitter { requests, commits }
    }

    /// Transactions committed so far by this store handle's committer.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commits `records` with whatever else is waiting; returns once they are durable.
    pub(crate) async fn commit(
        &self,
        records: Vec<(AccessRecord, bool)>,
    ) -> Result<Vec<RecordedAccess>, AuditError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (answer, outcome) = oneshot::channel();
        self.requests
            .send(CommitRequest { records, answer })
            .await
            .map_err(|_| AuditError::CommitterStopped)?;
        outcome.await.map_err(|_| AuditError::CommitterStopped)?
    }
}

async fn run(
    engine: Engines,
    mut receiver: mpsc::Receiver<CommitRequest>,
    followup_committed: Arc<Notify>,
    commits: Arc<AtomicU64>,
) {
    while let Some(first) = receiver.recv().await {
        let mut records = first.records.len();
        let mut group = vec![first];
        while records < GROUP_RECORDS_MAX {
            match receiver.try_recv() {
                Ok(request) => {
                    records += request.records.len();
                    group.push(request);
                }
                Err(_) => break,
            }
        }
        let ordered_followup = commit_group(&engine, group, &commits).await;
        if ordered_followup {
            // A permit is kept if the worker is busy, so this commit is never missed.
            followup_committed.notify_one();
        }
    }
}

/// Commits a group and answers its requests; true if a committed record ordered a follow-up.
async fn commit_group(engine: &Engines, group: Vec<CommitRequest>, commits: &AtomicU64) -> bool {
    if group.len() > 1 {
        // Every record of the group, by patient (stable: arrival order within a patient).
        let mut order: Vec<(usize, usize)> = group
            .iter()
            .enumerate()
            .flat_map(|(request, r)| (0..r.records.len()).map(move |record| (request, record)))
            .collect();
        order.sort_by(|a, b| {
            let cpr = |&(request, record): &(usize, usize)| {
                group[request].records[record].0.patient_cpr.as_str()
            };
            cpr(a).cmp(cpr(b))
        });
        let records: Vec<(&AccessRecord, bool)> = order
            .iter()
            .map(|&(request, record)| {
                let (access, followup) = &group[request].records[record];
                (access, *followup)
            })
            .collect();
        let outcome = record_accesses(engine, &records).await;
        if outcome.is_ok() {
            commits.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(AuditError::CommitOutcomeUnknown(detail)) = &outcome {
            // Writing them again could log the same accesses twice: every request is told.
            for request in group {
                let _ = request
                    .answer
                    .send(Err(AuditError::CommitOutcomeUnknown(detail.clone())));
            }
            return false;
        }
        if let Ok(recorded) = outcome {
            let mut answers: Vec<Vec<Option<RecordedAccess>>> =
                group.iter().map(|r| vec![None; r.records.len()]).collect();
            for (&(request, record), recorded) in order.iter().zip(recorded) {
                answers[request][record] = Some(recorded);
            }
            let mut ordered_followup = false;
            for (request, answer) in group.into_iter().zip(answers) {
                let answer: Option<Vec<RecordedAccess>> = answer.into_iter().collect();
                let outcome = answer.ok_or(AuditError::CommitterStopped);
                if let Ok(recorded) = &outcome {
                    ordered_followup |= recorded.iter().any(|r| r.followup_event_id.is_some());
                }
                let _ = request.answer.send(outcome);
            }
            return ordered_followup;
        }
        // Fall through: one request's trouble must not become the others'.
    }
    let mut ordered_followup = false;
    for request in group {
        let records: Vec<(&AccessRecord, bool)> =
            request.records.iter().map(|(r, f)| (r, *f)).collect();
        let outcome = record_accesses(engine, &records).await;
        if let Ok(recorded) = &outcome {
            commits.fetch_add(1, Ordering::Relaxed);
            ordered_followup |= recorded.iter().any(|r| r.followup_event_id.is_some());
        }
        // The caller may have given up (its request was cancelled): the records stay.
        let _ = request.answer.send(outcome);
    }
    ordered_followup
}

async fn record_accesses(
    engine: &Engines,
    records: &[(&AccessRecord, bool)],
) -> Result<Vec<RecordedAccess>, AuditError> {
    match engine {
        Engines::Sqlite(engine) => match &engine.access_writer {
            Some(access_writer) => {
                let owned = records
                    .iter()
                    .map(|(record, followup)| ((*record).clone(), *followup))
                    .collect();
                let _writing = engine.writing().await;
                access_writer.record_accesses(owned).await
            }
            None => Engine::<Sqlite>::record_accesses(engine, records).await,
        },
        Engines::Postgres(engine) => Engine::<Postgres>::record_accesses(engine, records).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{AccessAction, AccessOutcome};
    use crate::testing::backings;

    fn record(patient: &str, n: usize) -> AccessRecord {
        AccessRecord {
            time: format!("2026-11-25T10:00:{:02}Z", n % 60),
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
            documents: vec![format!("2.25.{n}")],
            override_reason: None,
            outcome: AccessOutcome::Allowed,
        }
    }

    const PATIENTS: [&str; 4] = ["0101700013", "0201919990", "2512489996", "1111111118"];

    /// Many requests at once, some for several patients: each is answered with exactly its
    /// own records, every record is stored once, and they were committed in fewer
    /// transactions than requests.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_requests_share_commits_and_each_gets_its_own_records() {
        for backing in backings().await {
            let store = backing.open().await;
            let requests = 120;
            let tasks: Vec<_> = (0..requests)
                .map(|n| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        let patients = 1 + n % 3;
                        let records: Vec<(AccessRecord, bool)> = (0..patients)
                            .map(|p| (record(PATIENTS[(n + p) % PATIENTS.len()], n), true))
                            .collect();
                        let recorded = store.record_accesses(records.clone()).await.unwrap();
                        (records, recorded)
                    })
                })
                .collect();
            let mut records_total = 0;
            let mut ids = std::collections::BTreeSet::new();
            let mut ids_by_event = std::collections::BTreeSet::new();
            for task in tasks {
                let (records, recorded) = task.await.unwrap();
                assert_eq!(records.len(), recorded.len());
                records_total += records.len();
                for ((record, _), recorded) in records.iter().zip(&recorded) {
                    assert!(ids.insert(recorded.record_id), "a record id answered twice");
                    let event_id = recorded.followup_event_id.clone().unwrap();
                    assert!(ids_by_event.insert(event_id), "an event id answered twice");
                    let stored = store
                        .test_rows(&format!(
                            "SELECT patient_cpr, id, documents FROM access_record WHERE id = {}",
                            recorded.record_id
                        ))
                        .await;
                    assert_eq!(stored.len(), 1);
                    assert_eq!(stored[0].0, record.patient_cpr, "another request's record");
                    assert!(stored[0].2.contains(&record.documents[0]));
                }
            }
            assert_eq!(store.access_count().await.unwrap(), records_total as u64);
            // Every follow-up belongs to its own record's patient, and each patient's head is
            // its oldest pending follow-up (the multi-row inserts matched ids to rows).
            let mismatched = store
                .test_rows(
                    "SELECT o.event_id, o.id, r.patient_cpr FROM followup_outbox AS o \
                     JOIN access_record AS r ON r.id = o.access_record_id \
                     WHERE r.patient_cpr <> o.patient_cpr \
                     OR o.payload NOT LIKE '%' || r.patient_cpr || '%'",
                )
                .await;
            assert!(mismatched.is_empty(), "{mismatched:?}");
            let followups = store
                .test_rows("SELECT event_id, access_record_id, patient_cpr FROM followup_outbox")
                .await;
            assert_eq!(followups.len(), records_total);
            assert!(
                followups
                    .iter()
                    .all(|(event_id, _, _)| ids_by_event.contains(event_id))
            );
            let (kept, expected) = store.heads_kept_and_expected().await;
            assert_eq!(kept.len(), PATIENTS.len());
            assert_eq!(kept, expected);
            let commits = store.committer.commits();
            assert!(
                commits < requests as u64,
                "{commits} commits for {requests} concurrent requests: nothing was grouped"
            );
        }
    }

    /// One patient's accesses recorded one after the other keep their order in the outbox,
    /// whatever else is committed around them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_patients_sequential_accesses_keep_their_order() {
        for backing in backings().await {
            let store = backing.open().await;
            let noise: Vec<_> = (0..40)
                .map(|n| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        store
                            .record_access(&record(PATIENTS[n % 3], n), true)
                            .await
                            .unwrap()
                    })
                })
                .collect();
            let mut ordered = Vec::new();
            for n in 0..20 {
                let recorded = store
                    .record_access(&record(PATIENTS[3], n), true)
                    .await
                    .unwrap();
                ordered.push(recorded.record_id);
            }
            for task in noise {
                task.await.unwrap();
            }
            let mut sorted = ordered.clone();
            sorted.sort_unstable();
            assert_eq!(ordered, sorted);
        }
    }
}

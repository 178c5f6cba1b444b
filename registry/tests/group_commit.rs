//! Group commit of registrations on SQLite (`registry::group_commit`): many submissions at
//! once share write transactions, and each is still answered with exactly what registering
//! it alone would give — stored whole, or rejected with nothing of it stored, a uniqueId
//! claimed by several of them admitted once.
//!
//! SQLite only: PostgreSQL registers concurrently, each submission in its own transaction.

mod common;

use std::collections::BTreeMap;

use common::*;
use registry::query::param;
use registry::{
    PatientPolicy, RegisterError, RegisterOptions, RegistryStore, ReturnType, SqliteRegistryStore,
    StoreConfig, StoredQueryRequest,
};
use xds_model::vocabulary::{error_code, stored_query};

const SUBMISSIONS: usize = 160;

/// What submission `n` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Two fresh documents: stored.
    Fresh,
    /// For a patient the registry does not know, under the known-patient policy: rejected.
    UnknownPatient,
    /// One document whose uniqueId (with another hash) four submissions claim: one wins.
    Contested(usize),
}

fn kind(n: usize) -> Kind {
    match n % 5 {
        0 => Kind::UnknownPatient,
        1 => Kind::Contested(n / 20),
        _ => Kind::Fresh,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_share_commits_and_each_is_answered_as_if_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteRegistryStore::open(&dir.path().join("registry.db"), StoreConfig::default())
        .await
        .unwrap();
    store.add_known_patient(PATIENT).await.unwrap();
    let contested_ids: Vec<String> = (0..SUBMISSIONS / 20 + 1).map(|_| unique_id()).collect();
    let known_only = RegisterOptions {
        patient_policy: PatientPolicy::Known,
    };

    let tasks: Vec<_> = (0..SUBMISSIONS)
        .map(|n| {
            let store = store.clone();
            let (list, patient) = match kind(n) {
                Kind::Fresh => {
                    let docs = [Doc::new("A"), Doc::new("B")];
                    (submission(PATIENT, &[&docs[0], &docs[1]], vec![]), PATIENT)
                }
                Kind::UnknownPatient => {
                    let mut doc = Doc::new("A");
                    doc.patient = OTHER_PATIENT.to_owned();
                    (submission(OTHER_PATIENT, &[&doc], vec![]), OTHER_PATIENT)
                }
                Kind::Contested(group) => {
                    let mut doc = Doc::new("A");
                    doc.unique_id = contested_ids[group].clone();
                    doc.hash = format!("{n:040}");
                    (submission(PATIENT, &[&doc], vec![]), PATIENT)
                }
            };
            tokio::spawn(async move {
                let outcome = store.register(&list, known_only).await;
                (n, patient, outcome)
            })
        })
        .collect();

    let mut stored_objects = 0;
    let mut accepted = 0u64;
    let mut winners: BTreeMap<usize, usize> = BTreeMap::new();
    for task in tasks {
        let (n, patient, outcome) = task.await.unwrap();
        match (kind(n), outcome) {
            (Kind::Fresh | Kind::Contested(_), Ok(registered)) => {
                accepted += 1;
                stored_objects += registered.stored.len();
                if let Kind::Contested(group) = kind(n) {
                    *winners.entry(group).or_default() += 1;
                }
                let documents: Vec<&str> = ["A", "B"]
                    .iter()
                    .filter_map(|symbolic| registered.assigned_uuids.get(*symbolic))
                    .map(String::as_str)
                    .collect();
                let quoted: Vec<String> = documents.iter().map(|id| quote(id)).collect();
                let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
                let request =
                    StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
                        .param(param::DE_ENTRY_UUID, &quoted);
                let answer = store.query(&request).await.unwrap();
                assert_eq!(answer.len(), documents.len(), "submission {n}: {patient}");
            }
            (Kind::UnknownPatient, Err(RegisterError::Rejected(findings))) => {
                assert!(
                    findings
                        .iter()
                        .all(|f| f.error_code() == error_code::UNKNOWN_PATIENT_ID),
                    "submission {n}: {findings:#?}"
                );
            }
            (Kind::Contested(_), Err(RegisterError::Rejected(findings))) => {
                assert_eq!(findings.len(), 1, "submission {n}: {findings:#?}");
                assert_eq!(findings[0].error_code(), error_code::NON_IDENTICAL_HASH);
            }
            (kind, outcome) => panic!("submission {n} ({kind:?}): {outcome:?}"),
        }
    }

    let groups = SUBMISSIONS.div_ceil(20);
    assert_eq!(
        winners.len(),
        groups,
        "every contested uniqueId admitted once"
    );
    assert!(winners.values().all(|&w| w == 1), "{winners:?}");
    let counts = store.table_row_counts().await.unwrap();
    assert_eq!(
        counts["registry_object"] as usize, stored_objects,
        "rejected submissions wrote nothing, accepted ones everything"
    );
    let commits = store.registration_commits();
    assert!(
        commits < accepted,
        "{commits} commits for {accepted} concurrent registrations: nothing was grouped"
    );
}

/// Registrations one after the other still each commit on their own, and a rejected one
/// between two accepted ones leaves no trace.
#[tokio::test]
async fn sequential_registrations_commit_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteRegistryStore::open(&dir.path().join("registry.db"), StoreConfig::default())
        .await
        .unwrap();
    let first = submission(PATIENT, &[&Doc::new("A")], vec![]);
    let registered = store.register(&first, any_patient()).await.unwrap();
    let mut clash = Doc::new("A");
    clash.unique_id = unique_id();
    let mut same_again = Doc::new("B");
    same_again.unique_id = clash.unique_id.clone();
    let inner_clash = submission(PATIENT, &[&clash, &same_again], vec![]);
    let rows_before = store.table_row_counts().await.unwrap();
    assert!(matches!(
        store.register(&inner_clash, any_patient()).await,
        Err(RegisterError::Rejected(_))
    ));
    assert_eq!(store.table_row_counts().await.unwrap(), rows_before);
    store
        .register(
            &submission(PATIENT, &[&Doc::new("A")], vec![]),
            any_patient(),
        )
        .await
        .unwrap();
    assert_eq!(store.registration_commits(), 2);
    assert_eq!(registered.stored.len(), 3);
}

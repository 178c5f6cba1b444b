//! Two PostgreSQL stores on one database — two pools, as two `dds serve` processes have —
//! registering the same uniqueId at the same moment, many times over: each time exactly one
//! registration is stored whole, the other is rejected with the XDS error a sequential
//! registration would get, and none of its rows exist.
//!
//! Runs when `DDS_TEST_DATABASE_URL` names a PostgreSQL database (`.ci/run` sets it when a
//! server answers on 127.0.0.1:5432); without it there is no second process to race and the
//! test says that it did not run.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use registry::postgres::ScratchSchema;
use registry::query::param;
use registry::{
    PgRegistryStore, RegisterError, RegistryStore, ReturnType, StoreConfig, StoredQueryRequest,
};
use xds_model::rim::RegistryObjectList;
use xds_model::vocabulary::{error_code, stored_query};

/// Races per kind of clash; each is one pair of concurrent registrations.
const ROUNDS: usize = 40;

/// Which uniqueId the two racing submissions share.
#[derive(Debug, Clone, Copy)]
enum Clash {
    /// The SubmissionSets' uniqueId: the loser gets `XDSDuplicateUniqueIdInRegistry`.
    SubmissionSet,
    /// A DocumentEntry's uniqueId with another hash: the loser gets `XDSNonIdenticalHash`.
    DocumentEntry,
}

/// One side of a race: a SubmissionSet with two DocumentEntries, and the uniqueIds that are
/// its own (not shared with the other side).
struct Side {
    list: RegistryObjectList,
    own_document_unique_id: String,
    submission_set_unique_id: String,
}

fn side(clash: Clash, shared: &str, tag: usize) -> Side {
    let set_unique_id = match clash {
        Clash::SubmissionSet => shared.to_owned(),
        Clash::DocumentEntry => unique_id(),
    };
    let mut contested = Doc::new("Contested");
    contested.unique_id = match clash {
        Clash::SubmissionSet => unique_id(),
        Clash::DocumentEntry => shared.to_owned(),
    };
    contested.hash = format!("{tag:040}");
    let own = Doc::new("Own");
    let mut objects = submission_set("SS", &set_unique_id, PATIENT);
    for (i, doc) in [&contested, &own].into_iter().enumerate() {
        objects.push(doc.build());
        objects.push(has_member(&format!("ss-hm-{i}"), "SS", &doc.id));
    }
    Side {
        list: RegistryObjectList { objects },
        own_document_unique_id: own.unique_id.clone(),
        submission_set_unique_id: set_unique_id,
    }
}

fn expected_code(clash: Clash) -> &'static str {
    match clash {
        Clash::SubmissionSet => error_code::DUPLICATE_UNIQUE_ID_IN_REGISTRY,
        Clash::DocumentEntry => error_code::NON_IDENTICAL_HASH,
    }
}

async fn documents_with_unique_id(store: &PgRegistryStore, unique_id: &str) -> usize {
    let request = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_UNIQUE_ID, &[&quote(unique_id)]);
    store.query(&request).await.unwrap().len()
}

async fn submission_sets_with_unique_id(store: &PgRegistryStore, unique_id: &str) -> usize {
    let request = StoredQueryRequest::new(
        stored_query::GET_SUBMISSION_SET_AND_CONTENTS,
        ReturnType::ObjectRef,
    )
    .param(param::SS_UNIQUE_ID, &[&quote(unique_id)]);
    store
        .query(&request)
        .await
        .map(|r| r.len())
        .unwrap_or_else(|e| panic!("GetSubmissionSetAndContents failed: {e}"))
}

fn difference(
    before: &BTreeMap<&'static str, i64>,
    after: &BTreeMap<&'static str, i64>,
) -> BTreeMap<&'static str, i64> {
    after
        .iter()
        .map(|(table, n)| (*table, n - before.get(table).copied().unwrap_or(0)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_registering_one_unique_id_admit_exactly_one_whole_submission() {
    let Some(url) = test_database_url() else {
        println!("not run: {DATABASE_URL_VARIABLE} names no PostgreSQL database");
        return;
    };
    let schema = ScratchSchema::create(&url).await.unwrap();
    let first = Arc::new(
        PgRegistryStore::open(schema.url(), StoreConfig::default())
            .await
            .unwrap(),
    );
    let second = Arc::new(
        PgRegistryStore::open(schema.url(), StoreConfig::default())
            .await
            .unwrap(),
    );
    // Rows one whole submission adds; every submission of the test has the same shape.
    let mut rows_per_submission: Option<BTreeMap<&'static str, i64>> = None;
    for clash in [Clash::SubmissionSet, Clash::DocumentEntry] {
        for round in 0..ROUNDS {
            let shared = unique_id();
            let sides = [
                side(clash, &shared, 2 * round),
                side(clash, &shared, 2 * round + 1),
            ];
            let before = first.table_row_counts().await.unwrap();
            // Both wait at the barrier, then register at once: their transactions overlap.
            let barrier = Arc::new(tokio::sync::Barrier::new(2));
            let mut tasks = Vec::new();
            for (store, side) in [first.clone(), second.clone()].into_iter().zip(&sides) {
                let barrier = barrier.clone();
                let list = side.list.clone();
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    store.register(&list, any_patient()).await
                }));
            }
            let mut winners = Vec::new();
            for (index, task) in tasks.into_iter().enumerate() {
                match task.await.unwrap() {
                    Ok(_) => winners.push(index),
                    Err(RegisterError::Rejected(findings)) => {
                        let codes: Vec<&str> = findings.iter().map(|f| f.error_code()).collect();
                        assert_eq!(
                            codes,
                            [expected_code(clash)],
                            "{clash:?} round {round}: the loser's findings {findings:#?}"
                        );
                    }
                    Err(e) => panic!("{clash:?} round {round}: store error: {e}"),
                }
            }
            assert_eq!(
                winners.len(),
                1,
                "{clash:?} round {round}: winners {winners:?}"
            );
            let winner = &sides[winners[0]];
            let loser = &sides[1 - winners[0]];

            let added = difference(&before, &second.table_row_counts().await.unwrap());
            match &rows_per_submission {
                None => rows_per_submission = Some(added),
                Some(expected) => assert_eq!(
                    &added, expected,
                    "{clash:?} round {round}: rows added differ from one whole submission"
                ),
            }
            for (store, name) in [(&first, "first"), (&second, "second")] {
                assert_eq!(
                    documents_with_unique_id(store, &winner.own_document_unique_id).await,
                    1,
                    "{clash:?} round {round}: the winner's document, seen by the {name} store"
                );
                assert_eq!(
                    documents_with_unique_id(store, &loser.own_document_unique_id).await,
                    0,
                    "{clash:?} round {round}: the loser's document was stored"
                );
                assert_eq!(
                    documents_with_unique_id(store, &shared).await,
                    usize::from(matches!(clash, Clash::DocumentEntry)),
                    "{clash:?} round {round}: documents under the contested uniqueId"
                );
            }
            if matches!(clash, Clash::DocumentEntry) {
                assert_eq!(
                    submission_sets_with_unique_id(&first, &loser.submission_set_unique_id).await,
                    0,
                    "round {round}: the loser's SubmissionSet was stored"
                );
            }
        }
    }
    first.close().await;
    second.close().await;
    schema.remove().await.unwrap();
}

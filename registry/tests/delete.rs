//! ITI-62 Delete Document Set against a real store (SQLite file, or PostgreSQL: see common).

mod common;

use common::*;
use registry::query::param;
use registry::{DeleteError, ReturnType, StoredQueryRequest};
use xds_model::vocabulary::{error_code, stored_query};

/// Deletes, expects a rejection with exactly these codes, and proves nothing changed.
async fn check_delete_rejected(f: &Fixture, ids: &[&str], expected: &[&str]) {
    let before = f.store.table_row_counts().await.unwrap();
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    let findings = match f.store.delete(&ids).await {
        Err(DeleteError::Rejected(findings)) => findings,
        Ok(d) => panic!("deleted {d:?}, expected {expected:?}"),
        Err(e) => panic!("store error: {e}"),
    };
    let mut codes: Vec<&str> = findings.iter().map(|f| f.error_code()).collect();
    codes.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(codes, expected, "{findings:#?}");
    assert_eq!(f.store.table_row_counts().await.unwrap(), before);
}

#[tokio::test]
async fn deletes_only_without_dangling_references() {
    let f = fixture().await;
    let doc = Doc::new("D");
    let r = check_registered(
        &f.store,
        &submission(
            PATIENT,
            &[&doc],
            vec![
                folder("F", &unique_id(), PATIENT, "forløb-1"),
                has_member("ss-f", "SS", "F"),
                has_member("f-d", "F", "D"),
            ],
        ),
    )
    .await;
    let id = |s: &str| r.assigned_uuids[s].clone();

    check_delete_rejected(
        &f,
        &["urn:uuid:55555555-5555-4555-8555-555555555555"],
        &[error_code::UNRESOLVED_REFERENCE_EXCEPTION],
    )
    .await;
    // The document is still referenced by SS→D and F→D.
    check_delete_rejected(
        &f,
        &[&id("D")],
        &[error_code::REFERENCES_EXIST_EXCEPTION; 2],
    )
    .await;

    let before = f.store.table_row_counts().await.unwrap();
    let deleted = f
        .store
        .delete(&[id("D"), id("ss-hm-0"), id("f-d")])
        .await
        .unwrap();
    assert_eq!(deleted.deleted.len(), 3);
    assert_eq!(deleted.touched_folders, [id("F")]);
    let after = f.store.table_row_counts().await.unwrap();
    assert_eq!(after["registry_object"], before["registry_object"] - 3);
    assert!(
        after["object_code"] < before["object_code"],
        "link rows cascade"
    );

    let get = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_ENTRY_UUID, &[&quote(&id("D"))]);
    check_query(&f.store, &get, &[]).await;
    let folder =
        StoredQueryRequest::new(stored_query::GET_FOLDER_AND_CONTENTS, ReturnType::ObjectRef)
            .param(param::FOLDER_ENTRY_UUID, &[&quote(&id("F"))]);
    check_query(&f.store, &folder, &[&id("F")]).await;
    // The uniqueId is free again.
    check_registered(&f.store, &submission(PATIENT, &[&doc], vec![])).await;
}

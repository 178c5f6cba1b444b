//! ITI-42 registration against a real store (SQLite file, or PostgreSQL: see common): the happy
//! path, every rejection (each proving nothing was stored), the lifecycle associations, and
//! concurrent registrations.

mod common;

use common::*;
use registry::query::param;
use registry::{PatientPolicy, RegisterError, RegisterOptions, ReturnType, StoredQueryRequest};
use xds_model::rim::{Identifiable, RegistryObjectList};
use xds_model::vocabulary::{association_type, error_code, stored_query};

fn get_documents(uuids: &[&str]) -> StoredQueryRequest {
    StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::LeafClass)
        .param(param::DE_ENTRY_UUID, &[&list(uuids)])
}

async fn fetch_one(store: &TestStore, uuid: &str) -> Identifiable {
    match store.query(&get_documents(&[uuid])).await.unwrap() {
        registry::QueryResponse::LeafClass(mut objects) if objects.len() == 1 => objects.remove(0),
        other => panic!("expected one object, got {other:?}"),
    }
}

#[tokio::test]
async fn registers_a_dk_document_entry_with_submission_set() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let list = submission(PATIENT, &[&doc], vec![]);
    let registered = check_registered(&f.store, &list).await;

    let uuid = registered.assigned_uuids["Document01"].clone();
    let ss = registered.assigned_uuids["SS"].clone();
    assert!(uuid.starts_with("urn:uuid:"));
    assert_eq!(registered.stored.len(), 3, "{registered:#?}");

    let Identifiable::ExtrinsicObject(stored) = fetch_one(&f.store, &uuid).await else {
        panic!("not an ExtrinsicObject");
    };
    let ro = &stored.object;
    assert_eq!(ro.id, uuid);
    assert_eq!(ro.status.as_deref(), Some(APPROVED));
    assert_eq!(ro.lid.as_deref(), Some(uuid.as_str()));
    assert_eq!(
        ro.version_info
            .as_ref()
            .and_then(|v| v.version_name.as_deref()),
        Some("1")
    );
    assert!(
        ro.classifications
            .iter()
            .all(|c| c.classified_object == uuid)
    );
    assert!(
        ro.classifications
            .iter()
            .all(|c| c.object.id.starts_with("urn:uuid:"))
    );
    assert!(
        ro.external_identifiers
            .iter()
            .all(|e| e.registry_object == uuid)
    );

    // The SubmissionSet got its top-level marker classification and the HasMember its ends.
    let request = StoredQueryRequest::new(
        stored_query::GET_SUBMISSION_SET_AND_CONTENTS,
        ReturnType::LeafClass,
    )
    .param(param::SS_ENTRY_UUID, &[&quote(&ss)]);
    let registry::QueryResponse::LeafClass(objects) = f.store.query(&request).await.unwrap() else {
        panic!()
    };
    assert_eq!(objects.len(), 3);
    let association = objects
        .iter()
        .find_map(|o| match o {
            Identifiable::Association(a) => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(association.source_object, ss);
    assert_eq!(association.target_object, uuid);
    let package = objects
        .iter()
        .find_map(|o| match o {
            Identifiable::RegistryPackage(p) => Some(p),
            _ => None,
        })
        .unwrap();
    assert!(
        package
            .object
            .classifications
            .iter()
            .any(|c| c.classification_node.is_some())
    );
}

#[tokio::test]
async fn known_patient_policy() {
    let f = fixture().await;
    let known = RegisterOptions {
        patient_policy: PatientPolicy::Known,
    };
    let doc = Doc::new("Document01");
    let list = submission(PATIENT, &[&doc], vec![]);
    // SubmissionSet and DocumentEntry each name the unknown patient.
    check_rejected_with(&f.store, &list, known, &[error_code::UNKNOWN_PATIENT_ID; 2]).await;
    assert!(f.store.add_known_patient(PATIENT).await.unwrap());
    assert!(!f.store.add_known_patient(PATIENT).await.unwrap());
    f.store.register(&list, known).await.unwrap();
}

#[tokio::test]
async fn malformed_cpr_is_an_unknown_patient() {
    let f = fixture().await;
    let mut doc = Doc::new("Document01");
    let bad = "2512489996^^^&1.2.208.176.1.1&ISO";
    doc.patient = bad.to_owned();
    let list = submission(bad, &[&doc], vec![]);
    check_rejected(&f.store, &list, &[error_code::UNKNOWN_PATIENT_ID; 2]).await;
}

#[tokio::test]
async fn patient_id_must_match_the_submission_set() {
    let f = fixture().await;
    let mut doc = Doc::new("Document01");
    doc.patient = OTHER_PATIENT.to_owned();
    check_rejected(
        &f.store,
        &submission(PATIENT, &[&doc], vec![]),
        &[error_code::PATIENT_ID_DOES_NOT_MATCH],
    )
    .await;
}

#[tokio::test]
async fn unique_ids_against_the_registry() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    check_registered(&f.store, &submission(PATIENT, &[&doc], vec![])).await;

    let mut other_hash = doc.clone();
    other_hash.hash = "0000000000000000000000000000000000000000".to_owned();
    check_rejected(
        &f.store,
        &submission(PATIENT, &[&other_hash], vec![]),
        &[error_code::NON_IDENTICAL_HASH],
    )
    .await;

    let mut other_size = doc.clone();
    other_size.size = "2048".to_owned();
    check_rejected(
        &f.store,
        &submission(PATIENT, &[&other_size], vec![]),
        &[error_code::NON_IDENTICAL_SIZE],
    )
    .await;

    // The identical document (same uniqueId, hash and size) may be registered again.
    check_registered(&f.store, &submission(PATIENT, &[&doc], vec![])).await;

    // A SubmissionSet uniqueId never repeats.
    let ss_uid = unique_id();
    let first = RegistryObjectList {
        objects: submission_set("SS", &ss_uid, PATIENT),
    };
    check_registered(&f.store, &first).await;
    check_rejected(
        &f.store,
        &first,
        &[error_code::DUPLICATE_UNIQUE_ID_IN_REGISTRY],
    )
    .await;

    // A DocumentEntry may not take a Folder's uniqueId.
    let folder_uid = unique_id();
    check_registered(
        &f.store,
        &submission(
            PATIENT,
            &[],
            vec![
                folder("F", &folder_uid, PATIENT, "a"),
                has_member("hm", "SS", "F"),
            ],
        ),
    )
    .await;
    let mut clash = Doc::new("Document02");
    clash.unique_id = folder_uid;
    check_rejected(
        &f.store,
        &submission(PATIENT, &[&clash], vec![]),
        &[error_code::DUPLICATE_UNIQUE_ID_IN_REGISTRY],
    )
    .await;
}

#[tokio::test]
async fn structural_errors_are_all_reported_together() {
    let f = fixture().await;
    let mut mismatched = Doc::new("Document01");
    mismatched.patient = OTHER_PATIENT.to_owned();
    let mut twin = Doc::new("Document02");
    twin.unique_id = mismatched.unique_id.clone();
    let list = submission(
        PATIENT,
        &[&mismatched, &twin],
        vec![
            has_member("dangling", "SS", "NoSuchDocument"),
            has_member(
                "dangling-uuid",
                "SS",
                "urn:uuid:00000000-0000-4000-8000-000000000000",
            ),
        ],
    );
    check_rejected(
        &f.store,
        &list,
        &[
            error_code::PATIENT_ID_DOES_NOT_MATCH,
            error_code::REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE,
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
        ],
    )
    .await;
}

#[tokio::test]
async fn rejections_become_registry_errors() {
    let f = fixture().await;
    let mut doc = Doc::new("Document01");
    doc.patient = OTHER_PATIENT.to_owned();
    let Err(e) = f
        .store
        .register(&submission(PATIENT, &[&doc], vec![]), any_patient())
        .await
    else {
        panic!("accepted")
    };
    let errors = e.registry_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].error_code, error_code::PATIENT_ID_DOES_NOT_MATCH);
    assert_eq!(errors[0].location.as_deref(), Some("Document01"));
    assert!(
        errors[0].code_context.contains(OTHER_PATIENT),
        "{}",
        errors[0].code_context
    );
}

#[tokio::test]
async fn submission_set_is_required_and_unique() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let none = RegistryObjectList {
        objects: vec![doc.build()],
    };
    check_rejected(&f.store, &none, &[error_code::REGISTRY_METADATA_ERROR]).await;

    let mut two = submission(PATIENT, &[], vec![]);
    two.objects
        .extend(submission_set("SS2", &unique_id(), PATIENT));
    check_rejected(&f.store, &two, &[error_code::REGISTRY_METADATA_ERROR]).await;
}

#[tokio::test]
async fn entry_uuid_already_registered_is_rejected() {
    let f = fixture().await;
    let mut doc = Doc::new("urn:uuid:6f2a8b4e-94a5-4a4e-9a0c-1b9c5f0d2e01");
    check_registered(&f.store, &submission(PATIENT, &[&doc], vec![])).await;
    doc.unique_id = unique_id();
    check_rejected(
        &f.store,
        &submission(PATIENT, &[&doc], vec![]),
        &[error_code::REGISTRY_METADATA_ERROR],
    )
    .await;
}

#[tokio::test]
async fn lid_other_than_the_entry_uuid_is_rejected() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let mut list = submission(PATIENT, &[&doc], vec![]);
    for o in &mut list.objects {
        if let Identifiable::ExtrinsicObject(e) = o {
            e.object.lid = Some("urn:uuid:11111111-1111-4111-8111-111111111111".to_owned());
        }
    }
    check_rejected(&f.store, &list, &[error_code::REGISTRY_METADATA_ERROR]).await;
}

#[tokio::test]
async fn unsupported_association_type_is_rejected() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let list = submission(
        PATIENT,
        &[&doc],
        vec![association(
            "snap",
            association_type::IS_SNAPSHOT_OF,
            "Document01",
            "SS",
        )],
    );
    check_rejected(&f.store, &list, &[error_code::REGISTRY_METADATA_ERROR]).await;
}

/// Registers `doc` inside a folder and returns (doc uuid, folder uuid).
async fn register_in_folder(f: &Fixture, doc: &Doc) -> (String, String) {
    let list = submission(
        PATIENT,
        &[doc],
        vec![
            folder("F", &unique_id(), PATIENT, "forløb-1"),
            has_member("ss-f", "SS", "F"),
            has_member("f-doc", "F", &doc.id),
            has_member("ss-f-doc", "SS", "f-doc"),
        ],
    );
    let r = check_registered(&f.store, &list).await;
    (
        r.assigned_uuids[&doc.id].clone(),
        r.assigned_uuids["F"].clone(),
    )
}

async fn last_update_time(f: &Fixture, folder_uuid: &str) -> String {
    let request = StoredQueryRequest::new(stored_query::GET_FOLDERS, ReturnType::LeafClass)
        .param(param::FOLDER_ENTRY_UUID, &[&list(&[folder_uuid])]);
    let registry::QueryResponse::LeafClass(objects) = f.store.query(&request).await.unwrap() else {
        panic!()
    };
    let Identifiable::RegistryPackage(p) = &objects[0] else {
        panic!()
    };
    p.object.slot("lastUpdateTime").unwrap().values[0].clone()
}

#[tokio::test]
async fn replacement_deprecates_the_original_and_carries_folder_membership() {
    let f = fixture().await;
    let (original, folder_uuid) = register_in_folder(&f, &Doc::new("Original")).await;
    // Make the folder's lastUpdateTime observably older.
    let before = last_update_time(&f, &folder_uuid).await;

    let replacement = Doc::new("Replacement");
    let list = submission(
        PATIENT,
        &[&replacement],
        vec![association(
            "rplc",
            association_type::REPLACE,
            "Replacement",
            &original,
        )],
    );
    let r = check_registered(&f.store, &list).await;
    let new_uuid = r.assigned_uuids["Replacement"].clone();
    assert_eq!(r.deprecated, std::slice::from_ref(&original));

    let Identifiable::ExtrinsicObject(old) = fetch_one(&f.store, &original).await else {
        panic!()
    };
    assert_eq!(old.object.status.as_deref(), Some(DEPRECATED));

    // The folder now has the replacement as a member too.
    let request = StoredQueryRequest::new(
        stored_query::GET_FOLDERS_FOR_DOCUMENT,
        ReturnType::ObjectRef,
    )
    .param(param::DE_ENTRY_UUID, &[&quote(&new_uuid)]);
    check_query(&f.store, &request, &[&folder_uuid]).await;
    assert!(last_update_time(&f, &folder_uuid).await >= before);

    // A deprecated document cannot be replaced again.
    let again = Doc::new("Again");
    let list = submission(
        PATIENT,
        &[&again],
        vec![association(
            "rplc2",
            association_type::REPLACE,
            "Again",
            &original,
        )],
    );
    check_rejected(
        &f.store,
        &list,
        &[error_code::REGISTRY_DEPRECATED_DOCUMENT_ERROR],
    )
    .await;

    // XFRM_RPLC of the current version works the same way.
    let transformed = Doc::new("Transformed");
    let list = submission(
        PATIENT,
        &[&transformed],
        vec![association(
            "xr",
            association_type::TRANSFORM_AND_REPLACE,
            "Transformed",
            &new_uuid,
        )],
    );
    let r = check_registered(&f.store, &list).await;
    assert_eq!(r.deprecated, [new_uuid]);
}

#[tokio::test]
async fn relationship_targets_must_exist() {
    let f = fixture().await;
    let missing = "urn:uuid:22222222-2222-4222-8222-222222222222";
    for (kind, code) in [
        (
            association_type::REPLACE,
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
        ),
        (
            association_type::APPEND,
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
        ),
        (
            association_type::TRANSFORM,
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
        ),
        (
            association_type::SIGNS,
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
        ),
    ] {
        let doc = Doc::new("New");
        let list = submission(
            PATIENT,
            &[&doc],
            vec![association("rel", kind, "New", missing)],
        );
        check_rejected(&f.store, &list, &[code]).await;
    }
    // A replacement's target must be registered before, not part of the same submission.
    let a = Doc::new("A");
    let b = Doc::new("B");
    let list = submission(
        PATIENT,
        &[&a, &b],
        vec![association("rel", association_type::REPLACE, "A", "B")],
    );
    check_rejected(
        &f.store,
        &list,
        &[error_code::UNRESOLVED_REFERENCE_EXCEPTION],
    )
    .await;

    // APND, XFRM and signs on a registered document succeed and deprecate nothing.
    let (target, _) = register_in_folder(&f, &Doc::new("Target")).await;
    for kind in [
        association_type::APPEND,
        association_type::TRANSFORM,
        association_type::SIGNS,
    ] {
        let doc = Doc::new("New");
        let list = submission(
            PATIENT,
            &[&doc],
            vec![association("rel", kind, "New", &target)],
        );
        let r = check_registered(&f.store, &list).await;
        assert!(r.deprecated.is_empty());
    }
    // Relationship to another patient's document.
    let mut other = Doc::new("Other");
    other.patient = OTHER_PATIENT.to_owned();
    let r = check_registered(&f.store, &submission(OTHER_PATIENT, &[&other], vec![])).await;
    let other_uuid = r.assigned_uuids["Other"].clone();
    let doc = Doc::new("New");
    let list = submission(
        PATIENT,
        &[&doc],
        vec![association(
            "rel",
            association_type::APPEND,
            "New",
            &other_uuid,
        )],
    );
    check_rejected(&f.store, &list, &[error_code::PATIENT_ID_DOES_NOT_MATCH]).await;
}

#[tokio::test]
async fn adding_to_an_existing_folder_updates_it() {
    let f = fixture().await;
    let (_, folder_uuid) = register_in_folder(&f, &Doc::new("First")).await;
    let second = Doc::new("Second");
    let list = submission(
        PATIENT,
        &[&second],
        vec![
            has_member("f-second", &folder_uuid, "Second"),
            has_member("ss-f-second", "SS", "f-second"),
        ],
    );
    let r = check_registered(&f.store, &list).await;
    let second_uuid = r.assigned_uuids["Second"].clone();
    let request =
        StoredQueryRequest::new(stored_query::GET_FOLDER_AND_CONTENTS, ReturnType::ObjectRef)
            .param(param::FOLDER_ENTRY_UUID, &[&quote(&folder_uuid)]);
    let ids = f.store.query(&request).await.unwrap().ids();
    assert!(ids.contains(&second_uuid));
    assert_eq!(ids.len(), 5, "folder, 2 documents, 2 HasMember: {ids:?}");

    // Another patient's folder cannot take this patient's document.
    let mut other = Doc::new("Other");
    other.patient = OTHER_PATIENT.to_owned();
    let list = submission(
        OTHER_PATIENT,
        &[&other],
        vec![has_member("f-other", &folder_uuid, "Other")],
    );
    check_rejected(&f.store, &list, &[error_code::PATIENT_ID_DOES_NOT_MATCH]).await;
}

#[tokio::test]
async fn concurrent_registrations_of_one_unique_id_admit_exactly_one() {
    let f = fixture().await;
    let store = std::sync::Arc::new(f.store.clone());
    let uid = unique_id();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let uid = uid.clone();
        tasks.push(tokio::spawn(async move {
            let mut doc = Doc::new("Document01");
            doc.unique_id = uid;
            doc.hash = format!("{i:040}");
            store
                .register(&submission(PATIENT, &[&doc], vec![]), any_patient())
                .await
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(RegisterError::Rejected(findings)) => {
                assert_eq!(findings.len(), 1);
                assert_eq!(findings[0].error_code(), error_code::NON_IDENTICAL_HASH);
            }
            Err(e) => panic!("store error: {e}"),
        }
    }
    assert_eq!(accepted, 1);
    let request = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_UNIQUE_ID, &[&quote(&uid)]);
    assert_eq!(f.store.query(&request).await.unwrap().len(), 1);
}

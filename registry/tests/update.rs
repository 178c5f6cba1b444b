//! ITI-57 Update Document Set against a real store (SQLite file, or PostgreSQL: see common): each
//! operation of the Metadata Update supplement, each rule positive and negative (every rejection
//! proving nothing was written), and what the stored queries answer about versions. NIST testkit
//! counterparts are named where there is one (15800 DocumentEntry update, 15802 DocumentEntry
//! status).

mod common;

use common::*;
use registry::query::param;
use registry::{QueryResponse, ReturnType, StoredQueryRequest, UpdateError, Updated};
use xds_model::rim::{Identifiable, RegistryObjectList, Slot};
use xds_model::vocabulary::{association_type, error_code, object_type, slot, stored_query};

// ---------------------------------------------------------------------------------------------
// Builders and check helpers.

/// A new version of `doc`: same attributes (uniqueId included), id `id`, lid `lid`.
fn doc_version(doc: &Doc, id: &str, lid: &str) -> Identifiable {
    let mut d = doc.clone();
    d.id = id.to_owned();
    let mut object = d.build();
    if let Identifiable::ExtrinsicObject(e) = &mut object {
        e.object.lid = Some(lid.to_owned());
    }
    object
}

/// A new version of a folder with uniqueId `unique_id`.
fn folder_version(id: &str, unique_id: &str, lid: &str, code: &str) -> Identifiable {
    let mut object = folder(id, unique_id, PATIENT, code);
    if let Identifiable::RegistryPackage(p) = &mut object {
        p.object.lid = Some(lid.to_owned());
    }
    object
}

fn with_slot(mut association: Identifiable, name: &str, value: &str) -> Identifiable {
    if let Identifiable::Association(a) = &mut association {
        a.object.slots.push(Slot::new(name, [value]));
    }
    association
}

/// The SubmissionSet HasMember that triggers a version update.
fn previous_version(id: &str, target: &str, version: &str) -> Identifiable {
    with_slot(
        has_member(id, "SS", target),
        slot::PREVIOUS_VERSION,
        version,
    )
}

fn status_update(id: &str, target: &str, original: &str, new: &str) -> Identifiable {
    let a = association(
        id,
        association_type::UPDATE_AVAILABILITY_STATUS,
        "SS",
        target,
    );
    with_slot(
        with_slot(a, slot::ORIGINAL_STATUS, original),
        slot::NEW_STATUS,
        new,
    )
}

/// An update submission: a SubmissionSet `SS` for `patient` and the given objects.
fn update(patient: &str, objects: Vec<Identifiable>) -> RegistryObjectList {
    let mut all = submission_set("SS", &unique_id(), patient);
    all.extend(objects);
    RegistryObjectList { objects: all }
}

async fn check_updated(store: &TestStore, list: &RegistryObjectList) -> Updated {
    match store.update(list, any_patient()).await {
        Ok(u) => u,
        Err(UpdateError::Rejected(findings)) => panic!("rejected: {findings:#?}"),
        Err(e) => panic!("store error: {e}"),
    }
}

/// Updates, expects a rejection with exactly these codes, and proves nothing changed: the row
/// count of every table and every stored object as GetAll reads it.
async fn check_update_rejected(
    store: &TestStore,
    list: &RegistryObjectList,
    expected_codes: &[&str],
) {
    let before = store.table_row_counts().await.unwrap();
    let snapshot = all_rows(store).await;
    let findings = match store.update(list, any_patient()).await {
        Err(UpdateError::Rejected(findings)) => findings,
        Ok(u) => panic!("accepted, expected {expected_codes:?}: {u:#?}"),
        Err(e) => panic!("store error: {e}"),
    };
    let mut codes: Vec<&str> = findings.iter().map(|f| f.error_code()).collect();
    codes.sort_unstable();
    let mut expected = expected_codes.to_vec();
    expected.sort_unstable();
    assert_eq!(codes, expected, "findings: {findings:#?}");
    for f in &findings {
        assert!(!f.location().is_empty(), "finding without location: {f:?}");
    }
    let errors = UpdateError::Rejected(findings).registry_errors();
    assert_eq!(errors.len(), expected_codes.len());
    assert_eq!(
        store.table_row_counts().await.unwrap(),
        before,
        "a rejected update wrote rows"
    );
    assert_eq!(
        all_rows(store).await,
        snapshot,
        "a rejected update changed stored objects"
    );
}

/// Registers `doc` (and, with `in_folder`, a folder holding it): (doc uuid, folder uuid).
async fn register(store: &TestStore, doc: &Doc, in_folder: bool) -> (String, String) {
    let extra = if in_folder {
        vec![
            folder("F", &unique_id(), PATIENT, "forløb-1"),
            has_member("ss-f", "SS", "F"),
            has_member("f-doc", "F", &doc.id),
            has_member("ss-f-doc", "SS", "f-doc"),
        ]
    } else {
        Vec::new()
    };
    let r = check_registered(store, &submission(PATIENT, &[doc], extra)).await;
    (
        r.assigned_uuids[&doc.id].clone(),
        r.assigned_uuids.get("F").cloned().unwrap_or_default(),
    )
}

fn with_level(request: StoredQueryRequest, level: Option<&str>) -> StoredQueryRequest {
    match level {
        Some(level) => request.param(param::METADATA_LEVEL, &[level]),
        None => request,
    }
}

async fn leaf(store: &TestStore, request: &StoredQueryRequest) -> Vec<Identifiable> {
    match store.query(request).await.unwrap() {
        QueryResponse::LeafClass(objects) => objects,
        other => panic!("not LeafClass: {other:?}"),
    }
}

/// GetDocuments by uniqueId: (entryUUID, lid, version, status) of each answer, in order.
async fn versions_of(
    store: &TestStore,
    unique_id: &str,
    level: Option<&str>,
) -> Vec<(String, String, String, String)> {
    let request = with_level(
        StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::LeafClass)
            .param(param::DE_UNIQUE_ID, &[&list(&[unique_id])]),
        level,
    );
    leaf(store, &request)
        .await
        .iter()
        .map(|o| {
            let ro = o.registry_object().unwrap();
            (
                ro.id.clone(),
                ro.lid.clone().unwrap_or_default(),
                ro.version_info
                    .as_ref()
                    .and_then(|v| v.version_name.clone())
                    .unwrap_or_default(),
                ro.status.clone().unwrap_or_default(),
            )
        })
        .collect()
}

async fn status_of(store: &TestStore, entry_uuid: &str) -> String {
    let request = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::LeafClass)
        .param(param::DE_ENTRY_UUID, &[&list(&[entry_uuid])]);
    leaf(store, &request).await[0]
        .registry_object()
        .unwrap()
        .status
        .clone()
        .unwrap()
}

fn folder_and_contents(folder_uuid: &str, level: Option<&str>) -> StoredQueryRequest {
    with_level(
        StoredQueryRequest::new(stored_query::GET_FOLDER_AND_CONTENTS, ReturnType::ObjectRef)
            .param(param::FOLDER_ENTRY_UUID, &[&quote(folder_uuid)]),
        level,
    )
}

/// The ids of the answer that are not associations.
async fn non_associations(store: &TestStore, request: &StoredQueryRequest) -> Vec<String> {
    let mut request = request.clone();
    request.return_type = ReturnType::LeafClass;
    let mut ids: Vec<String> = leaf(store, &request)
        .await
        .into_iter()
        .filter(|o| !matches!(o, Identifiable::Association(_)))
        .map(|o| o.id().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Update DocumentEntry metadata (NIST 15800).

#[tokio::test]
async fn document_entry_update_makes_version_2_and_deprecates_version_1() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, folder_uuid) = register(&f.store, &doc, true).await;

    let mut changed = doc.clone();
    changed.creation_time = "20261102080000".to_owned();
    let list = update(
        PATIENT,
        vec![
            doc_version(&changed, "Document01v2", &v1),
            previous_version("ss-v2", "Document01v2", "1"),
        ],
    );
    let updated = check_updated(&f.store, &list).await;
    let v2 = updated.assigned_uuids["Document01v2"].clone();
    assert_eq!(updated.deprecated, std::slice::from_ref(&v1));
    // SubmissionSet, new version, its HasMember, and the propagated folder membership.
    assert_eq!(updated.stored.len(), 4, "{updated:#?}");
    assert_eq!(updated.touched_folders, std::slice::from_ref(&folder_uuid));

    // GetDocuments by uniqueId without $MetadataLevel answers both versions (NIST 15800).
    let both = versions_of(&f.store, &doc.unique_id, None).await;
    assert_eq!(
        both,
        [
            (
                v1.clone(),
                v1.clone(),
                "1".to_owned(),
                DEPRECATED.to_owned()
            ),
            (v2.clone(), v1.clone(), "2".to_owned(), APPROVED.to_owned()),
        ]
    );
    assert_eq!(versions_of(&f.store, &doc.unique_id, Some("2")).await, both);
    // Level 1 only the latest.
    let latest = versions_of(&f.store, &doc.unique_id, Some("1")).await;
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].0, v2);

    // FindDocuments by status sees the versions by their status.
    let find = |statuses: &[&str]| {
        StoredQueryRequest::new(stored_query::FIND_DOCUMENTS, ReturnType::ObjectRef)
            .param(param::DE_PATIENT_ID, &[&quote(PATIENT)])
            .param(param::DE_STATUS, &[&common::list(statuses)])
    };
    check_query(&f.store, &find(&[APPROVED]), &[&v2]).await;
    check_query(&f.store, &find(&[APPROVED, DEPRECATED]), &[&v1, &v2]).await;
    check_query(
        &f.store,
        &with_level(find(&[APPROVED, DEPRECATED]), Some("1")),
        &[&v2],
    )
    .await;

    // The new version kept the folder membership; level 1 shows only it in the folder.
    assert_eq!(
        non_associations(&f.store, &folder_and_contents(&folder_uuid, None)).await,
        sorted(&[&folder_uuid, &v1, &v2])
    );
    assert_eq!(
        non_associations(&f.store, &folder_and_contents(&folder_uuid, Some("1"))).await,
        sorted(&[&folder_uuid, &v2])
    );
    let for_document = StoredQueryRequest::new(
        stored_query::GET_FOLDERS_FOR_DOCUMENT,
        ReturnType::ObjectRef,
    )
    .param(param::DE_ENTRY_UUID, &[&quote(&v2)]);
    check_query(&f.store, &for_document, &[&folder_uuid]).await;

    // A second update names version 2; naming version 1 again is a version error.
    let stale = update(
        PATIENT,
        vec![
            doc_version(&doc, "Document01v3", &v1),
            previous_version("ss-v3", "Document01v3", "1"),
        ],
    );
    check_update_rejected(&f.store, &stale, &[error_code::METADATA_VERSION_ERROR]).await;
    let next = update(
        PATIENT,
        vec![
            doc_version(&doc, "Document01v3", &v1),
            previous_version("ss-v3", "Document01v3", "2"),
        ],
    );
    let updated = check_updated(&f.store, &next).await;
    let v3 = updated.assigned_uuids["Document01v3"].clone();
    assert_eq!(updated.deprecated, std::slice::from_ref(&v2));
    let all = versions_of(&f.store, &doc.unique_id, None).await;
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[2],
        (v3, v1.clone(), "3".to_owned(), APPROVED.to_owned())
    );
    assert_eq!(all[1].3, DEPRECATED);
}

#[tokio::test]
async fn association_propagation_no_leaves_folders_to_the_previous_version() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, folder_uuid) = register(&f.store, &doc, true).await;
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            with_slot(
                previous_version("ss-v2", "v2", "1"),
                slot::ASSOCIATION_PROPAGATION,
                "no",
            ),
        ],
    );
    let updated = check_updated(&f.store, &list).await;
    assert_eq!(updated.stored.len(), 3, "no association propagated");
    assert!(updated.touched_folders.is_empty());
    assert_eq!(
        non_associations(&f.store, &folder_and_contents(&folder_uuid, None)).await,
        sorted(&[&folder_uuid, &v1])
    );

    let invalid = update(
        PATIENT,
        vec![
            doc_version(&doc, "v3", &v1),
            with_slot(
                previous_version("ss-v3", "v3", "2"),
                slot::ASSOCIATION_PROPAGATION,
                "maybe",
            ),
        ],
    );
    check_update_rejected(&f.store, &invalid, &[error_code::METADATA_UPDATE_ERROR]).await;
}

#[tokio::test]
async fn relationship_associations_follow_the_new_version() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, _) = register(&f.store, &doc, false).await;
    let addendum = Doc::new("Addendum");
    let r = check_registered(
        &f.store,
        &submission(
            PATIENT,
            &[&addendum],
            vec![association(
                "apnd",
                association_type::APPEND,
                "Addendum",
                &v1,
            )],
        ),
    )
    .await;
    let addendum_uuid = r.assigned_uuids["Addendum"].clone();
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    let v2 = check_updated(&f.store, &list).await.assigned_uuids["v2"].clone();
    let related =
        StoredQueryRequest::new(stored_query::GET_RELATED_DOCUMENTS, ReturnType::LeafClass)
            .param(param::DE_ENTRY_UUID, &[&quote(&v2)])
            .param(
                param::ASSOCIATION_TYPES,
                &[&common::list(&[association_type::APPEND])],
            );
    let ids = non_associations(&f.store, &related).await;
    assert_eq!(ids, sorted(&[&v2, &addendum_uuid]));
}

#[tokio::test]
async fn document_entry_update_rules() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, _) = register(&f.store, &doc, false).await;
    let other = Doc::new("Other");
    let (other_uuid, folder_uuid) = register(&f.store, &other, true).await;

    // lid names no registered object (NIST 15800 no_orig_docentry).
    let unknown = "urn:uuid:1d4d2e0c-7f4b-4a35-9c59-8a3f0c0b0b01";
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", unknown),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;

    // lid names a Folder, not a DocumentEntry.
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &folder_uuid),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;

    // A first version (no lid, or lid = id) cannot come through ITI-57 (NIST 15800
    // initial_version, ITI57-007).
    let mut first = Doc::new("First").build();
    if let Identifiable::ExtrinsicObject(e) = &mut first {
        e.object.lid = None;
    }
    let list = update(
        PATIENT,
        vec![first, previous_version("ss-first", "First", "1")],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    let own = "urn:uuid:1d4d2e0c-7f4b-4a35-9c59-8a3f0c0b0b02";
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, own, own),
            previous_version("ss-own", own, "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;

    // A symbolic lid.
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", "Document01"),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;

    // No PreviousVersion slot, or one that is not a version number.
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            has_member("ss-v2", "SS", "v2"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "one"),
        ],
    );
    // The bad slot, and therefore no usable PreviousVersion.
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR; 2]).await;

    // PreviousVersion other than the latest version.
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "2"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_VERSION_ERROR]).await;

    // uniqueId and objectType must not change.
    let mut renamed = doc.clone();
    renamed.unique_id = unique_id();
    let list = update(
        PATIENT,
        vec![
            doc_version(&renamed, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    let mut on_demand = doc.clone();
    on_demand.object_type = object_type::ON_DEMAND_DOCUMENT_ENTRY.to_owned();
    let list = update(
        PATIENT,
        vec![
            doc_version(&on_demand, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;

    // patientId must not change (here consistently in SubmissionSet and DocumentEntry).
    let mut moved = doc.clone();
    moved.patient = OTHER_PATIENT.to_owned();
    let list = update(
        OTHER_PATIENT,
        vec![
            doc_version(&moved, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::PATIENT_ID_DOES_NOT_MATCH]).await;
    // ... nor differ from the SubmissionSet's.
    let list = update(
        OTHER_PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::PATIENT_ID_DOES_NOT_MATCH]).await;

    // The same logical object twice in one update.
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
            doc_version(&doc, "v2b", &v1),
            previous_version("ss-v2b", "v2b", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;

    // The previous version must be Approved.
    check_updated(
        &f.store,
        &update(
            PATIENT,
            vec![status_update("st", &v1, APPROVED, DEPRECATED)],
        ),
    )
    .await;
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    assert_eq!(status_of(&f.store, &other_uuid).await, APPROVED);
}

// ---------------------------------------------------------------------------------------------
// Update Folder metadata.

#[tokio::test]
async fn folder_update_makes_a_new_version_with_the_same_members() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let folder_uid = unique_id();
    let r = check_registered(
        &f.store,
        &submission(
            PATIENT,
            &[&doc],
            vec![
                folder("F", &folder_uid, PATIENT, "forløb-1"),
                has_member("ss-f", "SS", "F"),
                has_member("f-doc", "F", &doc.id),
                has_member("ss-f-doc", "SS", "f-doc"),
            ],
        ),
    )
    .await;
    let (doc_uuid, f1) = (
        r.assigned_uuids[&doc.id].clone(),
        r.assigned_uuids["F"].clone(),
    );
    let list = update(
        PATIENT,
        vec![
            folder_version("F2", &folder_uid, &f1, "forløb-2"),
            previous_version("ss-f2", "F2", "1"),
        ],
    );
    let updated = check_updated(&f.store, &list).await;
    let f2 = updated.assigned_uuids["F2"].clone();
    assert_eq!(updated.deprecated, std::slice::from_ref(&f1));

    let get_folders = |level: Option<&str>| {
        with_level(
            StoredQueryRequest::new(stored_query::GET_FOLDERS, ReturnType::ObjectRef)
                .param(param::FOLDER_UNIQUE_ID, &[&common::list(&[&folder_uid])]),
            level,
        )
    };
    check_query(&f.store, &get_folders(None), &[&f1, &f2]).await;
    check_query(&f.store, &get_folders(Some("1")), &[&f2]).await;
    assert_eq!(
        non_associations(&f.store, &folder_and_contents(&f2, None)).await,
        sorted(&[&f2, &doc_uuid])
    );

    // The uniqueId of a Folder must not change either, and the version must be the latest.
    let list = update(
        PATIENT,
        vec![
            folder_version("F3", &unique_id(), &f1, "forløb-3"),
            previous_version("ss-f3", "F3", "2"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    let list = update(
        PATIENT,
        vec![
            folder_version("F3", &folder_uid, &f1, "forløb-3"),
            previous_version("ss-f3", "F3", "1"),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_VERSION_ERROR]).await;
}

// ---------------------------------------------------------------------------------------------
// Update availabilityStatus (NIST 15802).

#[tokio::test]
async fn status_updates_deprecate_and_approve_again() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, _) = register(&f.store, &doc, false).await;

    let updated = check_updated(
        &f.store,
        &update(
            PATIENT,
            vec![status_update("st", &v1, APPROVED, DEPRECATED)],
        ),
    )
    .await;
    assert_eq!(
        updated.status_changed,
        [(v1.clone(), DEPRECATED.to_owned())]
    );
    assert_eq!(status_of(&f.store, &v1).await, DEPRECATED);
    check_updated(
        &f.store,
        &update(
            PATIENT,
            vec![status_update("st", &v1, DEPRECATED, APPROVED)],
        ),
    )
    .await;
    assert_eq!(status_of(&f.store, &v1).await, APPROVED);

    // OriginalStatus must be the current status.
    let list = update(
        PATIENT,
        vec![status_update("st", &v1, DEPRECATED, APPROVED)],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    // Only Approved and Deprecated.
    let list = update(
        PATIENT,
        vec![status_update(
            "st",
            &v1,
            APPROVED,
            xds_model::vocabulary::status::SUBMITTED,
        )],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    // Both slots are required.
    let missing = association(
        "st",
        association_type::UPDATE_AVAILABILITY_STATUS,
        "SS",
        &v1,
    );
    let list = update(
        PATIENT,
        vec![with_slot(missing, slot::NEW_STATUS, DEPRECATED)],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    // The source must be the SubmissionSet.
    let mut wrong_source = status_update("st", &v1, APPROVED, DEPRECATED);
    if let Identifiable::Association(a) = &mut wrong_source {
        a.source_object = v1.clone();
    }
    check_update_rejected(
        &f.store,
        &update(PATIENT, vec![wrong_source]),
        &[error_code::METADATA_UPDATE_ERROR],
    )
    .await;
    // An unknown target.
    let list = update(
        PATIENT,
        vec![status_update(
            "st",
            "urn:uuid:1d4d2e0c-7f4b-4a35-9c59-8a3f0c0b0b03",
            APPROVED,
            DEPRECATED,
        )],
    );
    check_update_rejected(
        &f.store,
        &list,
        &[error_code::UNRESOLVED_REFERENCE_EXCEPTION],
    )
    .await;
    // Another patient's DocumentEntry.
    let list = update(
        OTHER_PATIENT,
        vec![status_update("st", &v1, APPROVED, DEPRECATED)],
    );
    check_update_rejected(&f.store, &list, &[error_code::PATIENT_ID_DOES_NOT_MATCH]).await;

    // A version that is not the latest cannot be approved again (NIST 15802
    // approve_orig_docentry_2), and the refusal leaves it Deprecated.
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
        ],
    );
    check_updated(&f.store, &list).await;
    let list = update(
        PATIENT,
        vec![status_update("st", &v1, DEPRECATED, APPROVED)],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    assert_eq!(status_of(&f.store, &v1).await, DEPRECATED);
}

#[tokio::test]
async fn status_update_of_a_new_version_in_the_same_update_applies_to_it() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, _) = register(&f.store, &doc, false).await;
    // ITI57-015: the new version is created, then gets the new status.
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v2", &v1),
            previous_version("ss-v2", "v2", "1"),
            status_update("st", "v2", APPROVED, DEPRECATED),
        ],
    );
    let v2 = check_updated(&f.store, &list).await.assigned_uuids["v2"].clone();
    assert_eq!(status_of(&f.store, &v2).await, DEPRECATED);
    assert_eq!(status_of(&f.store, &v1).await, DEPRECATED);

    // A status update of the version this update replaces is refused.
    check_updated(
        &f.store,
        &update(
            PATIENT,
            vec![status_update("st", &v2, DEPRECATED, APPROVED)],
        ),
    )
    .await;
    let list = update(
        PATIENT,
        vec![
            doc_version(&doc, "v3", &v1),
            previous_version("ss-v3", "v3", "2"),
            status_update("st", &v2, APPROVED, DEPRECATED),
        ],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
}

#[tokio::test]
async fn deprecating_a_folder_membership_removes_the_document_at_level_1() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let list = submission(
        PATIENT,
        &[&doc],
        vec![
            folder("F", &unique_id(), PATIENT, "forløb-1"),
            has_member("ss-f", "SS", "F"),
            has_member("f-doc", "F", &doc.id),
            has_member("ss-f-doc", "SS", "f-doc"),
        ],
    );
    let r = check_registered(&f.store, &list).await;
    let (doc_uuid, folder_uuid, membership) = (
        r.assigned_uuids[&doc.id].clone(),
        r.assigned_uuids["F"].clone(),
        r.assigned_uuids["f-doc"].clone(),
    );
    let updated = check_updated(
        &f.store,
        &update(
            PATIENT,
            vec![status_update("st", &membership, APPROVED, DEPRECATED)],
        ),
    )
    .await;
    assert_eq!(updated.touched_folders, std::slice::from_ref(&folder_uuid));
    assert_eq!(
        non_associations(&f.store, &folder_and_contents(&folder_uuid, Some("1"))).await,
        sorted(&[&folder_uuid])
    );
    assert_eq!(
        non_associations(&f.store, &folder_and_contents(&folder_uuid, None)).await,
        sorted(&[&folder_uuid, &doc_uuid])
    );
    // Folder and SubmissionSet status updates are refused, the Folder's as unsupported.
    let list = update(
        PATIENT,
        vec![status_update("st", &folder_uuid, APPROVED, DEPRECATED)],
    );
    check_update_rejected(
        &f.store,
        &list,
        &[error_code::UNSUPPORTED_CAPABILITY_EXCEPTION],
    )
    .await;
    let ss = r.assigned_uuids["SS"].clone();
    let list = update(
        PATIENT,
        vec![status_update("st", &ss, APPROVED, DEPRECATED)],
    );
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
}

// ---------------------------------------------------------------------------------------------
// Add association, and what is not supported.

#[tokio::test]
async fn adding_a_registered_document_to_a_registered_folder() {
    let f = fixture().await;
    let in_folder = Doc::new("InFolder");
    let (_, folder_uuid) = register(&f.store, &in_folder, true).await;
    let loose = Doc::new("Loose");
    let (loose_uuid, _) = register(&f.store, &loose, false).await;

    let list = update(
        PATIENT,
        vec![
            has_member("f-loose", &folder_uuid, &loose_uuid),
            has_member("ss-f-loose", "SS", "f-loose"),
        ],
    );
    let updated = check_updated(&f.store, &list).await;
    assert_eq!(updated.touched_folders, std::slice::from_ref(&folder_uuid));
    let for_document = StoredQueryRequest::new(
        stored_query::GET_FOLDERS_FOR_DOCUMENT,
        ReturnType::ObjectRef,
    )
    .param(param::DE_ENTRY_UUID, &[&quote(&loose_uuid)]);
    check_query(&f.store, &for_document, &[&folder_uuid]).await;

    // The source must be a Folder, the target a DocumentEntry, both registered.
    let list = update(PATIENT, vec![has_member("d-d", &loose_uuid, &loose_uuid)]);
    check_update_rejected(&f.store, &list, &[error_code::METADATA_UPDATE_ERROR]).await;
    let unknown = "urn:uuid:1d4d2e0c-7f4b-4a35-9c59-8a3f0c0b0b04";
    let list = update(PATIENT, vec![has_member("f-x", &folder_uuid, unknown)]);
    check_update_rejected(
        &f.store,
        &list,
        &[error_code::UNRESOLVED_REFERENCE_EXCEPTION],
    )
    .await;
    // Another patient's document.
    let foreign = Doc {
        patient: OTHER_PATIENT.to_owned(),
        ..Doc::new("Foreign")
    };
    let r = check_registered(&f.store, &submission(OTHER_PATIENT, &[&foreign], vec![])).await;
    let list = update(
        PATIENT,
        vec![has_member(
            "f-foreign",
            &folder_uuid,
            &r.assigned_uuids["Foreign"],
        )],
    );
    check_update_rejected(&f.store, &list, &[error_code::PATIENT_ID_DOES_NOT_MATCH]).await;
}

#[tokio::test]
async fn what_is_not_supported_is_refused_never_ignored() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, _) = register(&f.store, &doc, false).await;
    let other = Doc::new("Other");
    let (other_uuid, _) = register(&f.store, &other, false).await;

    // A document relationship between registered documents.
    let list = update(
        PATIENT,
        vec![association(
            "rplc",
            association_type::REPLACE,
            &other_uuid,
            &v1,
        )],
    );
    check_update_rejected(
        &f.store,
        &list,
        &[error_code::UNSUPPORTED_CAPABILITY_EXCEPTION],
    )
    .await;
    // A SubmissionSet HasMember of a registered object (reference membership).
    let list = update(PATIENT, vec![has_member("ss-ref", "SS", &v1)]);
    check_update_rejected(
        &f.store,
        &list,
        &[error_code::UNSUPPORTED_CAPABILITY_EXCEPTION],
    )
    .await;
    // An association type ITI-57 does not know.
    let list = update(
        PATIENT,
        vec![association(
            "snap",
            association_type::IS_SNAPSHOT_OF,
            &other_uuid,
            &v1,
        )],
    );
    check_update_rejected(&f.store, &list, &[error_code::REGISTRY_METADATA_ERROR]).await;
    // A SubmissionSet alone is no update.
    check_update_rejected(
        &f.store,
        &update(PATIENT, vec![]),
        &[error_code::METADATA_UPDATE_ERROR],
    )
    .await;
    // No SubmissionSet at all.
    let list = RegistryObjectList {
        objects: vec![status_update("st", &v1, APPROVED, DEPRECATED)],
    };
    // No SubmissionSet, the symbolic source "SS" resolves to nothing, and so the status
    // update's source is not the SubmissionSet.
    check_update_rejected(
        &f.store,
        &list,
        &[
            error_code::REGISTRY_METADATA_ERROR,
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            error_code::METADATA_UPDATE_ERROR,
        ],
    )
    .await;
}

#[tokio::test]
async fn concurrent_updates_of_one_version_admit_exactly_one() {
    let f = fixture().await;
    let doc = Doc::new("Document01");
    let (v1, _) = register(&f.store, &doc, false).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = f.store.clone();
        let mut changed = doc.clone();
        changed.creation_time = format!("202611{:02}080000", i + 1);
        let list = update(
            PATIENT,
            vec![
                doc_version(&changed, "v2", &v1),
                previous_version("ss-v2", "v2", "1"),
            ],
        );
        tasks.push(tokio::spawn(async move {
            store.update(&list, any_patient()).await
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(UpdateError::Rejected(findings)) => {
                // The winner made version 2 the latest: PreviousVersion 1 is stale.
                assert_eq!(findings.len(), 1, "{findings:#?}");
                assert_eq!(findings[0].error_code(), error_code::METADATA_VERSION_ERROR);
            }
            Err(e) => panic!("store error: {e}"),
        }
    }
    assert_eq!(accepted, 1);
    let versions = versions_of(&f.store, &doc.unique_id, None).await;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].2, "2");
}

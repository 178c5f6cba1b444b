//! ITI-57 Update Document Set: a new version of a DocumentEntry (same logicalId,
//! PreviousVersion), an availability-status change, and the version errors.

use conformance_tests::{
    Assoc, Card, Doc, Expect, Folder, Query, Scenario, Step, Submission, association, check,
    query_id as q, response_status, status,
};

use super::world::{KAREN, approved, patient, query};

fn get_documents(entry_uuids: &[&str]) -> Query {
    Query::new(q::GET_DOCUMENTS).list("$XDSDocumentEntryEntryUUID", entry_uuids)
}

fn register(doc: &Doc) -> Step {
    Step::new(
        "register version 1",
        Card::System,
        Submission::new(KAREN).doc(doc).register(),
    )
    .succeeds()
}

#[tokio::test]
async fn update_document_entry_new_version() {
    let v1 = Doc::new(KAREN);
    let v2 = Doc::new_version_of(&v1).creation_time("20261215100000");
    check(Scenario {
        name: "update_document_entry_new_version",
        purpose: "ITI-57 metadata update: a new version with the same logicalId and PreviousVersion 1 is Approved, version 1 becomes Deprecated, FindDocuments(Approved) sees only the new version",
        nist: Some("ITI-57 Metadata Update (DocumentEntry metadata update)"),
        steps: vec![
            register(&v1),
            Step::new(
                "ITI-57 new version",
                Card::System,
                Submission::new(KAREN).new_version(&v2, 1).update(),
            )
            .succeeds(),
            query(
                "GetDocuments both versions",
                get_documents(&[&v1.entry_uuid, &v2.entry_uuid]),
            )
            .returns(&[&v1.entry_uuid, &v2.entry_uuid])
            .expect(Expect::ObjectStatus(v1.entry_uuid.clone(), status::DEPRECATED))
            .expect(Expect::ObjectStatus(v2.entry_uuid.clone(), status::APPROVED))
            .expect(Expect::ObjectLid(v2.entry_uuid.clone(), v1.entry_uuid.clone())),
            query(
                "FindDocuments sees the new version only",
                Query::new(q::FIND_DOCUMENTS)
                    .slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)])
                    .slot("$XDSDocumentEntryStatus", &[&approved()]),
            )
            .returns(&[&v2.entry_uuid]),
        ],
    })
    .await;
}

#[tokio::test]
async fn update_with_wrong_previous_version() {
    let v1 = Doc::new(KAREN);
    let v2 = Doc::new_version_of(&v1).creation_time("20261215100000");
    check(Scenario {
        name: "update_with_wrong_previous_version",
        purpose: "a new version whose PreviousVersion is not the latest version fails with XDSMetadataVersionError and changes nothing",
        nist: Some("ITI-57 Metadata Update (version error)"),
        steps: vec![
            register(&v1),
            Step::new(
                "ITI-57 new version claiming PreviousVersion 2",
                Card::System,
                Submission::new(KAREN).new_version(&v2, 2).update(),
            )
            .fails_with("XDSMetadataVersionError")
            .expect(Expect::StoresNothing),
            query("version 1 untouched", get_documents(&[&v1.entry_uuid]))
                .returns(&[&v1.entry_uuid])
                .expect(Expect::ObjectStatus(v1.entry_uuid.clone(), status::APPROVED)),
        ],
    })
    .await;
}

#[tokio::test]
async fn update_unknown_logical_id() {
    let never_registered = Doc::new(KAREN);
    let v2 = Doc::new_version_of(&never_registered);
    check(Scenario {
        name: "update_unknown_logical_id",
        purpose: "a new version of a logicalId the registry does not hold fails and stores nothing",
        nist: Some("ITI-57 Metadata Update (unknown logicalId)"),
        steps: vec![
            Step::new(
                "ITI-57 new version of nothing",
                Card::System,
                Submission::new(KAREN).new_version(&v2, 1).update(),
            )
            .expect(Expect::Http(200))
            .expect(Expect::Status(response_status::FAILURE))
            .expect(Expect::AnyErrorCode(&[
                "XDSMetadataUpdateError",
                "UnresolvedReferenceException",
            ]))
            .expect(Expect::StoresNothing),
        ],
    })
    .await;
}

#[tokio::test]
async fn update_availability_status() {
    let doc = Doc::new(KAREN);
    let submission = Submission::new(KAREN);
    let change = Assoc::new(
        association::UPDATE_AVAILABILITY_STATUS,
        &submission.submission_set_uuid,
        &doc.entry_uuid,
    )
    .slot("OriginalStatus", status::APPROVED)
    .slot("NewStatus", status::DEPRECATED);
    check(Scenario {
        name: "update_availability_status",
        purpose: "ITI-57 UpdateAvailabilityStatus Approved -> Deprecated on a DocumentEntry; it leaves FindDocuments(Approved)",
        nist: Some("ITI-57 Metadata Update (DocumentEntry status change)"),
        steps: vec![
            register(&doc),
            Step::new(
                "ITI-57 UpdateAvailabilityStatus Approved -> Deprecated",
                Card::System,
                submission.association(change).update(),
            )
            .succeeds(),
            query("GetDocuments", get_documents(&[&doc.entry_uuid]))
                .returns(&[&doc.entry_uuid])
                .expect(Expect::ObjectStatus(doc.entry_uuid.clone(), status::DEPRECATED)),
            query(
                "FindDocuments(Approved) no longer sees it",
                Query::new(q::FIND_DOCUMENTS)
                    .slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)])
                    .slot("$XDSDocumentEntryStatus", &[&approved()]),
            )
            .returns(&[]),
        ],
    })
    .await;
}

#[tokio::test]
async fn update_adds_existing_document_to_existing_folder() {
    let doc = Doc::new(KAREN);
    let other = Doc::new(KAREN);
    let folder = Folder::new(KAREN);
    let first = Submission::new(KAREN)
        .doc(&doc)
        .doc(&other)
        .folder(&folder, &[&other]);
    // ITI-57: a SubmissionSet carrying a new HasMember Folder -> existing DocumentEntry.
    let update = Submission::new(KAREN);
    let submission_set_uuid = update.submission_set_uuid.clone();
    let membership = Assoc::new(association::HAS_MEMBER, &folder.entry_uuid, &doc.entry_uuid);
    let update = update
        .association(Assoc::new(
            association::HAS_MEMBER,
            &submission_set_uuid,
            &membership.entry_uuid,
        ))
        .association(membership);
    check(Scenario {
        name: "update_adds_existing_document_to_existing_folder",
        purpose: "ITI-57 folder membership change: an existing DocumentEntry is added to an existing Folder",
        nist: Some("ITI-57 Metadata Update (add to folder)"),
        steps: vec![
            Step::new("register entries and folder", Card::System, first.register()).succeeds(),
            Step::new("ITI-57 add to folder", Card::System, update.update()).succeeds(),
            query(
                "GetFoldersForDocument",
                Query::new(q::GET_FOLDERS_FOR_DOCUMENT)
                    .string("$XDSDocumentEntryEntryUUID", &doc.entry_uuid),
            )
            .returns(&[&folder.entry_uuid]),
        ],
    })
    .await;
}

//! ITI-62 Delete Document Set: deleting objects and the associations naming them, and the
//! two ebRS errors (ReferencesExistException, UnresolvedReferenceException).

use conformance_tests::{
    Card, Doc, Expect, Folder, Query, Scenario, Step, Submission, check, metadata::new_uuid,
    query_id as q, remove_objects,
};

use super::world::{KAREN, approved, patient, query};

fn get_documents(entry_uuids: &[&str]) -> Query {
    Query::new(q::GET_DOCUMENTS).list("$XDSDocumentEntryEntryUUID", entry_uuids)
}

#[tokio::test]
async fn delete_document_entry_and_its_association() {
    let doc = Doc::new(KAREN);
    let keep = Doc::new(KAREN);
    let submission = Submission::new(KAREN).doc(&doc).doc(&keep);
    let has_member = submission
        .associations
        .iter()
        .find(|a| a.target == doc.entry_uuid)
        .map(|a| a.entry_uuid.clone())
        .expect("HasMember to doc");
    check(Scenario {
        name: "delete_document_entry_and_its_association",
        purpose: "ITI-62 removes a DocumentEntry together with the HasMember naming it; other entries of the set stay",
        nist: Some("ITI-62 Delete Document Set (Remove Metadata)"),
        steps: vec![
            Step::new("register two entries", Card::System, submission.register()).succeeds(),
            Step::new(
                "delete one entry and its HasMember",
                Card::System,
                remove_objects(&[&doc.entry_uuid, &has_member]),
            )
            .succeeds(),
            query("the deleted entry is gone", get_documents(&[&doc.entry_uuid, &keep.entry_uuid]))
                .returns(&[&keep.entry_uuid]),
            query(
                "its association is gone",
                Query::new(q::GET_ASSOCIATIONS).list("$uuid", &[&submission.submission_set_uuid]),
            )
            .succeeds()
            .expect(Expect::Excludes(has_member.clone())),
        ],
    })
    .await;
}

#[tokio::test]
async fn delete_still_referenced_object() {
    let doc = Doc::new(KAREN);
    let submission = Submission::new(KAREN).doc(&doc);
    check(Scenario {
        name: "delete_still_referenced_object",
        purpose: "deleting a DocumentEntry while an Association not being deleted still names it fails with ReferencesExistException and changes nothing",
        nist: Some("ITI-62 (ReferencesExistException)"),
        steps: vec![
            Step::new("register", Card::System, submission.register()).succeeds(),
            Step::new("delete only the entry", Card::System, remove_objects(&[&doc.entry_uuid]))
                .fails_with("ReferencesExistException")
                .expect(Expect::StoresNothing),
            query("the entry is still there", get_documents(&[&doc.entry_uuid])).returns(&[&doc.entry_uuid]),
        ],
    })
    .await;
}

#[tokio::test]
async fn delete_unknown_object() {
    let doc = Doc::new(KAREN);
    let unknown = new_uuid();
    check(Scenario {
        name: "delete_unknown_object",
        purpose: "deleting an entryUUID the registry does not hold fails with UnresolvedReferenceException and changes nothing, even next to a known one",
        nist: Some("ITI-62 (UnresolvedReferenceException)"),
        steps: vec![
            Step::new("register", Card::System, Submission::new(KAREN).doc(&doc).register()).succeeds(),
            Step::new("delete an unknown id", Card::System, remove_objects(&[&unknown]))
                .fails_with("UnresolvedReferenceException")
                .expect(Expect::StoresNothing),
        ],
    })
    .await;
}

#[tokio::test]
async fn delete_whole_submission() {
    let doc = Doc::new(KAREN);
    let submission = Submission::new(KAREN).doc(&doc);
    let mut ids: Vec<&str> = vec![&submission.submission_set_uuid, &doc.entry_uuid];
    ids.extend(
        submission
            .associations
            .iter()
            .map(|a| a.entry_uuid.as_str()),
    );
    check(Scenario {
        name: "delete_whole_submission",
        purpose: "deleting a SubmissionSet, its DocumentEntry and their HasMember in one request succeeds and leaves nothing of the patient",
        nist: Some("ITI-62 Delete Document Set"),
        steps: vec![
            Step::new("register", Card::System, submission.register()).succeeds(),
            Step::new("delete all three", Card::System, remove_objects(&ids)).succeeds(),
            query(
                "no SubmissionSet left",
                Query::new(q::FIND_SUBMISSION_SETS)
                    .slot("$XDSSubmissionSetPatientId", &[&patient(KAREN)])
                    .slot("$XDSSubmissionSetStatus", &[&approved()]),
            )
            .returns(&[]),
            query("no entry left", get_documents(&[&doc.entry_uuid])).returns(&[]),
        ],
    })
    .await;
}

#[tokio::test]
async fn delete_folder_with_members_referenced() {
    let doc = Doc::new(KAREN);
    let folder = Folder::new(KAREN);
    let submission = Submission::new(KAREN).doc(&doc).folder(&folder, &[&doc]);
    check(Scenario {
        name: "delete_folder_with_members_referenced",
        purpose: "deleting a Folder while its HasMember associations remain fails with ReferencesExistException and changes nothing",
        nist: Some("ITI-62 (ReferencesExistException)"),
        steps: vec![
            Step::new("register", Card::System, submission.register()).succeeds(),
            Step::new("delete only the folder", Card::System, remove_objects(&[&folder.entry_uuid]))
                .fails_with("ReferencesExistException")
                .expect(Expect::StoresNothing),
            query(
                "the folder is still there",
                Query::new(q::GET_FOLDERS).list("$XDSFolderEntryUUID", &[&folder.entry_uuid]),
            )
            .returns(&[&folder.entry_uuid]),
        ],
    })
    .await;
}

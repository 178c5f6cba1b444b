//! ITI-42 Register Document Set-b: the happy path, folders, RPLC, and the errors whose
//! submission must change nothing (NIST 11966, 11969–11971 and the lifecycle tests).

use conformance_tests::{
    Assoc, Card, Doc, Expect, Folder, Kind, Query, Scenario, Step, Submission, association, check,
    query_id as q, status,
};

use super::world::{JENS, KAREN, World, approved, patient, query};

fn get_documents(entry_uuids: &[&str]) -> Query {
    Query::new(q::GET_DOCUMENTS).list("$XDSDocumentEntryEntryUUID", entry_uuids)
}

fn find_documents(cpr: &str) -> Query {
    Query::new(q::FIND_DOCUMENTS)
        .slot("$XDSDocumentEntryPatientId", &[&patient(cpr)])
        .slot("$XDSDocumentEntryStatus", &[&approved()])
}

#[tokio::test]
async fn register_single_document() {
    let doc = Doc::new(KAREN);
    let submission = Submission::new(KAREN).doc(&doc);
    check(Scenario {
        name: "register_single_document",
        purpose: "a SubmissionSet with one DocumentEntry is accepted; the entry is stored Approved, with its logicalId equal to its entryUUID, and is found by its uniqueId",
        nist: Some("11966 (submit single doc, Register variant)"),
        steps: vec![
            Step::new("register", Card::System, submission.register()).succeeds(),
            query(
                "GetDocuments by uniqueId",
                Query::new(q::GET_DOCUMENTS).list("$XDSDocumentEntryUniqueId", &[&doc.unique_id]),
            )
            .returns(&[&doc.entry_uuid])
            .expect(Expect::ObjectStatus(doc.entry_uuid.clone(), status::APPROVED))
            .expect(Expect::ObjectLid(doc.entry_uuid.clone(), doc.entry_uuid.clone())),
            query(
                "GetSubmissionSets of the entry",
                Query::new(q::GET_SUBMISSION_SETS).list("$uuid", &[&doc.entry_uuid]),
            )
            .succeeds()
            .expect(Expect::Includes(submission.submission_set_uuid.clone()))
            .expect(Expect::ObjectStatus(submission.submission_set_uuid.clone(), status::APPROVED)),
        ],
    })
    .await;
}

#[tokio::test]
async fn register_with_symbolic_ids() {
    // The unmodified sample uses symbolic ids (SubmissionSet01, Document01): the registry
    // assigns entryUUIDs. Its uniqueIds are fixed, so it can be registered once per server.
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/iti-42/register-apd.xml"),
    )
    .expect("sample");
    check(Scenario {
        name: "register_with_symbolic_ids",
        purpose: "the sample register-apd.xml (symbolic ids) is accepted and its entry found by patient",
        nist: Some("11966"),
        steps: vec![
            Step::new("register the sample", Card::System, sample).succeeds(),
            query("FindDocuments Karen", find_documents(KAREN))
                .succeeds()
                .expect(Expect::Count(Kind::ExtrinsicObject, 1)),
        ],
    })
    .await;
}

#[tokio::test]
async fn register_with_folder() {
    let doc_1 = Doc::new(KAREN);
    let doc_2 = Doc::new(KAREN).event_code("ALAL21");
    let folder = Folder::new(KAREN);
    let submission = Submission::new(KAREN)
        .doc(&doc_1)
        .doc(&doc_2)
        .folder(&folder, &[&doc_1, &doc_2]);
    check(Scenario {
        name: "register_with_folder",
        purpose: "a submission creating a Folder holding two new DocumentEntries is accepted; the Folder and its contents are queryable",
        nist: Some("12346/two_doc_w_fol (folder with documents)"),
        steps: vec![
            Step::new("register set with folder", Card::System, submission.register()).succeeds(),
            query(
                "GetFolderAndContents",
                Query::new(q::GET_FOLDER_AND_CONTENTS).string("$XDSFolderEntryUUID", &folder.entry_uuid),
            )
            .succeeds()
            .expect(Expect::Count(Kind::RegistryPackage, 1))
            .expect(Expect::Count(Kind::ExtrinsicObject, 2))
            .expect(Expect::Count(Kind::Association, 2))
            .expect(Expect::ObjectStatus(folder.entry_uuid.clone(), status::APPROVED)),
        ],
    })
    .await;
}

#[tokio::test]
async fn replace_deprecates_the_original() {
    let original = Doc::new(KAREN);
    let folder = Folder::new(KAREN);
    let first = Submission::new(KAREN)
        .doc(&original)
        .folder(&folder, &[&original]);
    let replacement = Doc::new(KAREN).creation_time("20261210090000");
    let rplc = Assoc::new(
        association::RPLC,
        &replacement.entry_uuid,
        &original.entry_uuid,
    );
    let second = Submission::new(KAREN)
        .doc(&replacement)
        .association(rplc.clone());
    check(Scenario {
        name: "replace_deprecates_the_original",
        purpose: "RPLC: the replacement is Approved, the original becomes Deprecated and leaves FindDocuments(Approved), the original's folder membership carries over, GetRelatedDocuments links them",
        nist: Some("RPLC lifecycle (ITI TF-3 4.2.2), 11909/uuid"),
        steps: vec![
            Step::new("register original in a folder", Card::System, first.register()).succeeds(),
            Step::new("register replacement", Card::System, second.register()).succeeds(),
            query(
                "GetDocuments original and replacement",
                get_documents(&[&original.entry_uuid, &replacement.entry_uuid]),
            )
            .returns(&[&original.entry_uuid, &replacement.entry_uuid])
            .expect(Expect::ObjectStatus(original.entry_uuid.clone(), status::DEPRECATED))
            .expect(Expect::ObjectStatus(replacement.entry_uuid.clone(), status::APPROVED)),
            query("FindDocuments Approved", find_documents(KAREN)).returns(&[&replacement.entry_uuid]),
            query(
                "FindDocuments Deprecated",
                Query::new(q::FIND_DOCUMENTS)
                    .slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)])
                    .list("$XDSDocumentEntryStatus", &[status::DEPRECATED]),
            )
            .returns(&[&original.entry_uuid]),
            query(
                "GetFoldersForDocument replacement",
                Query::new(q::GET_FOLDERS_FOR_DOCUMENT)
                    .string("$XDSDocumentEntryEntryUUID", &replacement.entry_uuid),
            )
            .returns(&[&folder.entry_uuid]),
            query(
                "GetRelatedDocuments replacement",
                Query::new(q::GET_RELATED_DOCUMENTS)
                    .string("$XDSDocumentEntryEntryUUID", &replacement.entry_uuid)
                    .list("$AssociationTypes", &[association::RPLC]),
            )
            .succeeds()
            .expect(Expect::Includes(original.entry_uuid.clone()))
            .expect(Expect::Includes(rplc.entry_uuid.clone())),
        ],
    })
    .await;
}

#[tokio::test]
async fn replace_of_deprecated_document_fails() {
    let original = Doc::new(KAREN);
    let replacement = Doc::new(KAREN);
    let again = Doc::new(KAREN);
    check(Scenario {
        name: "replace_of_deprecated_document_fails",
        purpose: "replacing a DocumentEntry that is already Deprecated fails and stores nothing",
        nist: None,
        steps: vec![
            Step::new(
                "register original",
                Card::System,
                Submission::new(KAREN).doc(&original).register(),
            )
            .succeeds(),
            Step::new(
                "replace it",
                Card::System,
                Submission::new(KAREN)
                    .doc(&replacement)
                    .association(Assoc::new(
                        association::RPLC,
                        &replacement.entry_uuid,
                        &original.entry_uuid,
                    ))
                    .register(),
            )
            .succeeds(),
            Step::new(
                "replace the deprecated original again",
                Card::System,
                Submission::new(KAREN)
                    .doc(&again)
                    .association(Assoc::new(
                        association::RPLC,
                        &again.entry_uuid,
                        &original.entry_uuid,
                    ))
                    .register(),
            )
            .expect(Expect::Http(200))
            .expect(Expect::Status(conformance_tests::response_status::FAILURE))
            .expect(Expect::AnyErrorCode(&[
                "XDSRegistryDeprecatedDocumentError",
                "XDSReplaceFailed",
            ]))
            .expect(Expect::StoresNothing),
        ],
    })
    .await;
}

#[tokio::test]
async fn patient_id_mismatch() {
    let doc = Doc::new(JENS);
    let submission = Submission::new(KAREN).doc(&doc);
    check(Scenario {
        name: "patient_id_mismatch",
        purpose: "a DocumentEntry whose patientId differs from its SubmissionSet's fails with XDSPatientIdDoesNotMatch and stores nothing",
        nist: Some("11969-11971 (register errors)"),
        steps: vec![
            Step::new("register mismatched", Card::System, submission.register())
                .fails_with("XDSPatientIdDoesNotMatch")
                .expect(Expect::StoresNothing),
            query("nothing for Jens", find_documents(JENS)).returns(&[]),
            query("nothing for Karen", find_documents(KAREN)).returns(&[]),
        ],
    })
    .await;
}

#[tokio::test]
async fn duplicate_unique_id_in_registry() {
    let first = Doc::new(KAREN);
    // Same uniqueId, other content (hash): the registry must refuse it.
    let second = Doc::new(KAREN)
        .unique_id(&first.unique_id)
        .hash("0123456789abcdef0123456789abcdef01234567");
    check(Scenario {
        name: "duplicate_unique_id_in_registry",
        purpose: "registering a DocumentEntry whose uniqueId is already registered (other hash) fails with XDSDuplicateUniqueIdInRegistry or XDSNonIdenticalHash and stores nothing",
        nist: Some("11969-11971 (register errors)"),
        steps: vec![
            Step::new("register first", Card::System, Submission::new(KAREN).doc(&first).register()).succeeds(),
            Step::new("register duplicate", Card::System, Submission::new(KAREN).doc(&second).register())
                .expect(Expect::Http(200))
                .expect(Expect::Status(conformance_tests::response_status::FAILURE))
                .expect(Expect::AnyErrorCode(&["XDSDuplicateUniqueIdInRegistry", "XDSNonIdenticalHash"]))
                .expect(Expect::StoresNothing),
            query("still one entry", find_documents(KAREN)).returns(&[&first.entry_uuid]),
        ],
    })
    .await;
}

#[tokio::test]
async fn unknown_association_target() {
    let doc = Doc::new(KAREN);
    let missing = conformance_tests::metadata::new_uuid();
    let submission = Submission::new(KAREN).doc(&doc).association(Assoc::new(
        association::APND,
        &doc.entry_uuid,
        &missing,
    ));
    check(Scenario {
        name: "unknown_association_target",
        purpose: "an Association whose target is neither in the submission nor in the registry fails (unresolved reference) and stores nothing",
        nist: Some("11969-11971 (register errors)"),
        steps: vec![
            Step::new("register with dangling APND", Card::System, submission.register())
                .expect(Expect::Http(200))
                .expect(Expect::Status(conformance_tests::response_status::FAILURE))
                .expect(Expect::AnyErrorCode(&[
                    "XDSRegistryMetadataError",
                    "UnresolvedReferenceException",
                ]))
                .expect(Expect::StoresNothing),
            query("nothing stored", find_documents(KAREN)).returns(&[]),
        ],
    })
    .await;
}

#[tokio::test]
async fn missing_submission_set() {
    let doc = Doc::new(KAREN);
    let submission = Submission::new(KAREN).doc(&doc).without_submission_set();
    check(Scenario {
        name: "missing_submission_set",
        purpose: "a submission without a SubmissionSet fails with XDSRegistryMetadataError and stores nothing",
        nist: None,
        steps: vec![
            Step::new("register without SubmissionSet", Card::System, submission.register())
                .fails_with("XDSRegistryMetadataError")
                .expect(Expect::StoresNothing),
            query("nothing stored", find_documents(KAREN)).returns(&[]),
        ],
    })
    .await;
}

#[tokio::test]
async fn failed_submission_stores_nothing() {
    let w = World::new();
    // Two good entries and one of another patient: the whole submission must fail.
    let good_1 = Doc::new(KAREN);
    let good_2 = Doc::new(KAREN);
    let folder = Folder::new(KAREN);
    let bad = Doc::new(JENS);
    let submission = Submission::new(KAREN)
        .doc(&good_1)
        .doc(&good_2)
        .doc(&bad)
        .folder(&folder, &[&good_1]);
    check(Scenario {
        name: "failed_submission_stores_nothing",
        purpose: "all or nothing: one bad DocumentEntry fails the whole submission; no table gains a row and queries see the state from before",
        nist: Some("11969-11971 (register errors: all-or-nothing)"),
        steps: w.then(vec![
            Step::new("register partly bad", Card::System, submission.register())
                .fails_with("XDSPatientIdDoesNotMatch")
                .expect(Expect::StoresNothing),
            query("Karen's entries unchanged", find_documents(KAREN))
                .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid]),
            query(
                "no new folder",
                Query::new(q::FIND_FOLDERS)
                    .slot("$XDSFolderPatientId", &[&patient(KAREN)])
                    .slot("$XDSFolderStatus", &[&approved()]),
            )
            .returns(&[&w.folder.entry_uuid]),
            query(
                "the good entries are not there",
                get_documents(&[&good_1.entry_uuid, &good_2.entry_uuid]),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn duplicate_unique_id_in_message() {
    let first = Doc::new(KAREN);
    let twin = Doc::new(KAREN).unique_id(&first.unique_id);
    check(Scenario {
        name: "duplicate_unique_id_in_message",
        purpose: "two DocumentEntries with one uniqueId in one submission fail with XDSRegistryDuplicateUniqueIdInMessage and store nothing",
        nist: None,
        steps: vec![
            Step::new(
                "register twins",
                Card::System,
                Submission::new(KAREN).doc(&first).doc(&twin).register(),
            )
            .fails_with("XDSRegistryDuplicateUniqueIdInMessage")
            .expect(Expect::StoresNothing),
        ],
    })
    .await;
}

#[tokio::test]
async fn append_keeps_the_original_approved() {
    let original = Doc::new(KAREN);
    let addendum = Doc::new(KAREN).creation_time("20261210090000");
    let apnd = Assoc::new(
        association::APND,
        &addendum.entry_uuid,
        &original.entry_uuid,
    );
    check(Scenario {
        name: "append_keeps_the_original_approved",
        purpose: "APND: the addendum is registered, the original stays Approved, GetRelatedDocuments(APND) links them",
        nist: Some("APND lifecycle (ITI TF-3 4.2.2), 11909/uniqueid"),
        steps: vec![
            Step::new(
                "register original",
                Card::System,
                Submission::new(KAREN).doc(&original).register(),
            )
            .succeeds(),
            Step::new(
                "register addendum",
                Card::System,
                Submission::new(KAREN)
                    .doc(&addendum)
                    .association(apnd.clone())
                    .register(),
            )
            .succeeds(),
            query("both Approved", find_documents(KAREN))
                .returns(&[&original.entry_uuid, &addendum.entry_uuid]),
            query(
                "GetRelatedDocuments original, APND",
                Query::new(q::GET_RELATED_DOCUMENTS)
                    .string("$XDSDocumentEntryUniqueId", &original.unique_id)
                    .list("$AssociationTypes", &[association::APND]),
            )
            .succeeds()
            .expect(Expect::Includes(addendum.entry_uuid.clone()))
            .expect(Expect::Includes(apnd.entry_uuid.clone())),
        ],
    })
    .await;
}

#[tokio::test]
async fn unknown_patient_under_known_policy() {
    let doc = Doc::new(KAREN);
    conformance_tests::check_configured(
        Scenario {
            name: "unknown_patient_under_known_policy",
            purpose: "with patient_policy = \"known\", a submission for a patient never fed fails with XDSUnknownPatientId and stores nothing",
            nist: None,
            steps: vec![
                Step::new(
                    "register for an unfed patient",
                    Card::System,
                    Submission::new(KAREN).doc(&doc).register(),
                )
                .fails_with("XDSUnknownPatientId")
                .expect(Expect::StoresNothing),
            ],
        },
        |config| config.patient_policy = dds::config::PatientPolicy::Known,
    )
    .await;
}

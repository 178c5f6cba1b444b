//! ITI-18 Registry Stored Query: every one of the 14 IHE stored queries, each with at least
//! one positive and one negative scenario (NIST SQ.b tests 11897–11909).

use conformance_tests::{
    Card, Expect, Kind, Query, Scenario, Step, check, query_id as q, response_status, status,
};

use super::world::{JENS, KAREN, REFERRAL, World, approved, patient, query};

const MISSING_PARAM: &str = "XDSStoredQueryMissingParam";
const PARAM_NUMBER: &str = "XDSStoredQueryParamNumber";

/// Neither of an either-or pair: ITI TF-2a 3.18.4.1.2.3.7 mandates XDSStoredQueryParamNumber
/// only when *both* are given; with neither, a required parameter is missing, which is
/// XDSStoredQueryMissingParam by the definition of that code (ITI TF-3 Table 4.2.4.1-2). The
/// registry answers MissingParam; either is accepted here.
const NEITHER: &[&str] = &["XDSStoredQueryMissingParam", "XDSStoredQueryParamNumber"];

/// Failure with one of `codes`.
fn fails_with_any(step: Step, codes: &'static [&'static str]) -> Step {
    step.expect(Expect::Http(200))
        .expect(Expect::Status(response_status::FAILURE))
        .expect(Expect::AnyErrorCode(codes))
}

fn find_documents(cpr: &str) -> Query {
    Query::new(q::FIND_DOCUMENTS)
        .slot("$XDSDocumentEntryPatientId", &[&patient(cpr)])
        .slot("$XDSDocumentEntryStatus", &[&approved()])
}

// ---------------------------------------------------------------------------------------------
// FindDocuments (NIST 11897)

#[tokio::test]
async fn find_documents_by_patient_leafclass() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_by_patient_leafclass",
        purpose: "FindDocuments with patientId and status Approved returns the patient's DocumentEntries, full (LeafClass), and no other patient's",
        nist: Some("11897 (FindDocuments)"),
        steps: w.then(vec![
            query("FindDocuments Karen", find_documents(KAREN))
                .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid])
                .expect(Expect::Count(Kind::ExtrinsicObject, 2))
                .expect(Expect::ObjectStatus(w.doc_a.entry_uuid.clone(), status::APPROVED)),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_objectref() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_objectref",
        purpose: "returnType ObjectRef answers rim:ObjectRef elements with the entryUUIDs, no full objects",
        nist: Some("11897/objectref"),
        steps: w.then(vec![
            query("FindDocuments Karen, ObjectRef", find_documents(KAREN).object_ref())
                .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid])
                .expect(Expect::Count(Kind::ObjectRef, 2))
                .expect(Expect::Count(Kind::ExtrinsicObject, 0)),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_event_code_filter_excludes() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_event_code_filter_excludes",
        purpose: "an eventCodeList filter keeps the matching DocumentEntry and excludes the other",
        nist: Some("11897/eventcode"),
        steps: w.then(vec![
            query(
                "FindDocuments eventCode ALAL23",
                find_documents(KAREN).list(
                    "$XDSDocumentEntryEventCodeList",
                    &["ALAL23^^1.2.208.176.2.4"],
                ),
            )
            .returns(&[&w.doc_a.entry_uuid]),
            query(
                "FindDocuments classCode that nobody has",
                find_documents(KAREN)
                    .list("$XDSDocumentEntryClassCode", &["999^^1.2.208.184.100.9"]),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_creation_time_filter_excludes() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_creation_time_filter_excludes",
        purpose: "creationTimeFrom (inclusive) / creationTimeTo (exclusive) exclude a DocumentEntry created outside the range",
        nist: Some("11897/creationtime_left_edge, creationtime_right_edge"),
        steps: w.then(vec![
            query(
                "FindDocuments created from 2026-12-01",
                find_documents(KAREN).slot("$XDSDocumentEntryCreationTimeFrom", &["20261201000000"]),
            )
            .returns(&[&w.doc_a.entry_uuid]),
            query(
                "FindDocuments created before 2026-12-03 11:55 (exclusive edge)",
                find_documents(KAREN).slot("$XDSDocumentEntryCreationTimeTo", &["20261203115500"]),
            )
            .returns(&[&w.doc_b.entry_uuid]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_status_filter_excludes() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_status_filter_excludes",
        purpose: "asking for Deprecated DocumentEntries only excludes the Approved ones",
        nist: Some("11897 (status)"),
        steps: w.then(vec![
            query(
                "FindDocuments Deprecated only",
                Query::new(q::FIND_DOCUMENTS)
                    .slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)])
                    .list("$XDSDocumentEntryStatus", &[status::DEPRECATED]),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_missing_patient_id() {
    check(Scenario {
        name: "find_documents_missing_patient_id",
        purpose: "FindDocuments without $XDSDocumentEntryPatientId fails with XDSStoredQueryMissingParam",
        nist: Some("11897 (required parameter)"),
        steps: vec![query(
            "FindDocuments without patient",
            Query::new(q::FIND_DOCUMENTS).slot("$XDSDocumentEntryStatus", &[&approved()]),
        )
        .fails_with(MISSING_PARAM)],
    })
    .await;
}

#[tokio::test]
async fn find_documents_missing_status() {
    check(Scenario {
        name: "find_documents_missing_status",
        purpose: "FindDocuments without $XDSDocumentEntryStatus fails with XDSStoredQueryMissingParam",
        nist: Some("11897 (required parameter)"),
        steps: vec![query(
            "FindDocuments without status",
            Query::new(q::FIND_DOCUMENTS).slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)]),
        )
        .fails_with(MISSING_PARAM)],
    })
    .await;
}

#[tokio::test]
async fn unknown_stored_query_id() {
    check(Scenario {
        name: "unknown_stored_query_id",
        purpose: "an AdhocQuery id that is no stored query fails with XDSUnknownStoredQuery",
        nist: None,
        steps: vec![
            query(
                "unknown query id",
                Query::new("urn:uuid:00000000-1111-4222-8333-444444444444")
                    .slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)]),
            )
            .fails_with("XDSUnknownStoredQuery"),
        ],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// FindDocumentsByReferenceId (ITI-18 2013 addition; no NIST SQ.b number)

#[tokio::test]
async fn find_documents_by_reference_id() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_by_reference_id",
        purpose: "FindDocumentsByReferenceId returns the DocumentEntry whose referenceIdList holds the value",
        nist: Some("11897/refid"),
        steps: w.then(vec![query(
            "FindDocumentsByReferenceId referral",
            Query::new(q::FIND_DOCUMENTS_BY_REFERENCE_ID)
                .slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)])
                .slot("$XDSDocumentEntryStatus", &[&approved()])
                .list("$XDSDocumentEntryReferenceIdList", &[REFERRAL]),
        )
        .returns(&[&w.doc_a.entry_uuid])]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_by_reference_id_missing_list() {
    check(Scenario {
        name: "find_documents_by_reference_id_missing_list",
        purpose: "FindDocumentsByReferenceId without $XDSDocumentEntryReferenceIdList fails with XDSStoredQueryMissingParam",
        nist: None,
        steps: vec![query(
            "FindDocumentsByReferenceId without the list",
            Query::new(q::FIND_DOCUMENTS_BY_REFERENCE_ID)
                .slot("$XDSDocumentEntryPatientId", &[&patient(KAREN)])
                .slot("$XDSDocumentEntryStatus", &[&approved()]),
        )
        .fails_with(MISSING_PARAM)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// FindSubmissionSets (NIST 11898)

#[tokio::test]
async fn find_submission_sets() {
    let w = World::new();
    check(Scenario {
        name: "find_submission_sets",
        purpose: "FindSubmissionSets returns the patient's SubmissionSets only",
        nist: Some("11898/simple, submissiontime_in, submissiontime_no_end"),
        steps: w.then(vec![
            query(
                "FindSubmissionSets Karen",
                Query::new(q::FIND_SUBMISSION_SETS)
                    .slot("$XDSSubmissionSetPatientId", &[&patient(KAREN)])
                    .slot("$XDSSubmissionSetStatus", &[&approved()]),
            )
            .returns(&[&w.karen.submission_set_uuid])
            .expect(Expect::Count(Kind::RegistryPackage, 1)),
            query(
                "FindSubmissionSets submitted since 2000, from our source",
                Query::new(q::FIND_SUBMISSION_SETS)
                    .slot("$XDSSubmissionSetPatientId", &[&patient(KAREN)])
                    .slot("$XDSSubmissionSetStatus", &[&approved()])
                    .slot("$XDSSubmissionSetSubmissionTimeFrom", &["20000101"])
                    .list("$XDSSubmissionSetSourceId", &["1.2.208.176.43210.8.1.103"]),
            )
            .returns(&[&w.karen.submission_set_uuid]),
            query(
                "FindSubmissionSets submitted from 2099 (none)",
                Query::new(q::FIND_SUBMISSION_SETS)
                    .slot("$XDSSubmissionSetPatientId", &[&patient(KAREN)])
                    .slot("$XDSSubmissionSetStatus", &[&approved()])
                    .slot("$XDSSubmissionSetSubmissionTimeFrom", &["20990101"]),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_submission_sets_missing_status() {
    check(Scenario {
        name: "find_submission_sets_missing_status",
        purpose: "FindSubmissionSets without $XDSSubmissionSetStatus fails with XDSStoredQueryMissingParam",
        nist: Some("11898 (required parameter)"),
        steps: vec![query(
            "FindSubmissionSets without status",
            Query::new(q::FIND_SUBMISSION_SETS).slot("$XDSSubmissionSetPatientId", &[&patient(KAREN)]),
        )
        .fails_with(MISSING_PARAM)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// FindFolders (NIST 11899)

#[tokio::test]
async fn find_folders() {
    let w = World::new();
    check(Scenario {
        name: "find_folders",
        purpose: "FindFolders returns the patient's Folders, as ObjectRefs when asked",
        nist: Some("11899/basic, out_updatetime, codelist"),
        steps: w.then(vec![
            query(
                "FindFolders Karen",
                Query::new(q::FIND_FOLDERS)
                    .slot("$XDSFolderPatientId", &[&patient(KAREN)])
                    .slot("$XDSFolderStatus", &[&approved()]),
            )
            .returns(&[&w.folder.entry_uuid]),
            query(
                "FindFolders Karen, ObjectRef",
                Query::new(q::FIND_FOLDERS)
                    .object_ref()
                    .slot("$XDSFolderPatientId", &[&patient(KAREN)])
                    .slot("$XDSFolderStatus", &[&approved()]),
            )
            .returns(&[&w.folder.entry_uuid])
            .expect(Expect::Count(Kind::ObjectRef, 1)),
            query(
                "FindFolders updated from 2099 (none)",
                Query::new(q::FIND_FOLDERS)
                    .slot("$XDSFolderPatientId", &[&patient(KAREN)])
                    .slot("$XDSFolderStatus", &[&approved()])
                    .slot("$XDSFolderLastUpdateTimeFrom", &["20990101"]),
            )
            .returns(&[]),
            query(
                "FindFolders by codeList",
                Query::new(q::FIND_FOLDERS)
                    .slot("$XDSFolderPatientId", &[&patient(KAREN)])
                    .slot("$XDSFolderStatus", &[&approved()])
                    .list("$XDSFolderCodeList", &["ALAL23^^1.2.208.176.2.4"]),
            )
            .returns(&[&w.folder.entry_uuid]),
            query(
                "FindFolders Jens (has none)",
                Query::new(q::FIND_FOLDERS)
                    .slot("$XDSFolderPatientId", &[&patient(JENS)])
                    .slot("$XDSFolderStatus", &[&approved()]),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_folders_missing_patient_id() {
    check(Scenario {
        name: "find_folders_missing_patient_id",
        purpose: "FindFolders without $XDSFolderPatientId fails with XDSStoredQueryMissingParam",
        nist: Some("11899 (required parameter)"),
        steps: vec![
            query(
                "FindFolders without patient",
                Query::new(q::FIND_FOLDERS).slot("$XDSFolderStatus", &[&approved()]),
            )
            .fails_with(MISSING_PARAM),
        ],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetAll (no NIST SQ.b number found)

fn get_all(cpr: &str) -> Query {
    Query::new(q::GET_ALL)
        .slot("$patientId", &[&patient(cpr)])
        .slot("$XDSDocumentEntryStatus", &[&approved()])
        .slot("$XDSSubmissionSetStatus", &[&approved()])
        .slot("$XDSFolderStatus", &[&approved()])
}

#[tokio::test]
async fn get_all_for_patient() {
    let w = World::new();
    let folder_doc_a = w.assoc(&w.folder.entry_uuid, &w.doc_a.entry_uuid);
    check(Scenario {
        name: "get_all_for_patient",
        purpose: "GetAll returns the patient's SubmissionSets, DocumentEntries, Folders and their Associations",
        nist: None,
        steps: w.then(vec![query("GetAll Karen", get_all(KAREN))
            .succeeds()
            .expect(Expect::Count(Kind::ExtrinsicObject, 2))
            .expect(Expect::Count(Kind::RegistryPackage, 2))
            .expect(Expect::Includes(w.karen.submission_set_uuid.clone()))
            .expect(Expect::Includes(w.folder.entry_uuid.clone()))
            .expect(Expect::Includes(folder_doc_a))
            .expect(Expect::Excludes(w.doc_c.entry_uuid.clone()))]),
    })
    .await;
}

#[tokio::test]
async fn get_all_missing_patient_id() {
    check(Scenario {
        name: "get_all_missing_patient_id",
        purpose: "GetAll without $patientId fails with XDSStoredQueryMissingParam",
        nist: None,
        steps: vec![
            query(
                "GetAll without patient",
                Query::new(q::GET_ALL)
                    .slot("$XDSDocumentEntryStatus", &[&approved()])
                    .slot("$XDSSubmissionSetStatus", &[&approved()])
                    .slot("$XDSFolderStatus", &[&approved()]),
            )
            .fails_with(MISSING_PARAM),
        ],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetDocuments (NIST 11901)

#[tokio::test]
async fn get_documents_by_uuid_and_unique_id() {
    let w = World::new();
    check(Scenario {
        name: "get_documents_by_uuid_and_unique_id",
        purpose: "GetDocuments by entryUUIDs (several, spread over Values) and by uniqueId; $homeCommunityId is ignored",
        nist: Some("11901/uuid2, uuid_multiple_slot_values, uniqueid, homeCommunityId"),
        steps: w.then(vec![
            query(
                "GetDocuments two uuids in two Values",
                Query::new(q::GET_DOCUMENTS).slot(
                    "$XDSDocumentEntryEntryUUID",
                    &[
                        &format!("('{}')", w.doc_a.entry_uuid),
                        &format!("('{}')", w.doc_b.entry_uuid),
                    ],
                ),
            )
            .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid]),
            query(
                "GetDocuments by uniqueId with homeCommunityId",
                Query::new(q::GET_DOCUMENTS)
                    .list("$XDSDocumentEntryUniqueId", &[&w.doc_b.unique_id])
                    .string("$homeCommunityId", "urn:oid:1.2.208.176.43210.8.10"),
            )
            .returns(&[&w.doc_b.entry_uuid]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_documents_both_uuid_and_unique_id() {
    let w = World::new();
    check(Scenario {
        name: "get_documents_both_uuid_and_unique_id",
        purpose: "GetDocuments with both $XDSDocumentEntryEntryUUID and $XDSDocumentEntryUniqueId fails with XDSStoredQueryParamNumber",
        nist: None,
        steps: vec![query(
            "GetDocuments both",
            Query::new(q::GET_DOCUMENTS)
                .list("$XDSDocumentEntryEntryUUID", &[&w.doc_a.entry_uuid])
                .list("$XDSDocumentEntryUniqueId", &[&w.doc_a.unique_id]),
        )
        .fails_with(PARAM_NUMBER)],
    })
    .await;
}

#[tokio::test]
async fn get_documents_neither_uuid_nor_unique_id() {
    check(Scenario {
        name: "get_documents_neither_uuid_nor_unique_id",
        purpose: "GetDocuments with neither $XDSDocumentEntryEntryUUID nor $XDSDocumentEntryUniqueId fails (missing parameter)",
        nist: None,
        steps: vec![fails_with_any(
            query(
            "GetDocuments neither",
            Query::new(q::GET_DOCUMENTS).string("$homeCommunityId", "urn:oid:1.2.208.176.43210.8.10"),
        )
        , NEITHER)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetFolders (NIST 11902)

#[tokio::test]
async fn get_folders() {
    let w = World::new();
    check(Scenario {
        name: "get_folders",
        purpose: "GetFolders by entryUUID and by uniqueId returns the Folder",
        nist: Some("11902/uuid, uniqueid"),
        steps: w.then(vec![
            query(
                "GetFolders by uuid",
                Query::new(q::GET_FOLDERS).list("$XDSFolderEntryUUID", &[&w.folder.entry_uuid]),
            )
            .returns(&[&w.folder.entry_uuid]),
            query(
                "GetFolders by uniqueId",
                Query::new(q::GET_FOLDERS).list("$XDSFolderUniqueId", &[&w.folder.unique_id]),
            )
            .returns(&[&w.folder.entry_uuid]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_folders_both_uuid_and_unique_id() {
    let w = World::new();
    check(Scenario {
        name: "get_folders_both_uuid_and_unique_id",
        purpose: "GetFolders with both $XDSFolderEntryUUID and $XDSFolderUniqueId fails with XDSStoredQueryParamNumber",
        nist: None,
        steps: vec![query(
            "GetFolders both",
            Query::new(q::GET_FOLDERS)
                .list("$XDSFolderEntryUUID", &[&w.folder.entry_uuid])
                .list("$XDSFolderUniqueId", &[&w.folder.unique_id]),
        )
        .fails_with(PARAM_NUMBER)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetAssociations (NIST 11903)

#[tokio::test]
async fn get_associations() {
    let w = World::new();
    let ss_doc_a = w.assoc(&w.karen.submission_set_uuid, &w.doc_a.entry_uuid);
    let folder_doc_a = w.assoc(&w.folder.entry_uuid, &w.doc_a.entry_uuid);
    check(Scenario {
        name: "get_associations",
        purpose: "GetAssociations returns every Association with the object as source or target",
        nist: Some("11903/multiple_assoc_from_doc"),
        steps: w.then(vec![
            query(
                "GetAssociations of doc_a",
                Query::new(q::GET_ASSOCIATIONS).list("$uuid", &[&w.doc_a.entry_uuid]),
            )
            .returns(&[&ss_doc_a, &folder_doc_a])
            .expect(Expect::Count(Kind::Association, 2)),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_associations_missing_uuid() {
    check(Scenario {
        name: "get_associations_missing_uuid",
        purpose: "GetAssociations without $uuid fails with XDSStoredQueryMissingParam",
        nist: None,
        steps: vec![
            query(
                "GetAssociations without $uuid",
                Query::new(q::GET_ASSOCIATIONS)
                    .string("$homeCommunityId", "urn:oid:1.2.208.176.43210.8.10"),
            )
            .fails_with(MISSING_PARAM),
        ],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetDocumentsAndAssociations (NIST 11904)

#[tokio::test]
async fn get_documents_and_associations() {
    let w = World::new();
    let ss_doc_a = w.assoc(&w.karen.submission_set_uuid, &w.doc_a.entry_uuid);
    let folder_doc_a = w.assoc(&w.folder.entry_uuid, &w.doc_a.entry_uuid);
    check(Scenario {
        name: "get_documents_and_associations",
        purpose: "GetDocumentsAndAssociations returns the DocumentEntry and every Association naming it",
        nist: Some("11904"),
        steps: w.then(vec![query(
            "GetDocumentsAndAssociations doc_a by uniqueId",
            Query::new(q::GET_DOCUMENTS_AND_ASSOCIATIONS)
                .list("$XDSDocumentEntryUniqueId", &[&w.doc_a.unique_id]),
        )
        .returns(&[&w.doc_a.entry_uuid, &ss_doc_a, &folder_doc_a])]),
    })
    .await;
}

#[tokio::test]
async fn get_documents_and_associations_neither() {
    check(Scenario {
        name: "get_documents_and_associations_neither",
        purpose: "GetDocumentsAndAssociations with neither entryUUID nor uniqueId fails (missing parameter)",
        nist: None,
        steps: vec![fails_with_any(
            query(
            "GetDocumentsAndAssociations neither",
            Query::new(q::GET_DOCUMENTS_AND_ASSOCIATIONS)
                .string("$homeCommunityId", "urn:oid:1.2.208.176.43210.8.10"),
        )
        , NEITHER)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetSubmissionSets (NIST 11905)

#[tokio::test]
async fn get_submission_sets() {
    let w = World::new();
    let ss_doc_a = w.assoc(&w.karen.submission_set_uuid, &w.doc_a.entry_uuid);
    let ss_folder = w.assoc(&w.karen.submission_set_uuid, &w.folder.entry_uuid);
    check(Scenario {
        name: "get_submission_sets",
        purpose: "GetSubmissionSets for a DocumentEntry or a Folder returns the SubmissionSet and the HasMember linking them",
        nist: Some("11905/doc_uuid, fol_uuid"),
        steps: w.then(vec![
            query(
                "GetSubmissionSets of doc_a",
                Query::new(q::GET_SUBMISSION_SETS).list("$uuid", &[&w.doc_a.entry_uuid]),
            )
            .returns(&[&w.karen.submission_set_uuid, &ss_doc_a]),
            query(
                "GetSubmissionSets of the folder",
                Query::new(q::GET_SUBMISSION_SETS).list("$uuid", &[&w.folder.entry_uuid]),
            )
            .returns(&[&w.karen.submission_set_uuid, &ss_folder]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_submission_sets_missing_uuid() {
    check(Scenario {
        name: "get_submission_sets_missing_uuid",
        purpose: "GetSubmissionSets without $uuid fails with XDSStoredQueryMissingParam",
        nist: None,
        steps: vec![
            query(
                "GetSubmissionSets without $uuid",
                Query::new(q::GET_SUBMISSION_SETS)
                    .string("$homeCommunityId", "urn:oid:1.2.208.176.43210.8.10"),
            )
            .fails_with(MISSING_PARAM),
        ],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetSubmissionSetAndContents (NIST 11906)

#[tokio::test]
async fn get_submission_set_and_contents() {
    let w = World::new();
    let ss_doc_b = w.assoc(&w.karen.submission_set_uuid, &w.doc_b.entry_uuid);
    check(Scenario {
        name: "get_submission_set_and_contents",
        purpose: "GetSubmissionSetAndContents returns the SubmissionSet, its DocumentEntries, Folders and HasMember Associations; a formatCode filter excludes DocumentEntries",
        nist: Some("11906"),
        steps: w.then(vec![
            query(
                "GetSubmissionSetAndContents by uuid",
                Query::new(q::GET_SUBMISSION_SET_AND_CONTENTS)
                    .string("$XDSSubmissionSetEntryUUID", &w.karen.submission_set_uuid),
            )
            .succeeds()
            .expect(Expect::Count(Kind::ExtrinsicObject, 2))
            .expect(Expect::Count(Kind::RegistryPackage, 2))
            .expect(Expect::Includes(ss_doc_b))
            .expect(Expect::Excludes(w.doc_c.entry_uuid.clone())),
            query(
                "GetSubmissionSetAndContents by uniqueId, formatCode nobody has",
                Query::new(q::GET_SUBMISSION_SET_AND_CONTENTS)
                    .string("$XDSSubmissionSetUniqueId", &w.karen.submission_set_unique_id)
                    .list("$XDSDocumentEntryFormatCode", &["urn:ad:dk:medcom:none^^1.2.208.184.100.10"]),
            )
            .succeeds()
            .expect(Expect::Count(Kind::ExtrinsicObject, 0))
            .expect(Expect::Includes(w.karen.submission_set_uuid.clone())),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_submission_set_and_contents_both() {
    let w = World::new();
    check(Scenario {
        name: "get_submission_set_and_contents_both",
        purpose: "GetSubmissionSetAndContents with both entryUUID and uniqueId fails with XDSStoredQueryParamNumber",
        nist: None,
        steps: vec![query(
            "GetSubmissionSetAndContents both",
            Query::new(q::GET_SUBMISSION_SET_AND_CONTENTS)
                .string("$XDSSubmissionSetEntryUUID", &w.karen.submission_set_uuid)
                .string("$XDSSubmissionSetUniqueId", &w.karen.submission_set_unique_id),
        )
        .fails_with(PARAM_NUMBER)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetFolderAndContents (NIST 11907)

#[tokio::test]
async fn get_folder_and_contents() {
    let w = World::new();
    let folder_doc_a = w.assoc(&w.folder.entry_uuid, &w.doc_a.entry_uuid);
    check(Scenario {
        name: "get_folder_and_contents",
        purpose: "GetFolderAndContents returns the Folder, its DocumentEntries and the HasMember Associations; a confidentialityCode filter excludes",
        nist: Some("11907/uuid, uniqueid, conf_code"),
        steps: w.then(vec![
            query(
                "GetFolderAndContents by uuid",
                Query::new(q::GET_FOLDER_AND_CONTENTS).string("$XDSFolderEntryUUID", &w.folder.entry_uuid),
            )
            .returns(&[&w.folder.entry_uuid, &w.doc_a.entry_uuid, &folder_doc_a]),
            // ITI TF-2a 3.18.4.1.2.3.7.8: $homeCommunityId is optional here and accepted
            // without a warning.
            query(
                "GetFolderAndContents by uuid with $homeCommunityId (ignored)",
                Query::new(q::GET_FOLDER_AND_CONTENTS)
                    .string("$XDSFolderEntryUUID", &w.folder.entry_uuid)
                    .string("$homeCommunityId", "urn:oid:1.2.208.176.43210.8.10"),
            )
            .returns(&[&w.folder.entry_uuid, &w.doc_a.entry_uuid, &folder_doc_a]),
            query(
                "GetFolderAndContents by uniqueId, confidentiality R",
                Query::new(q::GET_FOLDER_AND_CONTENTS)
                    .string("$XDSFolderUniqueId", &w.folder.unique_id)
                    .list("$XDSDocumentEntryConfidentialityCode", &["R^^2.16.840.1.113883.5.25"]),
            )
            .succeeds()
            .expect(Expect::Includes(w.folder.entry_uuid.clone()))
            .expect(Expect::Count(Kind::ExtrinsicObject, 0)),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_folder_and_contents_neither() {
    check(Scenario {
        name: "get_folder_and_contents_neither",
        purpose: "GetFolderAndContents with neither entryUUID nor uniqueId fails (missing parameter)",
        nist: None,
        steps: vec![fails_with_any(
            query(
            "GetFolderAndContents neither",
            Query::new(q::GET_FOLDER_AND_CONTENTS).string("$homeCommunityId", "urn:oid:1.2.208.176.43210.8.10"),
        )
        , NEITHER)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetFoldersForDocument (NIST 11908)

#[tokio::test]
async fn get_folders_for_document() {
    let w = World::new();
    check(Scenario {
        name: "get_folders_for_document",
        purpose: "GetFoldersForDocument returns the Folders holding the DocumentEntry, none for one outside every folder",
        nist: Some("11908"),
        steps: w.then(vec![
            query(
                "GetFoldersForDocument doc_a by uuid",
                Query::new(q::GET_FOLDERS_FOR_DOCUMENT).string("$XDSDocumentEntryEntryUUID", &w.doc_a.entry_uuid),
            )
            .returns(&[&w.folder.entry_uuid]),
            query(
                "GetFoldersForDocument doc_b by uniqueId",
                Query::new(q::GET_FOLDERS_FOR_DOCUMENT).string("$XDSDocumentEntryUniqueId", &w.doc_b.unique_id),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_folders_for_document_both() {
    let w = World::new();
    check(Scenario {
        name: "get_folders_for_document_both",
        purpose: "GetFoldersForDocument with both entryUUID and uniqueId fails with XDSStoredQueryParamNumber",
        nist: None,
        steps: vec![query(
            "GetFoldersForDocument both",
            Query::new(q::GET_FOLDERS_FOR_DOCUMENT)
                .string("$XDSDocumentEntryEntryUUID", &w.doc_a.entry_uuid)
                .string("$XDSDocumentEntryUniqueId", &w.doc_a.unique_id),
        )
        .fails_with(PARAM_NUMBER)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// GetRelatedDocuments (NIST 11909): positive scenarios with RPLC are in `register`.

#[tokio::test]
async fn get_related_documents_no_related() {
    let w = World::new();
    check(Scenario {
        name: "get_related_documents_no_related",
        purpose: "GetRelatedDocuments for a DocumentEntry without relations returns nothing",
        nist: Some("11909/uniqueid_no_related"),
        steps: w.then(vec![
            query(
                "GetRelatedDocuments doc_b",
                Query::new(q::GET_RELATED_DOCUMENTS)
                    .string("$XDSDocumentEntryUniqueId", &w.doc_b.unique_id)
                    .list(
                        "$AssociationTypes",
                        &[
                            "urn:ihe:iti:2007:AssociationType:RPLC",
                            "urn:ihe:iti:2007:AssociationType:APND",
                        ],
                    ),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_related_documents_missing_association_types() {
    let w = World::new();
    check(Scenario {
        name: "get_related_documents_missing_association_types",
        purpose: "GetRelatedDocuments without $AssociationTypes fails with XDSStoredQueryMissingParam",
        nist: None,
        steps: vec![query(
            "GetRelatedDocuments without $AssociationTypes",
            Query::new(q::GET_RELATED_DOCUMENTS).string("$XDSDocumentEntryEntryUUID", &w.doc_a.entry_uuid),
        )
        .fails_with(MISSING_PARAM)],
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Limits and the caller's own data

#[tokio::test]
async fn too_many_results() {
    let w = World::new();
    conformance_tests::check_configured(
        Scenario {
            name: "too_many_results",
            purpose: "a query matching more objects than query_results_max fails with XDSTooManyResults instead of truncating",
            nist: None,
            steps: w.then(vec![
                query("FindDocuments Karen (2 > 1)", find_documents(KAREN))
                    .fails_with("XDSTooManyResults")
                    .expect(Expect::Count(Kind::ExtrinsicObject, 0)),
                query("FindDocuments Jens (1 = 1)", find_documents(JENS))
                    .returns(&[&w.doc_c.entry_uuid]),
            ]),
        },
        |config| config.query_results_max = 1,
    )
    .await;
}

#[tokio::test]
async fn citizen_queries_own_data_only() {
    let w = World::new();
    check(Scenario {
        name: "citizen_queries_own_data_only",
        purpose: "a citizen's card finds the citizen's own DocumentEntries; asking for another patient is refused with a wsse:FailedAuthentication fault",
        nist: None,
        steps: w.then(vec![
            Step::new(
                "Karen asks for her own",
                Card::Citizen(KAREN.into()),
                find_documents(KAREN).envelope(),
            )
            .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid]),
            Step::new(
                "Jens asks for Karen's",
                Card::Citizen(JENS.into()),
                find_documents(KAREN).envelope(),
            )
            .expect(Expect::Http(400))
            .expect(Expect::Fault("wsse:FailedAuthentication")),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_code_lists_or_within_and_between() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_code_lists_or_within_and_between",
        purpose: "codes within one eventCodeList parameter are ORed; repeated eventCodeList slots are ANDed",
        nist: Some("11897/and, eventcode"),
        steps: w.then(vec![
            query(
                "ALAL23 OR ALAL21",
                find_documents(KAREN).list(
                    "$XDSDocumentEntryEventCodeList",
                    &["ALAL23^^1.2.208.176.2.4", "ALAL21^^1.2.208.176.2.4"],
                ),
            )
            .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid]),
            query(
                "ALAL23 AND ALAL21",
                find_documents(KAREN)
                    .list("$XDSDocumentEntryEventCodeList", &["ALAL23^^1.2.208.176.2.4"])
                    .list("$XDSDocumentEntryEventCodeList", &["ALAL21^^1.2.208.176.2.4"]),
            )
            // ITI TF-2a 3.18.4.1.2.3.5: repeated eventCodeList slots are ANDed; no document
            // has both codes.
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn find_documents_danish_codes_and_author() {
    let w = World::new();
    check(Scenario {
        name: "find_documents_danish_codes_and_author",
        purpose: "filters on the DK profile codes (classCode, typeCode, formatCode, SNOMED facility and practice setting, confidentiality N) and authorPerson match; a wrong codingScheme does not",
        nist: Some("11897/classcode_one, typecode, formatcode, hcftc, practicesetting, author, classcode_scheme_mismatch"),
        steps: w.then(vec![
            query(
                "every DK code and the author",
                find_documents(KAREN)
                    .list("$XDSDocumentEntryClassCode", &["001^^1.2.208.184.100.9"])
                    .list("$XDSDocumentEntryTypeCode", &["39289-4^^2.16.840.1.113883.6.1"])
                    .list(
                        "$XDSDocumentEntryFormatCode",
                        &["urn:ad:dk:medcom:apd-v2.0.1:full^^1.2.208.184.100.10"],
                    )
                    .list(
                        "$XDSDocumentEntryHealthcareFacilityTypeCode",
                        &["22232009^^2.16.840.1.113883.6.96"],
                    )
                    .list(
                        "$XDSDocumentEntryPracticeSettingCode",
                        &["394801008^^2.16.840.1.113883.6.96"],
                    )
                    .list("$XDSDocumentEntryConfidentialityCode", &["N^^2.16.840.1.113883.5.25"])
                    .list("$XDSDocumentEntryAuthorPerson", &["%Storm%"]),
            )
            .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid]),
            query(
                "classCode 001 in another scheme",
                find_documents(KAREN).list("$XDSDocumentEntryClassCode", &["001^^2.16.840.1.113883.6.1"]),
            )
            .returns(&[]),
            query(
                "serviceStartTime from after the appointments",
                find_documents(KAREN).slot("$XDSDocumentEntryServiceStartTimeFrom", &["20270120"]),
            )
            .returns(&[]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn get_all_objectref() {
    let w = World::new();
    check(Scenario {
        name: "get_all_objectref",
        purpose: "GetAll with returnType ObjectRef answers only ObjectRefs, including the DocumentEntries, SubmissionSet and Folder",
        nist: None,
        steps: w.then(vec![query(
            "GetAll Karen, ObjectRef",
            Query::new(q::GET_ALL)
                .object_ref()
                .slot("$patientId", &[&patient(KAREN)])
                .slot("$XDSDocumentEntryStatus", &[&approved()])
                .slot("$XDSSubmissionSetStatus", &[&approved()])
                .slot("$XDSFolderStatus", &[&approved()]),
        )
        .succeeds()
        .expect(Expect::Count(Kind::ExtrinsicObject, 0))
        .expect(Expect::Count(Kind::RegistryPackage, 0))
        .expect(Expect::Includes(w.doc_a.entry_uuid.clone()))
        .expect(Expect::Includes(w.doc_b.entry_uuid.clone()))
        .expect(Expect::Includes(w.karen.submission_set_uuid.clone()))
        .expect(Expect::Includes(w.folder.entry_uuid.clone()))]),
    })
    .await;
}

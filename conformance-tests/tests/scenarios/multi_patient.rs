//! ITI-51 Multi-Patient Stored Query: allowed for system cards, refused for a doctor by the
//! role policy (a SOAP fault before the registry is asked).

use conformance_tests::{Card, Expect, Query, Scenario, Step, check, query_id as q};

use super::world::{JENS, KAREN, World, approved, patient_id_list, query};

fn find_documents_for(cprs: &[&str]) -> Query {
    Query::multi_patient(q::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS)
        .slot("$XDSDocumentEntryPatientId", &[&patient_id_list(cprs)])
        .slot("$XDSDocumentEntryStatus", &[&approved()])
}

#[tokio::test]
async fn multi_patient_find_documents_system() {
    let w = World::new();
    check(Scenario {
        name: "multi_patient_find_documents_system",
        purpose: "a system card may run FindDocumentsForMultiplePatients and gets both patients' entries",
        nist: Some("ITI-51 MPQ FindDocumentsForMultiplePatients"),
        steps: w.then(vec![
            query("MPQ Karen + Jens", find_documents_for(&[KAREN, JENS]))
                .returns(&[&w.doc_a.entry_uuid, &w.doc_b.entry_uuid, &w.doc_c.entry_uuid]),
            query(
                "MPQ Karen + Jens, eventCode ALAL21",
                find_documents_for(&[KAREN, JENS]).list("$XDSDocumentEntryEventCodeList", &["ALAL21^^1.2.208.176.2.4"]),
            )
            .returns(&[&w.doc_b.entry_uuid]),
        ]),
    })
    .await;
}

#[tokio::test]
async fn multi_patient_find_documents_doctor_refused() {
    let w = World::new();
    check(Scenario {
        name: "multi_patient_find_documents_doctor_refused",
        purpose: "a doctor's card may not run ITI-51: SOAP Fault with subcode wsse:FailedAuthentication, HTTP 400",
        nist: None,
        steps: w.then(vec![Step::new(
            "MPQ as doctor",
            Card::Doctor,
            find_documents_for(&[KAREN, JENS]).envelope(),
        )
        .expect(Expect::Http(400))
        .expect(Expect::Fault("wsse:FailedAuthentication"))]),
    })
    .await;
}

#[tokio::test]
async fn multi_patient_find_documents_missing_status() {
    check(Scenario {
        name: "multi_patient_find_documents_missing_status",
        purpose: "FindDocumentsForMultiplePatients without $XDSDocumentEntryStatus fails with XDSStoredQueryMissingParam",
        nist: None,
        steps: vec![query(
            "MPQ without status",
            Query::multi_patient(q::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS)
                .slot("$XDSDocumentEntryPatientId", &[&patient_id_list(&[KAREN, JENS])]),
        )
        .fails_with("XDSStoredQueryMissingParam")],
    })
    .await;
}

#[tokio::test]
async fn multi_patient_find_folders_system() {
    let w = World::new();
    check(Scenario {
        name: "multi_patient_find_folders_system",
        purpose: "a system card may run FindFoldersForMultiplePatients and gets the Folders of the patients named; a missing $XDSFolderStatus is XDSStoredQueryMissingParam",
        nist: Some("ITI-51 MPQ FindFoldersForMultiplePatients"),
        steps: w.then(vec![
            query(
                "MPQ folders Karen + Jens",
                Query::multi_patient(q::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS)
                    .slot("$XDSFolderPatientId", &[&patient_id_list(&[KAREN, JENS])])
                    .slot("$XDSFolderStatus", &[&approved()]),
            )
            .returns(&[&w.folder.entry_uuid]),
            query(
                "MPQ folders without status",
                Query::multi_patient(q::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS)
                    .slot("$XDSFolderPatientId", &[&patient_id_list(&[KAREN, JENS])]),
            )
            .fails_with("XDSStoredQueryMissingParam"),
        ]),
    })
    .await;
}

//! ITI-18 / ITI-51 stored queries against a real store (SQLite file, or PostgreSQL: see common):
//! for every query at least one positive and one negative case, and the query errors.

mod common;

use common::*;
use registry::query::param;
use registry::{QueryResponse, ReturnType, StoreConfig, StoredQueryRequest};
use xds_model::vocabulary::{association_type, dk, error_code, object_type, stored_query};

/// The dataset every query test reads.
///
/// PATIENT: SS1 {D1, D2, D3 (on-demand), F1 {D1}}, SS2 {D4}, SS3 {D5 RPLC D4 (D4 now
/// Deprecated)}. OTHER_PATIENT: SS4 {D6, F2 {D6}}.
struct Data {
    f: Fixture,
    d1: String,
    d2: String,
    d3: String,
    d4: String,
    d5: String,
    d6: String,
    d1_unique_id: String,
    f1: String,
    f1_unique_id: String,
    f2: String,
    ss1: String,
    ss2: String,
    ss3: String,
    ss4: String,
    rplc: String,
}

const REFERENCE_ID: &str = "A12345^^^&1.2.208.176.1.9&ISO^urn:ihe:iti:xds:2013:order";

async fn data_with(config: StoreConfig) -> Data {
    let f = fixture_with(config).await;
    let mut d1 = Doc::new("D1");
    d1.reference_ids = vec![REFERENCE_ID.to_owned()];
    let mut d2 = Doc::new("D2");
    d2.class_code = ("002".into(), dk::CLASS_CODE_SYSTEM.into());
    d2.type_code = ("56446-8".into(), dk::LOINC.into());
    d2.format_code = (
        "urn:ad:dk:medcom:other".into(),
        dk::FORMAT_CODE_SYSTEM.into(),
    );
    d2.practice_setting_code = ("394802001".into(), dk::SNOMED_CT.into());
    d2.facility_type_code = ("264372000".into(), dk::SNOMED_CT.into());
    d2.event_codes = vec![
        ("ALAL01".into(), dk::SKS.into()),
        ("ALAL02".into(), dk::SKS.into()),
    ];
    d2.confidentiality_codes = vec![
        ("N".into(), dk::CONFIDENTIALITY_SYSTEM.into()),
        ("R".into(), dk::CONFIDENTIALITY_SYSTEM.into()),
    ];
    d2.creation_time = "20250101".into();
    d2.service_start_time = "20250102".into();
    d2.service_stop_time = None;
    d2.author_person = "^Berg^Berit^^^^^^&1.2.208.176.1.2&ISO".into();
    let mut d3 = Doc::new("D3");
    d3.object_type = object_type::ON_DEMAND_DOCUMENT_ENTRY.into();
    let r1 = check_registered(
        &f.store,
        &submission(
            PATIENT,
            &[&d1, &d2, &d3],
            vec![
                folder("F1", &unique_id(), PATIENT, "forløb-1"),
                has_member("ss-f1", "SS", "F1"),
                has_member("f1-d1", "F1", "D1"),
                has_member("ss-f1-d1", "SS", "f1-d1"),
            ],
        ),
    )
    .await;
    let d4 = Doc::new("D4");
    let r2 = check_registered(&f.store, &submission(PATIENT, &[&d4], vec![])).await;
    let d4_uuid = r2.assigned_uuids["D4"].clone();
    let d5 = Doc::new("D5");
    let r3 = check_registered(
        &f.store,
        &submission(
            PATIENT,
            &[&d5],
            vec![association(
                "rplc",
                association_type::REPLACE,
                "D5",
                &d4_uuid,
            )],
        ),
    )
    .await;
    let mut d6 = Doc::new("D6");
    d6.patient = OTHER_PATIENT.into();
    let r4 = check_registered(
        &f.store,
        &submission(
            OTHER_PATIENT,
            &[&d6],
            vec![
                folder("F2", &unique_id(), OTHER_PATIENT, "forløb-2"),
                has_member("ss-f2", "SS", "F2"),
                has_member("f2-d6", "F2", "D6"),
            ],
        ),
    )
    .await;
    // The folder's uniqueId, read back.
    let get = StoredQueryRequest::new(stored_query::GET_FOLDERS, ReturnType::LeafClass).param(
        param::FOLDER_ENTRY_UUID,
        &[&quote(&r1.assigned_uuids["F1"])],
    );
    let QueryResponse::LeafClass(folders) = f.store.query(&get).await.unwrap() else {
        panic!()
    };
    let xds_model::rim::Identifiable::RegistryPackage(p) = &folders[0] else {
        panic!()
    };
    let f1_unique_id = p
        .object
        .external_identifiers_by_scheme(xds_model::vocabulary::folder::UNIQUE_ID)
        .next()
        .unwrap()
        .value
        .clone();
    Data {
        d1: r1.assigned_uuids["D1"].clone(),
        d2: r1.assigned_uuids["D2"].clone(),
        d3: r1.assigned_uuids["D3"].clone(),
        d4: d4_uuid,
        d5: r3.assigned_uuids["D5"].clone(),
        d6: r4.assigned_uuids["D6"].clone(),
        d1_unique_id: d1.unique_id.clone(),
        f1: r1.assigned_uuids["F1"].clone(),
        f1_unique_id,
        f2: r4.assigned_uuids["F2"].clone(),
        ss1: r1.assigned_uuids["SS"].clone(),
        ss2: r2.assigned_uuids["SS"].clone(),
        ss3: r3.assigned_uuids["SS"].clone(),
        ss4: r4.assigned_uuids["SS"].clone(),
        rplc: r3.assigned_uuids["rplc"].clone(),
        f,
    }
}

async fn data() -> Data {
    data_with(StoreConfig::default()).await
}

fn find_documents(patient: &str) -> StoredQueryRequest {
    StoredQueryRequest::new(stored_query::FIND_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_PATIENT_ID, &[&quote(patient)])
        .param(param::DE_STATUS, &[&list(&[APPROVED])])
}

#[tokio::test]
async fn find_documents_by_patient_status_and_type() {
    let d = data().await;
    let s = &d.f.store;
    check_query(s, &find_documents(PATIENT), &[&d.d1, &d.d2, &d.d5]).await;
    check_query(s, &find_documents(OTHER_PATIENT), &[&d.d6]).await;
    check_query(s, &find_documents("9999999999^^^&1.2.208.176.1.2&ISO"), &[]).await;
    let both = StoredQueryRequest::new(stored_query::FIND_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_PATIENT_ID, &[&quote(PATIENT)])
        .param(param::DE_STATUS, &[&quote(APPROVED), &quote(DEPRECATED)]);
    check_query(s, &both, &[&d.d1, &d.d2, &d.d4, &d.d5]).await;
    let on_demand = find_documents(PATIENT).param(
        param::DE_TYPE,
        &[&list(&[object_type::ON_DEMAND_DOCUMENT_ENTRY])],
    );
    check_query(s, &on_demand, &[&d.d3]).await;
    let any_type = find_documents(PATIENT).param(
        param::DE_TYPE,
        &[&list(&[
            object_type::ON_DEMAND_DOCUMENT_ENTRY,
            object_type::STABLE_DOCUMENT_ENTRY,
        ])],
    );
    check_query(s, &any_type, &[&d.d1, &d.d2, &d.d3, &d.d5]).await;

    let no_status = StoredQueryRequest::new(stored_query::FIND_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_PATIENT_ID, &[&quote(PATIENT)]);
    check_query_error(s, &no_status, error_code::STORED_QUERY_MISSING_PARAM).await;
    let no_patient = StoredQueryRequest::new(stored_query::FIND_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_STATUS, &[&list(&[APPROVED])]);
    check_query_error(s, &no_patient, error_code::STORED_QUERY_MISSING_PARAM).await;
}

#[tokio::test]
async fn find_documents_by_codes() {
    let d = data().await;
    let s = &d.f.store;
    let class = |v: &str| find_documents(PATIENT).param(param::DE_CLASS_CODE, &[v]);
    check_query(s, &class(&list(&["002^^1.2.208.184.100.9"])), &[&d.d2]).await;
    check_query(
        s,
        &class(&list(&["001^^1.2.208.184.100.9"])),
        &[&d.d1, &d.d5],
    )
    .await;
    // ITI-18 requires the scheme (NIST test 11897 classcode_scheme_mismatch).
    check_query_error(s, &class(&list(&["001"])), error_code::REGISTRY_ERROR).await;
    check_query(s, &class(&list(&["001^^2.16.840.1.113883.6.1"])), &[]).await;
    check_query(
        s,
        &class(&list(&["001^^1.2.208.184.100.9", "002^^1.2.208.184.100.9"])),
        &[&d.d1, &d.d2, &d.d5],
    )
    .await;

    let by = |name: &str, v: &str| find_documents(PATIENT).param(name, &[&list(&[v])]);
    check_query(
        s,
        &by(param::DE_TYPE_CODE, "56446-8^^2.16.840.1.113883.6.1"),
        &[&d.d2],
    )
    .await;
    check_query(
        s,
        &by(
            param::DE_PRACTICE_SETTING_CODE,
            "408443003^^2.16.840.1.113883.6.96",
        ),
        &[&d.d1, &d.d5],
    )
    .await;
    check_query(
        s,
        &by(
            param::DE_HEALTHCARE_FACILITY_TYPE_CODE,
            "264372000^^2.16.840.1.113883.6.96",
        ),
        &[&d.d2],
    )
    .await;
    check_query(
        s,
        &by(
            param::DE_FORMAT_CODE,
            &format!("{}^^{}", dk::APD_FORMAT_CODE, dk::FORMAT_CODE_SYSTEM),
        ),
        &[&d.d1, &d.d5],
    )
    .await;
    check_query(s, &by(param::DE_FORMAT_CODE, "nothing^^1.2.3"), &[]).await;

    // Event codes: a list is OR, repeated slots are AND (ITI TF-2a 3.18.4.1.2.3.5).
    let or = find_documents(PATIENT).param(
        param::DE_EVENT_CODE_LIST,
        &[&list(&[
            "ALAL02^^1.2.208.176.2.4",
            "ALAL99^^1.2.208.176.2.4",
        ])],
    );
    check_query(s, &or, &[&d.d2]).await;
    let and = find_documents(PATIENT)
        .param(
            param::DE_EVENT_CODE_LIST,
            &[&list(&["ALAL01^^1.2.208.176.2.4"])],
        )
        .param(
            param::DE_EVENT_CODE_LIST,
            &[&list(&["ALAL02^^1.2.208.176.2.4"])],
        );
    check_query(s, &and, &[&d.d2]).await;
    let and_none = find_documents(PATIENT)
        .param(
            param::DE_EVENT_CODE_LIST,
            &[&list(&["ALAL01^^1.2.208.176.2.4"])],
        )
        .param(
            param::DE_EVENT_CODE_LIST,
            &[&list(&["ALAL99^^1.2.208.176.2.4"])],
        );
    check_query(s, &and_none, &[]).await;
    // Several Value elements in one slot are OR as well.
    let values = find_documents(PATIENT).param(
        param::DE_CONFIDENTIALITY_CODE,
        &[
            "('R^^2.16.840.1.113883.5.25')",
            "('X^^2.16.840.1.113883.5.25')",
        ],
    );
    check_query(s, &values, &[&d.d2]).await;
    let conf_and = find_documents(PATIENT)
        .param(
            param::DE_CONFIDENTIALITY_CODE,
            &[&list(&["N^^2.16.840.1.113883.5.25"])],
        )
        .param(
            param::DE_CONFIDENTIALITY_CODE,
            &[&list(&["R^^2.16.840.1.113883.5.25"])],
        );
    check_query(s, &conf_and, &[&d.d2]).await;
    // classCode may not repeat.
    let twice = class(&list(&["001^^1.2.208.184.100.9"]))
        .param(param::DE_CLASS_CODE, &[&list(&["002^^1.2.208.184.100.9"])]);
    check_query_error(s, &twice, error_code::STORED_QUERY_PARAM_NUMBER).await;
}

#[tokio::test]
async fn find_documents_by_time_ranges_and_author() {
    let d = data().await;
    let s = &d.f.store;
    let q = |name: &str, v: &str| find_documents(PATIENT).param(name, &[v]);
    // From is inclusive, To exclusive, at any precision.
    check_query(
        s,
        &q(param::DE_CREATION_TIME_FROM, "20261101120000"),
        &[&d.d1, &d.d5],
    )
    .await;
    check_query(
        s,
        &q(param::DE_CREATION_TIME_TO, "20261101120000"),
        &[&d.d2],
    )
    .await;
    check_query(s, &q(param::DE_CREATION_TIME_FROM, "2026"), &[&d.d1, &d.d5]).await;
    check_query(s, &q(param::DE_CREATION_TIME_TO, "2025"), &[]).await;
    check_query(
        s,
        &q(param::DE_SERVICE_START_TIME_FROM, "202601"),
        &[&d.d1, &d.d5],
    )
    .await;
    check_query(s, &q(param::DE_SERVICE_START_TIME_TO, "20250103"), &[&d.d2]).await;
    // D2 has no serviceStopTime, so a stop-time bound never matches it.
    check_query(
        s,
        &q(param::DE_SERVICE_STOP_TIME_FROM, "2020"),
        &[&d.d1, &d.d5],
    )
    .await;
    check_query(s, &q(param::DE_SERVICE_STOP_TIME_TO, "20261201100000"), &[]).await;
    check_query_error(
        s,
        &q(param::DE_CREATION_TIME_FROM, "2026-11-01"),
        error_code::REGISTRY_ERROR,
    )
    .await;
    check_query_error(
        s,
        &find_documents(PATIENT).param(param::DE_CREATION_TIME_FROM, &["2025", "2026"]),
        error_code::STORED_QUERY_PARAM_NUMBER,
    )
    .await;

    check_query(s, &q(param::DE_AUTHOR_PERSON, "'%Berg%'"), &[&d.d2]).await;
    check_query(
        s,
        &q(param::DE_AUTHOR_PERSON, "'_Andersen%'"),
        &[&d.d1, &d.d5],
    )
    .await;
    check_query(
        s,
        &q(param::DE_AUTHOR_PERSON, "('%Berg%', '%Andersen%')"),
        &[&d.d1, &d.d2, &d.d5],
    )
    .await;
    check_query(s, &q(param::DE_AUTHOR_PERSON, "'Andersen'"), &[]).await;
    // Alike on every backend (SQLite's LIKE is the reference): ASCII letters match whatever
    // their case, and there is no escape character, so `\` is an ordinary one.
    check_query(s, &q(param::DE_AUTHOR_PERSON, "'%berg%'"), &[&d.d2]).await;
    check_query(s, &q(param::DE_AUTHOR_PERSON, r"'\^Berg%'"), &[]).await;
}

#[tokio::test]
async fn find_documents_by_reference_id_and_for_multiple_patients() {
    let d = data().await;
    let s = &d.f.store;
    let by_ref = |v: &str| {
        StoredQueryRequest::new(
            stored_query::FIND_DOCUMENTS_BY_REFERENCE_ID,
            ReturnType::ObjectRef,
        )
        .param(param::DE_PATIENT_ID, &[&quote(PATIENT)])
        .param(param::DE_STATUS, &[&list(&[APPROVED])])
        .param(param::DE_REFERENCE_ID_LIST, &[&list(&[v])])
    };
    check_query(s, &by_ref(REFERENCE_ID), &[&d.d1]).await;
    check_query(s, &by_ref("other^^^&1.2.3&ISO"), &[]).await;
    let missing = StoredQueryRequest::new(
        stored_query::FIND_DOCUMENTS_BY_REFERENCE_ID,
        ReturnType::ObjectRef,
    )
    .param(param::DE_PATIENT_ID, &[&quote(PATIENT)])
    .param(param::DE_STATUS, &[&list(&[APPROVED])]);
    check_query_error(s, &missing, error_code::STORED_QUERY_MISSING_PARAM).await;

    let multi = |patients: &[&str]| {
        let r = StoredQueryRequest::new(
            stored_query::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS,
            ReturnType::ObjectRef,
        )
        .param(param::DE_STATUS, &[&list(&[APPROVED])]);
        if patients.is_empty() {
            r
        } else {
            r.param(param::DE_PATIENT_ID, &[&list(patients)])
        }
    };
    check_query(
        s,
        &multi(&[PATIENT, OTHER_PATIENT]),
        &[&d.d1, &d.d2, &d.d5, &d.d6],
    )
    .await;
    check_query(s, &multi(&[OTHER_PATIENT]), &[&d.d6]).await;
    check_query(s, &multi(&[]), &[&d.d1, &d.d2, &d.d5, &d.d6]).await;
    check_query(s, &multi(&["9999999999^^^&1.2.208.176.1.2&ISO"]), &[]).await;
}

#[tokio::test]
async fn find_submission_sets() {
    let d = data().await;
    let s = &d.f.store;
    let q = || {
        StoredQueryRequest::new(stored_query::FIND_SUBMISSION_SETS, ReturnType::ObjectRef)
            .param(param::SS_PATIENT_ID, &[&quote(PATIENT)])
            .param(param::SS_STATUS, &[&list(&[APPROVED])])
    };
    check_query(s, &q(), &[&d.ss1, &d.ss2, &d.ss3]).await;
    check_query(
        s,
        &q().param(param::SS_SOURCE_ID, &[&list(&["1.2.208.176.43210.8.10"])]),
        &[&d.ss1, &d.ss2, &d.ss3],
    )
    .await;
    check_query(
        s,
        &q().param(param::SS_SOURCE_ID, &[&list(&["1.2.3"])]),
        &[],
    )
    .await;
    check_query(
        s,
        &q().param(param::SS_SUBMISSION_TIME_FROM, &["20261125120000"]),
        &[&d.ss1, &d.ss2, &d.ss3],
    )
    .await;
    check_query(
        s,
        &q().param(param::SS_SUBMISSION_TIME_TO, &["20261125120000"]),
        &[],
    )
    .await;
    check_query(
        s,
        &q().param(param::SS_AUTHOR_PERSON, &["'%Hansen%'"]),
        &[&d.ss1, &d.ss2, &d.ss3],
    )
    .await;
    check_query(
        s,
        &q().param(
            param::SS_CONTENT_TYPE,
            &[&list(&["71388002^^2.16.840.1.113883.6.96"])],
        ),
        &[&d.ss1, &d.ss2, &d.ss3],
    )
    .await;
    check_query(
        s,
        &q().param(param::SS_CONTENT_TYPE, &[&list(&["1^^2"])]),
        &[],
    )
    .await;
    let other = StoredQueryRequest::new(stored_query::FIND_SUBMISSION_SETS, ReturnType::ObjectRef)
        .param(param::SS_PATIENT_ID, &[&quote(OTHER_PATIENT)])
        .param(param::SS_STATUS, &[&list(&[APPROVED])]);
    check_query(s, &other, &[&d.ss4]).await;
    let no_status =
        StoredQueryRequest::new(stored_query::FIND_SUBMISSION_SETS, ReturnType::ObjectRef)
            .param(param::SS_PATIENT_ID, &[&quote(PATIENT)]);
    check_query_error(s, &no_status, error_code::STORED_QUERY_MISSING_PARAM).await;
}

#[tokio::test]
async fn find_folders_and_for_multiple_patients() {
    let d = data().await;
    let s = &d.f.store;
    let q = |patient: &str| {
        StoredQueryRequest::new(stored_query::FIND_FOLDERS, ReturnType::ObjectRef)
            .param(param::FOLDER_PATIENT_ID, &[&quote(patient)])
            .param(param::FOLDER_STATUS, &[&list(&[APPROVED])])
    };
    check_query(s, &q(PATIENT), &[&d.f1]).await;
    check_query(s, &q(OTHER_PATIENT), &[&d.f2]).await;
    check_query(
        s,
        &q(PATIENT).param(
            param::FOLDER_CODE_LIST,
            &[&list(&["forløb-1^^2.16.840.1.113883.6.96"])],
        ),
        &[&d.f1],
    )
    .await;
    check_query(
        s,
        &q(PATIENT).param(
            param::FOLDER_CODE_LIST,
            &[&list(&["forløb-2^^2.16.840.1.113883.6.96"])],
        ),
        &[],
    )
    .await;
    check_query(
        s,
        &q(PATIENT).param(param::FOLDER_LAST_UPDATE_TIME_FROM, &["2000"]),
        &[&d.f1],
    )
    .await;
    check_query(
        s,
        &q(PATIENT).param(param::FOLDER_LAST_UPDATE_TIME_FROM, &["2999"]),
        &[],
    )
    .await;
    let multi = StoredQueryRequest::new(
        stored_query::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS,
        ReturnType::ObjectRef,
    )
    .param(
        param::FOLDER_PATIENT_ID,
        &[&list(&[PATIENT, OTHER_PATIENT])],
    )
    .param(param::FOLDER_STATUS, &[&list(&[APPROVED])]);
    check_query(s, &multi, &[&d.f1, &d.f2]).await;
    let multi_deprecated = StoredQueryRequest::new(
        stored_query::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS,
        ReturnType::ObjectRef,
    )
    .param(param::FOLDER_STATUS, &[&list(&[DEPRECATED])]);
    check_query(s, &multi_deprecated, &[]).await;
}

#[tokio::test]
async fn get_all() {
    let d = data().await;
    let s = &d.f.store;
    let q = |patient: &str| {
        StoredQueryRequest::new(stored_query::GET_ALL, ReturnType::ObjectRef)
            .param(param::PATIENT_ID, &[&quote(patient)])
            .param(param::DE_STATUS, &[&list(&[APPROVED])])
            .param(param::SS_STATUS, &[&list(&[APPROVED])])
            .param(param::FOLDER_STATUS, &[&list(&[APPROVED])])
    };
    let ids = s.query(&q(PATIENT)).await.unwrap().ids();
    for id in [&d.ss1, &d.ss2, &d.ss3, &d.d1, &d.d2, &d.d5, &d.f1] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
    for id in [&d.d3, &d.d4, &d.d6, &d.f2, &d.ss4, &d.rplc] {
        assert!(!ids.contains(id), "{id} unexpected in {ids:?}");
    }
    // SS1: 3 DE-members (2 returned) + folder + folder membership (3 associations: SS→F1,
    // F1→D1, SS→(F1→D1)); SS1→D1, SS1→D2; SS2→D4 is not (D4 deprecated); SS3→D5; RPLC not
    // (its target D4 is not returned).
    let objects = 3 + 3 + 1;
    let associations = 2 + 3 + 1;
    assert_eq!(ids.len(), objects + associations, "{ids:?}");
    check_query(s, &q("9999999999^^^&1.2.208.176.1.2&ISO"), &[]).await;
    let missing = StoredQueryRequest::new(stored_query::GET_ALL, ReturnType::ObjectRef)
        .param(param::PATIENT_ID, &[&quote(PATIENT)]);
    check_query_error(s, &missing, error_code::STORED_QUERY_MISSING_PARAM).await;
}

#[tokio::test]
async fn get_documents_and_get_folders() {
    let d = data().await;
    let s = &d.f.store;
    let by_uuid = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::LeafClass)
        .param(param::DE_ENTRY_UUID, &[&list(&[&d.d1, &d.d4])]);
    check_query(s, &by_uuid, &[&d.d1, &d.d4]).await;
    let by_unique_id = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_UNIQUE_ID, &[&list(&[&d.d1_unique_id])]);
    check_query(s, &by_unique_id, &[&d.d1]).await;
    let unknown = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_UNIQUE_ID, &[&list(&["1.2.3.4"])]);
    check_query(s, &unknown, &[]).await;
    // A folder's uuid does not make it a document.
    let folder_uuid = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_ENTRY_UUID, &[&list(&[&d.f1])]);
    check_query(s, &folder_uuid, &[]).await;
    let both = by_uuid
        .clone()
        .param(param::DE_UNIQUE_ID, &[&list(&[&d.d1_unique_id])]);
    check_query_error(s, &both, error_code::STORED_QUERY_PARAM_NUMBER).await;
    let neither = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef);
    check_query_error(s, &neither, error_code::STORED_QUERY_PARAM_NUMBER).await;
    let two_patients = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::ObjectRef)
        .param(param::DE_ENTRY_UUID, &[&list(&[&d.d1, &d.d6])]);
    check_query_error(s, &two_patients, error_code::RESULT_NOT_SINGLE_PATIENT).await;

    let folders = StoredQueryRequest::new(stored_query::GET_FOLDERS, ReturnType::ObjectRef)
        .param(param::FOLDER_UNIQUE_ID, &[&list(&[&d.f1_unique_id])]);
    check_query(s, &folders, &[&d.f1]).await;
    let folders = StoredQueryRequest::new(stored_query::GET_FOLDERS, ReturnType::ObjectRef)
        .param(param::FOLDER_ENTRY_UUID, &[&list(&[&d.f2, &d.d1])]);
    check_query(s, &folders, &[&d.f2]).await;
    let neither = StoredQueryRequest::new(stored_query::GET_FOLDERS, ReturnType::ObjectRef);
    check_query_error(s, &neither, error_code::STORED_QUERY_PARAM_NUMBER).await;
}

#[tokio::test]
async fn get_associations_and_documents_and_associations() {
    let d = data().await;
    let s = &d.f.store;
    let q = StoredQueryRequest::new(stored_query::GET_ASSOCIATIONS, ReturnType::LeafClass)
        .param(param::UUID, &[&list(&[&d.d1])]);
    let QueryResponse::LeafClass(objects) = s.query(&q).await.unwrap() else {
        panic!()
    };
    assert_eq!(objects.len(), 2, "SS1→D1 and F1→D1");
    assert!(
        objects
            .iter()
            .all(|o| matches!(o, xds_model::rim::Identifiable::Association(_)))
    );
    let none = StoredQueryRequest::new(stored_query::GET_ASSOCIATIONS, ReturnType::ObjectRef)
        .param(
            param::UUID,
            &[&list(&["urn:uuid:33333333-3333-4333-8333-333333333333"])],
        );
    check_query(s, &none, &[]).await;
    let missing = StoredQueryRequest::new(stored_query::GET_ASSOCIATIONS, ReturnType::ObjectRef);
    check_query_error(s, &missing, error_code::STORED_QUERY_MISSING_PARAM).await;

    let q = StoredQueryRequest::new(
        stored_query::GET_DOCUMENTS_AND_ASSOCIATIONS,
        ReturnType::ObjectRef,
    )
    .param(param::DE_ENTRY_UUID, &[&list(&[&d.d5])]);
    let ids = s.query(&q).await.unwrap().ids();
    assert_eq!(ids.len(), 3, "D5, SS3→D5, RPLC: {ids:?}");
    assert!(ids.contains(&d.d5) && ids.contains(&d.rplc));
    let q = StoredQueryRequest::new(
        stored_query::GET_DOCUMENTS_AND_ASSOCIATIONS,
        ReturnType::ObjectRef,
    )
    .param(param::DE_UNIQUE_ID, &[&list(&["1.2.3.4"])]);
    check_query(s, &q, &[]).await;
}

#[tokio::test]
async fn get_submission_sets_and_contents() {
    let d = data().await;
    let s = &d.f.store;
    let q = StoredQueryRequest::new(stored_query::GET_SUBMISSION_SETS, ReturnType::ObjectRef)
        .param(param::UUID, &[&list(&[&d.d1, &d.d5])]);
    let ids = s.query(&q).await.unwrap().ids();
    assert!(ids.contains(&d.ss1) && ids.contains(&d.ss3));
    assert_eq!(
        ids.len(),
        4,
        "SS1, SS3 and their HasMember to D1, D5: {ids:?}"
    );
    let q = StoredQueryRequest::new(stored_query::GET_SUBMISSION_SETS, ReturnType::ObjectRef)
        .param(param::UUID, &[&list(&[&d.d6])]);
    let ids = s.query(&q).await.unwrap().ids();
    assert!(ids.contains(&d.ss4) && ids.len() == 2, "{ids:?}");
    let q = StoredQueryRequest::new(stored_query::GET_SUBMISSION_SETS, ReturnType::ObjectRef)
        .param(param::UUID, &[&list(&[&d.ss1])]);
    check_query(s, &q, &[]).await;

    let contents = |ss: &str| {
        StoredQueryRequest::new(
            stored_query::GET_SUBMISSION_SET_AND_CONTENTS,
            ReturnType::ObjectRef,
        )
        .param(param::SS_ENTRY_UUID, &[&quote(ss)])
    };
    let ids = s.query(&contents(&d.ss1)).await.unwrap().ids();
    for id in [&d.ss1, &d.d1, &d.d2, &d.f1] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
    assert!(
        !ids.contains(&d.d3),
        "on-demand D3 is excluded without $XDSDocumentEntryType"
    );
    // SS1, D1, D2, F1 + SS→D1, SS→D2, SS→F1, F1→D1, SS→(F1→D1)
    assert_eq!(ids.len(), 9, "{ids:?}");
    let filtered = contents(&d.ss1).param(
        param::DE_FORMAT_CODE,
        &[&list(&["urn:ad:dk:medcom:other^^1.2.208.184.100.10"])],
    );
    let ids = s.query(&filtered).await.unwrap().ids();
    assert!(ids.contains(&d.d2) && !ids.contains(&d.d1), "{ids:?}");
    check_query(
        s,
        &contents("urn:uuid:44444444-4444-4444-8444-444444444444"),
        &[],
    )
    .await;
    let two = StoredQueryRequest::new(
        stored_query::GET_SUBMISSION_SET_AND_CONTENTS,
        ReturnType::ObjectRef,
    )
    .param(param::SS_ENTRY_UUID, &[&list(&[&d.ss1, &d.ss2])]);
    check_query_error(s, &two, error_code::STORED_QUERY_PARAM_NUMBER).await;
}

#[tokio::test]
async fn get_folder_and_contents_and_folders_for_document() {
    let d = data().await;
    let s = &d.f.store;
    let q = |folder: &str| {
        StoredQueryRequest::new(stored_query::GET_FOLDER_AND_CONTENTS, ReturnType::ObjectRef)
            .param(param::FOLDER_ENTRY_UUID, &[&quote(folder)])
    };
    let ids = s.query(&q(&d.f1)).await.unwrap().ids();
    assert!(
        ids.contains(&d.f1) && ids.contains(&d.d1) && !ids.contains(&d.d6),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 3, "F1, D1, F1→D1: {ids:?}");
    let by_unique =
        StoredQueryRequest::new(stored_query::GET_FOLDER_AND_CONTENTS, ReturnType::ObjectRef)
            .param(param::FOLDER_UNIQUE_ID, &[&quote(&d.f1_unique_id)])
            .param(
                param::DE_CONFIDENTIALITY_CODE,
                &[&list(&["R^^2.16.840.1.113883.5.25"])],
            );
    check_query(s, &by_unique, &[&d.f1]).await;
    check_query(s, &q(&d.d1), &[]).await;

    let for_doc = |doc: &str| {
        StoredQueryRequest::new(
            stored_query::GET_FOLDERS_FOR_DOCUMENT,
            ReturnType::ObjectRef,
        )
        .param(param::DE_ENTRY_UUID, &[&quote(doc)])
    };
    check_query(s, &for_doc(&d.d1), &[&d.f1]).await;
    check_query(s, &for_doc(&d.d2), &[]).await;
    let by_unique = StoredQueryRequest::new(
        stored_query::GET_FOLDERS_FOR_DOCUMENT,
        ReturnType::ObjectRef,
    )
    .param(param::DE_UNIQUE_ID, &[&quote(&d.d1_unique_id)]);
    check_query(s, &by_unique, &[&d.f1]).await;
}

#[tokio::test]
async fn get_related_documents() {
    let d = data().await;
    let s = &d.f.store;
    let q = |doc: &str, types: &[&str]| {
        StoredQueryRequest::new(stored_query::GET_RELATED_DOCUMENTS, ReturnType::ObjectRef)
            .param(param::DE_ENTRY_UUID, &[&quote(doc)])
            .param(param::ASSOCIATION_TYPES, &[&list(types)])
    };
    check_query(
        s,
        &q(&d.d5, &[association_type::REPLACE]),
        &[&d.d5, &d.d4, &d.rplc],
    )
    .await;
    check_query(
        s,
        &q(
            &d.d4,
            &[association_type::REPLACE, association_type::APPEND],
        ),
        &[&d.d4, &d.d5, &d.rplc],
    )
    .await;
    check_query(s, &q(&d.d5, &[association_type::APPEND]), &[]).await;
    check_query(s, &q(&d.d1, &[association_type::REPLACE]), &[]).await;
    let missing =
        StoredQueryRequest::new(stored_query::GET_RELATED_DOCUMENTS, ReturnType::ObjectRef)
            .param(param::DE_ENTRY_UUID, &[&quote(&d.d5)]);
    check_query_error(s, &missing, error_code::STORED_QUERY_MISSING_PARAM).await;
}

#[tokio::test]
async fn too_many_results_and_unknown_queries() {
    let d = data_with(StoreConfig {
        query_results_max: 2,
        ..StoreConfig::default()
    })
    .await;
    let s = &d.f.store;
    check_query_error(s, &find_documents(PATIENT), error_code::TOO_MANY_RESULTS).await;
    check_query(s, &find_documents(OTHER_PATIENT), &[&d.d6]).await;
    let unknown = StoredQueryRequest::new(
        "urn:uuid:00000000-0000-4000-8000-00000000ffff",
        ReturnType::ObjectRef,
    );
    check_query_error(s, &unknown, error_code::UNKNOWN_STORED_QUERY).await;
    let level = find_documents(OTHER_PATIENT).param(param::METADATA_LEVEL, &["3"]);
    check_query_error(s, &level, error_code::REGISTRY_ERROR).await;
    let level = find_documents(OTHER_PATIENT).param(param::METADATA_LEVEL, &["1"]);
    check_query(s, &level, &[&d.d6]).await;
}

#[tokio::test]
async fn leaf_class_returns_the_stored_objects() {
    let d = data().await;
    let q = find_documents(OTHER_PATIENT);
    let mut leaf = q.clone();
    leaf.return_type = ReturnType::LeafClass;
    let QueryResponse::LeafClass(objects) = d.f.store.query(&leaf).await.unwrap() else {
        panic!()
    };
    assert_eq!(objects.len(), 1);
    let xds_model::rim::Identifiable::ExtrinsicObject(e) = &objects[0] else {
        panic!()
    };
    assert_eq!(e.object.id, d.d6);
    assert_eq!(e.mime_type.as_deref(), Some("text/xml"));
    assert_eq!(e.object.status.as_deref(), Some(APPROVED));
    let QueryResponse::ObjectRefs(refs) = d.f.store.query(&q).await.unwrap() else {
        panic!()
    };
    assert_eq!(refs, std::slice::from_ref(&d.d6));
}

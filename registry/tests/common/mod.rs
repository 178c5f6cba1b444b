//! Test support: a registry on a temporary SQLite file — or, when `DDS_TEST_DATABASE_URL`
//! names a PostgreSQL database, in a fresh schema of it — DK metadata builders, and the
//! `check_*` helpers every test goes through. The same tests thus run against both backends
//! (`.ci/run` runs them a second time with the variable set).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use registry::postgres::ScratchSchema;
use registry::query::param;
use registry::{
    PatientPolicy, PgRegistryStore, QueryResponse, RegisterError, RegisterOptions, Registered,
    RegistryStore, ReturnType, SqliteRegistryStore, StoreConfig, StoreError, StoredQueryRequest,
};
use xds_model::rim::{
    Association, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable,
    InternationalString, RegistryObject, RegistryObjectList, RegistryPackage, Slot,
};
use xds_model::vocabulary::{
    association_type, classification_node, dk, document_entry, folder, object_type, status,
    stored_query, submission_set,
};

pub const PATIENT: &str = "2512489996^^^&1.2.208.176.1.2&ISO";
pub const OTHER_PATIENT: &str = "0101010000^^^&1.2.208.176.1.2&ISO";
pub const APPROVED: &str = status::APPROVED;
pub const DEPRECATED: &str = status::DEPRECATED;

/// The variable naming the PostgreSQL database (`postgres://…`) the tests run against;
/// unset, they run on SQLite.
pub const DATABASE_URL_VARIABLE: &str = "DDS_TEST_DATABASE_URL";

/// The PostgreSQL database the tests run against, if any.
pub fn test_database_url() -> Option<String> {
    std::env::var(DATABASE_URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
}

/// The store under test, whichever backend; it derefs to the trait the tests exercise.
#[derive(Clone)]
pub enum TestStore {
    Sqlite(SqliteRegistryStore),
    Postgres(PgRegistryStore),
}

impl TestStore {
    pub async fn table_row_counts(&self) -> Result<BTreeMap<&'static str, i64>, StoreError> {
        match self {
            TestStore::Sqlite(store) => store.table_row_counts().await,
            TestStore::Postgres(store) => store.table_row_counts().await,
        }
    }
}

impl std::ops::Deref for TestStore {
    type Target = dyn RegistryStore;

    fn deref(&self) -> &Self::Target {
        match self {
            TestStore::Sqlite(store) => store,
            TestStore::Postgres(store) => store,
        }
    }
}

/// A registry on a fresh database (file or schema) that lives as long as the fixture.
pub struct Fixture {
    /// Declared first, so its pools are dropped before the schema is.
    pub store: TestStore,
    _dir: tempfile::TempDir,
    _schema: Option<ScratchSchema>,
}

pub async fn fixture() -> Fixture {
    fixture_with(StoreConfig::default()).await
}

pub async fn fixture_with(config: StoreConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    match test_database_url() {
        Some(url) => {
            let schema = ScratchSchema::create(&url).await.unwrap();
            let store = PgRegistryStore::open(schema.url(), config).await.unwrap();
            Fixture {
                store: TestStore::Postgres(store),
                _dir: dir,
                _schema: Some(schema),
            }
        }
        None => {
            let store = SqliteRegistryStore::open(&dir.path().join("registry.db"), config)
                .await
                .unwrap();
            Fixture {
                store: TestStore::Sqlite(store),
                _dir: dir,
                _schema: None,
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh OID-style uniqueId.
pub fn unique_id() -> String {
    format!(
        "1.2.208.999.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn coded(scheme: &str, object: &str, code: &str, system: &str, name: &str) -> Classification {
    Classification {
        object: RegistryObject {
            id: format!("cl-{}", COUNTER.fetch_add(1, Ordering::Relaxed)),
            slots: vec![Slot::new("codingScheme", [system])],
            name: Some(InternationalString::plain(name)),
            ..RegistryObject::default()
        },
        classification_scheme: Some(scheme.to_owned()),
        classified_object: object.to_owned(),
        classification_node: None,
        node_representation: Some(code.to_owned()),
    }
}

fn ext_id(scheme: &str, object: &str, value: &str, name: &str) -> ExternalIdentifier {
    ExternalIdentifier {
        object: RegistryObject {
            id: format!("ei-{}", COUNTER.fetch_add(1, Ordering::Relaxed)),
            name: Some(InternationalString::plain(name)),
            ..RegistryObject::default()
        },
        registry_object: object.to_owned(),
        identification_scheme: scheme.to_owned(),
        value: value.to_owned(),
    }
}

/// A DK appointment DocumentEntry, every attribute settable.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: String,
    pub unique_id: String,
    pub patient: String,
    pub hash: String,
    pub size: String,
    pub class_code: (String, String),
    pub type_code: (String, String),
    pub format_code: (String, String),
    pub practice_setting_code: (String, String),
    pub facility_type_code: (String, String),
    pub event_codes: Vec<(String, String)>,
    pub confidentiality_codes: Vec<(String, String)>,
    pub creation_time: String,
    pub service_start_time: String,
    pub service_stop_time: Option<String>,
    pub author_person: String,
    pub author_institution: String,
    pub reference_ids: Vec<String>,
    pub object_type: String,
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

impl Doc {
    pub fn new(id: &str) -> Doc {
        Doc {
            id: id.to_owned(),
            unique_id: unique_id(),
            patient: PATIENT.to_owned(),
            hash: "da39a3ee5e6b4b0d3255bfef95601890afd80709".to_owned(),
            size: "1024".to_owned(),
            class_code: pair("001", dk::CLASS_CODE_SYSTEM),
            type_code: pair("39289-4", dk::LOINC),
            format_code: pair(dk::APD_FORMAT_CODE, dk::FORMAT_CODE_SYSTEM),
            practice_setting_code: pair("408443003", dk::SNOMED_CT),
            facility_type_code: pair("22232009", dk::SNOMED_CT),
            event_codes: vec![pair("ALAL01", dk::SKS)],
            confidentiality_codes: vec![pair("N", dk::CONFIDENTIALITY_SYSTEM)],
            creation_time: "20261101120000".to_owned(),
            service_start_time: "20261201090000".to_owned(),
            service_stop_time: Some("20261201100000".to_owned()),
            author_person: "^Andersen^Anders^^^Dr.^^^&1.2.208.176.1.2&ISO".to_owned(),
            author_institution:
                "Aarhus Universitetshospital^^^^^^^^^1.2.208.176.1.1&ISO^^^^242621000016001"
                    .to_owned(),
            reference_ids: Vec::new(),
            object_type: object_type::STABLE_DOCUMENT_ENTRY.to_owned(),
        }
    }

    pub fn build(&self) -> Identifiable {
        let id = self.id.as_str();
        let mut slots = vec![
            Slot::new("creationTime", [self.creation_time.as_str()]),
            Slot::new("serviceStartTime", [self.service_start_time.as_str()]),
            Slot::new("hash", [self.hash.as_str()]),
            Slot::new("size", [self.size.as_str()]),
            Slot::new("languageCode", ["da-DK"]),
            Slot::new("repositoryUniqueId", ["1.2.208.176.43210.8.1.29"]),
            Slot::new("sourcePatientId", [self.patient.as_str()]),
            Slot::new(
                "sourcePatientInfo",
                [
                    "PID-3|2512489996^^^&1.2.208.176.1.2&ISO",
                    "PID-5|Berggren^Nancy^Ann^^^",
                ],
            ),
        ];
        if let Some(stop) = &self.service_stop_time {
            slots.push(Slot::new("serviceStopTime", [stop.as_str()]));
        }
        if !self.reference_ids.is_empty() {
            slots.push(Slot::new(
                "urn:ihe:iti:xds:2013:referenceIdList",
                self.reference_ids.iter().map(String::as_str),
            ));
        }
        let mut author = Classification {
            object: RegistryObject {
                id: format!("cl-{}", COUNTER.fetch_add(1, Ordering::Relaxed)),
                slots: vec![
                    Slot::new("authorPerson", [self.author_person.as_str()]),
                    Slot::new("authorInstitution", [self.author_institution.as_str()]),
                ],
                ..RegistryObject::default()
            },
            classification_scheme: Some(document_entry::AUTHOR.to_owned()),
            classified_object: id.to_owned(),
            classification_node: None,
            node_representation: Some(String::new()),
        };
        author.object.name = None;
        let mut classifications = vec![
            author,
            coded(
                document_entry::CLASS_CODE,
                id,
                &self.class_code.0,
                &self.class_code.1,
                "Klinisk rapport",
            ),
            coded(
                document_entry::TYPE_CODE,
                id,
                &self.type_code.0,
                &self.type_code.1,
                "Aftale",
            ),
            coded(
                document_entry::FORMAT_CODE,
                id,
                &self.format_code.0,
                &self.format_code.1,
                "DK APD",
            ),
            coded(
                document_entry::PRACTICE_SETTING_CODE,
                id,
                &self.practice_setting_code.0,
                &self.practice_setting_code.1,
                "almen medicin",
            ),
            coded(
                document_entry::HEALTHCARE_FACILITY_TYPE_CODE,
                id,
                &self.facility_type_code.0,
                &self.facility_type_code.1,
                "hospital",
            ),
        ];
        for (code, system) in &self.event_codes {
            classifications.push(coded(document_entry::EVENT_CODE, id, code, system, "event"));
        }
        for (code, system) in &self.confidentiality_codes {
            classifications.push(coded(
                document_entry::CONFIDENTIALITY_CODE,
                id,
                code,
                system,
                "normal",
            ));
        }
        Identifiable::ExtrinsicObject(ExtrinsicObject {
            object: RegistryObject {
                id: id.to_owned(),
                object_type: Some(self.object_type.clone()),
                slots,
                name: Some(InternationalString::plain("Aftale om ambulant besøg")),
                classifications,
                external_identifiers: vec![
                    ext_id(
                        document_entry::PATIENT_ID,
                        id,
                        &self.patient,
                        "XDSDocumentEntry.patientId",
                    ),
                    ext_id(
                        document_entry::UNIQUE_ID,
                        id,
                        &self.unique_id,
                        "XDSDocumentEntry.uniqueId",
                    ),
                ],
                ..RegistryObject::default()
            },
            mime_type: Some("text/xml".to_owned()),
            is_opaque: None,
            content_version_info: None,
        })
    }
}

/// A SubmissionSet; its marker classification is a top-level sibling, as most senders write.
pub fn submission_set(id: &str, unique_id: &str, patient: &str) -> Vec<Identifiable> {
    let package = RegistryPackage {
        object: RegistryObject {
            id: id.to_owned(),
            slots: vec![Slot::new("submissionTime", ["20261125120000"])],
            name: Some(InternationalString::plain("Aftaler")),
            classifications: vec![
                Classification {
                    object: RegistryObject {
                        id: format!("cl-{}", COUNTER.fetch_add(1, Ordering::Relaxed)),
                        slots: vec![
                            Slot::new("authorPerson", ["^Hansen^Hanne^^^^^^&1.2.208.176.1.2&ISO"]),
                            Slot::new(
                                "authorInstitution",
                                ["Region Midt^^^^^^^^^1.2.208.176.1.1&ISO^^^^123"],
                            ),
                        ],
                        ..RegistryObject::default()
                    },
                    classification_scheme: Some(submission_set::AUTHOR.to_owned()),
                    classified_object: id.to_owned(),
                    classification_node: None,
                    node_representation: Some(String::new()),
                },
                coded(
                    submission_set::CONTENT_TYPE_CODE,
                    id,
                    "71388002",
                    dk::SNOMED_CT,
                    "procedure",
                ),
            ],
            external_identifiers: vec![
                ext_id(
                    submission_set::PATIENT_ID,
                    id,
                    patient,
                    "XDSSubmissionSet.patientId",
                ),
                ext_id(
                    submission_set::UNIQUE_ID,
                    id,
                    unique_id,
                    "XDSSubmissionSet.uniqueId",
                ),
                ext_id(
                    submission_set::SOURCE_ID,
                    id,
                    "1.2.208.176.43210.8.10",
                    "XDSSubmissionSet.sourceId",
                ),
            ],
            ..RegistryObject::default()
        },
        members: Vec::new(),
    };
    let marker = Classification {
        object: RegistryObject::new(format!("cl-{}", COUNTER.fetch_add(1, Ordering::Relaxed))),
        classification_scheme: None,
        classified_object: id.to_owned(),
        classification_node: Some(classification_node::SUBMISSION_SET.to_owned()),
        node_representation: None,
    };
    vec![
        Identifiable::RegistryPackage(package),
        Identifiable::Classification(marker),
    ]
}

/// A Folder with its marker classification nested.
pub fn folder(id: &str, unique_id: &str, patient: &str, code: &str) -> Identifiable {
    Identifiable::RegistryPackage(RegistryPackage {
        object: RegistryObject {
            id: id.to_owned(),
            name: Some(InternationalString::plain("Forløb")),
            classifications: vec![
                Classification {
                    object: RegistryObject::new(format!(
                        "cl-{}",
                        COUNTER.fetch_add(1, Ordering::Relaxed)
                    )),
                    classification_scheme: None,
                    classified_object: id.to_owned(),
                    classification_node: Some(classification_node::FOLDER.to_owned()),
                    node_representation: None,
                },
                coded(folder::CODE_LIST, id, code, dk::SNOMED_CT, "forløb"),
            ],
            external_identifiers: vec![
                ext_id(folder::PATIENT_ID, id, patient, "XDSFolder.patientId"),
                ext_id(folder::UNIQUE_ID, id, unique_id, "XDSFolder.uniqueId"),
            ],
            ..RegistryObject::default()
        },
        members: Vec::new(),
    })
}

pub fn association(id: &str, kind: &str, source: &str, target: &str) -> Identifiable {
    let mut object = RegistryObject::new(id);
    if kind == association_type::HAS_MEMBER {
        object
            .slots
            .push(Slot::new("SubmissionSetStatus", ["Original"]));
    }
    Identifiable::Association(Association {
        object,
        association_type: kind.to_owned(),
        source_object: source.to_owned(),
        target_object: target.to_owned(),
    })
}

pub fn has_member(id: &str, source: &str, target: &str) -> Identifiable {
    association(id, association_type::HAS_MEMBER, source, target)
}

/// A submission: a SubmissionSet `SS` for `patient`, the given documents each with a
/// HasMember from `SS`, and any extra objects.
pub fn submission(patient: &str, docs: &[&Doc], extra: Vec<Identifiable>) -> RegistryObjectList {
    let mut objects = submission_set("SS", &unique_id(), patient);
    for (i, d) in docs.iter().enumerate() {
        objects.push(d.build());
        objects.push(has_member(&format!("ss-hm-{i}"), "SS", &d.id));
    }
    objects.extend(extra);
    RegistryObjectList { objects }
}

pub fn any_patient() -> RegisterOptions {
    RegisterOptions {
        patient_policy: PatientPolicy::Any,
    }
}

/// Registers and expects success.
pub async fn check_registered(store: &TestStore, list: &RegistryObjectList) -> Registered {
    match store.register(list, any_patient()).await {
        Ok(r) => r,
        Err(RegisterError::Rejected(findings)) => panic!("rejected: {findings:#?}"),
        Err(e) => panic!("store error: {e}"),
    }
}

/// Registers, expects a rejection with exactly these error codes (in any order, with
/// repetitions), and proves that no table changed.
pub async fn check_rejected_with(
    store: &TestStore,
    list: &RegistryObjectList,
    options: RegisterOptions,
    expected_codes: &[&str],
) {
    let before = store.table_row_counts().await.unwrap();
    let snapshot = all_rows(store).await;
    let findings = match store.register(list, options).await {
        Err(RegisterError::Rejected(findings)) => findings,
        Ok(r) => panic!("accepted, expected {expected_codes:?}: {r:#?}"),
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
    assert_eq!(
        store.table_row_counts().await.unwrap(),
        before,
        "a rejected submission wrote rows"
    );
    assert_eq!(
        all_rows(store).await,
        snapshot,
        "a rejected submission changed stored objects"
    );
}

pub async fn check_rejected(store: &TestStore, list: &RegistryObjectList, expected_codes: &[&str]) {
    check_rejected_with(store, list, any_patient(), expected_codes).await
}

/// Every stored object (as GetAll for both test patients sees it, ObjectRef), for before/after
/// comparisons.
pub async fn all_rows(store: &TestStore) -> BTreeMap<String, Vec<String>> {
    let mut all = BTreeMap::new();
    for patient in [PATIENT, OTHER_PATIENT] {
        let request = StoredQueryRequest::new(stored_query::GET_ALL, ReturnType::LeafClass)
            .param(param::PATIENT_ID, &[&quote(patient)])
            .param(param::DE_STATUS, &[&list(&[APPROVED, DEPRECATED])])
            .param(param::SS_STATUS, &[&list(&[APPROVED, DEPRECATED])])
            .param(param::FOLDER_STATUS, &[&list(&[APPROVED, DEPRECATED])])
            .param(
                param::DE_TYPE,
                &[&list(&[
                    object_type::STABLE_DOCUMENT_ENTRY,
                    object_type::ON_DEMAND_DOCUMENT_ENTRY,
                ])],
            );
        let response = store.query(&request).await.unwrap();
        let QueryResponse::LeafClass(objects) = response else {
            panic!("not LeafClass")
        };
        all.insert(
            patient.to_owned(),
            objects.iter().map(|o| format!("{o:?}")).collect(),
        );
    }
    all
}

/// `'value'` as ITI-18 writes a string parameter.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `('a', 'b')`.
pub fn list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("({})", quoted.join(", "))
}

/// Runs a query and checks the exact set of returned ids (order-insensitive).
pub async fn check_query(store: &TestStore, request: &StoredQueryRequest, expected: &[&str]) {
    let response = store
        .query(request)
        .await
        .unwrap_or_else(|e| panic!("query failed: {e}"));
    let mut ids = response.ids();
    ids.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(
        ids, expected,
        "query {} {:?}",
        request.query_id, request.params
    );
}

/// Runs a query and checks it fails with this XDS error code.
pub async fn check_query_error(store: &TestStore, request: &StoredQueryRequest, code: &str) {
    match store.query(request).await {
        Ok(r) => panic!("query answered {} objects, expected {code}", r.len()),
        Err(e) => assert_eq!(e.error_code(), code, "{e}"),
    }
}

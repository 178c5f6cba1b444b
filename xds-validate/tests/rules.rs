//! One negative case per rule of the catalogue (each breaks exactly one thing in a valid
//! Danish submission), positive baselines per transaction, a coverage test proving every rule
//! has a case that triggers it, `check` tests showing exact output, and a snapshot of a full
//! report's rendered findings.

mod support;

use support::*;
use xds_model::message::{AdhocQueryRequest, ReturnType};
use xds_model::rim::{Identifiable, RegistryObjectList, Slot};
use xds_model::vocabulary::{
    association_type as at, dk, document_entry as de, folder as fd, status, stored_query as sq,
    submission_set as ss,
};
use xds_validate::{
    CATALOGUE, Severity, Transaction, ValidationConfig, validate_adhoc_query_request,
    validate_provide_and_register, validate_query, validate_submission,
};

/// Validates with the default configuration and compares `severity rule at location` lines.
fn check(list: &RegistryObjectList, tx: Transaction, expect: &str) {
    let report = validate_submission(list, tx, &ValidationConfig::default());
    let actual: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} at {}", f.severity, f.rule_id, f.location()))
        .collect();
    let expected: Vec<&str> = expect
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(actual, expected, "\nfull report:\n{report}");
}

struct Case {
    rule: &'static str,
    tx: Transaction,
    list: RegistryObjectList,
    /// For ITI-41 cases run through `validate_provide_and_register`: the attached documents.
    documents: Option<&'static [&'static str]>,
}

fn case(
    rule: &'static str,
    tx: Transaction,
    base: fn() -> Sub,
    edit: impl FnOnce(&mut Sub),
) -> Case {
    let mut s = base();
    edit(&mut s);
    Case {
        rule,
        tx,
        list: s.list(),
        documents: None,
    }
}

use Transaction::{Iti18, Iti41, Iti42, Iti57, Iti62};

fn cases() -> Vec<Case> {
    let mut v = vec![
        // --- submission ---
        Case {
            rule: "SUB-SUBMISSIONSET-COUNT",
            tx: Iti41,
            list: RegistryObjectList {
                objects: Sub::new()
                    .list()
                    .objects
                    .into_iter()
                    .filter(|o| !matches!(o, Identifiable::RegistryPackage(_)))
                    .collect(),
            },
            documents: None,
        },
        case("SUB-SUBMISSIONSET-COUNT", Iti42, Sub::new, |s| {
            let mut second = submission_set("SubmissionSet02");
            second.object.classifications.push(node(
                "n2",
                "SubmissionSet02",
                xds_model::vocabulary::classification_node::SUBMISSION_SET,
            ));
            s.extra.push(Identifiable::RegistryPackage(second));
        }),
        case("SUB-PACKAGE-UNCLASSIFIED", Iti42, Sub::new, |s| {
            s.ss_marker.classified_object = "Elsewhere".into()
        }),
        case("SUB-ID-DUPLICATE", Iti42, Sub::new, |s| {
            s.member.object.id = "Document01".into()
        }),
        case("SUB-HASMEMBER-DOCUMENT", Iti42, Sub::new, |s| {
            s.member.target_object = "urn:uuid:0c287d32-01e3-4d87-9953-9fcc9404eb22".into()
        }),
        case("SUB-HASMEMBER-FOLDER", Iti42, Sub::new, |s| {
            s.with_folder();
            s.extra.retain(|o| o.id() != "HasMember02");
        }),
        case("SUB-UNIQUEID-DUPLICATE", Iti42, Sub::new, |s| {
            let mut d2 = s.de.clone();
            d2.object.id = "Document02".into();
            for c in &mut d2.object.classifications {
                c.classified_object = "Document02".into();
                c.object.id.push('2');
            }
            for e in &mut d2.object.external_identifiers {
                e.registry_object = "Document02".into();
                e.object.id.push('2');
            }
            s.extra.push(Identifiable::ExtrinsicObject(d2));
            s.extra.push(Identifiable::Association(assoc(
                "HasMember03",
                at::HAS_MEMBER,
                "SubmissionSet01",
                "Document02",
                vec![Slot::new("SubmissionSetStatus", ["Original"])],
            )));
        }),
        case("SUB-PATIENTID-MATCH", Iti42, Sub::new, |s| {
            s.de_ei(de::PATIENT_ID).value = "0202021234^^^&1.2.208.176.1.2&ISO".into()
        }),
        case("SUB-LID-EQUALS-ID", Iti42, Sub::new, |s| {
            s.de.object.lid = Some(DE_LID.into())
        }),
        case("SUB-STATUS-KNOWN", Iti42, Sub::new, |s| {
            s.de.object.status = Some("Approved".into())
        }),
        case("FMT-ID", Iti42, Sub::new, |s| {
            s.rename_de("urn:uuid:not-a-uuid")
        }),
        // --- DocumentEntry ---
        case("DE-OBJECTTYPE-VALUE", Iti42, Sub::new, |s| {
            s.de.object.object_type = None
        }),
        case("DE-CLASSCODE-REQUIRED", Iti41, Sub::new, |s| {
            s.remove_de_code(de::CLASS_CODE)
        }),
        case("DE-CLASSCODE-SINGLE", Iti41, Sub::new, |s| {
            s.duplicate_de_code(de::CLASS_CODE)
        }),
        case("DE-CONFIDENTIALITYCODE-REQUIRED", Iti41, Sub::new, |s| {
            s.remove_de_code(de::CONFIDENTIALITY_CODE)
        }),
        case("DE-CREATIONTIME-REQUIRED", Iti41, Sub::new, |s| {
            s.remove_de_slot("creationTime")
        }),
        case("DE-CREATIONTIME-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("creationTime")
                .values
                .push("20240312101501".into())
        }),
        case("DE-FORMATCODE-REQUIRED", Iti41, Sub::new, |s| {
            s.remove_de_code(de::FORMAT_CODE)
        }),
        case("DE-FORMATCODE-SINGLE", Iti41, Sub::new, |s| {
            s.duplicate_de_code(de::FORMAT_CODE)
        }),
        case("DE-HASH-REQUIRED", Iti42, Sub::new, |s| {
            s.remove_de_slot("hash")
        }),
        case("DE-HASH-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("hash")
                .values
                .push("da39a3ee5e6b4b0d3255bfef95601890afd80709".into())
        }),
        case(
            "DE-HEALTHCAREFACILITYTYPECODE-REQUIRED",
            Iti41,
            Sub::new,
            |s| s.remove_de_code(de::HEALTHCARE_FACILITY_TYPE_CODE),
        ),
        case(
            "DE-HEALTHCAREFACILITYTYPECODE-SINGLE",
            Iti41,
            Sub::new,
            |s| s.duplicate_de_code(de::HEALTHCARE_FACILITY_TYPE_CODE),
        ),
        case("DE-LANGUAGECODE-REQUIRED", Iti41, Sub::new, |s| {
            s.de_slot("languageCode").values = vec![String::new()]
        }),
        case("DE-LANGUAGECODE-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("languageCode").values.push("da".into())
        }),
        case("DE-LEGALAUTHENTICATOR-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("legalAuthenticator")
                .values
                .push("^Olsen^Ole".into())
        }),
        case("DE-MIMETYPE-REQUIRED", Iti41, Sub::new, |s| {
            s.de.mime_type = None
        }),
        case("DE-PATIENTID-REQUIRED", Iti41, Sub::new, |s| {
            s.de.object
                .external_identifiers
                .retain(|e| e.identification_scheme != de::PATIENT_ID)
        }),
        case("DE-PATIENTID-SINGLE", Iti41, Sub::new, |s| {
            let mut e = s.de_ei(de::PATIENT_ID).clone();
            e.object.id.push('2');
            s.de.object.external_identifiers.push(e);
        }),
        case("DE-PRACTICESETTINGCODE-REQUIRED", Iti41, Sub::new, |s| {
            s.remove_de_code(de::PRACTICE_SETTING_CODE)
        }),
        case("DE-PRACTICESETTINGCODE-SINGLE", Iti41, Sub::new, |s| {
            s.duplicate_de_code(de::PRACTICE_SETTING_CODE)
        }),
        case("DE-REPOSITORYUNIQUEID-REQUIRED", Iti42, Sub::new, |s| {
            s.remove_de_slot("repositoryUniqueId")
        }),
        case("DE-REPOSITORYUNIQUEID-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("repositoryUniqueId").values.push("1.2.3".into())
        }),
        case("DE-SERVICESTARTTIME-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("serviceStartTime").values.push("20240401".into())
        }),
        case("DE-SERVICESTOPTIME-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("serviceStopTime").values.push("20240402".into())
        }),
        case("DE-SERVICETIME-ORDER", Iti41, Sub::new, |s| {
            s.de_slot("serviceStopTime").values = vec!["20240331".into()]
        }),
        case("DE-SIZE-REQUIRED", Iti57, Sub::update, |s| {
            s.remove_de_slot("size")
        }),
        case("DE-SIZE-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("size").values.push("1".into())
        }),
        case("DE-SOURCEPATIENTID-REQUIRED", Iti41, Sub::new, |s| {
            s.remove_de_slot("sourcePatientId")
        }),
        case("DE-SOURCEPATIENTID-SINGLE", Iti41, Sub::new, |s| {
            s.de_slot("sourcePatientId").values.push(PATIENT_ID.into())
        }),
        case("DE-TYPECODE-REQUIRED", Iti41, Sub::new, |s| {
            s.remove_de_code(de::TYPE_CODE)
        }),
        case("DE-TYPECODE-SINGLE", Iti41, Sub::new, |s| {
            s.duplicate_de_code(de::TYPE_CODE)
        }),
        case("DE-UNIQUEID-REQUIRED", Iti41, Sub::new, |s| {
            s.de.object
                .external_identifiers
                .retain(|e| e.identification_scheme != de::UNIQUE_ID)
        }),
        case("DE-UNIQUEID-SINGLE", Iti41, Sub::new, |s| {
            let mut e = s.de_ei(de::UNIQUE_ID).clone();
            e.object.id.push('2');
            e.value.push_str(".9");
            s.de.object.external_identifiers.push(e);
        }),
        // --- SubmissionSet ---
        case("SS-CONTENTTYPECODE-REQUIRED", Iti41, Sub::new, |s| {
            s.ss.object
                .classifications
                .retain(|c| c.classification_scheme.as_deref() != Some(ss::CONTENT_TYPE_CODE))
        }),
        case("SS-CONTENTTYPECODE-SINGLE", Iti41, Sub::new, |s| {
            let mut c = s.ss.object.classifications[1].clone();
            c.object.id.push('2');
            s.ss.object.classifications.push(c);
        }),
        case("SS-PATIENTID-REQUIRED", Iti41, Sub::new, |s| {
            s.ss.object
                .external_identifiers
                .retain(|e| e.identification_scheme != ss::PATIENT_ID)
        }),
        case("SS-PATIENTID-SINGLE", Iti41, Sub::new, |s| {
            let mut e = s.ss.object.external_identifiers[0].clone();
            e.object.id.push('2');
            s.ss.object.external_identifiers.push(e);
        }),
        case("SS-SOURCEID-REQUIRED", Iti41, Sub::new, |s| {
            s.ss.object
                .external_identifiers
                .retain(|e| e.identification_scheme != ss::SOURCE_ID)
        }),
        case("SS-SOURCEID-SINGLE", Iti41, Sub::new, |s| {
            let mut e = s.ss.object.external_identifiers[1].clone();
            e.object.id.push('2');
            s.ss.object.external_identifiers.push(e);
        }),
        case("SS-SUBMISSIONTIME-REQUIRED", Iti41, Sub::new, |s| {
            s.ss.object.slots.clear()
        }),
        case("SS-SUBMISSIONTIME-SINGLE", Iti41, Sub::new, |s| {
            s.ss.object.slots[0].values.push("2024".into())
        }),
        case("SS-UNIQUEID-REQUIRED", Iti41, Sub::new, |s| {
            s.ss.object
                .external_identifiers
                .retain(|e| e.identification_scheme != ss::UNIQUE_ID)
        }),
        case("SS-UNIQUEID-SINGLE", Iti41, Sub::new, |s| {
            let mut e = s.ss.object.external_identifiers[2].clone();
            e.object.id.push('2');
            e.value.push_str(".9");
            s.ss.object.external_identifiers.push(e);
        }),
        // --- Folder ---
        case("FD-CODELIST-REQUIRED", Iti42, Sub::new, |s| {
            s.with_folder();
            s.folder_mut()
                .object
                .classifications
                .retain(|c| c.classification_scheme.as_deref() != Some(fd::CODE_LIST));
        }),
        case("FD-LASTUPDATETIME-SINGLE", Iti42, Sub::new, |s| {
            s.with_folder();
            s.folder_mut()
                .object
                .slots
                .push(Slot::new("lastUpdateTime", ["2024", "2025"]));
        }),
        case("FD-PATIENTID-REQUIRED", Iti42, Sub::new, |s| {
            s.with_folder();
            s.folder_mut()
                .object
                .external_identifiers
                .retain(|e| e.identification_scheme != fd::PATIENT_ID);
        }),
        case("FD-PATIENTID-SINGLE", Iti42, Sub::new, |s| {
            s.with_folder();
            let f = s.folder_mut();
            let mut e = f.object.external_identifiers[0].clone();
            e.object.id.push('2');
            f.object.external_identifiers.push(e);
        }),
        case("FD-TITLE-REQUIRED", Iti42, Sub::new, |s| {
            s.with_folder();
            s.folder_mut().object.name = None;
        }),
        case("FD-UNIQUEID-REQUIRED", Iti42, Sub::new, |s| {
            s.with_folder();
            s.folder_mut()
                .object
                .external_identifiers
                .retain(|e| e.identification_scheme != fd::UNIQUE_ID);
        }),
        case("FD-UNIQUEID-SINGLE", Iti42, Sub::new, |s| {
            s.with_folder();
            let f = s.folder_mut();
            let mut e = f.object.external_identifiers[1].clone();
            e.object.id.push('2');
            e.value.push_str(".9");
            f.object.external_identifiers.push(e);
        }),
        // --- ebRIM pieces ---
        case("CL-CLASSIFIED-OBJECT", Iti42, Sub::new, |s| {
            s.de_code(de::CLASS_CODE).classified_object = "SubmissionSet01".into()
        }),
        case("CL-CLASSIFIED-OBJECT", Iti42, Sub::new, |s| {
            s.extra.push(Identifiable::Classification(code(
                "loose",
                de::EVENT_CODE,
                "Nowhere",
                "ALAL02",
                dk::SKS,
                "Hjerte",
            )));
        }),
        case("CL-SCHEME-OR-NODE", Iti42, Sub::new, |s| {
            s.de_code(de::EVENT_CODE).classification_scheme = None
        }),
        case("CL-SCHEME-MISPLACED", Iti42, Sub::new, |s| {
            s.de.object.classifications.push(code(
                "ct",
                ss::CONTENT_TYPE_CODE,
                "Document01",
                "001",
                dk::CLASS_CODE_SYSTEM,
                "Klinisk rapport",
            ));
        }),
        case("CL-SCHEME-UNKNOWN", Iti42, Sub::new, |s| {
            s.de.object.classifications.push(code(
                "x",
                "urn:uuid:00000000-0000-4000-8000-000000000000",
                "Document01",
                "x",
                "1.2.3",
                "x",
            ));
        }),
        case("CODE-VALUE-REQUIRED", Iti42, Sub::new, |s| {
            s.de_code(de::PRACTICE_SETTING_CODE).node_representation = Some(String::new())
        }),
        case("CODE-CODINGSCHEME-REQUIRED", Iti42, Sub::new, |s| {
            s.de_code(de::TYPE_CODE).object.slots.clear()
        }),
        case("CODE-DISPLAYNAME-REQUIRED", Iti42, Sub::new, |s| {
            s.de_code(de::FORMAT_CODE).object.name = None
        }),
        case("EI-REGISTRY-OBJECT", Iti42, Sub::new, |s| {
            s.de_ei(de::UNIQUE_ID).registry_object = "SubmissionSet01".into()
        }),
        case("EI-REGISTRY-OBJECT", Iti42, Sub::new, |s| {
            s.extra.push(Identifiable::ExternalIdentifier(ei(
                "loose-ei",
                de::UNIQUE_ID,
                "Nowhere",
                "1.2.3",
            )));
        }),
        case("EI-SCHEME-MISPLACED", Iti42, Sub::new, |s| {
            s.de.object
                .external_identifiers
                .push(ei("src", ss::SOURCE_ID, "Document01", "1.2.3"))
        }),
        case("SLOT-NAME-DUPLICATED", Iti42, Sub::new, |s| {
            s.de.object
                .slots
                .push(Slot::new("creationTime", ["20240312101500"]))
        }),
        case("SLOT-EXTRA-NAME", Iti42, Sub::new, |s| {
            s.de.object
                .slots
                .push(Slot::new("creationtime", ["20240312101500"]))
        }),
        case("AUTHOR-CONTENT", Iti42, Sub::new, |s| {
            s.ss.object.classifications[0].object.slots = vec![Slot::new("authorRole", ["Læge"])]
        }),
        case("AUTHOR-PERSON-SINGLE", Iti42, Sub::new, |s| {
            s.de_code(de::AUTHOR).object.slots[0]
                .values
                .push("^Olsen^Ole".into())
        }),
        // --- formats ---
        case("FMT-DTM", Iti42, Sub::new, |s| {
            s.de_slot("creationTime").values = vec!["2024-03-12T10:15:00Z".into()]
        }),
        case("FMT-OID", Iti42, Sub::new, |s| {
            s.de_slot("repositoryUniqueId").values = vec!["1.2.03".into()]
        }),
        case("FMT-DOCUMENT-UNIQUEID", Iti42, Sub::new, |s| {
            s.de_ei(de::UNIQUE_ID).value = "not an oid".into()
        }),
        case("FMT-HASH", Iti42, Sub::new, |s| {
            s.de_slot("hash").values = vec!["abc".into()]
        }),
        case("FMT-SIZE", Iti42, Sub::new, |s| {
            s.de_slot("size").values = vec!["-5".into()]
        }),
        case("FMT-CX", Iti42, Sub::new, |s| {
            s.de_slot("sourcePatientId").values = vec![CPR.into()]
        }),
        case("FMT-XCN", Iti42, Sub::new, |s| {
            s.de_slot("legalAuthenticator").values = vec!["^^Hans".into()]
        }),
        case("FMT-XON", Iti42, Sub::new, |s| {
            s.de_code(de::AUTHOR).object.slots[1].values =
                vec!["^^^^^&1.2.208.176.1.1&ISO^^^^1".into()]
        }),
        case("FMT-LANGUAGECODE", Iti42, Sub::new, |s| {
            s.de_slot("languageCode").values = vec!["da_DK".into()]
        }),
        case("FMT-MIMETYPE", Iti42, Sub::new, |s| {
            s.de.mime_type = Some("textxml".into())
        }),
        case("FMT-SOURCEPATIENTINFO", Iti42, Sub::new, |s| {
            s.de_slot("sourcePatientInfo").values = vec!["Jensen^Jens".into()]
        }),
        case("FMT-HOMECOMMUNITYID", Iti42, Sub::new, |s| {
            s.de.object.home = Some("1.2.208.176.8.1".into())
        }),
        // --- associations ---
        case("AS-TYPE-KNOWN", Iti42, Sub::new, |s| {
            s.member.association_type = "HasMember".into()
        }),
        case("AS-TYPE-KNOWN", Iti42, Sub::new, |s| {
            s.extra.push(Identifiable::Association(assoc(
                "upd",
                at::UPDATE_AVAILABILITY_STATUS,
                "SubmissionSet01",
                DE_LID,
                vec![],
            )));
        }),
        case("AS-REFERENCE-RESOLVES", Iti42, Sub::new, |s| {
            s.extra.push(Identifiable::Association(assoc(
                "rplc",
                at::REPLACE,
                "Document01",
                "Document99",
                vec![],
            )));
        }),
        case("AS-HASMEMBER-SOURCE", Iti42, Sub::new, |s| {
            s.extra.push(Identifiable::Association(assoc(
                "hm",
                at::HAS_MEMBER,
                "Document01",
                DE_LID,
                vec![],
            )));
        }),
        case("AS-SUBMISSIONSETSTATUS", Iti42, Sub::new, |s| {
            s.member.object.slots.clear()
        }),
        case("AS-RELATIONSHIP-SOURCE", Iti42, Sub::new, |s| {
            s.extra.push(Identifiable::Association(assoc(
                "apnd",
                at::APPEND,
                "SubmissionSet01",
                DE_LID,
                vec![],
            )));
        }),
        case("AS-RELATIONSHIP-TARGET", Iti42, Sub::new, |s| {
            s.extra.push(Identifiable::Association(assoc(
                "rplc",
                at::REPLACE,
                "Document01",
                "SubmissionSet01",
                vec![],
            )));
        }),
        // --- ITI-57 ---
        case("UPD-LID-UUID", Iti57, Sub::update, |s| {
            s.de.object.lid = Some("Document00".into())
        }),
        case("UPD-LID-REQUIRED", Iti57, Sub::update, |s| {
            s.de.object.lid = None
        }),
        case("UPD-PREVIOUSVERSION", Iti57, Sub::update, |s| {
            s.member
                .object
                .slots
                .retain(|x| x.name != "PreviousVersion")
        }),
        case("UPD-STATUS-SLOTS", Iti57, Sub::update, |s| {
            s.extra.push(Identifiable::Association(assoc(
                "upd",
                at::UPDATE_AVAILABILITY_STATUS,
                "SubmissionSet01",
                DE_LID,
                vec![Slot::new("OriginalStatus", [status::APPROVED])],
            )));
        }),
        case("UPD-STATUS-REFS", Iti57, Sub::update, |s| {
            s.extra.push(Identifiable::Association(assoc(
                "upd",
                at::UPDATE_AVAILABILITY_STATUS,
                "SubmissionSet01",
                "HasMember01",
                vec![
                    Slot::new("OriginalStatus", [status::APPROVED]),
                    Slot::new("NewStatus", [status::DEPRECATED]),
                ],
            )));
        }),
        // --- ITI-18 responses ---
        case("RSP-ID-UUID", Iti18, Sub::response, |s| {
            s.rename_de("Document01")
        }),
        case("RSP-STATUS-REQUIRED", Iti18, Sub::response, |s| {
            s.de.object.status = None
        }),
        // --- Danish profile ---
        case("DK-PATIENTID-AUTHORITY", Iti42, Sub::new, |s| {
            s.de_slot("sourcePatientId").values = vec!["12345^^^&1.2.3.4&ISO".into()]
        }),
        case("DK-PATIENTID-CPR", Iti42, Sub::new, |s| {
            let pid = "010101-1234^^^&1.2.208.176.1.2&ISO";
            s.de_ei(de::PATIENT_ID).value = pid.into();
            s.de_slot("sourcePatientId").values = vec![pid.into()];
        }),
        case("DK-CLASSCODE-VALUE", Iti42, Sub::new, |s| {
            s.de_code(de::CLASS_CODE).node_representation = Some("XYZ".into())
        }),
        case("DK-TYPECODE-SYSTEM", Iti42, Sub::new, |s| {
            s.de_code(de::TYPE_CODE).object.slots = vec![Slot::new("codingScheme", ["1.2.3"])]
        }),
        case("DK-TYPECODE-KNOWN", Iti42, Sub::new, |s| {
            s.de_code(de::FORMAT_CODE).node_representation =
                Some("urn:ad:dk:medcom:phmr-v1.3:full".into());
            s.de_code(de::TYPE_CODE).node_representation = Some("11488-4".into());
        }),
        case("DK-FORMATCODE-SYSTEM", Iti42, Sub::new, |s| {
            s.de_code(de::FORMAT_CODE).object.slots =
                vec![Slot::new("codingScheme", ["1.3.6.1.4.1.19376.1.2.3"])]
        }),
        case("DK-FORMATCODE-KNOWN", Iti42, Sub::new, |s| {
            s.de_code(de::FORMAT_CODE).node_representation =
                Some("urn:ad:dk:medcom:unknown:full".into())
        }),
        case("DK-APD-TYPECODE", Iti42, Sub::new, |s| {
            s.de_code(de::TYPE_CODE).node_representation = Some("53576-5".into())
        }),
        case("DK-CONFIDENTIALITY-VALUE", Iti42, Sub::new, |s| {
            s.de_code(de::CONFIDENTIALITY_CODE).node_representation = Some("R".into())
        }),
        case("DK-LANGUAGECODE-VALUE", Iti42, Sub::new, |s| {
            s.de_slot("languageCode").values = vec!["en-GB".into()]
        }),
        case("DK-MIMETYPE-VALUE", Iti42, Sub::new, |s| {
            s.de.mime_type = Some("application/pdf".into())
        }),
        case("DK-AUTHOR-REQUIRED", Iti42, Sub::new, |s| {
            s.remove_de_code(de::AUTHOR)
        }),
        case("DK-AUTHORINSTITUTION-SOR", Iti42, Sub::new, |s| {
            s.de_code(de::AUTHOR).object.slots[1].values = vec![
                "Aarhus Universitetshospital^^^^^&1.2.208.176.1&ISO^^^^265111000016005".into(),
            ];
        }),
        case("DK-FACILITYTYPE-SYSTEM", Iti42, Sub::new, |s| {
            s.de_code(de::HEALTHCARE_FACILITY_TYPE_CODE).object.slots =
                vec![Slot::new("codingScheme", ["1.2.208.176.2.1"])]
        }),
        case("DK-PRACTICESETTING-SYSTEM", Iti42, Sub::new, |s| {
            s.de_code(de::PRACTICE_SETTING_CODE).object.slots =
                vec![Slot::new("codingScheme", ["1.2.208.176.2.1"])]
        }),
        case("DK-EVENTCODE-REQUIRED", Iti42, Sub::new, |s| {
            s.remove_de_code(de::EVENT_CODE)
        }),
        case("DK-EVENTCODE-SYSTEM", Iti42, Sub::new, |s| {
            s.de_code(de::EVENT_CODE).object.slots = vec![Slot::new("codingScheme", [dk::LOINC])]
        }),
        case("DK-LEGALAUTHENTICATOR-REQUIRED", Iti42, Sub::new, |s| {
            s.remove_de_slot("legalAuthenticator")
        }),
        case("DK-TITLE-REQUIRED", Iti42, Sub::new, |s| {
            s.de.object.name = None
        }),
    ];
    // --- ITI-62 ---
    v.push(Case {
        rule: "DEL-REFS-REQUIRED",
        tx: Iti62,
        list: RegistryObjectList::default(),
        documents: None,
    });
    v.push(Case {
        rule: "DEL-REF-UUID",
        tx: Iti62,
        list: object_refs(&["Document01"]),
        documents: None,
    });
    v.push(Case {
        rule: "DEL-REF-DUPLICATE",
        tx: Iti62,
        list: object_refs(&[
            DE_LID,
            &DE_LID.to_uppercase().replace("URN:UUID:", "urn:uuid:"),
        ]),
        documents: None,
    });
    v.push(Case {
        rule: "DEL-ONLY-REFS",
        tx: Iti62,
        list: Sub::new().list(),
        documents: None,
    });
    // --- ITI-41 documents ---
    v.push(Case {
        rule: "SUB-DOCUMENT-MISSING",
        tx: Iti41,
        list: Sub::new().list(),
        documents: Some(&[]),
    });
    v.push(Case {
        rule: "SUB-DOCUMENT-METADATA-MISSING",
        tx: Iti41,
        list: Sub::new().list(),
        documents: Some(&["Document01", "Document02"]),
    });
    v
}

struct QueryCase {
    rule: &'static str,
    id: &'static str,
    params: Vec<Slot>,
}

fn find_documents() -> Vec<Slot> {
    vec![
        Slot::new("$XDSDocumentEntryPatientId", [format!("'{PATIENT_ID}'")]),
        Slot::new(
            "$XDSDocumentEntryStatus",
            [format!("('{}')", status::APPROVED)],
        ),
    ]
}

fn query_cases() -> Vec<QueryCase> {
    let with = |extra: Slot| {
        let mut p = find_documents();
        p.push(extra);
        p
    };
    vec![
        QueryCase {
            rule: "Q-UNKNOWN-QUERY",
            id: "urn:uuid:00000000-0000-4000-8000-000000000000",
            params: vec![],
        },
        QueryCase {
            rule: "Q-PARAM-REQUIRED",
            id: sq::FIND_DOCUMENTS,
            params: find_documents()[..1].to_vec(),
        },
        QueryCase {
            rule: "Q-PARAM-REQUIRED",
            id: sq::GET_DOCUMENTS,
            params: vec![],
        },
        QueryCase {
            rule: "Q-PARAM-ONE-OF",
            id: sq::GET_DOCUMENTS,
            params: vec![
                Slot::new("$XDSDocumentEntryUniqueId", ["('1.2.3')"]),
                Slot::new("$XDSDocumentEntryEntryUUID", [format!("('{DE_LID}')")]),
            ],
        },
        QueryCase {
            rule: "Q-PARAM-SINGLE",
            id: sq::FIND_DOCUMENTS,
            params: with(Slot::new(
                "$XDSDocumentEntryCreationTimeFrom",
                ["2024", "2025"],
            )),
        },
        QueryCase {
            rule: "Q-PARAM-UNKNOWN",
            id: sq::FIND_DOCUMENTS,
            params: with(Slot::new(
                "$XDSDocumentEntryClasCode",
                ["('001^^1.2.208.184.100.9')"],
            )),
        },
        QueryCase {
            rule: "Q-PARAM-FORMAT",
            id: sq::FIND_DOCUMENTS,
            params: with(Slot::new("$XDSDocumentEntryClassCode", ["('001')"])),
        },
    ]
}

/// Whole-request cases (things outside the AdhocQuery itself).
fn request_cases() -> Vec<(&'static str, AdhocQueryRequest)> {
    let mut request = AdhocQueryRequest::default();
    request.adhoc_query.object.id = sq::FIND_DOCUMENTS.to_owned();
    request.adhoc_query.object.slots = find_documents();
    // The schema default, RegistryObject.
    request.response_option.return_type = ReturnType::RegistryObject;
    vec![("Q-RETURNTYPE", request)]
}

#[test]
fn valid_submission_has_no_findings_in_any_submission_transaction() {
    check(&Sub::new().list(), Iti41, "");
    check(&Sub::new().list(), Iti42, "");
    check(&Sub::update().list(), Iti57, "");
    check(&Sub::response().list(), Iti18, "");
    let mut with_folder = Sub::new();
    with_folder.with_folder();
    check(&with_folder.list(), Iti42, "");
    check(&object_refs(&[DE_LID]), Iti62, "");
    check(&Sub::new().list(), Transaction::Iti43, "");
    let pnr = validate_provide_and_register(
        &Sub::new().list(),
        &["Document01"],
        &ValidationConfig::default(),
    );
    assert_eq!(pnr.findings, []);
}

#[test]
fn valid_queries_have_no_findings() {
    let cfg = ValidationConfig::default();
    assert_eq!(
        validate_query(sq::FIND_DOCUMENTS, &find_documents(), &cfg).findings,
        []
    );
    let by_text = vec![
        Slot::new("$XDSDocumentEntryPatientId", [format!("'{PATIENT_ID}'")]),
        Slot::new("$DdsText", ["'diabetes'"]),
    ];
    assert_eq!(
        validate_query(sq::FIND_DOCUMENTS_BY_TEXT, &by_text, &cfg).findings,
        []
    );
    let get = vec![Slot::new(
        "$XDSDocumentEntryUniqueId",
        ["('1.2.3', '1.2.4')"],
    )];
    assert_eq!(validate_query(sq::GET_DOCUMENTS, &get, &cfg).findings, []);
}

#[test]
fn every_case_triggers_its_rule() {
    let cfg = ValidationConfig::default();
    let mut failures = Vec::new();
    for c in cases() {
        let report = match c.documents {
            Some(docs) => validate_provide_and_register(&c.list, docs, &cfg),
            None => validate_submission(&c.list, c.tx, &cfg),
        };
        if !report.findings.iter().any(|f| f.rule_id == c.rule) {
            failures.push(format!(
                "{} ({}) did not fire; report:\n{report}",
                c.rule, c.tx
            ));
        }
    }
    for (rule, request) in request_cases() {
        let report = validate_adhoc_query_request(&request, &cfg);
        if !report.findings.iter().any(|f| f.rule_id == rule) {
            failures.push(format!("{rule} did not fire; report:\n{report}"));
        }
    }
    for c in query_cases() {
        let report = validate_query(c.id, &c.params, &cfg);
        if !report.findings.iter().any(|f| f.rule_id == c.rule) {
            failures.push(format!("{} did not fire; report:\n{report}", c.rule));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_in_the_catalogue_has_a_triggering_case() {
    let covered: Vec<&str> = cases()
        .iter()
        .map(|c| c.rule)
        .chain(query_cases().iter().map(|c| c.rule))
        .chain(request_cases().iter().map(|(rule, _)| *rule))
        .collect();
    let missing: Vec<&str> = CATALOGUE
        .iter()
        .map(|r| r.id)
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a triggering case: {missing:?}"
    );
    for id in covered {
        assert!(
            xds_validate::rule(id).is_some(),
            "case names unknown rule {id}"
        );
    }
}

#[test]
fn catalogue_ids_are_unique_and_described() {
    for (i, r) in CATALOGUE.iter().enumerate() {
        assert!(
            CATALOGUE[..i].iter().all(|o| o.id != r.id),
            "duplicate id {}",
            r.id
        );
        assert!(r.description.len() > 30, "{} needs a reason", r.id);
        assert_ne!(
            r.default_severity,
            Severity::Off,
            "{} is off by default",
            r.id
        );
    }
}

#[test]
fn two_class_codes_are_reported_once_each_with_both_values() {
    let mut s = Sub::new();
    s.duplicate_de_code(de::CLASS_CODE);
    s.de.object
        .classifications
        .last_mut()
        .unwrap()
        .node_representation = Some("XYZ".into());
    check(
        &s.list(),
        Iti42,
        "
        reject DE-CLASSCODE-SINGLE at DocumentEntry Document01 (uniqueId 1.2.208.176.43210.8.20.2.1) classCode
        reject DK-CLASSCODE-VALUE at DocumentEntry Document01 (uniqueId 1.2.208.176.43210.8.20.2.1) classCode
        ",
    );
}

#[test]
fn hash_and_size_are_optional_for_the_source_but_required_for_the_registry() {
    let mut s = Sub::new();
    s.remove_de_slot("hash");
    s.remove_de_slot("size");
    s.remove_de_slot("repositoryUniqueId");
    check(&s.list(), Iti41, "");
    check(
        &s.list(),
        Iti42,
        "
        reject DE-HASH-REQUIRED at DocumentEntry Document01 (uniqueId 1.2.208.176.43210.8.20.2.1) hash
        reject DE-REPOSITORYUNIQUEID-REQUIRED at DocumentEntry Document01 (uniqueId 1.2.208.176.43210.8.20.2.1) repositoryUniqueId
        reject DE-SIZE-REQUIRED at DocumentEntry Document01 (uniqueId 1.2.208.176.43210.8.20.2.1) size
        ",
    );
}

#[test]
fn entry_uuids_outside_the_submission_are_left_to_the_registry() {
    let mut s = Sub::new();
    s.extra.push(Identifiable::Association(assoc(
        "rplc",
        at::REPLACE,
        "Document01",
        DE_LID,
        vec![],
    )));
    check(&s.list(), Iti42, "");
}

#[test]
fn patient_mismatch_is_its_own_error_code() {
    let mut s = Sub::new();
    s.de_ei(de::PATIENT_ID).value = "0202021234^^^&1.2.208.176.1.2&ISO".into();
    let report = validate_submission(&s.list(), Iti42, &ValidationConfig::default());
    assert_eq!(report.error_codes(), ["XDSPatientIdDoesNotMatch"]);
    assert!(report.rejects());
}

#[test]
fn duplicate_unique_id_maps_to_registry_duplicate_unique_id_in_message() {
    let c = cases()
        .into_iter()
        .find(|c| c.rule == "SUB-UNIQUEID-DUPLICATE")
        .unwrap();
    let report = validate_submission(&c.list, c.tx, &ValidationConfig::default());
    assert_eq!(
        report.error_codes(),
        ["XDSRegistryDuplicateUniqueIdInMessage"]
    );
}

#[test]
fn draft_requirements_only_warn() {
    let mut s = Sub::new();
    s.remove_de_slot("legalAuthenticator");
    s.de.object.name = None;
    let report = validate_submission(&s.list(), Iti42, &ValidationConfig::default());
    assert!(!report.rejects());
    assert_eq!(report.warning_codes(), ["XDSRegistryMetadataError"]);
}

#[test]
fn full_report_snapshot() {
    let mut s = Sub::new();
    s.duplicate_de_code(de::CLASS_CODE);
    s.de.object
        .classifications
        .last_mut()
        .unwrap()
        .node_representation = Some("XYZ".into());
    s.de.object.classifications.last_mut().unwrap().object.slots =
        vec![Slot::new("codingScheme", ["1.2.3"])];
    s.de_slot("creationTime").values = vec!["2024-03-12".into()];
    s.remove_de_slot("hash");
    s.de_ei(de::PATIENT_ID).value = "0202021234^^^&1.2.208.176.1.2&ISO".into();
    s.de_code(de::AUTHOR).object.slots[1].values =
        vec!["Klinik^^^^^&1.2.208.176.1&ISO^^^^123".into()];
    s.remove_de_slot("legalAuthenticator");
    s.member.object.slots.clear();
    s.extra.push(Identifiable::Association(assoc(
        "rplc",
        at::REPLACE,
        "Document01",
        "Document99",
        vec![],
    )));
    let report = validate_submission(&s.list(), Iti42, &ValidationConfig::default());
    insta::assert_snapshot!(report.to_string());
}

#[test]
fn catalogue_snapshot() {
    // Review this diff like code: ids are a public contract (configurations name them).
    let table: Vec<String> = CATALOGUE
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {} | {}",
                r.id, r.default_severity, r.error_code, r.description
            )
        })
        .collect();
    insta::assert_snapshot!(table.join("\n"));
}

#[test]
fn a_thousand_document_submission_is_clean_and_checked_whole() {
    let base = Sub::new();
    let mut objects = vec![
        Identifiable::RegistryPackage(base.ss.clone()),
        Identifiable::Classification(base.ss_marker.clone()),
    ];
    for i in 0..1000 {
        let id = format!("Document{i:04}");
        objects.push(Identifiable::ExtrinsicObject(document_entry(
            &id,
            &format!("1.2.208.176.43210.8.20.2.{}", i + 1),
        )));
        objects.push(Identifiable::Association(assoc(
            &format!("HasMember{i:04}"),
            at::HAS_MEMBER,
            "SubmissionSet01",
            &id,
            vec![Slot::new("SubmissionSetStatus", ["Original"])],
        )));
    }
    let mut list = RegistryObjectList { objects };
    check(&list, Iti42, "");
    // The last document breaks one rule: it is still found.
    if let Some(Identifiable::ExtrinsicObject(last)) = list.objects.iter_mut().rev().nth(1) {
        last.mime_type = None;
    }
    let report = validate_submission(&list, Iti42, &ValidationConfig::default());
    assert_eq!(report.rule_ids(), ["DE-MIMETYPE-REQUIRED"]);
    assert_eq!(
        report.findings[0].object_id.as_deref(),
        Some("Document0999")
    );
}

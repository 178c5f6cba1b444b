//! DK-profile (DK-IHE) metadata for documents a command submits: one SubmissionSet with its
//! DocumentEntries and HasMember associations, as `xds-model` views.
//!
//! Invariants: everything DK-PROFILE.md §1 requires is set (classCode `001`, confidentiality
//! `N`, a LOINC typeCode, a MedCom formatCode or IHE's mimeTypeSufficient, an SKS eventCode,
//! author with a SOR authorInstitution, legalAuthenticator, SNOMED CT facility and practice
//! codes, `da-DK`, title, creationTime); ids are fresh `urn:uuid:`s and uniqueIds `2.25.`
//! OIDs from UUIDs, so no two submissions collide; hash and size are left to the repository,
//! which computes them from the bytes it receives. The tests check that what this builds passes
//! `xds-validate` without a single finding.

use xds_model::message::SubmitObjectsRequest;
use xds_model::message::{Document, DocumentContent, ProvideAndRegisterDocumentSetRequest};
use xds_model::rim::{
    Classification, Identifiable, InternationalString, LocalizedString, RegistryObject,
    RegistryObjectList,
};
use xds_model::vocabulary::{classification_node, dk, object_type, status};
use xds_model::xds::{
    Association, AssociationType, Author, Classified, Code, DocumentEntry, Identified,
    SubmissionSet, SubmissionSetStatus,
};

/// The LOINC typeCode of an appointment (APD) as Danish sources send it (DK-PROFILE.md §1).
pub const APD_TYPE_CODE: &str = "39289-4";
pub const APD_TYPE_NAME: &str = "Dato og tidspunkt for møde mellem patient og sundhedsperson";
/// IHE's formatCode for documents whose mimeType says all (a text note, a PDF).
pub const MIME_TYPE_SUFFICIENT: &str = "urn:ihe:iti:xds:2017:mimeTypeSufficient";
pub const IHE_FORMAT_SYSTEM: &str = "1.3.6.1.4.1.19376.1.2.3";
/// The submitting system of the command line (`XDSSubmissionSet.sourceId`), under the test arc
/// the samples' systems use.
pub const SOURCE_ID_DEFAULT: &str = "1.2.208.176.43210.8.1.900";

/// Display names of codes this command line writes or is commonly given, by (code system,
/// code): the DK-IHE values of DK-PROFILE.md §1 and the departments of
/// [`super::synthetic::DEPARTMENTS`].
const KNOWN_DISPLAY_NAMES: &[(&str, &str, &str)] = &[
    (dk::LOINC, APD_TYPE_CODE, APD_TYPE_NAME),
    (dk::LOINC, "56446-8", "Appointment summary"),
    (dk::LOINC, "53576-5", "Personal health monitoring report"),
    (
        dk::LOINC,
        "74468-0",
        "Questionnaire form definition document",
    ),
    (dk::LOINC, "74465-6", "Questionnaire response document"),
    (dk::LOINC, "11502-2", "Laboratory report"),
    (dk::LOINC, "69730-0", "Instruktioner"),
    (dk::FORMAT_CODE_SYSTEM, dk::APD_FORMAT_CODE, "DK APD schema"),
    (
        IHE_FORMAT_SYSTEM,
        MIME_TYPE_SUFFICIENT,
        "Format fremgår af mimeType",
    ),
    (dk::SKS, "ALAL01", "Kræft"),
    (dk::SKS, "ALAL02", "Hjertesygdomme"),
    (dk::SKS, "ALAL03", "Psykiatri"),
    (dk::SKS, "ALAL21", "KOL"),
    (dk::SKS, "ALAL22", "Type 2-diabetes"),
    (dk::SKS, "ALAL23", "Osteoporose"),
    (dk::SKS, "ALAL51", "Graviditet"),
    (dk::SKS, "ALAL52", "Nyfødte"),
    (dk::SNOMED_CT, "22232009", "hospital"),
    (dk::SNOMED_CT, "394761003", "almen lægepraksis"),
    (dk::SNOMED_CT, "408443003", "almen medicin"),
];

/// A code with its display name: the one given, else a known one, else the code itself (XDS
/// requires a name on every code; a code standing for itself is what a source without a
/// code table sends too).
pub fn code(code: &str, system: &str, display_name: Option<&str>) -> Code {
    let known = || {
        KNOWN_DISPLAY_NAMES
            .iter()
            .find(|(s, c, _)| *s == system && *c == code)
            .map(|(_, _, name)| *name)
            .or_else(|| {
                super::synthetic::DEPARTMENTS.iter().find_map(|d| {
                    if system == dk::SNOMED_CT && d.practice.0 == code {
                        Some(d.practice.1)
                    } else {
                        None
                    }
                })
            })
    };
    let name = display_name.or_else(known).unwrap_or(code);
    Code::new(code, system, Some(name))
}

/// A patient as the metadata names them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patient {
    pub cpr: String,
    pub given: Vec<String>,
    pub family: Option<String>,
    /// `YYYYMMDD`.
    pub birth_date: Option<String>,
    /// `F` or `M`.
    pub sex: Option<char>,
}

impl Patient {
    pub fn cx(&self) -> String {
        cpr_cx(&self.cpr)
    }

    /// `sourcePatientInfo`: PID-3 always, the others when known.
    fn source_patient_info(&self) -> Vec<String> {
        let mut info = vec![format!("PID-3|{}", self.cx())];
        if let Some(family) = &self.family {
            let mut given = self.given.iter();
            let first = given.next().map(String::as_str).unwrap_or("");
            let middle: Vec<&str> = given.map(String::as_str).collect();
            info.push(format!("PID-5|{family}^{first}^{}^^^", middle.join(" ")));
        }
        if let Some(birth) = &self.birth_date {
            info.push(format!("PID-7|{birth}"));
        }
        if let Some(sex) = self.sex {
            info.push(format!("PID-8|{sex}"));
        }
        info
    }
}

/// A CPR number as an XDS patientId (`CPR^^^&1.2.208.176.1.2&ISO`).
pub fn cpr_cx(cpr: &str) -> String {
    format!("{cpr}^^^&{}&ISO", dk::CPR_OID)
}

/// The authoring organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub sor: String,
    pub name: String,
    /// healthcareFacilityTypeCode (SNOMED CT).
    pub facility: Code,
    /// practiceSettingCode (SNOMED CT).
    pub practice: Code,
}

impl Institution {
    /// `authorInstitution` XON with the SOR code and authority (DK-PROFILE.md §1).
    pub fn xon(&self) -> String {
        format!(
            "{}^^^^^&{}&ISO^^^^{}",
            self.name.replace('^', " "),
            dk::SOR_OID,
            self.sor
        )
    }
}

/// A person as XCN (`^Family^Given^Middle^^^`) from "Given [Middle…] Family".
pub fn xcn(full_name: &str) -> String {
    let parts: Vec<&str> = full_name.split_whitespace().collect();
    match parts.as_slice() {
        [] => String::new(),
        [only] => format!("^{only}^^^^^"),
        [given, middle @ .., family] => format!("^{family}^{given}^{}^^^", middle.join(" ")),
    }
}

/// One document's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMetadata {
    /// The DocumentEntry's entryUUID (`urn:uuid:`), also the `xdsb:Document/@id`.
    pub entry_uuid: String,
    pub unique_id: String,
    pub patient: Patient,
    pub title: String,
    pub mime_type: String,
    /// DTM in UTC.
    pub creation_time: String,
    pub service_start_time: Option<String>,
    pub service_stop_time: Option<String>,
    /// "Given Family" of the author.
    pub author_person: Option<String>,
    pub author_role: Option<String>,
    pub author_specialty: Option<String>,
    pub institution: Institution,
    /// "Given Family" of the legal authenticator.
    pub legal_authenticator: Option<String>,
    pub type_code: Code,
    pub format_code: Code,
    pub event_codes: Vec<Code>,
    pub language_code: String,
}

/// The SubmissionSet's own metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionMetadata {
    pub entry_uuid: String,
    pub unique_id: String,
    pub source_id: String,
    /// DTM in UTC.
    pub submission_time: String,
    pub title: String,
    pub content_type: Code,
}

impl SubmissionMetadata {
    /// A SubmissionSet submitted now by the command line, with fresh ids.
    pub fn now(title: &str, content_type: Code) -> SubmissionMetadata {
        SubmissionMetadata {
            entry_uuid: urn_uuid(uuid::Uuid::new_v4()),
            unique_id: oid_of(uuid::Uuid::new_v4()),
            source_id: SOURCE_ID_DEFAULT.to_owned(),
            submission_time: dtm(time::OffsetDateTime::now_utc()),
            title: title.to_owned(),
            content_type,
        }
    }
}

/// `urn:uuid:…` of a UUID.
pub fn urn_uuid(id: uuid::Uuid) -> String {
    format!("urn:uuid:{}", id.hyphenated())
}

/// The `2.25.` OID of a UUID (ITU-T X.667): the UUID as one decimal integer, which is how
/// uniqueIds are minted without a registered arc.
pub fn oid_of(id: uuid::Uuid) -> String {
    format!("2.25.{}", id.as_u128())
}

/// An instant as an XDS DTM, `YYYYMMDDhhmmss` in UTC.
pub fn dtm(instant: time::OffsetDateTime) -> String {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

fn da(value: &str) -> InternationalString {
    InternationalString {
        localized: vec![LocalizedString {
            lang: Some("da-DK".to_owned()),
            charset: None,
            value: value.to_owned(),
        }],
    }
}

fn classified(code: &Code) -> Classified<Code> {
    Classified::new(code.clone())
}

fn author_of(document: &DocumentMetadata) -> Classified<Author> {
    Classified::new(Author {
        person: document.author_person.as_deref().map(xcn),
        institutions: vec![document.institution.xon()],
        roles: document.author_role.iter().cloned().collect(),
        specialties: document.author_specialty.iter().cloned().collect(),
        telecommunications: Vec::new(),
    })
}

impl DocumentMetadata {
    /// The DocumentEntry view (hash and size left for the repository).
    pub fn document_entry(&self) -> DocumentEntry {
        DocumentEntry {
            entry_uuid: self.entry_uuid.clone(),
            object_type: Some(object_type::STABLE_DOCUMENT_ENTRY.to_owned()),
            mime_type: Some(self.mime_type.clone()),
            title: Some(da(&self.title)),
            creation_time: Some(self.creation_time.clone()),
            language_code: Some(self.language_code.clone()),
            legal_authenticator: self.legal_authenticator.as_deref().map(xcn),
            service_start_time: self.service_start_time.clone(),
            service_stop_time: self.service_stop_time.clone(),
            source_patient_id: Some(self.patient.cx()),
            source_patient_info: self.patient.source_patient_info(),
            author: vec![author_of(self)],
            class_code: Some(Classified::new(Code::new(
                "001",
                dk::CLASS_CODE_SYSTEM,
                Some("Klinisk rapport"),
            ))),
            confidentiality_code: vec![Classified::new(Code::new(
                "N",
                dk::CONFIDENTIALITY_SYSTEM,
                Some("Normal"),
            ))],
            event_code_list: self.event_codes.iter().map(classified).collect(),
            format_code: Some(classified(&self.format_code)),
            healthcare_facility_type_code: Some(classified(&self.institution.facility)),
            practice_setting_code: Some(classified(&self.institution.practice)),
            type_code: Some(classified(&self.type_code)),
            patient_id: Some(Identified::new(self.patient.cx())),
            unique_id: Some(Identified::new(self.unique_id.clone())),
            ..DocumentEntry::default()
        }
    }
}

/// One SubmissionSet holding `documents` (all of one patient, the first one's), with the
/// SubmissionSet's author taken from the first document. An empty `documents` gives a
/// SubmissionSet without members and without a patient, which the registry refuses.
/// `next_id` names the Classification and Associations (fresh random UUIDs, or a seeded
/// stream for reproducible data).
pub fn submission(
    set: &SubmissionMetadata,
    documents: &[DocumentMetadata],
    next_id: &mut dyn FnMut() -> uuid::Uuid,
) -> SubmitObjectsRequest {
    let first = documents.first();
    let patient_cx = first.map(|d| d.patient.cx()).unwrap_or_default();
    let submission_set = SubmissionSet {
        entry_uuid: set.entry_uuid.clone(),
        object_type: Some(object_type::REGISTRY_PACKAGE.to_owned()),
        title: Some(da(&set.title)),
        submission_time: Some(set.submission_time.clone()),
        author: first.map(author_of).into_iter().collect(),
        content_type_code: Some(classified(&set.content_type)),
        patient_id: Some(Identified::new(patient_cx)),
        source_id: Some(Identified::new(set.source_id.clone())),
        unique_id: Some(Identified::new(set.unique_id.clone())),
        ..SubmissionSet::default()
    };
    let mut objects = Vec::with_capacity(2 * documents.len() + 2);
    objects.push(Identifiable::RegistryPackage(submission_set.to_rim()));
    objects.push(Identifiable::Classification(Classification {
        object: RegistryObject::new(urn_uuid(next_id())),
        classified_object: set.entry_uuid.clone(),
        classification_node: Some(classification_node::SUBMISSION_SET.to_owned()),
        ..Classification::default()
    }));
    for document in documents {
        objects.push(Identifiable::ExtrinsicObject(
            document.document_entry().to_rim(),
        ));
        let mut member = Association::new(
            urn_uuid(next_id()),
            AssociationType::HasMember,
            set.entry_uuid.clone(),
            document.entry_uuid.clone(),
        );
        member.submission_set_status = Some(SubmissionSetStatus::Original);
        member.availability_status = Some(status::APPROVED.to_owned());
        objects.push(Identifiable::Association(member.to_rim()));
    }
    SubmitObjectsRequest {
        registry_object_list: RegistryObjectList { objects },
        ..SubmitObjectsRequest::default()
    }
}

/// An ITI-41 request: the submission, and each document as an `xop:Include` of the MTOM part
/// whose Content-ID is `content_ids[i]` (same order as `documents`).
pub fn provide_and_register(
    set: &SubmissionMetadata,
    documents: &[DocumentMetadata],
    content_ids: &[soap::ContentId],
) -> ProvideAndRegisterDocumentSetRequest {
    ProvideAndRegisterDocumentSetRequest {
        submit_objects_request: submission(set, documents, &mut uuid::Uuid::new_v4),
        documents: documents
            .iter()
            .zip(content_ids)
            .map(|(document, content_id)| Document {
                id: document.entry_uuid.clone(),
                content: DocumentContent::Include {
                    href: content_id.to_cid_url(),
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_xcn() {
        assert_eq!(xcn("Søren Vestergaard Holt"), "^Holt^Søren^Vestergaard^^^");
        assert_eq!(xcn("Lise Krag"), "^Krag^Lise^^^^");
        assert_eq!(xcn("Madonna"), "^Madonna^^^^^");
    }

    #[test]
    fn uuid_oids_are_decimal() {
        let id = uuid::Uuid::from_u128(0x0102);
        assert_eq!(oid_of(id), "2.25.258");
        assert_eq!(
            urn_uuid(id),
            "urn:uuid:00000000-0000-0000-0000-000000000102"
        );
    }

    #[test]
    fn dtm_is_utc() {
        let t = time::macros::datetime!(2027-01-14 13:00:00 +01:00);
        assert_eq!(dtm(t), "20270114120000");
    }
}

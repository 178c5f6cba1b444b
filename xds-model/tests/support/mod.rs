//! Realistic Danish (DK-IHE) metadata for tests and the benchmark: an ITI-41 submission with
//! `n` DocumentEntries, full metadata, documents as `xop:Include` references.
#![allow(dead_code)]

use xds_model::message::{
    Document, DocumentContent, ProvideAndRegisterDocumentSetRequest, SubmitObjectsRequest,
};
use xds_model::rim::{Classification, Identifiable, InternationalString, RegistryObjectList};
use xds_model::vocabulary::{classification_node, dk, object_type, status};
use xds_model::xds::{
    Association, AssociationType, Author, Classified, Code, DocumentEntry, Identified,
    SubmissionSet, SubmissionSetStatus,
};

pub const CPR: &str = "2512484916";

pub fn patient_id() -> String {
    format!("{CPR}^^^&{}&ISO", dk::CPR_OID)
}

pub fn author() -> Classified<Author> {
    Classified::new(Author {
        person: Some("^Jensen^Hans^^^Dr.".into()),
        institutions: vec![format!(
            "Aarhus Universitetshospital^^^^^&{}&ISO^^^^1085471000016001",
            dk::SOR_OID
        )],
        roles: vec!["Læge".into()],
        specialties: vec!["Kardiologi".into()],
        telecommunications: vec!["^^Internet^hans.jensen@rm.dk".into()],
    })
}

pub fn code(code: &str, scheme: &str, display: &str) -> Option<Classified<Code>> {
    Some(Classified::new(Code::new(code, scheme, Some(display))))
}

pub fn document_entry(i: usize) -> DocumentEntry {
    DocumentEntry {
        entry_uuid: format!("urn:uuid:6f1d0a55-0000-4000-8000-{i:012}"),
        object_type: Some(object_type::STABLE_DOCUMENT_ENTRY.into()),
        mime_type: Some("text/xml".into()),
        title: Some(InternationalString::plain(format!("Aftale for {CPR}"))),
        comments: Some(InternationalString::plain(
            "Ambulant besøg, kardiologisk afdeling & opfølgning <1>",
        )),
        creation_time: Some("20240101120000".into()),
        hash: Some("4cd3f2b9c0ab6c0a7e1f5b1f0b0ad61c8e2ac1d3".into()),
        size: Some("12345".into()),
        language_code: Some("da-DK".into()),
        legal_authenticator: Some("^Jensen^Hans^^^Dr.".into()),
        repository_unique_id: Some("1.2.208.176.43210.8.10.11".into()),
        service_start_time: Some("20240115080000".into()),
        service_stop_time: Some("20240115090000".into()),
        source_patient_id: Some(patient_id()),
        source_patient_info: vec![
            format!("PID-3|{}", patient_id()),
            "PID-5|Hansen^Karen^^^".into(),
            "PID-7|19481225".into(),
            "PID-8|F".into(),
        ],
        author: vec![author()],
        class_code: code("001", dk::CLASS_CODE_SYSTEM, "Klinisk rapport"),
        confidentiality_code: code("N", dk::CONFIDENTIALITY_SYSTEM, "Normal")
            .into_iter()
            .collect(),
        event_code_list: code("ALAL02", dk::SKS, "Hjertesygdom")
            .into_iter()
            .collect(),
        format_code: code(dk::APD_FORMAT_CODE, dk::FORMAT_CODE_SYSTEM, "DK APD schema"),
        healthcare_facility_type_code: code("22232009", dk::SNOMED_CT, "hospital"),
        practice_setting_code: code("408443003", dk::SNOMED_CT, "almen medicin"),
        type_code: code(
            "39289-4",
            dk::LOINC,
            "Dato og tidspunkt for møde mellem patient og sundhedsperson",
        ),
        patient_id: Some(Identified::new(patient_id())),
        unique_id: Some(Identified::new(format!("1.2.208.176.43210.8.10.11.{i}"))),
        ..DocumentEntry::default()
    }
}

pub fn submission(n: usize) -> SubmitObjectsRequest {
    let ss_id = "urn:uuid:7a1c3e10-0000-4000-8000-000000000001".to_string();
    let set = SubmissionSet {
        entry_uuid: ss_id.clone(),
        title: Some(InternationalString::plain("Aftaler")),
        submission_time: Some("20240101120500".into()),
        author: vec![author()],
        content_type_code: code("001", dk::CLASS_CODE_SYSTEM, "Klinisk rapport"),
        patient_id: Some(Identified::new(patient_id())),
        source_id: Some(Identified::new("1.2.208.176.43210.8.10")),
        unique_id: Some(Identified::new("1.2.208.176.43210.8.10.99.1")),
        ..SubmissionSet::default()
    };
    let mut objects = Vec::with_capacity(2 * n + 2);
    for i in 0..n {
        objects.push(Identifiable::ExtrinsicObject(document_entry(i).to_rim()));
    }
    objects.push(Identifiable::RegistryPackage(set.to_rim()));
    objects.push(Identifiable::Classification(Classification {
        object: xds_model::rim::RegistryObject::new(
            "urn:uuid:7a1c3e10-0000-4000-8000-000000000002",
        ),
        classified_object: ss_id.clone(),
        classification_node: Some(classification_node::SUBMISSION_SET.into()),
        ..Classification::default()
    }));
    for i in 0..n {
        let mut a = Association::new(
            format!("urn:uuid:8b2d4f20-0000-4000-8000-{i:012}"),
            AssociationType::HasMember,
            ss_id.clone(),
            format!("urn:uuid:6f1d0a55-0000-4000-8000-{i:012}"),
        );
        a.submission_set_status = Some(SubmissionSetStatus::Original);
        a.availability_status = Some(status::APPROVED.into());
        objects.push(Identifiable::Association(a.to_rim()));
    }
    SubmitObjectsRequest {
        registry_object_list: RegistryObjectList { objects },
        ..SubmitObjectsRequest::default()
    }
}

pub fn provide_and_register(n: usize) -> ProvideAndRegisterDocumentSetRequest {
    ProvideAndRegisterDocumentSetRequest {
        submit_objects_request: submission(n),
        documents: (0..n)
            .map(|i| Document {
                id: format!("urn:uuid:6f1d0a55-0000-4000-8000-{i:012}"),
                content: DocumentContent::Include {
                    href: format!("cid:doc{i}@dds.example"),
                },
            })
            .collect(),
    }
}

//! A builder for a complete, valid Danish submission (SubmissionSet + APD DocumentEntry +
//! HasMember), which tests then break one attribute at a time.
#![allow(dead_code)]

use xds_model::rim::{
    Association, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable,
    InternationalString, ObjectRef, RegistryObject, RegistryObjectList, RegistryPackage, Slot,
};
use xds_model::vocabulary::{
    association_type, classification_node, dk, document_entry as de, folder as fd, object_type,
    status, submission_set as ss,
};

pub const CPR: &str = "0101011234";
pub const PATIENT_ID: &str = "0101011234^^^&1.2.208.176.1.2&ISO";
pub const SOR_INSTITUTION: &str =
    "Aarhus Universitetshospital^^^^^&1.2.208.176.1.1&ISO^^^^265111000016005";
pub const DE_LID: &str = "urn:uuid:0c287d32-01e3-4d87-9953-9fcc9404eb21";
pub const SS_UUID: &str = "urn:uuid:2b0e4c4f-3f51-4c5a-8d55-6a1b6f0e9c11";
pub const DE_NEW_ID: &str = "urn:uuid:7f1d3a2e-5b8c-4a5e-9d2f-1c0b3e4a5d6f";

pub fn slot(name: &str, values: &[&str]) -> Slot {
    Slot::new(name, values.iter().copied())
}

pub fn code(
    id: &str,
    scheme: &str,
    object: &str,
    value: &str,
    system: &str,
    display: &str,
) -> Classification {
    Classification {
        object: RegistryObject {
            id: id.to_owned(),
            slots: vec![slot("codingScheme", &[system])],
            name: Some(InternationalString::plain(display)),
            ..RegistryObject::default()
        },
        classification_scheme: Some(scheme.to_owned()),
        classified_object: object.to_owned(),
        classification_node: None,
        node_representation: Some(value.to_owned()),
    }
}

pub fn author(id: &str, scheme: &str, object: &str, slots: Vec<Slot>) -> Classification {
    Classification {
        object: RegistryObject {
            id: id.to_owned(),
            slots,
            ..RegistryObject::default()
        },
        classification_scheme: Some(scheme.to_owned()),
        classified_object: object.to_owned(),
        classification_node: None,
        node_representation: Some(String::new()),
    }
}

pub fn ei(id: &str, scheme: &str, object: &str, value: &str) -> ExternalIdentifier {
    ExternalIdentifier {
        object: RegistryObject::new(id),
        registry_object: object.to_owned(),
        identification_scheme: scheme.to_owned(),
        value: value.to_owned(),
    }
}

pub fn node(id: &str, object: &str, node: &str) -> Classification {
    Classification {
        object: RegistryObject::new(id),
        classification_scheme: None,
        classified_object: object.to_owned(),
        classification_node: Some(node.to_owned()),
        node_representation: None,
    }
}

pub fn assoc(id: &str, ty: &str, source: &str, target: &str, slots: Vec<Slot>) -> Association {
    Association {
        object: RegistryObject {
            id: id.to_owned(),
            slots,
            ..RegistryObject::default()
        },
        association_type: ty.to_owned(),
        source_object: source.to_owned(),
        target_object: target.to_owned(),
    }
}

pub fn document_entry(id: &str, unique_id: &str) -> ExtrinsicObject {
    ExtrinsicObject {
        object: RegistryObject {
            id: id.to_owned(),
            object_type: Some(object_type::STABLE_DOCUMENT_ENTRY.to_owned()),
            slots: vec![
                slot("creationTime", &["20240312101500"]),
                slot("hash", &["da39a3ee5e6b4b0d3255bfef95601890afd80709"]),
                slot("size", &["1234"]),
                slot("repositoryUniqueId", &["1.2.208.176.43210.8.10.11"]),
                slot("languageCode", &["da-DK"]),
                slot(
                    "legalAuthenticator",
                    &["^Hansen^Hans^^^^^^&1.2.208.176.1.2&ISO"],
                ),
                slot("serviceStartTime", &["20240401080000"]),
                slot("serviceStopTime", &["20240401090000"]),
                slot("sourcePatientId", &[PATIENT_ID]),
                slot(
                    "sourcePatientInfo",
                    &[
                        "PID-3|0101011234^^^&1.2.208.176.1.2&ISO",
                        "PID-5|Jensen^Jens",
                    ],
                ),
            ],
            name: Some(InternationalString::plain(format!("Aftale for {CPR}"))),
            classifications: vec![
                author(
                    &format!("{id}-author"),
                    de::AUTHOR,
                    id,
                    vec![
                        slot("authorPerson", &["^Hansen^Hans"]),
                        slot("authorInstitution", &[SOR_INSTITUTION]),
                    ],
                ),
                code(
                    &format!("{id}-class"),
                    de::CLASS_CODE,
                    id,
                    "001",
                    dk::CLASS_CODE_SYSTEM,
                    "Klinisk rapport",
                ),
                code(
                    &format!("{id}-conf"),
                    de::CONFIDENTIALITY_CODE,
                    id,
                    "N",
                    dk::CONFIDENTIALITY_SYSTEM,
                    "Normal",
                ),
                code(
                    &format!("{id}-event"),
                    de::EVENT_CODE,
                    id,
                    "ALAL01",
                    dk::SKS,
                    "Kræft",
                ),
                code(
                    &format!("{id}-format"),
                    de::FORMAT_CODE,
                    id,
                    dk::APD_FORMAT_CODE,
                    dk::FORMAT_CODE_SYSTEM,
                    "DK APD schema",
                ),
                code(
                    &format!("{id}-facility"),
                    de::HEALTHCARE_FACILITY_TYPE_CODE,
                    id,
                    "22232009",
                    dk::SNOMED_CT,
                    "hospital",
                ),
                code(
                    &format!("{id}-practice"),
                    de::PRACTICE_SETTING_CODE,
                    id,
                    "408443003",
                    dk::SNOMED_CT,
                    "almen medicin",
                ),
                code(
                    &format!("{id}-type"),
                    de::TYPE_CODE,
                    id,
                    "39289-4",
                    dk::LOINC,
                    "Dato og tidspunkt for møde mellem patient og sundhedsperson",
                ),
            ],
            external_identifiers: vec![
                ei(&format!("{id}-pid"), de::PATIENT_ID, id, PATIENT_ID),
                ei(&format!("{id}-uid"), de::UNIQUE_ID, id, unique_id),
            ],
            ..RegistryObject::default()
        },
        mime_type: Some("text/xml".to_owned()),
        is_opaque: None,
        content_version_info: None,
    }
}

pub fn submission_set(id: &str) -> RegistryPackage {
    RegistryPackage {
        object: RegistryObject {
            id: id.to_owned(),
            slots: vec![slot("submissionTime", &["20240312101600"])],
            classifications: vec![
                author(
                    &format!("{id}-author"),
                    ss::AUTHOR,
                    id,
                    vec![slot("authorInstitution", &[SOR_INSTITUTION])],
                ),
                code(
                    &format!("{id}-content"),
                    ss::CONTENT_TYPE_CODE,
                    id,
                    "001",
                    dk::CLASS_CODE_SYSTEM,
                    "Klinisk rapport",
                ),
            ],
            external_identifiers: vec![
                ei(&format!("{id}-pid"), ss::PATIENT_ID, id, PATIENT_ID),
                ei(
                    &format!("{id}-src"),
                    ss::SOURCE_ID,
                    id,
                    "1.2.208.176.43210.8.20",
                ),
                ei(
                    &format!("{id}-uid"),
                    ss::UNIQUE_ID,
                    id,
                    "1.2.208.176.43210.8.20.1.1",
                ),
            ],
            ..RegistryObject::default()
        },
        members: Vec::new(),
    }
}

pub fn folder(id: &str) -> RegistryPackage {
    RegistryPackage {
        object: RegistryObject {
            id: id.to_owned(),
            name: Some(InternationalString::plain("Forløb")),
            classifications: vec![
                node(&format!("{id}-node"), id, classification_node::FOLDER),
                code(
                    &format!("{id}-code"),
                    fd::CODE_LIST,
                    id,
                    "ALAL01",
                    dk::SKS,
                    "Kræft",
                ),
            ],
            external_identifiers: vec![
                ei(&format!("{id}-pid"), fd::PATIENT_ID, id, PATIENT_ID),
                ei(
                    &format!("{id}-uid"),
                    fd::UNIQUE_ID,
                    id,
                    "1.2.208.176.43210.8.20.3.1",
                ),
            ],
            ..RegistryObject::default()
        },
        members: Vec::new(),
    }
}

/// A valid submission whose parts tests edit before calling [`Sub::list`].
#[derive(Debug, Clone)]
pub struct Sub {
    pub ss: RegistryPackage,
    /// The stand-alone Classification marking `ss` as SubmissionSet (as ITI-41 senders do).
    pub ss_marker: Classification,
    pub de: ExtrinsicObject,
    pub member: Association,
    pub extra: Vec<Identifiable>,
}

impl Sub {
    /// ITI-41/ITI-42 form with symbolic ids.
    pub fn new() -> Sub {
        Sub {
            ss: submission_set("SubmissionSet01"),
            ss_marker: node(
                "SubmissionSet01-node",
                "SubmissionSet01",
                classification_node::SUBMISSION_SET,
            ),
            de: document_entry("Document01", "1.2.208.176.43210.8.20.2.1"),
            member: assoc(
                "HasMember01",
                association_type::HAS_MEMBER,
                "SubmissionSet01",
                "Document01",
                vec![slot("SubmissionSetStatus", &["Original"])],
            ),
            extra: Vec::new(),
        }
    }

    /// ITI-57 form: the DocumentEntry is a new version of `DE_LID`, version 1.
    pub fn update() -> Sub {
        let mut s = Sub::new();
        s.rename_de(DE_NEW_ID);
        s.de.object.lid = Some(DE_LID.to_owned());
        s.member.object.slots.push(slot("PreviousVersion", &["1"]));
        s
    }

    /// Query-response form: entryUUIDs and statuses everywhere.
    pub fn response() -> Sub {
        let mut s = Sub::new();
        s.rename_de(DE_NEW_ID);
        s.de.object.status = Some(status::APPROVED.to_owned());
        let ss_id = SS_UUID;
        let old = s.ss.object.id.clone();
        s.ss.object.id = ss_id.to_owned();
        s.ss.object.status = Some(status::APPROVED.to_owned());
        for c in &mut s.ss.object.classifications {
            c.classified_object = ss_id.to_owned();
        }
        for e in &mut s.ss.object.external_identifiers {
            e.registry_object = ss_id.to_owned();
        }
        s.ss_marker.classified_object = ss_id.to_owned();
        debug_assert_eq!(s.member.source_object, old);
        s.member.source_object = ss_id.to_owned();
        s.member.object.id = "urn:uuid:5e3c3a10-7b61-4f0e-8a0e-2f2f6c7f7b01".to_owned();
        s.member.object.status = Some(status::APPROVED.to_owned());
        s
    }

    pub fn rename_de(&mut self, id: &str) {
        let old = self.de.object.id.clone();
        self.de.object.id = id.to_owned();
        for c in &mut self.de.object.classifications {
            c.classified_object = id.to_owned();
        }
        for e in &mut self.de.object.external_identifiers {
            e.registry_object = id.to_owned();
        }
        if self.member.target_object == old {
            self.member.target_object = id.to_owned();
        }
    }

    pub fn list(&self) -> RegistryObjectList {
        let mut objects = vec![
            Identifiable::RegistryPackage(self.ss.clone()),
            Identifiable::Classification(self.ss_marker.clone()),
            Identifiable::ExtrinsicObject(self.de.clone()),
            Identifiable::Association(self.member.clone()),
        ];
        objects.extend(self.extra.iter().cloned());
        RegistryObjectList { objects }
    }

    pub fn de_slot(&mut self, name: &str) -> &mut Slot {
        let slots = &mut self.de.object.slots;
        if let Some(i) = slots.iter().position(|s| s.name == name) {
            &mut slots[i]
        } else {
            slots.push(slot(name, &[]));
            slots.last_mut().unwrap()
        }
    }

    pub fn remove_de_slot(&mut self, name: &str) {
        self.de.object.slots.retain(|s| s.name != name);
    }

    pub fn de_code(&mut self, scheme: &str) -> &mut Classification {
        self.de
            .object
            .classifications
            .iter_mut()
            .find(|c| c.classification_scheme.as_deref() == Some(scheme))
            .unwrap()
    }

    pub fn remove_de_code(&mut self, scheme: &str) {
        self.de
            .object
            .classifications
            .retain(|c| c.classification_scheme.as_deref() != Some(scheme));
    }

    pub fn duplicate_de_code(&mut self, scheme: &str) {
        let mut c = self.de_code(scheme).clone();
        c.object.id.push_str("-2");
        self.de.object.classifications.push(c);
    }

    pub fn de_ei(&mut self, scheme: &str) -> &mut ExternalIdentifier {
        self.de
            .object
            .external_identifiers
            .iter_mut()
            .find(|e| e.identification_scheme == scheme)
            .unwrap()
    }

    pub fn with_folder(&mut self) {
        self.extra
            .push(Identifiable::RegistryPackage(folder("Folder01")));
        self.extra.push(Identifiable::Association(assoc(
            "HasMember02",
            association_type::HAS_MEMBER,
            "SubmissionSet01",
            "Folder01",
            vec![],
        )));
    }

    pub fn folder_mut(&mut self) -> &mut RegistryPackage {
        self.extra
            .iter_mut()
            .find_map(|o| match o {
                Identifiable::RegistryPackage(p) if p.object.id == "Folder01" => Some(p),
                _ => None,
            })
            .unwrap()
    }
}

pub fn object_refs(ids: &[&str]) -> RegistryObjectList {
    RegistryObjectList {
        objects: ids
            .iter()
            .map(|id| {
                Identifiable::ObjectRef(ObjectRef {
                    id: (*id).to_owned(),
                    home: None,
                    create_replica: None,
                })
            })
            .collect(),
    }
}

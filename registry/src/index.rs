//! What the store indexes about one registry object, read from its ebRIM form.
//!
//! The store keeps each object's XML as the truth and these values as derived columns and link
//! rows; [`ObjectIndex::of`] is the only place that derives them, so a row and its XML cannot
//! disagree about what a query filters on.
//!
//! Invariant: pure and total. An attribute that is absent or unreadable is `None` here; the
//! metadata rules about it belong to `xds-validate` (and to the registration checks for the
//! few that need the store).

use xds_model::rim::{Identifiable, RegistryObject, RegistryPackage};
use xds_model::vocabulary::{
    classification_node, document_entry, folder, object_type, submission_set,
};

use crate::dtm;

/// Slot names the index reads (ITI TF-3 4.2.3).
pub mod slot {
    pub const CREATION_TIME: &str = "creationTime";
    pub const SERVICE_START_TIME: &str = "serviceStartTime";
    pub const SERVICE_STOP_TIME: &str = "serviceStopTime";
    pub const SUBMISSION_TIME: &str = "submissionTime";
    pub const LAST_UPDATE_TIME: &str = "lastUpdateTime";
    pub const REPOSITORY_UNIQUE_ID: &str = "repositoryUniqueId";
    pub const HASH: &str = "hash";
    pub const SIZE: &str = "size";
    pub const REFERENCE_ID_LIST: &str = "urn:ihe:iti:xds:2013:referenceIdList";
    pub const AUTHOR_PERSON: &str = "authorPerson";
    pub const AUTHOR_INSTITUTION: &str = "authorInstitution";
    pub const CODING_SCHEME: &str = "codingScheme";
}

/// The four kinds of object the registry stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    DocumentEntry,
    SubmissionSet,
    Folder,
    Association,
}

impl ObjectKind {
    /// The value of the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::DocumentEntry => "DocumentEntry",
            ObjectKind::SubmissionSet => "SubmissionSet",
            ObjectKind::Folder => "Folder",
            ObjectKind::Association => "Association",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "DocumentEntry" => Some(ObjectKind::DocumentEntry),
            "SubmissionSet" => Some(ObjectKind::SubmissionSet),
            "Folder" => Some(ObjectKind::Folder),
            "Association" => Some(ObjectKind::Association),
            _ => None,
        }
    }

    /// Which kind an identifiable is, or `None` for the objects the registry does not store
    /// on their own (classifications, external identifiers, object refs, unmarked packages).
    pub fn of(object: &Identifiable) -> Option<Self> {
        match object {
            Identifiable::ExtrinsicObject(_) => Some(ObjectKind::DocumentEntry),
            Identifiable::Association(_) => Some(ObjectKind::Association),
            Identifiable::RegistryPackage(p) => package_kind(p),
            _ => None,
        }
    }
}

/// A RegistryPackage is a SubmissionSet or Folder by a classification carrying the node,
/// nested in it (top-level ones are moved inside before this is asked).
fn package_kind(package: &RegistryPackage) -> Option<ObjectKind> {
    package
        .object
        .classifications
        .iter()
        .find_map(|c| match c.classification_node.as_deref() {
            Some(classification_node::SUBMISSION_SET) => Some(ObjectKind::SubmissionSet),
            Some(classification_node::FOLDER) => Some(ObjectKind::Folder),
            _ => None,
        })
}

/// Multi-valued code attributes, by XDS attribute name, and the scheme that carries them.
const DOCUMENT_ENTRY_CODES: [(&str, &str); 7] = [
    ("classCode", document_entry::CLASS_CODE),
    ("typeCode", document_entry::TYPE_CODE),
    ("formatCode", document_entry::FORMAT_CODE),
    ("practiceSettingCode", document_entry::PRACTICE_SETTING_CODE),
    (
        "healthcareFacilityTypeCode",
        document_entry::HEALTHCARE_FACILITY_TYPE_CODE,
    ),
    ("eventCodeList", document_entry::EVENT_CODE),
    ("confidentialityCode", document_entry::CONFIDENTIALITY_CODE),
];

/// One coded value of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub attribute: &'static str,
    pub code: String,
    pub scheme: String,
}

/// Everything the store derives from one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectIndex {
    pub kind: ObjectKind,
    pub entry_uuid: String,
    pub patient_id: Option<String>,
    pub status: Option<String>,
    pub object_type: Option<String>,
    pub unique_id: Option<String>,
    pub logical_id: Option<String>,
    pub version: Option<String>,
    pub creation_time: Option<String>,
    pub service_start_time: Option<String>,
    pub service_stop_time: Option<String>,
    pub submission_time: Option<String>,
    pub last_update_time: Option<String>,
    pub repository_unique_id: Option<String>,
    pub hash: Option<String>,
    /// The `size` slot as written; parsed by whoever needs a number.
    pub size: Option<String>,
    pub source_id: Option<String>,
    pub association_type: Option<String>,
    pub source_object: Option<String>,
    pub target_object: Option<String>,
    pub codes: Vec<Code>,
    pub author_persons: Vec<String>,
    pub author_institutions: Vec<String>,
    pub reference_ids: Vec<String>,
}

fn first_slot_value(object: &RegistryObject, name: &str) -> Option<String> {
    object
        .slot(name)
        .and_then(|s| s.values.first())
        .map(|v| v.trim().to_owned())
}

fn time_slot(object: &RegistryObject, name: &str) -> Option<String> {
    first_slot_value(object, name).and_then(|v| dtm::normalize(&v))
}

fn external_id(object: &RegistryObject, scheme: &str) -> Option<String> {
    object
        .external_identifiers_by_scheme(scheme)
        .next()
        .map(|e| e.value.trim().to_owned())
}

fn codes_of(object: &RegistryObject, attribute: &'static str, scheme: &str) -> Vec<Code> {
    object
        .classifications_by_scheme(scheme)
        .filter_map(|c| {
            let code = c.node_representation.clone()?;
            let scheme = first_slot_value(&c.object, slot::CODING_SCHEME).unwrap_or_default();
            Some(Code {
                attribute,
                code,
                scheme,
            })
        })
        .collect()
}

fn authors(object: &RegistryObject, scheme: &str, slot_name: &str) -> Vec<String> {
    object
        .classifications_by_scheme(scheme)
        .flat_map(|c| {
            c.object
                .slot(slot_name)
                .map(|s| s.values.clone())
                .unwrap_or_default()
        })
        .collect()
}

impl ObjectIndex {
    /// The index of a stored kind of object, `None` for the others.
    pub fn of(object: &Identifiable) -> Option<ObjectIndex> {
        let kind = ObjectKind::of(object)?;
        let ro = object.registry_object()?;
        let mut index = ObjectIndex {
            kind,
            entry_uuid: ro.id.clone(),
            patient_id: None,
            status: ro.status.clone(),
            object_type: ro.object_type.clone(),
            unique_id: None,
            logical_id: ro.lid.clone(),
            version: ro
                .version_info
                .as_ref()
                .and_then(|v| v.version_name.clone()),
            creation_time: None,
            service_start_time: None,
            service_stop_time: None,
            submission_time: None,
            last_update_time: None,
            repository_unique_id: None,
            hash: None,
            size: None,
            source_id: None,
            association_type: None,
            source_object: None,
            target_object: None,
            codes: Vec::new(),
            author_persons: Vec::new(),
            author_institutions: Vec::new(),
            reference_ids: Vec::new(),
        };
        match (kind, object) {
            (ObjectKind::DocumentEntry, _) => {
                index.object_type = Some(
                    ro.object_type
                        .clone()
                        .unwrap_or_else(|| object_type::STABLE_DOCUMENT_ENTRY.to_owned()),
                );
                index.patient_id = external_id(ro, document_entry::PATIENT_ID);
                index.unique_id = external_id(ro, document_entry::UNIQUE_ID);
                index.creation_time = time_slot(ro, slot::CREATION_TIME);
                index.service_start_time = time_slot(ro, slot::SERVICE_START_TIME);
                index.service_stop_time = time_slot(ro, slot::SERVICE_STOP_TIME);
                index.repository_unique_id = first_slot_value(ro, slot::REPOSITORY_UNIQUE_ID);
                index.hash = first_slot_value(ro, slot::HASH).map(|h| h.to_ascii_lowercase());
                index.size = first_slot_value(ro, slot::SIZE);
                for (attribute, scheme) in DOCUMENT_ENTRY_CODES {
                    index.codes.extend(codes_of(ro, attribute, scheme));
                }
                index.author_persons = authors(ro, document_entry::AUTHOR, slot::AUTHOR_PERSON);
                index.author_institutions =
                    authors(ro, document_entry::AUTHOR, slot::AUTHOR_INSTITUTION);
                index.reference_ids = ro
                    .slot(slot::REFERENCE_ID_LIST)
                    .map(|s| s.values.clone())
                    .unwrap_or_default();
            }
            (ObjectKind::SubmissionSet, _) => {
                index.patient_id = external_id(ro, submission_set::PATIENT_ID);
                index.unique_id = external_id(ro, submission_set::UNIQUE_ID);
                index.source_id = external_id(ro, submission_set::SOURCE_ID);
                index.submission_time = time_slot(ro, slot::SUBMISSION_TIME);
                index.codes = codes_of(ro, "contentTypeCode", submission_set::CONTENT_TYPE_CODE);
                index.author_persons = authors(ro, submission_set::AUTHOR, slot::AUTHOR_PERSON);
                index.author_institutions =
                    authors(ro, submission_set::AUTHOR, slot::AUTHOR_INSTITUTION);
            }
            (ObjectKind::Folder, _) => {
                index.patient_id = external_id(ro, folder::PATIENT_ID);
                index.unique_id = external_id(ro, folder::UNIQUE_ID);
                index.last_update_time = time_slot(ro, slot::LAST_UPDATE_TIME);
                index.codes = codes_of(ro, "codeList", folder::CODE_LIST);
            }
            (ObjectKind::Association, Identifiable::Association(a)) => {
                index.association_type = Some(a.association_type.clone());
                index.source_object = Some(a.source_object.clone());
                index.target_object = Some(a.target_object.clone());
            }
            (ObjectKind::Association, _) => {}
        }
        Some(index)
    }
}

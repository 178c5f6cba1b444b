//! ITI-18 / ITI-51 stored-query requests: the raw parameters as they travel, and their
//! checked, typed form.
//!
//! [`StoredQueryRequest`] holds what an `AdhocQuery` carries (query id, return type, one entry
//! per `rim:Slot` with the raw `rim:Value` texts). [`StoredQuery::parse`] turns it into a typed
//! query or the precise query error (ITI TF-2a 3.18.4.1.3): unknown query id
//! (`XDSUnknownStoredQuery`), a required parameter missing (`XDSStoredQueryMissingParam`), a
//! single-valued parameter given several values or repeated, or neither/both of two exclusive
//! parameters (`XDSStoredQueryParamNumber`), an unreadable value (`XDSRegistryError`).
//!
//! Value syntax (ITI TF-2a 3.18.4.1.2.3.5), read by the model's `query_value` parser:
//! strings in single quotes (`'a''b'` for `a'b`), numbers bare, lists in parentheses
//! (`('a','b')`); codes are `'code^^scheme'` with both parts required. Several values of one parameter,
//! whether in one list or in several `rim:Value`s of one slot, are ORed. A repeated slot of
//! the same name is ANDed, for the parameters that allow it (event codes, confidentiality
//! codes, folder code list); other parameters may not repeat.
//!
//! Invariant: pure. Parsing never touches the store, so every backend answers the same
//! errors for the same request.

use std::collections::HashMap;

use xds_model::message::query_value::{QueryCode, QueryValue, QueryValueError, Scalar};
use xds_model::message::{AdhocQueryRequest, ReturnType as WireReturnType};
use xds_model::rim::Slot;
use xds_model::vocabulary::{association_type, object_type, stored_query};

use crate::dtm;
use crate::error::QueryError;

/// `AdhocQuery` `returnType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnType {
    /// Full objects.
    #[default]
    LeafClass,
    /// Only references (entryUUIDs).
    ObjectRef,
}

impl From<WireReturnType> for ReturnType {
    /// `ObjectRef` stays `ObjectRef`; `LeafClass`, `RegistryObject` (the schema default) and
    /// `LeafClassWithRepositoryItem` all answer full objects (XDS has no repository items).
    fn from(value: WireReturnType) -> Self {
        match value {
            WireReturnType::ObjectRef => ReturnType::ObjectRef,
            WireReturnType::LeafClass
            | WireReturnType::RegistryObject
            | WireReturnType::LeafClassWithRepositoryItem => ReturnType::LeafClass,
        }
    }
}

/// One `rim:Slot` of the query: its name and raw value texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    pub name: String,
    pub values: Vec<String>,
}

/// A stored query as the edge received it, before its parameters are checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredQueryRequest {
    /// The `AdhocQuery/@id`: a stored query id from `vocabulary::stored_query`.
    pub query_id: String,
    pub return_type: ReturnType,
    /// One entry per slot, in document order; the same name may occur more than once.
    pub params: Vec<QueryParam>,
}

impl StoredQueryRequest {
    pub fn new(query_id: impl Into<String>, return_type: ReturnType) -> Self {
        StoredQueryRequest {
            query_id: query_id.into(),
            return_type,
            params: Vec::new(),
        }
    }

    /// From a parsed ITI-18 / ITI-51 request.
    pub fn from_adhoc_query_request(request: &AdhocQueryRequest) -> Self {
        Self::from_slots(
            request.adhoc_query.object.id.clone(),
            request.response_option.return_type.into(),
            &request.adhoc_query.object.slots,
        )
    }

    /// From the slots of a parsed `rim:AdhocQuery`.
    pub fn from_slots(
        query_id: impl Into<String>,
        return_type: ReturnType,
        slots: &[Slot],
    ) -> Self {
        StoredQueryRequest {
            query_id: query_id.into(),
            return_type,
            params: slots
                .iter()
                .map(|s| QueryParam {
                    name: s.name.clone(),
                    values: s.values.clone(),
                })
                .collect(),
        }
    }

    /// Adds one slot (builder style, for tests and command-line clients).
    pub fn param(mut self, name: &str, values: &[&str]) -> Self {
        self.params.push(QueryParam {
            name: name.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        });
        self
    }
}

/// What a stored query answers.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryResponse {
    /// `returnType="LeafClass"`: the objects, read back from the store.
    LeafClass(Vec<xds_model::rim::Identifiable>),
    /// `returnType="ObjectRef"`: their entryUUIDs.
    ObjectRefs(Vec<String>),
}

impl QueryResponse {
    pub fn len(&self) -> usize {
        match self {
            QueryResponse::LeafClass(o) => o.len(),
            QueryResponse::ObjectRefs(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `rim:RegistryObjectList` of the `AdhocQueryResponse`: the objects, or one
    /// `rim:ObjectRef` per id.
    pub fn into_registry_object_list(self) -> xds_model::rim::RegistryObjectList {
        let objects = match self {
            QueryResponse::LeafClass(objects) => objects,
            QueryResponse::ObjectRefs(ids) => ids
                .into_iter()
                .map(|id| {
                    xds_model::rim::Identifiable::ObjectRef(xds_model::rim::ObjectRef {
                        id,
                        home: None,
                        create_replica: None,
                    })
                })
                .collect(),
        };
        xds_model::rim::RegistryObjectList { objects }
    }

    /// The entryUUIDs of the answer, whichever return type.
    pub fn ids(&self) -> Vec<String> {
        match self {
            QueryResponse::LeafClass(o) => o.iter().map(|o| o.id().to_owned()).collect(),
            QueryResponse::ObjectRefs(r) => r.clone(),
        }
    }
}

/// A coded query value `code^^codingScheme` (the scheme is required since ITI-18 2010).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeValue {
    pub code: String,
    pub scheme: String,
}

/// Code conditions: all of the outer list must hold, each being any of the inner list.
pub type CodeCondition = Vec<Vec<CodeValue>>;

/// A `From`/`To` range on a time attribute; `from` inclusive, `to` exclusive, both padded
/// DTMs (ITI TF-2a 3.18.4.1.2.3.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Filters of FindDocuments, FindDocumentsByReferenceId and FindDocumentsForMultiplePatients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentFilter {
    /// `None`: any patient (ITI-51 without a patient list).
    pub patient_ids: Option<Vec<String>>,
    pub class_codes: CodeCondition,
    pub type_codes: CodeCondition,
    pub practice_setting_codes: CodeCondition,
    pub healthcare_facility_type_codes: CodeCondition,
    pub event_codes: CodeCondition,
    pub confidentiality_codes: CodeCondition,
    pub format_codes: CodeCondition,
    pub creation_time: TimeRange,
    pub service_start_time: TimeRange,
    pub service_stop_time: TimeRange,
    /// LIKE patterns (`%`, `_`), any of which matches an authorPerson.
    pub author_persons: Vec<String>,
    pub statuses: Vec<String>,
    /// objectTypes (stable / on-demand); stable only when the parameter is absent.
    pub object_types: Vec<String>,
    /// referenceIdList values, any of which matches (empty: no condition).
    pub reference_ids: Vec<String>,
}

/// Filters of FindSubmissionSets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmissionSetFilter {
    pub patient_id: String,
    pub source_ids: Vec<String>,
    pub submission_time: TimeRange,
    pub author_persons: Vec<String>,
    pub content_type_codes: CodeCondition,
    pub statuses: Vec<String>,
}

/// Filters of FindFolders and FindFoldersForMultiplePatients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FolderFilter {
    pub patient_ids: Option<Vec<String>>,
    pub last_update_time: TimeRange,
    pub codes: CodeCondition,
    pub statuses: Vec<String>,
}

/// The document filters of the "...AndContents", GetAll and GetRelatedDocuments queries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContentFilter {
    pub format_codes: CodeCondition,
    pub confidentiality_codes: CodeCondition,
    /// objectTypes; stable only when absent.
    pub object_types: Vec<String>,
}

/// Objects named by entryUUID or by uniqueId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    EntryUuids(Vec<String>),
    UniqueIds(Vec<String>),
}

/// A checked stored query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredQuery {
    /// FindDocuments, FindDocumentsByReferenceId, FindDocumentsForMultiplePatients (then
    /// `patient_ids` is not a single patient).
    FindDocuments(Box<DocumentFilter>),
    FindSubmissionSets(SubmissionSetFilter),
    /// FindFolders, FindFoldersForMultiplePatients.
    FindFolders(FolderFilter),
    GetAll {
        patient_id: String,
        document_statuses: Vec<String>,
        submission_set_statuses: Vec<String>,
        folder_statuses: Vec<String>,
        filter: ContentFilter,
    },
    GetDocuments(Selector),
    GetFolders(Selector),
    GetAssociations(Vec<String>),
    GetDocumentsAndAssociations(Selector),
    GetSubmissionSets(Vec<String>),
    GetSubmissionSetAndContents {
        submission_set: Selector,
        filter: ContentFilter,
    },
    GetFolderAndContents {
        folder: Selector,
        filter: ContentFilter,
    },
    GetFoldersForDocument(Selector),
    GetRelatedDocuments {
        document: Selector,
        association_types: Vec<String>,
        filter: ContentFilter,
    },
}

/// Parameter names (ITI TF-2a 3.18.4.1.2.3.7).
pub mod param {
    pub const DE_PATIENT_ID: &str = "$XDSDocumentEntryPatientId";
    pub const DE_CLASS_CODE: &str = "$XDSDocumentEntryClassCode";
    pub const DE_TYPE_CODE: &str = "$XDSDocumentEntryTypeCode";
    pub const DE_PRACTICE_SETTING_CODE: &str = "$XDSDocumentEntryPracticeSettingCode";
    pub const DE_CREATION_TIME_FROM: &str = "$XDSDocumentEntryCreationTimeFrom";
    pub const DE_CREATION_TIME_TO: &str = "$XDSDocumentEntryCreationTimeTo";
    pub const DE_SERVICE_START_TIME_FROM: &str = "$XDSDocumentEntryServiceStartTimeFrom";
    pub const DE_SERVICE_START_TIME_TO: &str = "$XDSDocumentEntryServiceStartTimeTo";
    pub const DE_SERVICE_STOP_TIME_FROM: &str = "$XDSDocumentEntryServiceStopTimeFrom";
    pub const DE_SERVICE_STOP_TIME_TO: &str = "$XDSDocumentEntryServiceStopTimeTo";
    pub const DE_HEALTHCARE_FACILITY_TYPE_CODE: &str =
        "$XDSDocumentEntryHealthcareFacilityTypeCode";
    pub const DE_EVENT_CODE_LIST: &str = "$XDSDocumentEntryEventCodeList";
    pub const DE_CONFIDENTIALITY_CODE: &str = "$XDSDocumentEntryConfidentialityCode";
    pub const DE_AUTHOR_PERSON: &str = "$XDSDocumentEntryAuthorPerson";
    pub const DE_FORMAT_CODE: &str = "$XDSDocumentEntryFormatCode";
    pub const DE_STATUS: &str = "$XDSDocumentEntryStatus";
    pub const DE_TYPE: &str = "$XDSDocumentEntryType";
    pub const DE_REFERENCE_ID_LIST: &str = "$XDSDocumentEntryReferenceIdList";
    pub const DE_ENTRY_UUID: &str = "$XDSDocumentEntryEntryUUID";
    pub const DE_UNIQUE_ID: &str = "$XDSDocumentEntryUniqueId";
    pub const SS_PATIENT_ID: &str = "$XDSSubmissionSetPatientId";
    pub const SS_SOURCE_ID: &str = "$XDSSubmissionSetSourceId";
    pub const SS_SUBMISSION_TIME_FROM: &str = "$XDSSubmissionSetSubmissionTimeFrom";
    pub const SS_SUBMISSION_TIME_TO: &str = "$XDSSubmissionSetSubmissionTimeTo";
    pub const SS_AUTHOR_PERSON: &str = "$XDSSubmissionSetAuthorPerson";
    pub const SS_CONTENT_TYPE: &str = "$XDSSubmissionSetContentType";
    pub const SS_STATUS: &str = "$XDSSubmissionSetStatus";
    pub const SS_ENTRY_UUID: &str = "$XDSSubmissionSetEntryUUID";
    pub const SS_UNIQUE_ID: &str = "$XDSSubmissionSetUniqueId";
    pub const FOLDER_PATIENT_ID: &str = "$XDSFolderPatientId";
    pub const FOLDER_LAST_UPDATE_TIME_FROM: &str = "$XDSFolderLastUpdateTimeFrom";
    pub const FOLDER_LAST_UPDATE_TIME_TO: &str = "$XDSFolderLastUpdateTimeTo";
    pub const FOLDER_CODE_LIST: &str = "$XDSFolderCodeList";
    pub const FOLDER_STATUS: &str = "$XDSFolderStatus";
    pub const FOLDER_ENTRY_UUID: &str = "$XDSFolderEntryUUID";
    pub const FOLDER_UNIQUE_ID: &str = "$XDSFolderUniqueId";
    pub const PATIENT_ID: &str = "$patientId";
    pub const UUID: &str = "$uuid";
    pub const ASSOCIATION_TYPES: &str = "$AssociationTypes";
    pub const METADATA_LEVEL: &str = "$MetadataLevel";
    pub const HOME_COMMUNITY_ID: &str = "$homeCommunityId";
    /// Ours: the text of FindDocumentsByText.
    pub const DDS_TEXT: &str = "$DdsText";
}

/// Reads one raw `rim:Value` text into its items with the model's parser
/// (`xds_model::message::query_value`); numbers become their decimal text.
pub fn parse_value_list(raw: &str) -> Result<Vec<String>, QueryValueError> {
    Ok(QueryValue::parse(raw)?
        .scalars()
        .iter()
        .map(|s| match s {
            Scalar::String(v) => v.clone(),
            Scalar::Number(n) => n.to_string(),
        })
        .collect())
}

/// The parameters of one request, grouped by name: each occurrence with its values.
struct Params<'a> {
    query: &'static str,
    by_name: HashMap<&'a str, Vec<Vec<String>>>,
}

impl<'a> Params<'a> {
    fn new(query: &'static str, request: &'a StoredQueryRequest) -> Result<Self, QueryError> {
        let mut by_name: HashMap<&str, Vec<Vec<String>>> = HashMap::new();
        for p in &request.params {
            let mut values = Vec::new();
            for raw in &p.values {
                values.extend(parse_value_list(raw).map_err(|e| {
                    QueryError::InvalidParamValue {
                        param: p.name.clone(),
                        value: raw.clone(),
                        reason: e.to_string(),
                    }
                })?);
            }
            by_name.entry(p.name.as_str()).or_default().push(values);
        }
        Ok(Params { query, by_name })
    }

    /// All values of a parameter that may not repeat (ORed).
    fn list(&self, name: &'static str) -> Result<Option<Vec<String>>, QueryError> {
        match self.by_name.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([values]) => Ok(Some(values.clone())),
            Some(_) => Err(QueryError::ParamNumber {
                query: self.query,
                param: name,
                detail: "may not be repeated",
            }),
        }
    }

    fn required_list(&self, name: &'static str) -> Result<Vec<String>, QueryError> {
        self.list(name)?.ok_or(QueryError::MissingParam {
            query: self.query,
            param: name,
        })
    }

    fn single(&self, name: &'static str) -> Result<Option<String>, QueryError> {
        match self.list(name)? {
            None => Ok(None),
            Some(mut values) if values.len() == 1 => Ok(values.pop()),
            Some(_) => Err(QueryError::ParamNumber {
                query: self.query,
                param: name,
                detail: "takes a single value",
            }),
        }
    }

    fn required_single(&self, name: &'static str) -> Result<String, QueryError> {
        self.single(name)?.ok_or(QueryError::MissingParam {
            query: self.query,
            param: name,
        })
    }

    fn time(&self, name: &'static str) -> Result<Option<String>, QueryError> {
        self.single(name)?
            .map(|v| {
                dtm::normalize(&v).ok_or(QueryError::InvalidParamValue {
                    param: name.to_owned(),
                    value: v,
                    reason: "not a DTM time YYYY[MM[DD[hh[mm[ss]]]]]".to_owned(),
                })
            })
            .transpose()
    }

    fn range(&self, from: &'static str, to: &'static str) -> Result<TimeRange, QueryError> {
        Ok(TimeRange {
            from: self.time(from)?,
            to: self.time(to)?,
        })
    }

    /// A code parameter; `and_allowed` lets it repeat (each occurrence ANDed).
    fn codes(&self, name: &'static str, and_allowed: bool) -> Result<CodeCondition, QueryError> {
        let occurrences = match self.by_name.get(name) {
            None => return Ok(Vec::new()),
            Some(o) => o,
        };
        if occurrences.len() > 1 && !and_allowed {
            return Err(QueryError::ParamNumber {
                query: self.query,
                param: name,
                detail: "may not be repeated",
            });
        }
        occurrences
            .iter()
            .map(|values| {
                values
                    .iter()
                    .map(|v| {
                        let QueryCode { code, scheme } =
                            QueryCode::parse(v).map_err(|e| QueryError::InvalidParamValue {
                                param: name.to_owned(),
                                value: v.clone(),
                                reason: e.to_string(),
                            })?;
                        Ok(CodeValue { code, scheme })
                    })
                    .collect()
            })
            .collect()
    }

    fn object_types(&self) -> Result<Vec<String>, QueryError> {
        Ok(self
            .list(param::DE_TYPE)?
            .unwrap_or_else(|| vec![object_type::STABLE_DOCUMENT_ENTRY.to_owned()]))
    }

    fn metadata_level(&self) -> Result<MetadataLevel, QueryError> {
        match self.single(param::METADATA_LEVEL)?.as_deref() {
            None => Ok(MetadataLevel::Unspecified),
            Some("1") => Ok(MetadataLevel::One),
            Some("2") => Ok(MetadataLevel::Two),
            Some(other) => Err(QueryError::InvalidParamValue {
                param: param::METADATA_LEVEL.to_owned(),
                value: other.to_owned(),
                reason: "must be 1 or 2".to_owned(),
            }),
        }
    }

    fn selector(
        &self,
        uuids: &'static str,
        unique_ids: &'static str,
    ) -> Result<Selector, QueryError> {
        match (self.list(uuids)?, self.list(unique_ids)?) {
            (Some(u), None) => Ok(Selector::EntryUuids(u)),
            (None, Some(u)) => Ok(Selector::UniqueIds(u)),
            _ => Err(QueryError::ExactlyOneOf {
                query: self.query,
                first: uuids,
                second: unique_ids,
            }),
        }
    }

    /// Like [`Self::selector`], for queries about exactly one object.
    fn single_selector(
        &self,
        uuids: &'static str,
        unique_ids: &'static str,
    ) -> Result<Selector, QueryError> {
        let selector = self.selector(uuids, unique_ids)?;
        let (name, n) = match &selector {
            Selector::EntryUuids(v) => (uuids, v.len()),
            Selector::UniqueIds(v) => (unique_ids, v.len()),
        };
        if n != 1 {
            return Err(QueryError::ParamNumber {
                query: self.query,
                param: name,
                detail: "takes a single value",
            });
        }
        Ok(selector)
    }

    fn content_filter(&self) -> Result<ContentFilter, QueryError> {
        Ok(ContentFilter {
            format_codes: self.codes(param::DE_FORMAT_CODE, false)?,
            confidentiality_codes: self.codes(param::DE_CONFIDENTIALITY_CODE, true)?,
            object_types: self.object_types()?,
        })
    }

    fn document_filter(&self, patient: PatientParam) -> Result<DocumentFilter, QueryError> {
        let patient_ids = match patient {
            PatientParam::Single => Some(vec![self.required_single(param::DE_PATIENT_ID)?]),
            PatientParam::Optional => self.list(param::DE_PATIENT_ID)?,
        };
        Ok(DocumentFilter {
            patient_ids,
            class_codes: self.codes(param::DE_CLASS_CODE, false)?,
            type_codes: self.codes(param::DE_TYPE_CODE, false)?,
            practice_setting_codes: self.codes(param::DE_PRACTICE_SETTING_CODE, false)?,
            healthcare_facility_type_codes: self
                .codes(param::DE_HEALTHCARE_FACILITY_TYPE_CODE, false)?,
            event_codes: self.codes(param::DE_EVENT_CODE_LIST, true)?,
            confidentiality_codes: self.codes(param::DE_CONFIDENTIALITY_CODE, true)?,
            format_codes: self.codes(param::DE_FORMAT_CODE, false)?,
            creation_time: self.range(param::DE_CREATION_TIME_FROM, param::DE_CREATION_TIME_TO)?,
            service_start_time: self.range(
                param::DE_SERVICE_START_TIME_FROM,
                param::DE_SERVICE_START_TIME_TO,
            )?,
            service_stop_time: self.range(
                param::DE_SERVICE_STOP_TIME_FROM,
                param::DE_SERVICE_STOP_TIME_TO,
            )?,
            author_persons: self.list(param::DE_AUTHOR_PERSON)?.unwrap_or_default(),
            statuses: self.required_list(param::DE_STATUS)?,
            object_types: self.object_types()?,
            reference_ids: Vec::new(),
        })
    }

    fn folder_filter(&self, patient: PatientParam) -> Result<FolderFilter, QueryError> {
        let patient_ids = match patient {
            PatientParam::Single => Some(vec![self.required_single(param::FOLDER_PATIENT_ID)?]),
            PatientParam::Optional => self.list(param::FOLDER_PATIENT_ID)?,
        };
        Ok(FolderFilter {
            patient_ids,
            last_update_time: self.range(
                param::FOLDER_LAST_UPDATE_TIME_FROM,
                param::FOLDER_LAST_UPDATE_TIME_TO,
            )?,
            codes: self.codes(param::FOLDER_CODE_LIST, true)?,
            statuses: self.required_list(param::FOLDER_STATUS)?,
        })
    }
}

/// `$MetadataLevel` (ITI TF-2a 3.18.4.1.2.3.5.1, from the Metadata Update supplement).
///
/// Level 1 is for consumers that do not know versions: the answer leaves out DocumentEntries
/// and Folders that are not the latest version of their logicalId, Deprecated Folders and
/// Associations, and Offline DocumentEntries. Level 2, and a query that does not name a level,
/// answer every version that matches the status filter (the NIST test 15800 expects GetDocuments
/// by uniqueId without `$MetadataLevel` to return both versions of an updated DocumentEntry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataLevel {
    #[default]
    Unspecified,
    One,
    Two,
}

/// The `$MetadataLevel` of a request (checked as [`StoredQuery::parse`] checks it).
pub fn metadata_level(request: &StoredQueryRequest) -> Result<MetadataLevel, QueryError> {
    let name = query_name(&request.query_id).ok_or_else(|| QueryError::UnknownStoredQuery {
        query_id: request.query_id.clone(),
    })?;
    Params::new(name, request)?.metadata_level()
}

/// A checked FindDocumentsByText request (INTERFACE.md "Full-text stored query"): one
/// patient, the text as the caller wrote it, and the availabilityStatus values asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    pub patient_id: String,
    pub text: String,
    /// `$XDSDocumentEntryStatus`; Approved only when the parameter is absent (what a
    /// clinician searching means, as `dds query` defaults to).
    pub statuses: Vec<String>,
}

/// Checks the parameters of a FindDocumentsByText request the way [`StoredQuery::parse`]
/// checks the IHE queries' (same errors, same codes). The query itself is run by the full-text
/// index, not by this store.
pub fn parse_text_query(request: &StoredQueryRequest) -> Result<TextQuery, QueryError> {
    if request.query_id != stored_query::FIND_DOCUMENTS_BY_TEXT {
        return Err(QueryError::UnknownStoredQuery {
            query_id: request.query_id.clone(),
        });
    }
    let p = Params::new("FindDocumentsByText", request)?;
    let _ = p.list(param::HOME_COMMUNITY_ID)?;
    Ok(TextQuery {
        patient_id: p.required_single(param::DE_PATIENT_ID)?,
        text: p.required_single(param::DDS_TEXT)?,
        statuses: p
            .list(param::DE_STATUS)?
            .unwrap_or_else(|| vec![xds_model::vocabulary::status::APPROVED.to_owned()]),
    })
}

#[derive(Clone, Copy)]
enum PatientParam {
    /// ITI-18: exactly one patient, required.
    Single,
    /// ITI-51: a list of patients, optional.
    Optional,
}

/// The short name of a stored query, for messages.
pub fn query_name(query_id: &str) -> Option<&'static str> {
    use stored_query::*;
    Some(match query_id {
        FIND_DOCUMENTS => "FindDocuments",
        FIND_SUBMISSION_SETS => "FindSubmissionSets",
        FIND_FOLDERS => "FindFolders",
        GET_ALL => "GetAll",
        GET_DOCUMENTS => "GetDocuments",
        GET_FOLDERS => "GetFolders",
        GET_ASSOCIATIONS => "GetAssociations",
        GET_DOCUMENTS_AND_ASSOCIATIONS => "GetDocumentsAndAssociations",
        GET_SUBMISSION_SETS => "GetSubmissionSets",
        GET_SUBMISSION_SET_AND_CONTENTS => "GetSubmissionSetAndContents",
        GET_FOLDER_AND_CONTENTS => "GetFolderAndContents",
        GET_FOLDERS_FOR_DOCUMENT => "GetFoldersForDocument",
        GET_RELATED_DOCUMENTS => "GetRelatedDocuments",
        FIND_DOCUMENTS_BY_REFERENCE_ID => "FindDocumentsByReferenceId",
        FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS => "FindDocumentsForMultiplePatients",
        FIND_FOLDERS_FOR_MULTIPLE_PATIENTS => "FindFoldersForMultiplePatients",
        _ => return None,
    })
}

/// The association types GetRelatedDocuments follows when asked for them.
pub const RELATIONSHIP_TYPES: [&str; 5] = [
    association_type::REPLACE,
    association_type::APPEND,
    association_type::TRANSFORM,
    association_type::TRANSFORM_AND_REPLACE,
    association_type::SIGNS,
];

impl StoredQuery {
    /// ITI-51 queries (several or any patients); every other answer is about one patient.
    pub fn is_multi_patient(&self) -> bool {
        match self {
            StoredQuery::FindDocuments(f) => f.patient_ids.as_ref().is_none_or(|p| p.len() != 1),
            StoredQuery::FindFolders(f) => f.patient_ids.as_ref().is_none_or(|p| p.len() != 1),
            _ => false,
        }
    }

    /// Checks the parameters of a request against the query's definition.
    pub fn parse(request: &StoredQueryRequest) -> Result<StoredQuery, QueryError> {
        use stored_query::*;
        let name = query_name(&request.query_id).ok_or_else(|| QueryError::UnknownStoredQuery {
            query_id: request.query_id.clone(),
        })?;
        let p = Params::new(name, request)?;
        p.metadata_level()?;
        // $homeCommunityId is accepted and ignored: this registry is one community.
        let _ = p.list(param::HOME_COMMUNITY_ID)?;
        Ok(match request.query_id.as_str() {
            FIND_DOCUMENTS => {
                StoredQuery::FindDocuments(Box::new(p.document_filter(PatientParam::Single)?))
            }
            FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS => {
                StoredQuery::FindDocuments(Box::new(p.document_filter(PatientParam::Optional)?))
            }
            FIND_DOCUMENTS_BY_REFERENCE_ID => {
                let mut filter = p.document_filter(PatientParam::Single)?;
                filter.reference_ids = p.required_list(param::DE_REFERENCE_ID_LIST)?;
                StoredQuery::FindDocuments(Box::new(filter))
            }
            FIND_SUBMISSION_SETS => StoredQuery::FindSubmissionSets(SubmissionSetFilter {
                patient_id: p.required_single(param::SS_PATIENT_ID)?,
                source_ids: p.list(param::SS_SOURCE_ID)?.unwrap_or_default(),
                submission_time: p
                    .range(param::SS_SUBMISSION_TIME_FROM, param::SS_SUBMISSION_TIME_TO)?,
                author_persons: p.list(param::SS_AUTHOR_PERSON)?.unwrap_or_default(),
                content_type_codes: p.codes(param::SS_CONTENT_TYPE, false)?,
                statuses: p.required_list(param::SS_STATUS)?,
            }),
            FIND_FOLDERS => StoredQuery::FindFolders(p.folder_filter(PatientParam::Single)?),
            FIND_FOLDERS_FOR_MULTIPLE_PATIENTS => {
                StoredQuery::FindFolders(p.folder_filter(PatientParam::Optional)?)
            }
            GET_ALL => StoredQuery::GetAll {
                patient_id: p.required_single(param::PATIENT_ID)?,
                document_statuses: p.required_list(param::DE_STATUS)?,
                submission_set_statuses: p.required_list(param::SS_STATUS)?,
                folder_statuses: p.required_list(param::FOLDER_STATUS)?,
                filter: p.content_filter()?,
            },
            GET_DOCUMENTS => {
                StoredQuery::GetDocuments(p.selector(param::DE_ENTRY_UUID, param::DE_UNIQUE_ID)?)
            }
            GET_FOLDERS => StoredQuery::GetFolders(
                p.selector(param::FOLDER_ENTRY_UUID, param::FOLDER_UNIQUE_ID)?,
            ),
            GET_ASSOCIATIONS => StoredQuery::GetAssociations(p.required_list(param::UUID)?),
            GET_DOCUMENTS_AND_ASSOCIATIONS => StoredQuery::GetDocumentsAndAssociations(
                p.selector(param::DE_ENTRY_UUID, param::DE_UNIQUE_ID)?,
            ),
            GET_SUBMISSION_SETS => StoredQuery::GetSubmissionSets(p.required_list(param::UUID)?),
            GET_SUBMISSION_SET_AND_CONTENTS => StoredQuery::GetSubmissionSetAndContents {
                submission_set: p.single_selector(param::SS_ENTRY_UUID, param::SS_UNIQUE_ID)?,
                filter: p.content_filter()?,
            },
            GET_FOLDER_AND_CONTENTS => StoredQuery::GetFolderAndContents {
                folder: p.single_selector(param::FOLDER_ENTRY_UUID, param::FOLDER_UNIQUE_ID)?,
                filter: p.content_filter()?,
            },
            GET_FOLDERS_FOR_DOCUMENT => StoredQuery::GetFoldersForDocument(
                p.single_selector(param::DE_ENTRY_UUID, param::DE_UNIQUE_ID)?,
            ),
            GET_RELATED_DOCUMENTS => StoredQuery::GetRelatedDocuments {
                document: p.single_selector(param::DE_ENTRY_UUID, param::DE_UNIQUE_ID)?,
                association_types: p.required_list(param::ASSOCIATION_TYPES)?,
                filter: p.content_filter()?,
            },
            _ => {
                return Err(QueryError::UnknownStoredQuery {
                    query_id: request.query_id.clone(),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_lists_parse_as_iti18_writes_them() {
        assert_eq!(parse_value_list("'a'").unwrap(), ["a"]);
        assert_eq!(parse_value_list("('a', 'b')").unwrap(), ["a", "b"]);
        assert_eq!(parse_value_list("('it''s')").unwrap(), ["it's"]);
        assert_eq!(parse_value_list("20040101").unwrap(), ["20040101"]);
        assert_eq!(parse_value_list("(1, 2)").unwrap(), ["1", "2"]);
        assert!(parse_value_list("('a'").is_err());
        assert!(parse_value_list("'a").is_err());
        assert!(parse_value_list("").is_err());
    }

    fn find_documents() -> StoredQueryRequest {
        StoredQueryRequest::new(stored_query::FIND_DOCUMENTS, ReturnType::LeafClass)
            .param(
                param::DE_PATIENT_ID,
                &["'2512489996^^^&1.2.208.176.1.2&ISO'"],
            )
            .param(
                param::DE_STATUS,
                &["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
            )
    }

    #[test]
    fn parameter_errors_carry_their_xds_codes() {
        let unknown = StoredQueryRequest::new("urn:uuid:nope", ReturnType::LeafClass);
        assert_eq!(
            StoredQuery::parse(&unknown).unwrap_err().error_code(),
            "XDSUnknownStoredQuery"
        );
        let missing = StoredQueryRequest::new(stored_query::FIND_DOCUMENTS, ReturnType::LeafClass)
            .param(param::DE_STATUS, &["('x')"]);
        assert_eq!(
            StoredQuery::parse(&missing).unwrap_err().error_code(),
            "XDSStoredQueryMissingParam"
        );
        let two_patients = find_documents().param(param::DE_PATIENT_ID, &["'x'"]);
        assert_eq!(
            StoredQuery::parse(&two_patients).unwrap_err().error_code(),
            "XDSStoredQueryParamNumber"
        );
        let class_twice = find_documents()
            .param(param::DE_CLASS_CODE, &["('a^^s')"])
            .param(param::DE_CLASS_CODE, &["('b^^s')"]);
        assert_eq!(
            StoredQuery::parse(&class_twice).unwrap_err().error_code(),
            "XDSStoredQueryParamNumber"
        );
        let bad_time = find_documents().param(param::DE_CREATION_TIME_FROM, &["2004-01"]);
        assert_eq!(
            StoredQuery::parse(&bad_time).unwrap_err().error_code(),
            "XDSRegistryError"
        );
    }

    #[test]
    fn the_text_query_checks_its_parameters_like_the_others() {
        let by_text = |params: &[(&str, &str)]| {
            params.iter().fold(
                StoredQueryRequest::new(
                    stored_query::FIND_DOCUMENTS_BY_TEXT,
                    ReturnType::LeafClass,
                ),
                |r, (name, value)| r.param(name, &[value]),
            )
        };
        let patient = (param::DE_PATIENT_ID, "'2512489996^^^&1.2.208.176.1.2&ISO'");
        let query =
            parse_text_query(&by_text(&[patient, (param::DDS_TEXT, "'hjertet ''x'''")])).unwrap();
        assert_eq!(query.patient_id, "2512489996^^^&1.2.208.176.1.2&ISO");
        assert_eq!(query.text, "hjertet 'x'");
        assert_eq!(query.statuses, [xds_model::vocabulary::status::APPROVED]);
        let code =
            |params: &[(&str, &str)]| parse_text_query(&by_text(params)).unwrap_err().error_code();
        assert_eq!(code(&[patient]), "XDSStoredQueryMissingParam");
        assert_eq!(
            code(&[(param::DDS_TEXT, "'x'")]),
            "XDSStoredQueryMissingParam"
        );
        assert_eq!(
            code(&[patient, (param::DDS_TEXT, "('a', 'b')")]),
            "XDSStoredQueryParamNumber"
        );
        assert_eq!(
            code(&[patient, (param::DDS_TEXT, "'unclosed")]),
            "XDSRegistryError"
        );
    }

    #[test]
    fn event_codes_repeat_as_and_and_list_as_or() {
        let request = find_documents()
            .param(param::DE_EVENT_CODE_LIST, &["('a^^s1', 'b^^s1')"])
            .param(param::DE_EVENT_CODE_LIST, &["('c^^s2')"]);
        let StoredQuery::FindDocuments(filter) = StoredQuery::parse(&request).unwrap() else {
            panic!("not FindDocuments");
        };
        assert_eq!(filter.event_codes.len(), 2);
        assert_eq!(filter.event_codes[0].len(), 2);
        assert_eq!(filter.event_codes[1][0].scheme, "s2");
        let no_scheme = find_documents().param(param::DE_CLASS_CODE, &["('a')"]);
        assert_eq!(
            StoredQuery::parse(&no_scheme).unwrap_err().error_code(),
            "XDSRegistryError"
        );
        assert_eq!(
            filter.object_types,
            [object_type::STABLE_DOCUMENT_ENTRY.to_owned()]
        );
    }
}

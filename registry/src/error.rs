//! The registry's typed errors and the XDS error code each one becomes.
//!
//! Two kinds of failure are kept apart: a caller's mistake (a [`SubmissionError`] finding or a
//! [`QueryError`] about parameters) is answered precisely, while an internal failure
//! ([`StoreError`]) becomes `XDSRegistryError` at the edge and its detail stays in the log.
//!
//! Invariant: every variant names the object (entryUUID or symbolic id as submitted) or the
//! parameter it is about, and maps to exactly one XDS error code through `error_code()`.

use xds_model::message::RegistryError as RegistryErrorElement;
use xds_model::vocabulary::{error_code, severity};

/// Internal failure of the store. Never shown to the caller in detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The stored XML of an object could not be produced or read back.
    #[error("XML of registry object {object} could not be {operation}: {detail}")]
    Codec {
        object: String,
        operation: &'static str,
        detail: String,
    },
    /// A stored row contradicts the invariants of the schema (a programmer bug or tampering).
    #[error("stored registry object {object} is inconsistent: {detail}")]
    Corrupt { object: String, detail: String },
    /// A write lost to concurrent writes of the same objects on every attempt (PostgreSQL:
    /// serialization failures); nothing was written and the caller may send it again.
    #[error("the write conflicted with concurrent writes {attempts} times; nothing was written")]
    WriteConflict { attempts: u32 },
    /// The task that commits registrations in groups is gone (the store is shutting down);
    /// the submission was not registered.
    #[error("the registry's commit task has stopped; nothing was written")]
    CommitterStopped,
    /// The commit of a group of registrations failed; it may or may not have been written.
    #[error("the registry's commit failed, the submission may or may not be stored: {0}")]
    CommitFailed(String),
}

impl StoreError {
    /// `XDSRegistryBusy` when no writer connection could be had in time or the write kept
    /// conflicting with concurrent ones (the caller may retry), otherwise `XDSRegistryError`:
    /// the caller cannot fix it.
    pub fn error_code(&self) -> &'static str {
        match self {
            StoreError::Database(sqlx::Error::PoolTimedOut) | StoreError::WriteConflict { .. } => {
                error_code::REGISTRY_BUSY
            }
            _ => error_code::REGISTRY_ERROR,
        }
    }
}

/// One finding against an ITI-42 submission. A rejected submission carries all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmissionError {
    #[error("the submission contains no SubmissionSet (XDSRegistryMetadataError)")]
    NoSubmissionSet,
    #[error(
        "the submission contains {count} SubmissionSets, exactly one is allowed (XDSRegistryMetadataError)"
    )]
    MultipleSubmissionSets { count: usize },
    #[error(
        "RegistryPackage {object} is classified neither as SubmissionSet nor as Folder (XDSRegistryMetadataError)"
    )]
    UnclassifiedPackage { object: String },
    #[error(
        "id {object} is used by more than one object of the submission (XDSRegistryMetadataError)"
    )]
    DuplicateId { object: String },
    #[error("entryUUID {object} already exists in the registry (XDSRegistryMetadataError)")]
    EntryUuidExists { object: String },
    #[error(
        "{object} refers to {reference}, which is neither in the submission nor in the registry (UnresolvedReferenceException)"
    )]
    UnresolvedReference { object: String, reference: String },
    #[error("{object} has no patientId (XDSRegistryMetadataError)")]
    MissingPatientId { object: String },
    #[error(
        "{object} has patientId {patient_id}, which is not a CPR number of assigning authority 1.2.208.176.1.2 (XDSUnknownPatientId)"
    )]
    MalformedPatientId { object: String, patient_id: String },
    #[error(
        "{object} has patientId {patient_id}, which the registry does not know (XDSUnknownPatientId)"
    )]
    UnknownPatientId { object: String, patient_id: String },
    #[error(
        "{object} has patientId {patient_id} but {other} has {expected} (XDSPatientIdDoesNotMatch)"
    )]
    PatientIdDoesNotMatch {
        object: String,
        patient_id: String,
        other: String,
        expected: String,
    },
    #[error("{object} has no uniqueId (XDSRegistryMetadataError)")]
    MissingUniqueId { object: String },
    #[error(
        "uniqueId {unique_id} of {object} is used by another object of the submission (XDSRegistryDuplicateUniqueIdInMessage)"
    )]
    DuplicateUniqueIdInSubmission { object: String, unique_id: String },
    #[error(
        "uniqueId {unique_id} of {object} is already registered (XDSDuplicateUniqueIdInRegistry)"
    )]
    DuplicateUniqueIdInRegistry { object: String, unique_id: String },
    #[error(
        "DocumentEntry {object}: uniqueId {unique_id} is already registered with a different hash (XDSNonIdenticalHash)"
    )]
    NonIdenticalHash { object: String, unique_id: String },
    #[error(
        "DocumentEntry {object}: uniqueId {unique_id} is already registered with a different size (XDSNonIdenticalSize)"
    )]
    NonIdenticalSize { object: String, unique_id: String },
    #[error(
        "{object} has size {value}, which is not a non-negative integer (XDSRegistryMetadataError)"
    )]
    InvalidSize { object: String, value: String },
    #[error(
        "{object} has lid {lid}; in ITI-42 the logicalId must equal the entryUUID (XDSRegistryMetadataError)"
    )]
    LidNotEntryUuid { object: String, lid: String },
    #[error(
        "association {object} has unsupported type {association_type} (XDSRegistryMetadataError)"
    )]
    UnsupportedAssociationType {
        object: String,
        association_type: String,
    },
    #[error(
        "HasMember association {object}: source {source_object} is not this submission's SubmissionSet nor a Folder (XDSRegistryMetadataError)"
    )]
    InvalidHasMemberSource {
        object: String,
        source_object: String,
    },
    #[error(
        "HasMember association {object}: target {target_object} cannot be a member of {source_object} (XDSRegistryMetadataError)"
    )]
    InvalidHasMemberTarget {
        object: String,
        source_object: String,
        target_object: String,
    },
    #[error(
        "{association_type} association {object}: source {source_object} must be a DocumentEntry of this submission (XDSRegistryMetadataError)"
    )]
    RelationshipSourceNotNewDocument {
        object: String,
        association_type: String,
        source_object: String,
    },
    #[error(
        "{association_type} association {object}: target {target_object} is not a DocumentEntry{where_} (UnresolvedReferenceException)"
    )]
    RelationshipTargetNotDocument {
        object: String,
        association_type: String,
        target_object: String,
        where_: &'static str,
    },
    #[error(
        "{association_type} association {object}: target DocumentEntry {target_object} is {status}, not Approved (XDSRegistryDeprecatedDocumentError)"
    )]
    RelationshipTargetNotApproved {
        object: String,
        association_type: String,
        target_object: String,
        status: String,
    },
    #[error(
        "DocumentEntry {target_object} is replaced by more than one DocumentEntry of the submission (XDSRegistryMetadataError)"
    )]
    ReplacedTwice { target_object: String },
    #[error(
        "{object} is an object the registry does not store ({what}) (XDSRegistryMetadataError)"
    )]
    UnsupportedObject { object: String, what: &'static str },
}

impl SubmissionError {
    /// The `RegistryError/@errorCode` this finding becomes.
    pub fn error_code(&self) -> &'static str {
        use SubmissionError::*;
        match self {
            NoSubmissionSet
            | MultipleSubmissionSets { .. }
            | UnclassifiedPackage { .. }
            | DuplicateId { .. }
            | EntryUuidExists { .. }
            | MissingPatientId { .. }
            | MissingUniqueId { .. }
            | InvalidSize { .. }
            | LidNotEntryUuid { .. }
            | UnsupportedAssociationType { .. }
            | InvalidHasMemberSource { .. }
            | InvalidHasMemberTarget { .. }
            | RelationshipSourceNotNewDocument { .. }
            | ReplacedTwice { .. }
            | UnsupportedObject { .. } => error_code::REGISTRY_METADATA_ERROR,
            UnresolvedReference { .. } | RelationshipTargetNotDocument { .. } => {
                error_code::UNRESOLVED_REFERENCE_EXCEPTION
            }
            MalformedPatientId { .. } | UnknownPatientId { .. } => error_code::UNKNOWN_PATIENT_ID,
            PatientIdDoesNotMatch { .. } => error_code::PATIENT_ID_DOES_NOT_MATCH,
            DuplicateUniqueIdInSubmission { .. } => {
                error_code::REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE
            }
            DuplicateUniqueIdInRegistry { .. } => error_code::DUPLICATE_UNIQUE_ID_IN_REGISTRY,
            NonIdenticalHash { .. } => error_code::NON_IDENTICAL_HASH,
            NonIdenticalSize { .. } => error_code::NON_IDENTICAL_SIZE,
            RelationshipTargetNotApproved { .. } => error_code::REGISTRY_DEPRECATED_DOCUMENT_ERROR,
        }
    }

    /// The `RegistryError/@location`: the id of the object the finding is about, as the
    /// submitter wrote it (symbolic ids stay symbolic, so the submitter can find it).
    pub fn location(&self) -> &str {
        use SubmissionError::*;
        match self {
            NoSubmissionSet | MultipleSubmissionSets { .. } => "SubmitObjectsRequest",
            ReplacedTwice { target_object } => target_object,
            UnclassifiedPackage { object }
            | DuplicateId { object }
            | EntryUuidExists { object }
            | UnresolvedReference { object, .. }
            | MissingPatientId { object }
            | MalformedPatientId { object, .. }
            | UnknownPatientId { object, .. }
            | PatientIdDoesNotMatch { object, .. }
            | MissingUniqueId { object }
            | DuplicateUniqueIdInSubmission { object, .. }
            | DuplicateUniqueIdInRegistry { object, .. }
            | NonIdenticalHash { object, .. }
            | NonIdenticalSize { object, .. }
            | InvalidSize { object, .. }
            | LidNotEntryUuid { object, .. }
            | UnsupportedAssociationType { object, .. }
            | InvalidHasMemberSource { object, .. }
            | InvalidHasMemberTarget { object, .. }
            | RelationshipSourceNotNewDocument { object, .. }
            | RelationshipTargetNotDocument { object, .. }
            | RelationshipTargetNotApproved { object, .. }
            | UnsupportedObject { object, .. } => object,
        }
    }
}

/// Why an ITI-42 registration did not happen. In either case nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The submission breaks rules; every finding is listed.
    #[error("submission rejected with {} finding(s)", .0.len())]
    Rejected(Vec<SubmissionError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an ITI-18/ITI-51 stored query was not answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("stored query {query_id} is not known (XDSUnknownStoredQuery)")]
    UnknownStoredQuery { query_id: String },
    #[error(
        "stored query {query}: required parameter {param} is missing (XDSStoredQueryMissingParam)"
    )]
    MissingParam {
        query: &'static str,
        param: &'static str,
    },
    #[error("stored query {query}: parameter {param} {detail} (XDSStoredQueryParamNumber)")]
    ParamNumber {
        query: &'static str,
        param: &'static str,
        detail: &'static str,
    },
    #[error(
        "stored query {query}: exactly one of {first} and {second} must be given (XDSStoredQueryParamNumber)"
    )]
    ExactlyOneOf {
        query: &'static str,
        first: &'static str,
        second: &'static str,
    },
    #[error("parameter {param}: value {value} is invalid: {reason} (XDSRegistryError)")]
    InvalidParamValue {
        param: String,
        value: String,
        reason: String,
    },
    #[error(
        "the answer concerns patients {first} and {other}, not a single patient (XDSResultNotSinglePatient)"
    )]
    ResultNotSinglePatient { first: String, other: String },
    #[error("the query matches more than {max} objects (XDSTooManyResults)")]
    TooManyResults { max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A `RegistryError` element (severity Error) for the edge's `RegistryErrorList`.
pub fn registry_error(code: &str, context: String, location: &str) -> RegistryErrorElement {
    RegistryErrorElement {
        error_code: code.to_owned(),
        code_context: context,
        location: (!location.is_empty()).then(|| location.to_owned()),
        severity: Some(severity::ERROR.to_owned()),
        value: String::new(),
    }
}

impl StoreError {
    /// The one `RegistryError` of an internal failure; its detail stays in the log.
    pub fn registry_error(&self) -> RegistryErrorElement {
        registry_error(
            self.error_code(),
            "the registry could not complete the request".to_owned(),
            "",
        )
    }
}

impl RegisterError {
    /// Every finding as a `RegistryError`, or the one internal error.
    pub fn registry_errors(&self) -> Vec<RegistryErrorElement> {
        match self {
            RegisterError::Rejected(findings) => findings
                .iter()
                .map(|f| registry_error(f.error_code(), f.to_string(), f.location()))
                .collect(),
            RegisterError::Store(e) => vec![e.registry_error()],
        }
    }
}

impl QueryError {
    /// The `RegistryError` of this failure (internal detail stays in the log).
    pub fn registry_error(&self) -> RegistryErrorElement {
        match self {
            QueryError::Store(e) => e.registry_error(),
            other => registry_error(other.error_code(), other.to_string(), &other.location()),
        }
    }

    /// The `RegistryError/@errorCode` this becomes.
    pub fn error_code(&self) -> &'static str {
        match self {
            QueryError::UnknownStoredQuery { .. } => error_code::UNKNOWN_STORED_QUERY,
            QueryError::MissingParam { .. } => error_code::STORED_QUERY_MISSING_PARAM,
            QueryError::ParamNumber { .. } | QueryError::ExactlyOneOf { .. } => {
                error_code::STORED_QUERY_PARAM_NUMBER
            }
            QueryError::InvalidParamValue { .. } => error_code::REGISTRY_ERROR,
            QueryError::Store(e) => e.error_code(),
            QueryError::TooManyResults { .. } => error_code::TOO_MANY_RESULTS,
            QueryError::ResultNotSinglePatient { .. } => error_code::RESULT_NOT_SINGLE_PATIENT,
        }
    }

    /// The `RegistryError/@location`: the parameter or query at fault.
    pub fn location(&self) -> String {
        match self {
            QueryError::UnknownStoredQuery { query_id } => query_id.clone(),
            QueryError::MissingParam { param, .. } | QueryError::ParamNumber { param, .. } => {
                (*param).to_owned()
            }
            QueryError::ExactlyOneOf { first, .. } => (*first).to_owned(),
            QueryError::InvalidParamValue { param, .. } => param.clone(),
            QueryError::TooManyResults { .. }
            | QueryError::ResultNotSinglePatient { .. }
            | QueryError::Store(_) => "AdhocQuery".to_owned(),
        }
    }
}

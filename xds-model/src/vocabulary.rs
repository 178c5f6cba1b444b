//! The fixed vocabulary of XDS.b (ITI TF-3 4.2.5) and of the Danish profile, spelled once.
//!
//! Every scheme UUID, object type, status URN, association type, stored query id and error
//! code used anywhere in the workspace comes from here, so a typo is a compile error rather
//! than a silent mismatch.

/// XML namespaces.
pub mod ns {
    pub const RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
    pub const RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0";
    pub const LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";
    pub const QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";
    pub const XDSB: &str = "urn:ihe:iti:xds-b:2007";
    pub const RMD: &str = "urn:ihe:iti:rmd:2017";
    pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
    pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
    pub const XOP: &str = "http://www.w3.org/2004/08/xop/include";
    pub const WSSE: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    pub const WSU: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    pub const SAML2: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
    pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
    pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
    /// Our own extensions (ConsentOverride header).
    pub const DDS: &str = "urn:dds:2026";
}

/// `wsa:Action` values of requests and responses.
pub mod action {
    pub const REGISTRY_STORED_QUERY: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
    pub const REGISTRY_STORED_QUERY_RESPONSE: &str = "urn:ihe:iti:2007:RegistryStoredQueryResponse";
    pub const PROVIDE_AND_REGISTER: &str = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
    pub const PROVIDE_AND_REGISTER_RESPONSE: &str =
        "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse";
    pub const REGISTER: &str = "urn:ihe:iti:2007:RegisterDocumentSet-b";
    pub const REGISTER_RESPONSE: &str = "urn:ihe:iti:2007:RegisterDocumentSet-bResponse";
    pub const RETRIEVE: &str = "urn:ihe:iti:2007:RetrieveDocumentSet";
    pub const RETRIEVE_RESPONSE: &str = "urn:ihe:iti:2007:RetrieveDocumentSetResponse";
    pub const MULTI_PATIENT_QUERY: &str = "urn:ihe:iti:2009:MultiPatientStoredQuery";
    pub const MULTI_PATIENT_QUERY_RESPONSE: &str =
        "urn:ihe:iti:2009:MultiPatientStoredQueryResponse";
    pub const UPDATE: &str = "urn:ihe:iti:2010:UpdateDocumentSet";
    pub const UPDATE_RESPONSE: &str = "urn:ihe:iti:2010:UpdateDocumentSetResponse";
    pub const DELETE: &str = "urn:ihe:iti:2010:DeleteDocumentSet";
    pub const DELETE_RESPONSE: &str = "urn:ihe:iti:2010:DeleteDocumentSetResponse";
}

/// `RegistryResponse/@status` values.
pub mod response_status {
    pub const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
    pub const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
    pub const PARTIAL_SUCCESS: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
}

/// `RegistryError/@severity` values.
pub mod severity {
    pub const ERROR: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error";
    pub const WARNING: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning";
}

/// availabilityStatus values.
pub mod status {
    pub const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
    pub const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";
    pub const SUBMITTED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted";
    /// On-Demand DocumentEntries whose content is not yet created (ITI-61).
    pub const DEFERRED_CREATION: &str = "urn:ihe:iti:2010:StatusType:DeferredCreation";
}

/// `objectType` values.
pub mod object_type {
    pub const STABLE_DOCUMENT_ENTRY: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
    pub const ON_DEMAND_DOCUMENT_ENTRY: &str = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248";
    pub const REGISTRY_PACKAGE: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage";
    pub const ASSOCIATION: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association";
    pub const CLASSIFICATION: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification";
    pub const EXTERNAL_IDENTIFIER: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier";
    pub const ADHOC_QUERY: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:AdhocQuery";
}

/// Classification nodes marking a RegistryPackage as a SubmissionSet or a Folder.
pub mod classification_node {
    /// Corrected: this read `…-88c1-b4f4e51d4e1a`, which no XDS actor sends.
    pub const SUBMISSION_SET: &str = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd";
    pub const FOLDER: &str = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2";
    /// XDSDocumentEntryStub (ITI TF-3 4.2.5.1).
    pub const DOCUMENT_ENTRY_STUB: &str = "urn:uuid:10aa1a4b-715a-4120-bfd0-9760414112c8";
}

/// Classification schemes and identification schemes of DocumentEntry. `LIMITED_METADATA` is a
/// classification *node* (the Classification carries it in `classificationNode`).
pub mod document_entry {
    pub const AUTHOR: &str = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d";
    pub const CLASS_CODE: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";
    pub const CONFIDENTIALITY_CODE: &str = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f";
    pub const EVENT_CODE: &str = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4";
    pub const FORMAT_CODE: &str = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d";
    pub const HEALTHCARE_FACILITY_TYPE_CODE: &str = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1";
    pub const PRACTICE_SETTING_CODE: &str = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead";
    pub const TYPE_CODE: &str = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983";
    pub const LIMITED_METADATA: &str = "urn:uuid:ab9b591b-83ab-4d03-8f5d-f93b1fb92e85";
    pub const PATIENT_ID: &str = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427";
    pub const UNIQUE_ID: &str = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab";
}

/// Classification schemes and identification schemes of SubmissionSet (`LIMITED_METADATA` is a
/// classification node).
pub mod submission_set {
    pub const AUTHOR: &str = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d";
    pub const CONTENT_TYPE_CODE: &str = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500";
    pub const LIMITED_METADATA: &str = "urn:uuid:5003a9db-8d8d-49e6-bf0c-990e34ac7707";
    pub const PATIENT_ID: &str = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446";
    pub const SOURCE_ID: &str = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832";
    pub const UNIQUE_ID: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";
}

/// Classification schemes and identification schemes of Folder (`LIMITED_METADATA` is a
/// classification node).
pub mod folder {
    pub const CODE_LIST: &str = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5";
    pub const LIMITED_METADATA: &str = "urn:uuid:2c144a76-29a9-4b7c-af54-b25409fe7d03";
    pub const PATIENT_ID: &str = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a";
    pub const UNIQUE_ID: &str = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a";
}

/// Classification scheme of an association's documentation (ITI-57 status updates).
pub const ASSOCIATION_DOCUMENTATION: &str = "urn:uuid:abd807a3-4432-4053-87b4-fd82c643d1f3";

/// Slot names of the XDS objects (ITI TF-3 4.2.3).
pub mod slot {
    pub const CREATION_TIME: &str = "creationTime";
    pub const HASH: &str = "hash";
    pub const SIZE: &str = "size";
    pub const LANGUAGE_CODE: &str = "languageCode";
    pub const LEGAL_AUTHENTICATOR: &str = "legalAuthenticator";
    pub const REPOSITORY_UNIQUE_ID: &str = "repositoryUniqueId";
    pub const SERVICE_START_TIME: &str = "serviceStartTime";
    pub const SERVICE_STOP_TIME: &str = "serviceStopTime";
    pub const SOURCE_PATIENT_ID: &str = "sourcePatientId";
    pub const SOURCE_PATIENT_INFO: &str = "sourcePatientInfo";
    pub const URI: &str = "URI";
    pub const DOCUMENT_AVAILABILITY: &str = "documentAvailability";
    pub const REFERENCE_ID_LIST: &str = "urn:ihe:iti:xds:2013:referenceIdList";
    pub const SUBMISSION_TIME: &str = "submissionTime";
    pub const INTENDED_RECIPIENT: &str = "intendedRecipient";
    pub const LAST_UPDATE_TIME: &str = "lastUpdateTime";
    /// On a code Classification: the code system.
    pub const CODING_SCHEME: &str = "codingScheme";
    pub const AUTHOR_PERSON: &str = "authorPerson";
    pub const AUTHOR_INSTITUTION: &str = "authorInstitution";
    pub const AUTHOR_ROLE: &str = "authorRole";
    pub const AUTHOR_SPECIALTY: &str = "authorSpecialty";
    pub const AUTHOR_TELECOMMUNICATION: &str = "authorTelecommunication";
    /// On a HasMember association from a SubmissionSet: `Original` or `Reference`.
    pub const SUBMISSION_SET_STATUS: &str = "SubmissionSetStatus";
    /// ITI-57: on RPLC/HasMember associations and UpdateAvailabilityStatus.
    pub const PREVIOUS_VERSION: &str = "PreviousVersion";
    pub const ORIGINAL_STATUS: &str = "OriginalStatus";
    pub const NEW_STATUS: &str = "NewStatus";
    pub const ASSOCIATION_PROPAGATION: &str = "AssociationPropagation";
}

/// `SubmissionSetStatus` slot values.
pub mod submission_set_status {
    pub const ORIGINAL: &str = "Original";
    pub const REFERENCE: &str = "Reference";
}

/// `documentAvailability` slot values (ITI-57).
pub mod document_availability {
    pub const ONLINE: &str = "urn:ihe:iti:2010:DocumentAvailability:Online";
    pub const OFFLINE: &str = "urn:ihe:iti:2010:DocumentAvailability:Offline";
}

/// `RemoveObjectsRequest/@deletionScope` values (ebRS 3.0).
pub mod deletion_scope {
    pub const DELETE_ALL: &str = "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll";
    pub const DELETE_REPOSITORY_ITEM_ONLY: &str =
        "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteRepositoryItemOnly";
}

/// Association types.
pub mod association_type {
    pub const HAS_MEMBER: &str = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";
    pub const REPLACE: &str = "urn:ihe:iti:2007:AssociationType:RPLC";
    pub const APPEND: &str = "urn:ihe:iti:2007:AssociationType:APND";
    pub const TRANSFORM: &str = "urn:ihe:iti:2007:AssociationType:XFRM";
    pub const TRANSFORM_AND_REPLACE: &str = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC";
    pub const SIGNS: &str = "urn:ihe:iti:2007:AssociationType:signs";
    pub const IS_SNAPSHOT_OF: &str = "urn:ihe:iti:2010:AssociationType:IsSnapshotOf";
    pub const UPDATE_AVAILABILITY_STATUS: &str =
        "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus";
}

/// Stored query ids (ITI TF-2a 3.18.4.1.2.3.7, ITI-51, and our full-text query).
pub mod stored_query {
    pub const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
    pub const FIND_SUBMISSION_SETS: &str = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9";
    pub const FIND_FOLDERS: &str = "urn:uuid:958f3006-baad-4929-a4de-ff1114824431";
    pub const GET_ALL: &str = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3";
    pub const GET_DOCUMENTS: &str = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4";
    pub const GET_FOLDERS: &str = "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4";
    pub const GET_ASSOCIATIONS: &str = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155";
    pub const GET_DOCUMENTS_AND_ASSOCIATIONS: &str =
        "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a";
    pub const GET_SUBMISSION_SETS: &str = "urn:uuid:51224314-5390-4169-9b91-b1980040715a";
    pub const GET_SUBMISSION_SET_AND_CONTENTS: &str =
        "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83";
    pub const GET_FOLDER_AND_CONTENTS: &str = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7";
    pub const GET_FOLDERS_FOR_DOCUMENT: &str = "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578";
    pub const GET_RELATED_DOCUMENTS: &str = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6";
    pub const FIND_DOCUMENTS_BY_REFERENCE_ID: &str =
        "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492";
    /// Corrected: the last group read `2f44d94eaf71`; ITI-51 says `2f44d94eaa9f`.
    pub const FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS: &str =
        "urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f";
    pub const FIND_FOLDERS_FOR_MULTIPLE_PATIENTS: &str =
        "urn:uuid:50d3f5ac-39a2-11de-a1ca-b366239e58df";
    /// Ours (INTERFACE.md "Full-text stored query").
    pub const FIND_DOCUMENTS_BY_TEXT: &str = "urn:uuid:e8b9677d-a111-436e-8c51-bd9b38352e1c";
}

/// XDS error codes carried in `RegistryError/@errorCode`.
pub mod error_code {
    pub const REGISTRY_ERROR: &str = "XDSRegistryError";
    pub const REGISTRY_METADATA_ERROR: &str = "XDSRegistryMetadataError";
    pub const REPOSITORY_ERROR: &str = "XDSRepositoryError";
    pub const REPOSITORY_METADATA_ERROR: &str = "XDSRepositoryMetadataError";
    pub const PATIENT_ID_DOES_NOT_MATCH: &str = "XDSPatientIdDoesNotMatch";
    pub const UNKNOWN_PATIENT_ID: &str = "XDSUnknownPatientId";
    pub const DUPLICATE_UNIQUE_ID_IN_REGISTRY: &str = "XDSDuplicateUniqueIdInRegistry";
    pub const NON_IDENTICAL_HASH: &str = "XDSNonIdenticalHash";
    pub const NON_IDENTICAL_SIZE: &str = "XDSNonIdenticalSize";
    pub const MISSING_DOCUMENT: &str = "XDSMissingDocument";
    pub const MISSING_DOCUMENT_METADATA: &str = "XDSMissingDocumentMetadata";
    pub const DOCUMENT_UNIQUE_ID_ERROR: &str = "XDSDocumentUniqueIdError";
    pub const STORED_QUERY_PARAM_NUMBER: &str = "XDSStoredQueryParamNumber";
    pub const STORED_QUERY_MISSING_PARAM: &str = "XDSStoredQueryMissingParam";
    pub const UNKNOWN_STORED_QUERY: &str = "XDSUnknownStoredQuery";
    pub const UNKNOWN_REPOSITORY_ID: &str = "XDSUnknownRepositoryId";
    pub const UNKNOWN_COMMUNITY: &str = "XDSUnknownCommunity";
    pub const TOO_MANY_RESULTS: &str = "XDSTooManyResults";
    pub const RESULT_NOT_SINGLE_PATIENT: &str = "XDSResultNotSinglePatient";
    pub const EXTRA_METADATA_NOT_SAVED: &str = "XDSExtraMetadataNotSaved";
    pub const REGISTRY_BUSY: &str = "XDSRegistryBusy";
    pub const REPOSITORY_BUSY: &str = "XDSRepositoryBusy";
    pub const REGISTRY_OUT_OF_RESOURCES: &str = "XDSRegistryOutOfResources";
    pub const REPOSITORY_OUT_OF_RESOURCES: &str = "XDSRepositoryOutOfResources";
    pub const REGISTRY_NOT_AVAILABLE: &str = "XDSRegistryNotAvailable";
    pub const REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE: &str =
        "XDSRegistryDuplicateUniqueIdInMessage";
    pub const REPOSITORY_DUPLICATE_UNIQUE_ID_IN_MESSAGE: &str =
        "XDSRepositoryDuplicateUniqueIdInMessage";
    pub const REGISTRY_DEPRECATED_DOCUMENT_ERROR: &str = "XDSRegistryDeprecatedDocumentError";
    pub const REPLACE_FAILED: &str = "XDSReplaceFailed";
    pub const MISSING_HOME_COMMUNITY_ID: &str = "XDSMissingHomeCommunityId";
    pub const UNAVAILABLE_COMMUNITY: &str = "XDSUnavailableCommunity";
    pub const PARTIAL_FOLDER_CONTENT_NOT_PROCESSED: &str = "XDSPartialFolderContentNotProcessed";
    pub const PARTIAL_APPEND_CONTENT_NOT_PROCESSED: &str = "XDSPartialAppendContentNotProcessed";
    pub const PARTIAL_REPLACE_CONTENT_NOT_PROCESSED: &str = "XDSPartialReplaceContentNotProcessed";
    pub const PARTIAL_TRANSFORM_CONTENT_NOT_PROCESSED: &str =
        "XDSPartialTransformContentNotProcessed";
    pub const PARTIAL_TRANSFORM_REPLACE_CONTENT_NOT_PROCESSED: &str =
        "XDSPartialTransformReplaceContentNotProcessed";
    /// ITI-57.
    pub const METADATA_UPDATE_ERROR: &str = "XDSMetadataUpdateError";
    pub const METADATA_VERSION_ERROR: &str = "XDSMetadataVersionError";
    pub const METADATA_UPDATE_OPERATION_ERROR: &str = "XDSMetadataUpdateOperationError";
    /// Corrected (this and the next two): ITI-57/ITI-62 use the bare ebRS exception names,
    /// not a `urn:oasis:names:tc:ebxml-regrep:ErrorType:` URN (Metadata Update supplement
    /// 3.62.4.2.2; Gazelle's DDS validator checks exactly these strings).
    pub const UNRESOLVED_REFERENCE_EXCEPTION: &str = "UnresolvedReferenceException";
    pub const REFERENCES_EXIST_EXCEPTION: &str = "ReferencesExistException";
    pub const UNSUPPORTED_CAPABILITY_EXCEPTION: &str = "UnsupportedCapabilityException";
    /// Ours: documents withheld from a query result by the citizen's consent (warning).
    pub const DDS_CONSENT_FILTERED: &str = "DDSConsentFiltered";
    /// Ours: a retrieval refused because the citizen's consent withholds the document.
    pub const DDS_CONSENT_BLOCKED: &str = "DDSConsentBlocked";
}

/// Danish profile (DK-IHE) code systems and identifiers.
pub mod dk {
    /// Assigning authority of CPR numbers in patientId (`CPR^^^&1.2.208.176.1.2&ISO`).
    pub const CPR_OID: &str = "1.2.208.176.1.2";
    /// SOR, the health organisation register.
    pub const SOR_OID: &str = "1.2.208.176.1.1";
    pub const CLASS_CODE_SYSTEM: &str = "1.2.208.184.100.9";
    pub const FORMAT_CODE_SYSTEM: &str = "1.2.208.184.100.10";
    pub const LOINC: &str = "2.16.840.1.113883.6.1";
    pub const SNOMED_CT: &str = "2.16.840.1.113883.6.96";
    pub const CONFIDENTIALITY_SYSTEM: &str = "2.16.840.1.113883.5.25";
    pub const SKS: &str = "1.2.208.176.2.4";
    pub const NPU: &str = "1.2.208.176.2.1";
    pub const HOME_COMMUNITY_ID: &str = "urn:oid:1.2.208.176.8.1";
    /// The MedCom appointment document (APD) format code.
    pub const APD_FORMAT_CODE: &str = "urn:ad:dk:medcom:apd-v2.0.1:full";
    /// APD typeCode as sent by Danish sources, and as MedCom's value set says; both accepted.
    pub const APD_TYPE_CODES: [&str; 2] = ["39289-4", "56446-8"];
}

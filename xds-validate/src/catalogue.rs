//! The rule catalogue: every check this crate makes, with a stable id, a default severity, the
//! XDS error code it becomes, and the reason it exists.
//!
//! Id prefixes: `SUB-` the submission as a whole (ITI TF-3 4.1, ITI TF-2b 3.42.4.1.3), `DE-`
//! DocumentEntry, `SS-` SubmissionSet, `FD-` Folder (ITI TF-3 4.2.3 and Table 4.3.1-3), `AS-`
//! associations (4.2.2), `CL-`/`EI-`/`CODE-`/`AUTHOR-`/`SLOT-` the ebRIM pieces, `FMT-` value
//! formats (4.2.3.1), `UPD-` ITI-57, `DEL-` ITI-62, `RSP-` metadata in query responses, `Q-`
//! ITI-18 request parameters, `DK-` the Danish profile (DK-PROFILE.md section 1).
//!
//! Invariants: ids never change once published (configurations name them); every rule has a
//! test that triggers it (`tests/rules.rs`); rule constants are the only way checks name rules,
//! so a misspelt id is a compile error.

use xds_model::vocabulary::error_code as ec;

use crate::severity::Severity;

/// One requirement checked by this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id used in configuration and findings, e.g. `DK-CLASSCODE-VALUE`.
    pub id: &'static str,
    /// Severity unless the configuration says otherwise.
    pub default_severity: Severity,
    /// The `RegistryError/@errorCode` a finding of this rule becomes.
    pub error_code: &'static str,
    /// What the rule requires and why.
    pub description: &'static str,
}

macro_rules! catalogue {
    ($( $konst:ident = $id:literal, $sev:ident, $code:ident, $desc:literal; )*) => {
        $(
            #[doc = concat!("Rule `", $id, "` (its reason is in `description`).")]
            pub const $konst: Rule = Rule {
                id: $id,
                default_severity: Severity::$sev,
                error_code: ec::$code,
                description: $desc,
            };
        )*
        /// Every rule, in catalogue order.
        pub const CATALOGUE: &[Rule] = &[$($konst),*];
    };
}

catalogue! {
    // --- The submission as a whole (ITI TF-3 4.1, ITI TF-2b 3.42.4.1.3) ---
    SUB_SUBMISSIONSET_COUNT = "SUB-SUBMISSIONSET-COUNT", Reject, REGISTRY_METADATA_ERROR,
        "A submission carries exactly one SubmissionSet (ITI TF-3 4.1.4): it is the unit of provenance that records who submitted what and when.";
    SUB_PACKAGE_UNCLASSIFIED = "SUB-PACKAGE-UNCLASSIFIED", Reject, REGISTRY_METADATA_ERROR,
        "Every RegistryPackage is classified as either a SubmissionSet or a Folder (ITI TF-3 4.2.1): otherwise the registry cannot tell which rules and which patient it belongs to.";
    SUB_ID_DUPLICATE = "SUB-ID-DUPLICATE", Reject, REGISTRY_METADATA_ERROR,
        "Object ids (entryUUIDs or symbolic ids) are unique within one message (ebRIM 3.0): associations and classifications refer to objects by id and would be ambiguous.";
    SUB_HASMEMBER_DOCUMENT = "SUB-HASMEMBER-DOCUMENT", Reject, REGISTRY_METADATA_ERROR,
        "Every DocumentEntry in a submission is the target of a HasMember association from the SubmissionSet (ITI TF-3 4.1.4): that association records the submission the entry arrived in.";
    SUB_HASMEMBER_FOLDER = "SUB-HASMEMBER-FOLDER", Reject, REGISTRY_METADATA_ERROR,
        "Every Folder in a submission is the target of a HasMember association from the SubmissionSet (ITI TF-3 4.1.4), for the same provenance reason as DocumentEntries.";
    SUB_UNIQUEID_DUPLICATE = "SUB-UNIQUEID-DUPLICATE", Reject, REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE,
        "A uniqueId appears on only one object of a submission (ITI TF-2b 3.42.4.1.3): two objects with one uniqueId cannot both be registered, and the second would silently shadow the first.";
    SUB_PATIENTID_MATCH = "SUB-PATIENTID-MATCH", Reject, PATIENT_ID_DOES_NOT_MATCH,
        "Every DocumentEntry and Folder has the SubmissionSet's patientId (ITI TF-2b 3.42.4.1.3): a submission concerns one patient, and mixing patients would file documents in the wrong record.";
    SUB_LID_EQUALS_ID = "SUB-LID-EQUALS-ID", Reject, REGISTRY_METADATA_ERROR,
        "Outside ITI-57 an object's lid, when present, equals its id (ITI TF-3 4.1.12.2): a lid different from the id means a new version of an existing object, which only Update Document Set may create.";
    SUB_STATUS_KNOWN = "SUB-STATUS-KNOWN", Reject, REGISTRY_METADATA_ERROR,
        "An availabilityStatus, when present, is one of the ebRIM status URNs (Approved, Deprecated, Submitted): queries select on it, so an unknown value makes the object unfindable.";
    FMT_ID = "FMT-ID", Reject, REGISTRY_METADATA_ERROR,
        "An id is either a well-formed entryUUID (urn:uuid: and 36 characters of UUID) or a symbolic id that does not start with urn:uuid: (ITI TF-3 4.2.3.1.8, 4.1.12.1): a malformed UUID cannot be told from a symbolic id the registry should replace.";

    SUB_DOCUMENT_MISSING = "SUB-DOCUMENT-MISSING", Reject, MISSING_DOCUMENT,
        "In ITI-41 every DocumentEntry has an attached xdsb:Document with its id (ITI TF-2b 3.41.4.1.3): the repository cannot store metadata without the document.";
    SUB_DOCUMENT_METADATA_MISSING = "SUB-DOCUMENT-METADATA-MISSING", Reject, MISSING_DOCUMENT_METADATA,
        "In ITI-41 every attached xdsb:Document is described by a DocumentEntry with its id (ITI TF-2b 3.41.4.1.3): a document without metadata can never be found.";

    // --- DocumentEntry (ITI TF-3 4.2.3.2, Table 4.3.1-3) ---
    DE_OBJECTTYPE_VALUE = "DE-OBJECTTYPE-VALUE", Reject, REGISTRY_METADATA_ERROR,
        "A DocumentEntry's objectType is the Stable DocumentEntry UUID (or On-Demand in ITI-57 and query responses) (ITI TF-3 4.2.3.2.30): the registry stores and answers stable and on-demand entries differently.";
    DE_CLASSCODE_REQUIRED = "DE-CLASSCODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "classCode is required (R, ITI TF-3 Table 4.3.1-3): FindDocuments queries select on it.";
    DE_CLASSCODE_SINGLE = "DE-CLASSCODE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "classCode occurs at most once (ITI TF-3 4.2.3.2.3): a document has one class, and a second one would be lost by any consumer reading it as single.";
    DE_CONFIDENTIALITYCODE_REQUIRED = "DE-CONFIDENTIALITYCODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "confidentialityCode is required (R, ITI TF-3 Table 4.3.1-3): access decisions depend on it.";
    DE_CREATIONTIME_REQUIRED = "DE-CREATIONTIME-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "creationTime is required (R, ITI TF-3 Table 4.3.1-3): queries by creation time select on it.";
    DE_CREATIONTIME_SINGLE = "DE-CREATIONTIME-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "creationTime has exactly one value (ITI TF-3 4.2.3.2.6): a document is created once.";
    DE_FORMATCODE_REQUIRED = "DE-FORMATCODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "formatCode is required (R, ITI TF-3 Table 4.3.1-3): consumers decide from it whether they can process the document.";
    DE_FORMATCODE_SINGLE = "DE-FORMATCODE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "formatCode occurs at most once (ITI TF-3 4.2.3.2.9): a document has one format.";
    DE_HASH_REQUIRED = "DE-HASH-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "hash is required in ITI-42 and ITI-57 (R for the XDS Document Repository, ITI TF-3 Table 4.3.1-3; optional for the ITI-41 source): consumers verify retrieved bytes against it.";
    DE_HASH_SINGLE = "DE-HASH-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "hash has exactly one value (ITI TF-3 4.2.3.2.10): a document has one content.";
    DE_HEALTHCAREFACILITYTYPECODE_REQUIRED = "DE-HEALTHCAREFACILITYTYPECODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "healthcareFacilityTypeCode is required (R, ITI TF-3 Table 4.3.1-3): FindDocuments queries select on it.";
    DE_HEALTHCAREFACILITYTYPECODE_SINGLE = "DE-HEALTHCAREFACILITYTYPECODE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "healthcareFacilityTypeCode occurs at most once (ITI TF-3 4.2.3.2.11).";
    DE_LANGUAGECODE_REQUIRED = "DE-LANGUAGECODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "languageCode is required (R, ITI TF-3 Table 4.3.1-3): consumers choose documents they can read.";
    DE_LANGUAGECODE_SINGLE = "DE-LANGUAGECODE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "languageCode has exactly one value (ITI TF-3 4.2.3.2.14).";
    DE_LEGALAUTHENTICATOR_SINGLE = "DE-LEGALAUTHENTICATOR-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "legalAuthenticator has at most one value (ITI TF-3 4.2.3.2.15): one person signs a document legally.";
    DE_MIMETYPE_REQUIRED = "DE-MIMETYPE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "mimeType is required (R, ITI TF-3 Table 4.3.1-3): the repository returns it with the document on retrieval.";
    DE_PATIENTID_REQUIRED = "DE-PATIENTID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "patientId is required (R, ITI TF-3 Table 4.3.1-3): without it the document belongs to no patient record.";
    DE_PATIENTID_SINGLE = "DE-PATIENTID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "patientId occurs exactly once (ITI TF-3 4.2.3.2.18): a document belongs to one patient.";
    DE_PRACTICESETTINGCODE_REQUIRED = "DE-PRACTICESETTINGCODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "practiceSettingCode is required (R, ITI TF-3 Table 4.3.1-3): FindDocuments queries select on it.";
    DE_PRACTICESETTINGCODE_SINGLE = "DE-PRACTICESETTINGCODE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "practiceSettingCode occurs at most once (ITI TF-3 4.2.3.2.19).";
    DE_REPOSITORYUNIQUEID_REQUIRED = "DE-REPOSITORYUNIQUEID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "repositoryUniqueId is required in ITI-42 and ITI-57 (ITI TF-3 Table 4.3.1-3; the repository adds it to what the ITI-41 source sent): consumers need it to know where to retrieve.";
    DE_REPOSITORYUNIQUEID_SINGLE = "DE-REPOSITORYUNIQUEID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "repositoryUniqueId has exactly one value (ITI TF-3 4.2.3.2.21): a document lives in one repository.";
    DE_SERVICESTARTTIME_SINGLE = "DE-SERVICESTARTTIME-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "serviceStartTime has at most one value (ITI TF-3 4.2.3.2.22).";
    DE_SERVICESTOPTIME_SINGLE = "DE-SERVICESTOPTIME-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "serviceStopTime has at most one value (ITI TF-3 4.2.3.2.23).";
    DE_SERVICETIME_ORDER = "DE-SERVICETIME-ORDER", Warning, REGISTRY_METADATA_ERROR,
        "serviceStartTime is not after serviceStopTime: a reversed period makes time-range queries (and DK period blocks) miss the document.";
    DE_SIZE_REQUIRED = "DE-SIZE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "size is required in ITI-42 and ITI-57 (R for the XDS Document Repository, ITI TF-3 Table 4.3.1-3): consumers verify retrieved bytes against it.";
    DE_SIZE_SINGLE = "DE-SIZE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "size has exactly one value (ITI TF-3 4.2.3.2.24).";
    DE_SOURCEPATIENTID_REQUIRED = "DE-SOURCEPATIENTID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "sourcePatientId is required (R, ITI TF-3 Table 4.3.1-3): it links the entry to the patient identity at the source.";
    DE_SOURCEPATIENTID_SINGLE = "DE-SOURCEPATIENTID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "sourcePatientId has exactly one value (ITI TF-3 4.2.3.2.25).";
    DE_TYPECODE_REQUIRED = "DE-TYPECODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "typeCode is required (R, ITI TF-3 Table 4.3.1-3): it says what kind of document this is.";
    DE_TYPECODE_SINGLE = "DE-TYPECODE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "typeCode occurs at most once (ITI TF-3 4.2.3.2.28): a document has one type.";
    DE_UNIQUEID_REQUIRED = "DE-UNIQUEID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "uniqueId is required (R, ITI TF-3 Table 4.3.1-3): ITI-43 retrieves documents by it.";
    DE_UNIQUEID_SINGLE = "DE-UNIQUEID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "uniqueId occurs exactly once (ITI TF-3 4.2.3.2.26): a document has one identity.";

    // --- SubmissionSet (ITI TF-3 4.2.3.3) ---
    SS_CONTENTTYPECODE_REQUIRED = "SS-CONTENTTYPECODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "contentTypeCode is required for an XDS Document Source (ITI TF-3 Table 4.3.1-3): FindSubmissionSets queries select on it.";
    SS_CONTENTTYPECODE_SINGLE = "SS-CONTENTTYPECODE-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "contentTypeCode occurs at most once (ITI TF-3 4.2.3.3.4).";
    SS_PATIENTID_REQUIRED = "SS-PATIENTID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A SubmissionSet's patientId is required (R, ITI TF-3 Table 4.3.1-3): every member is checked against it.";
    SS_PATIENTID_SINGLE = "SS-PATIENTID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "A SubmissionSet's patientId occurs exactly once (ITI TF-3 4.2.3.3.7): a submission concerns one patient.";
    SS_SOURCEID_REQUIRED = "SS-SOURCEID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "sourceId is required (R, ITI TF-3 Table 4.3.1-3): it identifies the submitting system.";
    SS_SOURCEID_SINGLE = "SS-SOURCEID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "sourceId occurs exactly once (ITI TF-3 4.2.3.3.8).";
    SS_SUBMISSIONTIME_REQUIRED = "SS-SUBMISSIONTIME-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "submissionTime is required (R, ITI TF-3 Table 4.3.1-3): FindSubmissionSets queries select on it.";
    SS_SUBMISSIONTIME_SINGLE = "SS-SUBMISSIONTIME-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "submissionTime has exactly one value (ITI TF-3 4.2.3.3.9).";
    SS_UNIQUEID_REQUIRED = "SS-UNIQUEID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A SubmissionSet's uniqueId is required (R, ITI TF-3 Table 4.3.1-3): GetSubmissionSets and resubmission checks use it.";
    SS_UNIQUEID_SINGLE = "SS-UNIQUEID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "A SubmissionSet's uniqueId occurs exactly once (ITI TF-3 4.2.3.3.12).";

    // --- Folder (ITI TF-3 4.2.3.4) ---
    FD_CODELIST_REQUIRED = "FD-CODELIST-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A Folder has at least one codeList code (R, ITI TF-3 Table 4.3.1-3): FindFolders queries select on it.";
    FD_LASTUPDATETIME_SINGLE = "FD-LASTUPDATETIME-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "lastUpdateTime has at most one value (ITI TF-3 4.2.3.4.6).";
    FD_PATIENTID_REQUIRED = "FD-PATIENTID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A Folder's patientId is required (R, ITI TF-3 Table 4.3.1-3): a Folder belongs to one patient record.";
    FD_PATIENTID_SINGLE = "FD-PATIENTID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "A Folder's patientId occurs exactly once (ITI TF-3 4.2.3.4.7).";
    FD_TITLE_REQUIRED = "FD-TITLE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A Folder's title is required (R, ITI TF-3 Table 4.3.1-3): people pick folders by title.";
    FD_UNIQUEID_REQUIRED = "FD-UNIQUEID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A Folder's uniqueId is required (R, ITI TF-3 Table 4.3.1-3).";
    FD_UNIQUEID_SINGLE = "FD-UNIQUEID-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "A Folder's uniqueId occurs exactly once (ITI TF-3 4.2.3.4.9).";

    // --- ebRIM pieces: classifications, external identifiers, slots, authors ---
    CL_CLASSIFIED_OBJECT = "CL-CLASSIFIED-OBJECT", Reject, REGISTRY_METADATA_ERROR,
        "A Classification's classifiedObject is the object it is nested in, or (when it stands alone) an object of the submission or an entryUUID (ITI TF-3 4.2.3.1.2): otherwise the code attaches to the wrong object or to nothing.";
    CL_SCHEME_OR_NODE = "CL-SCHEME-OR-NODE", Reject, REGISTRY_METADATA_ERROR,
        "A Classification names a classificationScheme or a classificationNode (ebRIM 3.0): with neither it carries no meaning.";
    CL_SCHEME_MISPLACED = "CL-SCHEME-MISPLACED", Reject, REGISTRY_METADATA_ERROR,
        "A Classification uses a scheme defined for its object type (e.g. the DocumentEntry classCode scheme only on DocumentEntries): a SubmissionSet scheme on a DocumentEntry is a coding mistake that silently drops the attribute.";
    CL_SCHEME_UNKNOWN = "CL-SCHEME-UNKNOWN", Log, EXTRA_METADATA_NOT_SAVED,
        "A Classification scheme that XDS does not define is kept but not understood: logged so operators can see non-standard metadata.";
    CODE_VALUE_REQUIRED = "CODE-VALUE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A coded attribute has a non-empty nodeRepresentation, the code itself (ITI TF-3 4.2.3.1.2).";
    CODE_CODINGSCHEME_REQUIRED = "CODE-CODINGSCHEME-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A coded attribute has a codingScheme slot with exactly one value (ITI TF-3 4.2.3.1.2): a code means nothing without its code system.";
    CODE_DISPLAYNAME_REQUIRED = "CODE-DISPLAYNAME-REQUIRED", Warning, REGISTRY_METADATA_ERROR,
        "A coded attribute has a Name, its display name (ITI TF-3 4.2.3.1.2): people read it; matching uses only code and scheme, hence a warning.";
    EI_REGISTRY_OBJECT = "EI-REGISTRY-OBJECT", Reject, REGISTRY_METADATA_ERROR,
        "An ExternalIdentifier's registryObject is the object it belongs to (ITI TF-3 4.2.3.1.3): otherwise patientId or uniqueId would be read for the wrong object.";
    EI_SCHEME_MISPLACED = "EI-SCHEME-MISPLACED", Reject, REGISTRY_METADATA_ERROR,
        "An ExternalIdentifier uses an identification scheme defined for its object type (patientId, uniqueId, sourceId): another type's scheme silently drops the identifier.";
    SLOT_NAME_DUPLICATED = "SLOT-NAME-DUPLICATED", Reject, REGISTRY_METADATA_ERROR,
        "A slot name occurs once per object (ebRIM 3.0): a second slot of the same name would be ignored by readers that take the first.";
    SLOT_EXTRA_NAME = "SLOT-EXTRA-NAME", Warning, REGISTRY_METADATA_ERROR,
        "A slot XDS does not define has a urn: name (extra metadata, ITI TF-3 4.1.14): a plain unknown name is usually a misspelt XDS attribute (e.g. 'creationtime').";
    AUTHOR_CONTENT = "AUTHOR-CONTENT", Reject, REGISTRY_METADATA_ERROR,
        "An author has at least one of authorPerson, authorInstitution, authorTelecommunication (ITI TF-3 4.2.3.1.4): an empty author identifies nobody.";
    AUTHOR_PERSON_SINGLE = "AUTHOR-PERSON-SINGLE", Reject, REGISTRY_METADATA_ERROR,
        "An author's authorPerson has at most one value (ITI TF-3 4.2.3.1.4.2): several people are several authors.";

    // --- Value formats (ITI TF-3 4.2.3.1) ---
    FMT_DTM = "FMT-DTM", Reject, REGISTRY_METADATA_ERROR,
        "Times are DTM in UTC: YYYY[MM[DD[hh[mm[ss]]]]] digits with valid ranges and no zone (ITI TF-3 4.2.3.1.5): time-range queries compare them as text.";
    FMT_OID = "FMT-OID", Reject, REGISTRY_METADATA_ERROR,
        "OIDs (repositoryUniqueId, sourceId, SubmissionSet and Folder uniqueId) are dotted decimal numbers without leading zeros, at most 64 characters (ITI TF-3 4.2.3.3.12, 4.2.3.4.9): other identifiers are not ISO OIDs.";
    FMT_DOCUMENT_UNIQUEID = "FMT-DOCUMENT-UNIQUEID", Reject, REGISTRY_METADATA_ERROR,
        "A DocumentEntry uniqueId is an OID (at most 64 characters) optionally followed by ^extension (at most 16), at most 128 in total (ITI TF-3 4.2.3.2.26).";
    FMT_HASH = "FMT-HASH", Reject, REGISTRY_METADATA_ERROR,
        "hash is the SHA-1 of the document as 40 hexadecimal characters (ITI TF-3 4.2.3.2.10).";
    FMT_SIZE = "FMT-SIZE", Reject, REGISTRY_METADATA_ERROR,
        "size is the document length in bytes as a non-negative decimal integer (ITI TF-3 4.2.3.2.24).";
    FMT_CX = "FMT-CX", Reject, REGISTRY_METADATA_ERROR,
        "patientId and sourcePatientId are CX: an id and an ISO assigning authority, id^^^&OID&ISO, with no other components (ITI TF-3 4.2.3.1.7): the registry matches patients by exactly this string.";
    FMT_XCN = "FMT-XCN", Reject, REGISTRY_METADATA_ERROR,
        "Persons (authorPerson, legalAuthenticator) are XCN with an id or a family name, and an ISO assigning authority when an id is given (ITI TF-3 4.2.3.1.7).";
    FMT_XON = "FMT-XON", Reject, REGISTRY_METADATA_ERROR,
        "authorInstitution is XON with an organization name, and an ISO assigning authority when an organization id is given (ITI TF-3 4.2.3.1.7).";
    FMT_LANGUAGECODE = "FMT-LANGUAGECODE", Reject, REGISTRY_METADATA_ERROR,
        "languageCode is an RFC 5646 tag such as 'da-DK' (ITI TF-3 4.2.3.2.14).";
    FMT_MIMETYPE = "FMT-MIMETYPE", Reject, REGISTRY_METADATA_ERROR,
        "mimeType is type/subtype (RFC 2045, ITI TF-3 4.2.3.2.17): it is returned as the document's Content-Type.";
    FMT_SOURCEPATIENTINFO = "FMT-SOURCEPATIENTINFO", Warning, REGISTRY_METADATA_ERROR,
        "sourcePatientInfo values are HL7 PID fields written 'PID-n|value' (ITI TF-3 4.2.3.2.25): a warning, since the attribute is informative and nothing selects on it.";
    FMT_HOMECOMMUNITYID = "FMT-HOMECOMMUNITYID", Reject, REGISTRY_METADATA_ERROR,
        "homeCommunityId is urn:oid: followed by an OID (ITI TF-3 4.2.3.2.12).";

    // --- Associations (ITI TF-3 4.2.2) ---
    AS_TYPE_KNOWN = "AS-TYPE-KNOWN", Reject, REGISTRY_METADATA_ERROR,
        "An association type is one XDS defines (HasMember, RPLC, APND, XFRM, XFRM_RPLC, signs, IsSnapshotOf, UpdateAvailabilityStatus; ITI TF-3 4.2.2): the registry cannot apply an unknown relationship.";
    AS_REFERENCE_RESOLVES = "AS-REFERENCE-RESOLVES", Reject, UNRESOLVED_REFERENCE_EXCEPTION,
        "A symbolic sourceObject or targetObject names an object of the same submission (ITI TF-3 4.1.12.1); entryUUIDs are left for the registry to resolve against what it holds.";
    AS_HASMEMBER_SOURCE = "AS-HASMEMBER-SOURCE", Reject, REGISTRY_METADATA_ERROR,
        "A HasMember association starts at a SubmissionSet or a Folder (ITI TF-3 4.2.2.1): only those have members.";
    AS_SUBMISSIONSETSTATUS = "AS-SUBMISSIONSETSTATUS", Reject, REGISTRY_METADATA_ERROR,
        "A HasMember from the SubmissionSet to a DocumentEntry has one SubmissionSetStatus slot, Original or Reference (ITI TF-3 4.2.2.1.1): it says whether the entry is new or referenced.";
    AS_RELATIONSHIP_SOURCE = "AS-RELATIONSHIP-SOURCE", Reject, REGISTRY_METADATA_ERROR,
        "A document relationship (RPLC, APND, XFRM, XFRM_RPLC, signs) starts at a DocumentEntry of the same submission (ITI TF-3 4.2.2.2): the new document is the one related to an existing one.";
    AS_RELATIONSHIP_TARGET = "AS-RELATIONSHIP-TARGET", Reject, REGISTRY_METADATA_ERROR,
        "A document relationship targets an existing DocumentEntry by entryUUID, not an object of the same submission (ITI TF-3 4.2.2.2): replacing or appending to a document that is not yet registered is meaningless.";

    // --- ITI-57 Update Document Set (ITI TF-2b 3.57.4.1.3) ---
    UPD_LID_UUID = "UPD-LID-UUID", Reject, REGISTRY_METADATA_ERROR,
        "A lid (logicalId) is an entryUUID, never symbolic (ITI TF-3 4.2.3.2.16): it names the existing object whose new version this is.";
    UPD_LID_REQUIRED = "UPD-LID-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "In ITI-57 a DocumentEntry or Folder that is the target of a HasMember with PreviousVersion has a lid different from its id (ITI TF-2b 3.57.4.1.3.3.1): that is how the registry finds the version it replaces.";
    UPD_PREVIOUSVERSION = "UPD-PREVIOUSVERSION", Reject, REGISTRY_METADATA_ERROR,
        "In ITI-57 the HasMember from the SubmissionSet to a new version of a DocumentEntry or Folder has one PreviousVersion slot holding a positive integer (ITI TF-2b 3.57.4.1.3.3.1): the registry rejects updates of anything but the latest version.";
    UPD_STATUS_SLOTS = "UPD-STATUS-SLOTS", Reject, REGISTRY_METADATA_ERROR,
        "An UpdateAvailabilityStatus association has one OriginalStatus and one NewStatus slot, each Approved or Deprecated (ITI TF-2b 3.57.4.1.3.3.2): the registry changes the status only if OriginalStatus is current.";
    UPD_STATUS_REFS = "UPD-STATUS-REFS", Reject, REGISTRY_METADATA_ERROR,
        "An UpdateAvailabilityStatus association starts at the SubmissionSet and targets an existing object by entryUUID (ITI TF-2b 3.57.4.1.3.3.2).";

    // --- ITI-62 Delete Document Set (ITI TF-2b 3.62.4.1.3) ---
    DEL_REFS_REQUIRED = "DEL-REFS-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A delete request names at least one object (ITI TF-2b 3.62.4.1.2): an empty request is almost certainly a client bug.";
    DEL_REF_UUID = "DEL-REF-UUID", Reject, REGISTRY_METADATA_ERROR,
        "Objects to delete are named by entryUUID (ITI TF-2b 3.62.4.1.2): only registered objects can be deleted.";
    DEL_REF_DUPLICATE = "DEL-REF-DUPLICATE", Warning, REGISTRY_METADATA_ERROR,
        "Each object is named once in a delete request: a repeated reference is harmless but shows a client bug.";
    DEL_ONLY_REFS = "DEL-ONLY-REFS", Reject, REGISTRY_METADATA_ERROR,
        "A delete request holds only ObjectRefs (ITI TF-2b 3.62.4.1.2): metadata objects in it would be silently ignored.";

    // --- Metadata in ITI-18 query responses ---
    RSP_ID_UUID = "RSP-ID-UUID", Reject, REGISTRY_ERROR,
        "Objects in a query response carry entryUUIDs, never symbolic ids (ITI TF-2a 3.18.4.1.3): consumers use them in follow-up queries.";
    RSP_STATUS_REQUIRED = "RSP-STATUS-REQUIRED", Reject, REGISTRY_ERROR,
        "Objects in a query response carry their availabilityStatus (ITI TF-3 4.2.3.2.2): consumers must be able to tell deprecated entries.";

    // --- ITI-18 request parameters (ITI TF-2a 3.18.4.1.2.3.7) ---
    Q_UNKNOWN_QUERY = "Q-UNKNOWN-QUERY", Reject, UNKNOWN_STORED_QUERY,
        "The query id is one of the stored queries this registry implements (ITI TF-2a 3.18.4.1.2.3.7, plus FindDocumentsByText): anything else cannot be run.";
    Q_PARAM_REQUIRED = "Q-PARAM-REQUIRED", Reject, STORED_QUERY_MISSING_PARAM,
        "Every required parameter of the stored query is present, and for 'one of' pairs (e.g. $XDSDocumentEntryEntryUUID or $XDSDocumentEntryUniqueId) one of the two (ITI TF-2a 3.18.4.1.2.3.7): without it the query is undefined.";
    Q_PARAM_ONE_OF = "Q-PARAM-ONE-OF", Reject, STORED_QUERY_PARAM_NUMBER,
        "Queries that take 'one of' two parameters receive only one of them, not both (ITI TF-2a 3.18.4.1.2.3.7): the two could name different objects.";
    Q_PARAM_SINGLE = "Q-PARAM-SINGLE", Reject, STORED_QUERY_PARAM_NUMBER,
        "A single-valued parameter (patient ids, times) occurs once with one value (ITI TF-2a 3.18.4.1.2.3.5): a second value has no defined meaning.";
    Q_PARAM_UNKNOWN = "Q-PARAM-UNKNOWN", Warning, REGISTRY_ERROR,
        "A parameter the stored query does not define is ignored: a warning, since it is usually a misspelt parameter that silently widens the result.";
    Q_PARAM_FORMAT = "Q-PARAM-FORMAT", Reject, REGISTRY_ERROR,
        "Parameter values have the format the query defines (ITI TF-2a 3.18.4.1.2.3.5): strings in single quotes, times as unquoted DTM, patient ids as quoted CX, codes as 'code^^scheme'.";

    Q_RETURNTYPE = "Q-RETURNTYPE", Reject, REGISTRY_ERROR,
        "ResponseOption/@returnType is LeafClass or ObjectRef (ITI TF-2a 3.18.4.1.2.1): the other ebRS return types have no XDS meaning, and the schema default RegistryObject is not one of them.";

    // --- Danish profile (DK-PROFILE.md section 1) ---
    DK_PATIENTID_AUTHORITY = "DK-PATIENTID-AUTHORITY", Reject, REGISTRY_METADATA_ERROR,
        "patientId and sourcePatientId are CPR numbers with the CPR assigning authority 1.2.208.176.1.2 (DK-IHE): the national registry knows patients only by CPR. A metadata error, not XDSUnknownPatientId, which is reserved for the registry's lookup of a well-formed CPR.";
    DK_PATIENTID_CPR = "DK-PATIENTID-CPR", Reject, REGISTRY_METADATA_ERROR,
        "The id part of a Danish patientId is a CPR number of exactly 10 digits (DK-IHE): anything else cannot be a CPR and would never match the citizen.";
    DK_CLASSCODE_VALUE = "DK-CLASSCODE-VALUE", Reject, REGISTRY_METADATA_ERROR,
        "classCode is '001' (Klinisk rapport) in 1.2.208.184.100.9, the only class DK-IHE defines.";
    DK_TYPECODE_SYSTEM = "DK-TYPECODE-SYSTEM", Reject, REGISTRY_METADATA_ERROR,
        "typeCode is a LOINC code (2.16.840.1.113883.6.1) in DK-IHE: Danish consumers select document types by LOINC.";
    DK_TYPECODE_KNOWN = "DK-TYPECODE-KNOWN", Warning, REGISTRY_METADATA_ERROR,
        "typeCode is one of the LOINC codes MedCom documents use (APD 39289-4 and 56446-8, PHMR 53576-5, QFDD 74468-0, QRD 74465-6, lab 11502-2): a warning because the list grows with new MedCom standards.";
    DK_FORMATCODE_SYSTEM = "DK-FORMATCODE-SYSTEM", Reject, REGISTRY_METADATA_ERROR,
        "formatCode is in MedCom's format code system 1.2.208.184.100.10 (DK-IHE): consumers decide processability from it. IHE's urn:ihe:iti:xds:2017:mimeTypeSufficient (1.3.6.1.4.1.19376.1.2.3) is also accepted, for documents such as a text/plain note that no MedCom format describes.";
    DK_FORMATCODE_KNOWN = "DK-FORMATCODE-KNOWN", Warning, REGISTRY_METADATA_ERROR,
        "formatCode is one MedCom has published (e.g. urn:ad:dk:medcom:apd-v2.0.1:full): a warning because MedCom adds versions over time.";
    DK_APD_TYPECODE = "DK-APD-TYPECODE", Warning, REGISTRY_METADATA_ERROR,
        "An APD (formatCode urn:ad:dk:medcom:apd-v2.0.1:full) has typeCode 39289-4 or 56446-8: the two codes Danish sources and MedCom use for appointments; anything else is likely a mix-up.";
    DK_CONFIDENTIALITY_VALUE = "DK-CONFIDENTIALITY-VALUE", Reject, REGISTRY_METADATA_ERROR,
        "confidentialityCode is 'N' in 2.16.840.1.113883.5.25 (DK-IHE): Danish access control is done by consent, not by confidentiality levels.";
    DK_LANGUAGECODE_VALUE = "DK-LANGUAGECODE-VALUE", Warning, REGISTRY_METADATA_ERROR,
        "languageCode is 'da-DK' (or 'da') in DK-IHE: a warning, because a document written in another language is still a valid clinical record and refusing it would lose it.";
    DK_MIMETYPE_VALUE = "DK-MIMETYPE-VALUE", Warning, REGISTRY_METADATA_ERROR,
        "mimeType is text/xml for the MedCom CDA documents DK-IHE describes: a warning since other document kinds may come.";
    DK_AUTHOR_REQUIRED = "DK-AUTHOR-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A DocumentEntry has an author with an authorInstitution (DK-IHE): consent blocks are by the SOR organisation that authored the document, so without one a citizen's block cannot be enforced.";
    DK_AUTHORINSTITUTION_SOR = "DK-AUTHORINSTITUTION-SOR", Reject, REGISTRY_METADATA_ERROR,
        "authorInstitution is XON with a SOR code in component 10 and SOR authority 1.2.208.176.1.1 (DK-IHE; one client library wrongly uses 1.2.208.176.1): blocks are matched by SOR code.";
    DK_FACILITYTYPE_SYSTEM = "DK-FACILITYTYPE-SYSTEM", Reject, REGISTRY_METADATA_ERROR,
        "healthcareFacilityTypeCode is SNOMED CT (2.16.840.1.113883.6.96) in DK-IHE.";
    DK_PRACTICESETTING_SYSTEM = "DK-PRACTICESETTING-SYSTEM", Reject, REGISTRY_METADATA_ERROR,
        "practiceSettingCode is SNOMED CT (2.16.840.1.113883.6.96) in DK-IHE.";
    DK_EVENTCODE_REQUIRED = "DK-EVENTCODE-REQUIRED", Reject, REGISTRY_METADATA_ERROR,
        "A DocumentEntry has at least one eventCode (DK-IHE): Danish consumers select documents by the clinical programme (SKS ALAL codes).";
    DK_EVENTCODE_SYSTEM = "DK-EVENTCODE-SYSTEM", Reject, REGISTRY_METADATA_ERROR,
        "eventCodes are SKS (1.2.208.176.2.4) or NPU (1.2.208.176.2.1) codes in DK-IHE.";
    DK_LEGALAUTHENTICATOR_REQUIRED = "DK-LEGALAUTHENTICATOR-REQUIRED", Warning, REGISTRY_METADATA_ERROR,
        "legalAuthenticator is required by the DK-IHE metadata draft: a warning, not a rejection, because the source marks that requirement as draft.";
    DK_TITLE_REQUIRED = "DK-TITLE-REQUIRED", Warning, REGISTRY_METADATA_ERROR,
        "title is required by the DK-IHE metadata draft (e.g. 'Aftale for <CPR>'): a warning because the source marks the requirement as draft.";
}

/// The rule with that id, if the catalogue has one.
pub fn rule(id: &str) -> Option<&'static Rule> {
    CATALOGUE.iter().find(|r| r.id == id)
}

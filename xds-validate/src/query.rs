//! ITI-18 (and ITI-51) stored query request checks (ITI TF-2a 3.18.4.1.2.3.7): the query id is
//! known, required parameters are present, "one of" pairs get exactly one, single-valued
//! parameters have one value, and values have their format.
//!
//! Parameters are taken as the `rim:Slot`s of the `AdhocQuery`, exactly as sent, so a
//! parameter repeated in two slots is seen.
//!
//! Invariant: values are judged by their ebRS query syntax only (`'string'`, `('a','b')`,
//! unquoted numbers for times); whether a patient or an entry exists is the registry's concern.

use xds_model::message::{AdhocQueryRequest, ReturnType};
use xds_model::rim::Slot;
use xds_model::vocabulary::{association_type, object_type, status, stored_query as sq};

use crate::catalogue::{self as r};
use crate::checks::{Ctx, Subject};
use crate::config::ValidationConfig;
use crate::format;
use crate::report::{ObjectKind, Report};
use crate::severity::Transaction;

/// One query parameter, as its ebRIM slot: the name (with `$`) and the `Value` texts.
pub type QueryParameter = Slot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Quoted CX, one value.
    PatientId,
    /// Quoted CX list (multi-patient queries).
    PatientIdList,
    /// Unquoted DTM, one value.
    Time,
    /// List of quoted status URNs.
    Status,
    /// List of quoted `code^^scheme`.
    Code,
    /// List of quoted entryUUIDs.
    Uuid,
    /// List of quoted strings (uniqueIds, reference ids, author names, source ids).
    Strings,
    /// One quoted string.
    Text,
    /// List of quoted association type URNs.
    AssociationTypes,
    /// List of quoted DocumentEntry objectType UUIDs.
    EntryTypes,
    /// One quoted `urn:oid:` homeCommunityId.
    Home,
}

use Kind as K;

/// What one stored query takes.
struct Spec {
    id: &'static str,
    name: &'static str,
    required: &'static [(&'static str, Kind)],
    /// Pairs of which exactly one must be present.
    one_of: &'static [(&'static str, &'static str)],
    optional: &'static [(&'static str, Kind)],
}

const FIND_DOCUMENTS_OPTIONAL: &[(&str, Kind)] = &[
    ("$XDSDocumentEntryClassCode", K::Code),
    ("$XDSDocumentEntryTypeCode", K::Code),
    ("$XDSDocumentEntryPracticeSettingCode", K::Code),
    ("$XDSDocumentEntryCreationTimeFrom", K::Time),
    ("$XDSDocumentEntryCreationTimeTo", K::Time),
    ("$XDSDocumentEntryServiceStartTimeFrom", K::Time),
    ("$XDSDocumentEntryServiceStartTimeTo", K::Time),
    ("$XDSDocumentEntryServiceStopTimeFrom", K::Time),
    ("$XDSDocumentEntryServiceStopTimeTo", K::Time),
    ("$XDSDocumentEntryHealthcareFacilityTypeCode", K::Code),
    ("$XDSDocumentEntryEventCodeList", K::Code),
    ("$XDSDocumentEntryConfidentialityCode", K::Code),
    ("$XDSDocumentEntryAuthorPerson", K::Strings),
    ("$XDSDocumentEntryFormatCode", K::Code),
    ("$XDSDocumentEntryType", K::EntryTypes),
];

const CONTENT_FILTERS: &[(&str, Kind)] = &[
    ("$homeCommunityId", K::Home),
    ("$XDSDocumentEntryFormatCode", K::Code),
    ("$XDSDocumentEntryConfidentialityCode", K::Code),
    ("$XDSDocumentEntryType", K::EntryTypes),
];

const DE_REF: &[(&str, &str)] = &[("$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId")];
const FOLDER_REF: &[(&str, &str)] = &[("$XDSFolderEntryUUID", "$XDSFolderUniqueId")];

const SPECS: &[Spec] = &[
    Spec {
        id: sq::FIND_DOCUMENTS,
        name: "FindDocuments",
        required: &[
            ("$XDSDocumentEntryPatientId", K::PatientId),
            ("$XDSDocumentEntryStatus", K::Status),
        ],
        one_of: &[],
        optional: FIND_DOCUMENTS_OPTIONAL,
    },
    Spec {
        id: sq::FIND_DOCUMENTS_BY_REFERENCE_ID,
        name: "FindDocumentsByReferenceId",
        required: &[
            ("$XDSDocumentEntryPatientId", K::PatientId),
            ("$XDSDocumentEntryStatus", K::Status),
            ("$XDSDocumentEntryReferenceIdList", K::Strings),
        ],
        one_of: &[],
        optional: FIND_DOCUMENTS_OPTIONAL,
    },
    Spec {
        id: sq::FIND_SUBMISSION_SETS,
        name: "FindSubmissionSets",
        required: &[
            ("$XDSSubmissionSetPatientId", K::PatientId),
            ("$XDSSubmissionSetStatus", K::Status),
        ],
        one_of: &[],
        optional: &[
            ("$XDSSubmissionSetSourceId", K::Strings),
            ("$XDSSubmissionSetSubmissionTimeFrom", K::Time),
            ("$XDSSubmissionSetSubmissionTimeTo", K::Time),
            ("$XDSSubmissionSetAuthorPerson", K::Strings),
            ("$XDSSubmissionSetContentType", K::Code),
        ],
    },
    Spec {
        id: sq::FIND_FOLDERS,
        name: "FindFolders",
        required: &[
            ("$XDSFolderPatientId", K::PatientId),
            ("$XDSFolderStatus", K::Status),
        ],
        one_of: &[],
        optional: &[
            ("$XDSFolderLastUpdateTimeFrom", K::Time),
            ("$XDSFolderLastUpdateTimeTo", K::Time),
            ("$XDSFolderCodeList", K::Code),
        ],
    },
    Spec {
        id: sq::GET_ALL,
        name: "GetAll",
        required: &[
            ("$patientId", K::PatientId),
            ("$XDSDocumentEntryStatus", K::Status),
            ("$XDSSubmissionSetStatus", K::Status),
            ("$XDSFolderStatus", K::Status),
        ],
        one_of: &[],
        optional: CONTENT_FILTERS,
    },
    Spec {
        id: sq::GET_DOCUMENTS,
        name: "GetDocuments",
        required: &[],
        one_of: DE_REF,
        optional: &[("$homeCommunityId", K::Home)],
    },
    Spec {
        id: sq::GET_FOLDERS,
        name: "GetFolders",
        required: &[],
        one_of: FOLDER_REF,
        optional: &[("$homeCommunityId", K::Home)],
    },
    Spec {
        id: sq::GET_ASSOCIATIONS,
        name: "GetAssociations",
        required: &[("$uuid", K::Uuid)],
        one_of: &[],
        optional: &[("$homeCommunityId", K::Home)],
    },
    Spec {
        id: sq::GET_DOCUMENTS_AND_ASSOCIATIONS,
        name: "GetDocumentsAndAssociations",
        required: &[],
        one_of: DE_REF,
        optional: &[("$homeCommunityId", K::Home)],
    },
    Spec {
        id: sq::GET_SUBMISSION_SETS,
        name: "GetSubmissionSets",
        required: &[("$uuid", K::Uuid)],
        one_of: &[],
        optional: &[("$homeCommunityId", K::Home)],
    },
    Spec {
        id: sq::GET_SUBMISSION_SET_AND_CONTENTS,
        name: "GetSubmissionSetAndContents",
        required: &[],
        one_of: &[("$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId")],
        optional: CONTENT_FILTERS,
    },
    Spec {
        id: sq::GET_FOLDER_AND_CONTENTS,
        name: "GetFolderAndContents",
        required: &[],
        one_of: FOLDER_REF,
        optional: CONTENT_FILTERS,
    },
    Spec {
        id: sq::GET_FOLDERS_FOR_DOCUMENT,
        name: "GetFoldersForDocument",
        required: &[],
        one_of: DE_REF,
        optional: &[("$homeCommunityId", K::Home)],
    },
    Spec {
        id: sq::GET_RELATED_DOCUMENTS,
        name: "GetRelatedDocuments",
        required: &[("$AssociationTypes", K::AssociationTypes)],
        one_of: DE_REF,
        optional: &[
            ("$XDSDocumentEntryType", K::EntryTypes),
            ("$homeCommunityId", K::Home),
        ],
    },
    Spec {
        id: sq::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS,
        name: "FindDocumentsForMultiplePatients",
        required: &[("$XDSDocumentEntryStatus", K::Status)],
        one_of: &[],
        optional: &[
            ("$XDSDocumentEntryPatientId", K::PatientIdList),
            ("$XDSDocumentEntryClassCode", K::Code),
            ("$XDSDocumentEntryTypeCode", K::Code),
            ("$XDSDocumentEntryPracticeSettingCode", K::Code),
            ("$XDSDocumentEntryCreationTimeFrom", K::Time),
            ("$XDSDocumentEntryCreationTimeTo", K::Time),
            ("$XDSDocumentEntryServiceStartTimeFrom", K::Time),
            ("$XDSDocumentEntryServiceStartTimeTo", K::Time),
            ("$XDSDocumentEntryServiceStopTimeFrom", K::Time),
            ("$XDSDocumentEntryServiceStopTimeTo", K::Time),
            ("$XDSDocumentEntryHealthcareFacilityTypeCode", K::Code),
            ("$XDSDocumentEntryEventCodeList", K::Code),
            ("$XDSDocumentEntryConfidentialityCode", K::Code),
            ("$XDSDocumentEntryAuthorPerson", K::Strings),
            ("$XDSDocumentEntryFormatCode", K::Code),
            ("$XDSDocumentEntryType", K::EntryTypes),
        ],
    },
    Spec {
        id: sq::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS,
        name: "FindFoldersForMultiplePatients",
        required: &[("$XDSFolderStatus", K::Status)],
        one_of: &[],
        optional: &[
            ("$XDSFolderPatientId", K::PatientIdList),
            ("$XDSFolderLastUpdateTimeFrom", K::Time),
            ("$XDSFolderLastUpdateTimeTo", K::Time),
            ("$XDSFolderCodeList", K::Code),
        ],
    },
    Spec {
        id: sq::FIND_DOCUMENTS_BY_TEXT,
        name: "FindDocumentsByText",
        required: &[
            ("$XDSDocumentEntryPatientId", K::PatientId),
            ("$DdsText", K::Text),
        ],
        one_of: &[],
        optional: &[("$XDSDocumentEntryStatus", K::Status)],
    },
];

/// Validates a whole ITI-18 (or ITI-51) request: the response option and the query.
pub fn validate_adhoc_query_request(request: &AdhocQueryRequest, cfg: &ValidationConfig) -> Report {
    let query = &request.adhoc_query.object;
    let mut report = validate_query(&query.id, &query.slots, cfg);
    let rt = request.response_option.return_type;
    if !matches!(rt, ReturnType::LeafClass | ReturnType::ObjectRef) {
        let mut ctx = Ctx::new(Transaction::Iti18, cfg);
        ctx.report(
            &r::Q_RETURNTYPE,
            Subject::new(ObjectKind::Query, &query.id),
            Some("returnType"),
            format!(
                "ResponseOption returnType is '{}'; a stored query returns 'LeafClass' (full metadata) or 'ObjectRef' (entryUUIDs only)",
                rt.as_str()
            ),
        );
        report.findings.splice(0..0, ctx.findings);
    }
    report
}

/// Validates an ITI-18 (or ITI-51) `AdhocQuery`: its id and its parameter slots.
pub fn validate_query(
    query_id: &str,
    parameters: &[QueryParameter],
    cfg: &ValidationConfig,
) -> Report {
    let mut ctx = Ctx::new(Transaction::Iti18, cfg);
    let subject = Subject::new(ObjectKind::Query, query_id);
    let Some(spec) = SPECS.iter().find(|s| s.id.eq_ignore_ascii_case(query_id)) else {
        ctx.report(
            &r::Q_UNKNOWN_QUERY,
            subject,
            None,
            format!("stored query id '{query_id}' is not one this registry implements (the 14 IHE stored queries, the 2 ITI-51 queries and FindDocumentsByText)"),
        );
        return Report {
            findings: ctx.findings,
        };
    };
    let present = |name: &str| parameters.iter().any(|p| p.name == name);
    for (name, _) in spec.required {
        if !present(name) {
            ctx.report(
                &r::Q_PARAM_REQUIRED,
                subject,
                Some(name),
                format!(
                    "{} requires the parameter {name}, which is missing",
                    spec.name
                ),
            );
        }
    }
    for (a, b) in spec.one_of {
        match (present(a), present(b)) {
            (true, true) => ctx.report(
                &r::Q_PARAM_ONE_OF,
                subject,
                Some(a),
                format!(
                    "{} takes exactly one of {a} and {b}; both are present",
                    spec.name
                ),
            ),
            (false, false) => ctx.report(
                &r::Q_PARAM_REQUIRED,
                subject,
                Some(a),
                format!(
                    "{} requires one of {a} and {b}; neither is present",
                    spec.name
                ),
            ),
            _ => {}
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for p in parameters {
        let kind = spec
            .required
            .iter()
            .chain(spec.optional)
            .find(|(n, _)| *n == p.name)
            .map(|(_, k)| *k)
            .or_else(|| {
                spec.one_of
                    .iter()
                    .find(|(a, b)| *a == p.name || *b == p.name)
                    .map(|(a, _)| {
                        if a.ends_with("UUID") && *a == p.name {
                            K::Uuid
                        } else {
                            K::Strings
                        }
                    })
            });
        let attr = static_name(spec, &p.name);
        let Some(kind) = kind else {
            ctx.report(
                &r::Q_PARAM_UNKNOWN,
                subject,
                None,
                format!(
                    "parameter '{}' is not a parameter of {}; it is ignored",
                    p.name, spec.name
                ),
            );
            continue;
        };
        // ITI TF-2a 3.18.4.1.2.3.5: these code parameters may be sent in several slots, which
        // the registry ANDs; every other parameter must come in one slot.
        let repeatable = matches!(
            p.name.as_str(),
            "$XDSDocumentEntryEventCodeList"
                | "$XDSDocumentEntryConfidentialityCode"
                | "$XDSFolderCodeList"
        );
        if !repeatable && seen.contains(&p.name.as_str()) {
            ctx.report(
                &r::Q_PARAM_SINGLE,
                subject,
                attr,
                format!(
                    "parameter {} is sent in more than one slot; send all its values in one slot",
                    p.name
                ),
            );
            continue;
        }
        seen.push(&p.name);
        param(&mut ctx, subject, attr, &p.name, kind, &p.values);
    }
    Report {
        findings: ctx.findings,
    }
}

/// The parameter name as a `&'static str` from the spec, for `Finding::attribute`.
fn static_name(spec: &Spec, name: &str) -> Option<&'static str> {
    spec.required
        .iter()
        .chain(spec.optional)
        .map(|(n, _)| *n)
        .chain(spec.one_of.iter().flat_map(|(a, b)| [*a, *b]))
        .find(|n| *n == name)
}

fn param(
    ctx: &mut Ctx<'_>,
    subject: Subject<'_>,
    attr: Option<&'static str>,
    name: &str,
    kind: Kind,
    values: &[String],
) {
    let single = matches!(kind, K::PatientId | K::Time | K::Text | K::Home);
    if single && values.len() != 1 {
        ctx.report(
            &r::Q_PARAM_SINGLE,
            subject,
            attr,
            format!(
                "parameter {name} has {} values; it takes exactly one",
                values.len()
            ),
        );
        return;
    }
    for raw in values {
        let items = if kind == K::Time {
            Ok(vec![raw.trim().to_owned()])
        } else {
            quoted_list(raw)
        };
        let items = match items {
            Ok(items) => items,
            Err(reason) => {
                ctx.report(
                    &r::Q_PARAM_FORMAT,
                    subject,
                    attr,
                    format!("parameter {name} value {raw} is not valid: {reason}"),
                );
                continue;
            }
        };
        if single && items.len() != 1 {
            ctx.report(
                &r::Q_PARAM_SINGLE,
                subject,
                attr,
                format!(
                    "parameter {name} has a list of {} values; it takes exactly one",
                    items.len()
                ),
            );
            continue;
        }
        for item in &items {
            if let Err(reason) = item_format(kind, item) {
                ctx.report(
                    &r::Q_PARAM_FORMAT,
                    subject,
                    attr,
                    format!("parameter {name} value '{item}' is not valid: {reason}"),
                );
            }
        }
    }
}

fn item_format(kind: Kind, item: &str) -> Result<(), String> {
    match kind {
        K::PatientId | K::PatientIdList => format::cx(item).map(|_| ()),
        K::Time => format::dtm(item),
        K::Status => {
            if [status::APPROVED, status::DEPRECATED, status::SUBMITTED].contains(&item) {
                Ok(())
            } else {
                Err("expected a status URN such as urn:oasis:names:tc:ebxml-regrep:StatusType:Approved".to_owned())
            }
        }
        K::Code => {
            let parts: Vec<&str> = item.split('^').collect();
            match parts.as_slice() {
                [code, "", scheme] if !code.is_empty() && !scheme.is_empty() => Ok(()),
                _ => Err("expected code^^codingScheme".to_owned()),
            }
        }
        K::Uuid => {
            if format::is_uuid_urn(item) {
                Ok(())
            } else {
                Err("expected an entryUUID (urn:uuid:…)".to_owned())
            }
        }
        K::Strings | K::Text => {
            if item.is_empty() {
                Err("it is empty".to_owned())
            } else {
                Ok(())
            }
        }
        K::AssociationTypes => {
            let known = [
                association_type::HAS_MEMBER,
                association_type::REPLACE,
                association_type::APPEND,
                association_type::TRANSFORM,
                association_type::TRANSFORM_AND_REPLACE,
                association_type::SIGNS,
                association_type::IS_SNAPSHOT_OF,
            ];
            if known.contains(&item) {
                Ok(())
            } else {
                Err("expected an association type URN such as urn:ihe:iti:2007:AssociationType:RPLC".to_owned())
            }
        }
        K::EntryTypes => {
            if item == object_type::STABLE_DOCUMENT_ENTRY
                || item == object_type::ON_DEMAND_DOCUMENT_ENTRY
            {
                Ok(())
            } else {
                Err("expected the stable or on-demand DocumentEntry objectType UUID".to_owned())
            }
        }
        K::Home => format::home_community_id(item),
    }
}

/// Parses `'a'` or `('a', 'b')` (ebRS query syntax; `''` inside quotes is a quote).
fn quoted_list(raw: &str) -> Result<Vec<String>, String> {
    let s = raw.trim();
    let (inner, is_list) = match s.strip_prefix('(') {
        Some(rest) => match rest.strip_suffix(')') {
            Some(inner) => (inner, true),
            None => return Err("a list opened with '(' is not closed with ')'".to_owned()),
        },
        None => (s, false),
    };
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('\'') {
            return Err("expected a value in single quotes, e.g. 'value'".to_owned());
        }
        let mut item = String::new();
        loop {
            match chars.next() {
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    item.push('\'');
                }
                Some('\'') => break,
                Some(c) => item.push(c),
                None => return Err("a quoted value is not closed".to_owned()),
            }
        }
        out.push(item);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') if is_list => {}
            Some(c) => return Err(format!("unexpected '{c}' after a quoted value")),
        }
    }
    Ok(out)
}

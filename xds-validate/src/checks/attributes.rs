//! Per-object checks of DocumentEntries, SubmissionSets and Folders: presence and multiplicity
//! of each attribute per transaction (ITI TF-3 Table 4.3.1-3), value formats, coded values,
//! authors, slots, classifications and external identifiers.
//!
//! Invariant: the attribute tables below are the single statement of "which attribute is
//! where and how often"; the checks are generic over them.

use xds_model::rim::{Classification, Slot};
use xds_model::vocabulary::{
    ASSOCIATION_DOCUMENTATION, classification_node, document_entry as de, folder as fd,
    object_type, status, submission_set as ss,
};

use super::{Ctx, Subject};
use crate::catalogue::{self as r, Rule};
use crate::format;
use crate::index::{Entry, Index};
use crate::report::ObjectKind;
use crate::severity::Transaction;

/// Where an attribute lives in ebRIM.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source {
    Slot(&'static str),
    /// An external classification (a coded value) with this scheme.
    Code(&'static str),
    ExtId(&'static str),
    /// `rim:Name`.
    Title,
    /// `@mimeType` of the ExtrinsicObject.
    MimeType,
}

/// In which transactions an attribute is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Every submission and every query response.
    Always,
    /// Only once a repository has registered the document: ITI-42, ITI-57, query responses.
    Registered,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Format {
    Dtm,
    Oid,
    DocumentUniqueId,
    Hash,
    Size,
    Cx,
    Xcn,
    Language,
    Mime,
    SourcePatientInfo,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr {
    /// The XDS attribute name, e.g. `classCode`.
    pub name: &'static str,
    pub source: Source,
    pub required: Option<(Rule, Need)>,
    /// The rule broken by more than one occurrence; `None` for multi-valued attributes.
    pub single: Option<Rule>,
    pub format: Option<Format>,
}

const fn attr(
    name: &'static str,
    source: Source,
    required: Option<(Rule, Need)>,
    single: Option<Rule>,
    format: Option<Format>,
) -> Attr {
    Attr {
        name,
        source,
        required,
        single,
        format,
    }
}

use Format as F;
use Need::{Always, Registered};
use Source::{Code, ExtId, MimeType, Slot as S, Title};

/// DocumentEntry attributes (ITI TF-3 4.2.3.2; author is checked separately).
/// Columns: name, where it lives, required (rule, when), single-valued rule, format.
#[rustfmt::skip]
pub(crate) const DOCUMENT_ENTRY: &[Attr] = &[
    attr("classCode", Code(de::CLASS_CODE), Some((r::DE_CLASSCODE_REQUIRED, Always)), Some(r::DE_CLASSCODE_SINGLE), None),
    attr("confidentialityCode", Code(de::CONFIDENTIALITY_CODE), Some((r::DE_CONFIDENTIALITYCODE_REQUIRED, Always)), None, None),
    attr("creationTime", S("creationTime"), Some((r::DE_CREATIONTIME_REQUIRED, Always)), Some(r::DE_CREATIONTIME_SINGLE), Some(F::Dtm)),
    attr("eventCodeList", Code(de::EVENT_CODE), None, None, None),
    attr("formatCode", Code(de::FORMAT_CODE), Some((r::DE_FORMATCODE_REQUIRED, Always)), Some(r::DE_FORMATCODE_SINGLE), None),
    attr("hash", S("hash"), Some((r::DE_HASH_REQUIRED, Registered)), Some(r::DE_HASH_SINGLE), Some(F::Hash)),
    attr("healthcareFacilityTypeCode", Code(de::HEALTHCARE_FACILITY_TYPE_CODE), Some((r::DE_HEALTHCAREFACILITYTYPECODE_REQUIRED, Always)), Some(r::DE_HEALTHCAREFACILITYTYPECODE_SINGLE), None),
    attr("languageCode", S("languageCode"), Some((r::DE_LANGUAGECODE_REQUIRED, Always)), Some(r::DE_LANGUAGECODE_SINGLE), Some(F::Language)),
    attr("legalAuthenticator", S("legalAuthenticator"), None, Some(r::DE_LEGALAUTHENTICATOR_SINGLE), Some(F::Xcn)),
    attr("mimeType", MimeType, Some((r::DE_MIMETYPE_REQUIRED, Always)), None, Some(F::Mime)),
    attr("patientId", ExtId(de::PATIENT_ID), Some((r::DE_PATIENTID_REQUIRED, Always)), Some(r::DE_PATIENTID_SINGLE), Some(F::Cx)),
    attr("practiceSettingCode", Code(de::PRACTICE_SETTING_CODE), Some((r::DE_PRACTICESETTINGCODE_REQUIRED, Always)), Some(r::DE_PRACTICESETTINGCODE_SINGLE), None),
    attr("repositoryUniqueId", S("repositoryUniqueId"), Some((r::DE_REPOSITORYUNIQUEID_REQUIRED, Registered)), Some(r::DE_REPOSITORYUNIQUEID_SINGLE), Some(F::Oid)),
    attr("serviceStartTime", S("serviceStartTime"), None, Some(r::DE_SERVICESTARTTIME_SINGLE), Some(F::Dtm)),
    attr("serviceStopTime", S("serviceStopTime"), None, Some(r::DE_SERVICESTOPTIME_SINGLE), Some(F::Dtm)),
    attr("size", S("size"), Some((r::DE_SIZE_REQUIRED, Registered)), Some(r::DE_SIZE_SINGLE), Some(F::Size)),
    attr("sourcePatientId", S("sourcePatientId"), Some((r::DE_SOURCEPATIENTID_REQUIRED, Always)), Some(r::DE_SOURCEPATIENTID_SINGLE), Some(F::Cx)),
    attr("sourcePatientInfo", S("sourcePatientInfo"), None, None, Some(F::SourcePatientInfo)),
    attr("title", Title, None, None, None),
    attr("typeCode", Code(de::TYPE_CODE), Some((r::DE_TYPECODE_REQUIRED, Always)), Some(r::DE_TYPECODE_SINGLE), None),
    attr("uniqueId", ExtId(de::UNIQUE_ID), Some((r::DE_UNIQUEID_REQUIRED, Always)), Some(r::DE_UNIQUEID_SINGLE), Some(F::DocumentUniqueId)),
    attr("URI", S("URI"), None, None, None),
    attr("referenceIdList", S("urn:ihe:iti:xds:2013:referenceIdList"), None, None, None),
];

/// SubmissionSet attributes (ITI TF-3 4.2.3.3; author is checked separately).
#[rustfmt::skip]
pub(crate) const SUBMISSION_SET: &[Attr] = &[
    attr("contentTypeCode", Code(ss::CONTENT_TYPE_CODE), Some((r::SS_CONTENTTYPECODE_REQUIRED, Always)), Some(r::SS_CONTENTTYPECODE_SINGLE), None),
    attr("intendedRecipient", S("intendedRecipient"), None, None, None),
    attr("patientId", ExtId(ss::PATIENT_ID), Some((r::SS_PATIENTID_REQUIRED, Always)), Some(r::SS_PATIENTID_SINGLE), Some(F::Cx)),
    attr("sourceId", ExtId(ss::SOURCE_ID), Some((r::SS_SOURCEID_REQUIRED, Always)), Some(r::SS_SOURCEID_SINGLE), Some(F::Oid)),
    attr("submissionTime", S("submissionTime"), Some((r::SS_SUBMISSIONTIME_REQUIRED, Always)), Some(r::SS_SUBMISSIONTIME_SINGLE), Some(F::Dtm)),
    attr("title", Title, None, None, None),
    attr("uniqueId", ExtId(ss::UNIQUE_ID), Some((r::SS_UNIQUEID_REQUIRED, Always)), Some(r::SS_UNIQUEID_SINGLE), Some(F::Oid)),
];

/// Folder attributes (ITI TF-3 4.2.3.4).
#[rustfmt::skip]
pub(crate) const FOLDER: &[Attr] = &[
    attr("codeList", Code(fd::CODE_LIST), Some((r::FD_CODELIST_REQUIRED, Always)), None, None),
    attr("lastUpdateTime", S("lastUpdateTime"), None, Some(r::FD_LASTUPDATETIME_SINGLE), Some(F::Dtm)),
    attr("patientId", ExtId(fd::PATIENT_ID), Some((r::FD_PATIENTID_REQUIRED, Always)), Some(r::FD_PATIENTID_SINGLE), Some(F::Cx)),
    attr("title", Title, Some((r::FD_TITLE_REQUIRED, Always)), None, None),
    attr("uniqueId", ExtId(fd::UNIQUE_ID), Some((r::FD_UNIQUEID_REQUIRED, Always)), Some(r::FD_UNIQUEID_SINGLE), Some(F::Oid)),
];

fn table(kind: ObjectKind) -> &'static [Attr] {
    match kind {
        ObjectKind::DocumentEntry => DOCUMENT_ENTRY,
        ObjectKind::SubmissionSet => SUBMISSION_SET,
        ObjectKind::Folder => FOLDER,
        _ => &[],
    }
}

fn author_scheme(kind: ObjectKind) -> Option<&'static str> {
    match kind {
        ObjectKind::DocumentEntry => Some(de::AUTHOR),
        ObjectKind::SubmissionSet => Some(ss::AUTHOR),
        _ => None,
    }
}

/// Classification schemes an object kind may carry.
fn own_schemes(kind: ObjectKind) -> &'static [&'static str] {
    match kind {
        ObjectKind::DocumentEntry => &[
            de::AUTHOR,
            de::CLASS_CODE,
            de::CONFIDENTIALITY_CODE,
            de::EVENT_CODE,
            de::FORMAT_CODE,
            de::HEALTHCARE_FACILITY_TYPE_CODE,
            de::PRACTICE_SETTING_CODE,
            de::TYPE_CODE,
            de::LIMITED_METADATA,
        ],
        ObjectKind::SubmissionSet => &[ss::AUTHOR, ss::CONTENT_TYPE_CODE, ss::LIMITED_METADATA],
        ObjectKind::Folder => &[fd::CODE_LIST, fd::LIMITED_METADATA],
        _ => &[],
    }
}

/// Every classification scheme XDS defines, with the object kind it belongs to.
fn scheme_owner(scheme: &str) -> Option<&'static str> {
    for kind in [
        ObjectKind::DocumentEntry,
        ObjectKind::SubmissionSet,
        ObjectKind::Folder,
    ] {
        if own_schemes(kind).contains(&scheme) {
            return Some(kind.as_str());
        }
    }
    (scheme == ASSOCIATION_DOCUMENTATION).then_some("Association")
}

fn own_id_schemes(kind: ObjectKind) -> &'static [&'static str] {
    match kind {
        ObjectKind::DocumentEntry => &[de::PATIENT_ID, de::UNIQUE_ID],
        ObjectKind::SubmissionSet => &[ss::PATIENT_ID, ss::SOURCE_ID, ss::UNIQUE_ID],
        ObjectKind::Folder => &[fd::PATIENT_ID, fd::UNIQUE_ID],
        _ => &[],
    }
}

fn id_scheme_owner(scheme: &str) -> Option<&'static str> {
    [
        ObjectKind::DocumentEntry,
        ObjectKind::SubmissionSet,
        ObjectKind::Folder,
    ]
    .into_iter()
    .find(|k| own_id_schemes(*k).contains(&scheme))
    .map(ObjectKind::as_str)
}

/// The XDS name of a coded attribute of `kind` with `scheme`.
pub(crate) fn code_attr_name(kind: ObjectKind, scheme: &str) -> Option<&'static str> {
    table(kind).iter().find_map(|a| match a.source {
        Code(s) if s == scheme => Some(a.name),
        _ => None,
    })
}

/// `'code' in scheme` (or a note that something is missing), for messages.
pub(crate) fn code_text(c: &Classification) -> String {
    let code = c.node_representation.as_deref().unwrap_or_default();
    match coding_scheme(c) {
        Some(scheme) => format!("'{code}' in {scheme}"),
        None => format!("'{code}' (no codingScheme)"),
    }
}

/// The first value of the `codingScheme` slot.
pub(crate) fn coding_scheme(c: &Classification) -> Option<&str> {
    c.object
        .slot("codingScheme")
        .and_then(|s| s.values.first())
        .map(String::as_str)
}

fn slot_values<'a>(slots: &'a [Slot], name: &str) -> Option<&'a [String]> {
    slots
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.values.as_slice())
}

/// The values an attribute has on an entry (codes rendered as text), in document order.
fn values(entry: &Entry<'_>, source: Source) -> Vec<String> {
    match source {
        S(name) => slot_values(&entry.object.slots, name)
            .unwrap_or_default()
            .to_vec(),
        Code(scheme) => entry
            .classifications_by_scheme(scheme)
            .map(code_text)
            .collect(),
        ExtId(scheme) => entry
            .external_identifiers_by_scheme(scheme)
            .map(|e| e.value.clone())
            .collect(),
        Title => entry
            .object
            .name
            .as_ref()
            .and_then(|n| n.first())
            .map(str::to_owned)
            .into_iter()
            .collect(),
        MimeType => entry.mime_type.map(str::to_owned).into_iter().collect(),
    }
}

fn needed(need: Need, tx: Transaction) -> bool {
    match need {
        Always => true,
        Registered => matches!(
            tx,
            Transaction::Iti42 | Transaction::Iti57 | Transaction::Iti18
        ),
    }
}

pub(crate) fn check(ctx: &mut Ctx<'_>, index: &Index<'_>) {
    for entry in index.entries() {
        check_entry(ctx, entry);
    }
    check_loose(ctx, index);
}

fn check_entry(ctx: &mut Ctx<'_>, entry: &Entry<'_>) {
    let subject = Subject::of(entry);
    common(ctx, entry, subject);
    for a in table(entry.kind) {
        let vals = values(entry, a.source);
        let present: Vec<&String> = vals.iter().filter(|v| !v.trim().is_empty()).collect();
        if let Some((rule, need)) = a.required
            && needed(need, ctx.tx)
            && present.is_empty()
        {
            let detail = if vals.is_empty() {
                "is missing"
            } else {
                "is present but empty"
            };
            ctx.report(
                &rule,
                subject,
                Some(a.name),
                format!(
                    "{} {detail}; a {} in {} must have it (ITI TF-3 Table 4.3.1-3)",
                    a.name, entry.kind, ctx.tx
                ),
            );
        }
        if let Some(rule) = a.single
            && vals.len() > 1
        {
            let shown: Vec<String> = vals
                .iter()
                .map(|v| match a.source {
                    Code(_) => v.clone(),
                    _ => format!("'{v}'"),
                })
                .collect();
            ctx.report(
                &rule,
                subject,
                Some(a.name),
                format!(
                    "{} occurs {} times ({}); at most one is allowed",
                    a.name,
                    vals.len(),
                    shown.join(", ")
                ),
            );
        }
        if let Some(f) = a.format {
            for v in &present {
                check_format(ctx, subject, a.name, f, v);
            }
        }
    }
    if entry.kind == ObjectKind::DocumentEntry {
        service_time_order(ctx, entry, subject);
        object_type_value(ctx, entry, subject);
    }
    classifications(ctx, entry, subject);
    external_identifiers(ctx, entry, subject);
    slots(ctx, entry, subject);
}

fn check_format(ctx: &mut Ctx<'_>, subject: Subject<'_>, name: &'static str, f: Format, v: &str) {
    let (rule, result) = match f {
        F::Dtm => (r::FMT_DTM, format::dtm(v)),
        F::Oid => (r::FMT_OID, format::oid(v)),
        F::DocumentUniqueId => (r::FMT_DOCUMENT_UNIQUEID, format::document_unique_id(v)),
        F::Hash => (r::FMT_HASH, format::hash(v)),
        F::Size => (r::FMT_SIZE, format::size(v)),
        F::Cx => (r::FMT_CX, format::cx(v).map(|_| ())),
        F::Xcn => (r::FMT_XCN, format::xcn(v)),
        F::Language => (r::FMT_LANGUAGECODE, format::language_code(v)),
        F::Mime => (r::FMT_MIMETYPE, format::mime_type(v)),
        F::SourcePatientInfo => (r::FMT_SOURCEPATIENTINFO, format::pid_field(v)),
    };
    if let Err(reason) = result {
        ctx.report(
            &rule,
            subject,
            Some(name),
            format!("{name} '{v}' is not valid: {reason}"),
        );
    }
}

/// Checks every object kind shares: id format, lid, status, homeCommunityId.
fn common(ctx: &mut Ctx<'_>, entry: &Entry<'_>, subject: Subject<'_>) {
    let o = entry.object;
    id_format(ctx, subject, "entryUUID", &o.id);
    if let Some(lid) = &o.lid {
        if !format::is_uuid_urn(lid) {
            ctx.report(
                &r::UPD_LID_UUID,
                subject,
                Some("logicalId"),
                format!("lid '{lid}' is not an entryUUID; a logicalId is always urn:uuid: followed by a UUID, never a symbolic id"),
            );
        }
        if ctx.tx != Transaction::Iti57 && lid != &o.id {
            ctx.report(
                &r::SUB_LID_EQUALS_ID,
                subject,
                Some("logicalId"),
                format!(
                    "lid '{lid}' differs from id '{}'; a new version of an existing object can only be submitted with ITI-57 Update Document Set",
                    o.id
                ),
            );
        }
    }
    match o.status.as_deref() {
        Some(s) if ![status::APPROVED, status::DEPRECATED, status::SUBMITTED].contains(&s) => {
            ctx.report(
                &r::SUB_STATUS_KNOWN,
                subject,
                Some("availabilityStatus"),
                format!("availabilityStatus '{s}' is not one of urn:oasis:names:tc:ebxml-regrep:StatusType:Approved, Deprecated or Submitted"),
            );
        }
        None if ctx.tx == Transaction::Iti18 => {
            ctx.report(
                &r::RSP_STATUS_REQUIRED,
                subject,
                Some("availabilityStatus"),
                "availabilityStatus is missing; objects in a query response carry their status",
            );
        }
        _ => {}
    }
    if let Some(home) = &o.home
        && let Err(reason) = format::home_community_id(home)
    {
        ctx.report(
            &r::FMT_HOMECOMMUNITYID,
            subject,
            Some("homeCommunityId"),
            format!("homeCommunityId '{home}' is not valid: {reason}"),
        );
    }
}

/// FMT-ID for any id, plus RSP-ID-UUID in query responses.
pub(crate) fn id_format(ctx: &mut Ctx<'_>, subject: Subject<'_>, what: &'static str, id: &str) {
    if let Err(reason) = format::object_id(id) {
        ctx.report(
            &r::FMT_ID,
            subject,
            Some(what),
            format!("{what} '{id}' is not valid: {reason}"),
        );
    } else if ctx.tx == Transaction::Iti18 && !format::is_uuid_urn(id) {
        ctx.report(
            &r::RSP_ID_UUID,
            subject,
            Some(what),
            format!("{what} '{id}' is symbolic; a query response names objects by entryUUID (urn:uuid:…)"),
        );
    }
}

fn service_time_order(ctx: &mut Ctx<'_>, entry: &Entry<'_>, subject: Subject<'_>) {
    let first = |name| {
        slot_values(&entry.object.slots, name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|v| format::dtm(v).is_ok())
    };
    if let (Some(start), Some(stop)) = (first("serviceStartTime"), first("serviceStopTime")) {
        let n = start.len().min(stop.len());
        if start.get(..n) > stop.get(..n) {
            ctx.report(
                &r::DE_SERVICETIME_ORDER,
                subject,
                Some("serviceStartTime"),
                format!("serviceStartTime {start} is after serviceStopTime {stop}; the service period must not end before it starts"),
            );
        }
    }
}

fn object_type_value(ctx: &mut Ctx<'_>, entry: &Entry<'_>, subject: Subject<'_>) {
    let on_demand_ok = matches!(ctx.tx, Transaction::Iti57 | Transaction::Iti18);
    let ot = entry.object.object_type.as_deref();
    let ok = ot == Some(object_type::STABLE_DOCUMENT_ENTRY)
        || (on_demand_ok && ot == Some(object_type::ON_DEMAND_DOCUMENT_ENTRY));
    if !ok {
        let expected = if on_demand_ok {
            format!(
                "{} (stable) or {} (on-demand)",
                object_type::STABLE_DOCUMENT_ENTRY,
                object_type::ON_DEMAND_DOCUMENT_ENTRY
            )
        } else {
            format!(
                "{} (stable DocumentEntry)",
                object_type::STABLE_DOCUMENT_ENTRY
            )
        };
        let found = match ot {
            Some(t) => format!("objectType is '{t}'"),
            None => "objectType is missing".to_owned(),
        };
        ctx.report(
            &r::DE_OBJECTTYPE_VALUE,
            subject,
            Some("objectType"),
            format!("{found}; in {} expected {expected}", ctx.tx),
        );
    }
}

fn classifications(ctx: &mut Ctx<'_>, entry: &Entry<'_>, subject: Subject<'_>) {
    let author = author_scheme(entry.kind);
    for c in &entry.classifications {
        if c.classified_object != entry.object.id {
            ctx.report(
                &r::CL_CLASSIFIED_OBJECT,
                subject,
                Some("classifiedObject"),
                format!(
                    "a Classification ({}) nested in {} '{}' has classifiedObject '{}'; it must name the object it is nested in",
                    c.classification_scheme
                        .as_deref()
                        .or(c.classification_node.as_deref())
                        .unwrap_or("no scheme"),
                    entry.kind,
                    entry.object.id,
                    c.classified_object
                ),
            );
        }
        match (c.classification_scheme.as_deref(), c.classification_node.as_deref()) {
            (None, None) => ctx.report(
                &r::CL_SCHEME_OR_NODE,
                subject,
                Some("classification"),
                format!(
                    "Classification '{}' has neither classificationScheme nor classificationNode",
                    c.object.id
                ),
            ),
            (Some(scheme), _) if Some(scheme) == author => author_checks(ctx, c, subject),
            (Some(scheme), _) if own_schemes(entry.kind).contains(&scheme) => {
                if let Some(name) = code_attr_name(entry.kind, scheme) {
                    code_checks(ctx, c, subject, name);
                }
            }
            (Some(scheme), _) => match scheme_owner(scheme) {
                Some(owner) => ctx.report(
                    &r::CL_SCHEME_MISPLACED,
                    subject,
                    Some("classification"),
                    format!(
                        "classification scheme {scheme} belongs to {owner}, not to a {}; the attribute would be lost",
                        entry.kind
                    ),
                ),
                None => ctx.report(
                    &r::CL_SCHEME_UNKNOWN,
                    subject,
                    Some("classification"),
                    format!("classification scheme {scheme} is not an XDS scheme; it is kept but not interpreted"),
                ),
            },
            (None, Some(node)) => {
                let fine = matches!(
                    entry.kind,
                    ObjectKind::SubmissionSet | ObjectKind::Folder | ObjectKind::RegistryPackage
                ) && (node == classification_node::SUBMISSION_SET
                    || node == classification_node::FOLDER);
                let limited = [de::LIMITED_METADATA, ss::LIMITED_METADATA, fd::LIMITED_METADATA]
                    .contains(&node);
                if limited {
                    ctx.report(
                        &r::CL_SCHEME_MISPLACED,
                        subject,
                        Some("limitedMetadata"),
                        "the object is marked limitedMetadata, which only XDR and XDM allow; an XDS registry needs complete metadata",
                    );
                } else if !fine {
                    ctx.report(
                        &r::CL_SCHEME_MISPLACED,
                        subject,
                        Some("classification"),
                        format!(
                            "classification node {node} does not apply to a {}; only RegistryPackages are classified by the SubmissionSet or Folder node",
                            entry.kind
                        ),
                    );
                }
            }
        }
    }
}

fn code_checks(ctx: &mut Ctx<'_>, c: &Classification, subject: Subject<'_>, name: &'static str) {
    if c.node_representation
        .as_deref()
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        ctx.report(
            &r::CODE_VALUE_REQUIRED,
            subject,
            Some(name),
            format!("{name} has an empty nodeRepresentation; expected the code value"),
        );
    }
    let schemes = c.object.slot("codingScheme").map(|s| s.values.as_slice());
    match schemes {
        Some([one]) if !one.trim().is_empty() => {}
        Some(vals) if vals.len() > 1 => ctx.report(
            &r::CODE_CODINGSCHEME_REQUIRED,
            subject,
            Some(name),
            format!(
                "{name} {} has {} codingScheme values; expected exactly one",
                code_text(c),
                vals.len()
            ),
        ),
        _ => ctx.report(
            &r::CODE_CODINGSCHEME_REQUIRED,
            subject,
            Some(name),
            format!(
                "{name} '{}' has no codingScheme; expected a codingScheme slot with the code system",
                c.node_representation.as_deref().unwrap_or_default()
            ),
        ),
    }
    if c.object
        .name
        .as_ref()
        .and_then(|n| n.first())
        .is_none_or(|n| n.trim().is_empty())
    {
        ctx.report(
            &r::CODE_DISPLAYNAME_REQUIRED,
            subject,
            Some(name),
            format!("{name} {} has no display name (rim:Name)", code_text(c)),
        );
    }
}

const AUTHOR_SLOTS: &[&str] = &[
    "authorPerson",
    "authorInstitution",
    "authorRole",
    "authorSpecialty",
    "authorTelecommunication",
];

fn author_checks(ctx: &mut Ctx<'_>, c: &Classification, subject: Subject<'_>) {
    let vals = |name| slot_values(&c.object.slots, name).unwrap_or_default();
    let has = |name| vals(name).iter().any(|v| !v.trim().is_empty());
    if !has("authorPerson") && !has("authorInstitution") && !has("authorTelecommunication") {
        ctx.report(
            &r::AUTHOR_CONTENT,
            subject,
            Some("author"),
            "an author has none of authorPerson, authorInstitution, authorTelecommunication; expected at least one",
        );
    }
    if vals("authorPerson").len() > 1 {
        ctx.report(
            &r::AUTHOR_PERSON_SINGLE,
            subject,
            Some("authorPerson"),
            format!(
                "an author has {} authorPerson values; one author is one person (use one author per person)",
                vals("authorPerson").len()
            ),
        );
    }
    for v in vals("authorPerson").iter().filter(|v| !v.is_empty()) {
        check_format(ctx, subject, "authorPerson", F::Xcn, v);
    }
    for v in vals("authorInstitution").iter().filter(|v| !v.is_empty()) {
        if let Err(reason) = format::xon(v) {
            ctx.report(
                &r::FMT_XON,
                subject,
                Some("authorInstitution"),
                format!("authorInstitution '{v}' is not valid: {reason}"),
            );
        }
    }
    duplicate_slots(ctx, &c.object.slots, subject, "author");
}

fn external_identifiers(ctx: &mut Ctx<'_>, entry: &Entry<'_>, subject: Subject<'_>) {
    let own = own_id_schemes(entry.kind);
    for e in &entry.external_identifiers {
        if e.registry_object != entry.object.id {
            ctx.report(
                &r::EI_REGISTRY_OBJECT,
                subject,
                Some("externalIdentifier"),
                format!(
                    "ExternalIdentifier '{}' (value '{}') nested in '{}' has registryObject '{}'; it must name the object it identifies",
                    e.object.id, e.value, entry.object.id, e.registry_object
                ),
            );
        }
        if !own.contains(&e.identification_scheme.as_str()) {
            let whose = id_scheme_owner(&e.identification_scheme)
                .map(|o| format!("belongs to {o}"))
                .unwrap_or_else(|| "is not an XDS identification scheme".to_owned());
            ctx.report(
                &r::EI_SCHEME_MISPLACED,
                subject,
                Some("externalIdentifier"),
                format!(
                    "identification scheme {} (value '{}') {whose}; a {} has only patientId and uniqueId{}",
                    e.identification_scheme,
                    e.value,
                    entry.kind,
                    if entry.kind == ObjectKind::SubmissionSet {
                        " and sourceId"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

fn duplicate_slots(ctx: &mut Ctx<'_>, slots: &[Slot], subject: Subject<'_>, owner: &str) {
    let mut seen: Vec<&str> = Vec::new();
    let mut reported: Vec<&str> = Vec::new();
    for s in slots {
        if seen.contains(&s.name.as_str()) {
            if !reported.contains(&s.name.as_str()) {
                reported.push(&s.name);
                ctx.report(
                    &r::SLOT_NAME_DUPLICATED,
                    subject,
                    Some("slot"),
                    format!(
                        "the {owner} has more than one slot named '{}'; put all values in one slot",
                        s.name
                    ),
                );
            }
        } else {
            seen.push(&s.name);
        }
    }
}

fn slots(ctx: &mut Ctx<'_>, entry: &Entry<'_>, subject: Subject<'_>) {
    duplicate_slots(ctx, &entry.object.slots, subject, entry.kind.as_str());
    let known: Vec<&str> = table(entry.kind)
        .iter()
        .filter_map(|a| match a.source {
            S(name) => Some(name),
            _ => None,
        })
        .collect();
    for s in &entry.object.slots {
        if !known.contains(&s.name.as_str())
            && !s.name.starts_with("urn:")
            && !AUTHOR_SLOTS.contains(&s.name.as_str())
        {
            let close = known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(&s.name))
                .map(|k| format!(" (did you mean '{k}'?)"))
                .unwrap_or_default();
            ctx.report(
                &r::SLOT_EXTRA_NAME,
                subject,
                Some("slot"),
                format!(
                    "slot '{}' is not an XDS attribute of a {}{close}; extra metadata slots are named with a urn: that is not urn:ihe:",
                    s.name, entry.kind
                ),
            );
        }
    }
}

/// Stand-alone classifications and external identifiers that attach to nothing in the message.
fn check_loose(ctx: &mut Ctx<'_>, index: &Index<'_>) {
    for c in &index.loose_classifications {
        let target = c.classified_object.as_str();
        if index.by_id.contains_key(target) || format::is_uuid_urn(target) {
            continue;
        }
        ctx.report(
            &r::CL_CLASSIFIED_OBJECT,
            Subject::new(ObjectKind::Classification, &c.object.id),
            Some("classifiedObject"),
            format!(
                "classifiedObject '{target}' is a symbolic id that names no object of this submission"
            ),
        );
    }
    for e in &index.loose_external_identifiers {
        let target = e.registry_object.as_str();
        if index.has_entry(target) {
            continue;
        }
        ctx.report(
            &r::EI_REGISTRY_OBJECT,
            Subject::new(ObjectKind::ExternalIdentifier, &e.object.id),
            Some("registryObject"),
            format!(
                "registryObject '{target}' names no DocumentEntry, SubmissionSet or Folder of this submission; the identifier '{}' identifies nothing",
                e.value
            ),
        );
    }
}

//! Danish profile (DK-IHE) rules, from DK-PROFILE.md section 1: CPR patient ids, the MedCom
//! code systems and value sets, SOR author institutions, and the draft's required attributes.
//!
//! Invariant: only values the IHE checks already found well-formed are judged here (a CX that
//! does not parse is FMT-CX, not also DK-PATIENTID-CPR), so one mistake gives one finding.

use xds_model::rim::Classification;
use xds_model::vocabulary::{dk, document_entry as de, folder as fd, submission_set as ss};

use super::attributes::{code_text, coding_scheme};
use super::{Ctx, Subject};
use crate::catalogue as r;
use crate::format;
use crate::index::{Entry, Index};
use crate::report::ObjectKind;

/// typeCodes of MedCom documents seen in DK-IHE sources (DK-PROFILE.md section 1).
pub const KNOWN_TYPE_CODES: &[&str] = &[
    "39289-4", "56446-8", "53576-5", "74468-0", "74465-6", "11502-2",
];

/// formatCodes MedCom has published in code system 1.2.208.184.100.10
/// (medcomdk/dk-medcom-xds-metadata and MedCom document IGs).
pub const KNOWN_FORMAT_CODES: &[&str] = &[
    dk::APD_FORMAT_CODE,
    "urn:ad:dk:medcom:appointmentsummary:full",
    "urn:ad:dk:medcom:cmr-v1.0:full",
    "urn:ad:dk:medcom:cpd-v1.0.1:full",
    "urn:ad:dk:medcom:pdc-v2.0:full",
    "urn:ad:dk:medcom:phmr:full",
    "urn:ad:dk:medcom:phmr-v1.3:full",
    "urn:ad:dk:medcom:qfdd:full",
    "urn:ad:dk:medcom:qrd:full",
    "urn:ad:dk:medcom:qrd-v1.1:full",
    "urn:ad:dk:medcom:qrd-v1.2:full",
    "urn:ad:dk:medcom:qrd-v1.3:full",
    "urn:ad:dk:medcom:labreports:svareksponeringsservice",
    "urn:ad:dk:medcom:hcom-v1.2:full",
    "urn:ad:dk:medcom:msg:hco-v1.1:full",
];

/// IHE's format code for documents that have no format beyond their mimeType (ITI TF-3
/// 4.2.3.2.9), in IHE's format code system. MedCom's system has no entry for plain documents
/// (a text/plain note), so this one is accepted beside it.
const MIME_TYPE_SUFFICIENT: &str = "urn:ihe:iti:xds:2017:mimeTypeSufficient";
const IHE_FORMAT_SYSTEM: &str = "1.3.6.1.4.1.19376.1.2.3";

/// One client library sends this instead of the SOR OID (DK-PROFILE.md section 1).
const WRONG_SOR_OID: &str = "1.2.208.176.1";

pub(crate) fn check(ctx: &mut Ctx<'_>, index: &Index<'_>) {
    for e in &index.document_entries {
        document_entry(ctx, e);
    }
    for e in &index.submission_sets {
        patient_ids(ctx, e, ss::PATIENT_ID);
        author_institutions(ctx, e, ss::AUTHOR);
    }
    for e in &index.folders {
        patient_ids(ctx, e, fd::PATIENT_ID);
    }
}

fn document_entry(ctx: &mut Ctx<'_>, e: &Entry<'_>) {
    let subject = Subject::of(e);
    patient_ids(ctx, e, de::PATIENT_ID);
    for c in e.classifications_by_scheme(de::CLASS_CODE) {
        if !is_code(c, dk::CLASS_CODE_SYSTEM, &["001"]) {
            ctx.report(
                &r::DK_CLASSCODE_VALUE,
                subject,
                Some("classCode"),
                format!(
                    "classCode is {}; the Danish profile allows only '001' (Klinisk rapport) in {}",
                    code_text(c),
                    dk::CLASS_CODE_SYSTEM
                ),
            );
        }
    }
    for c in e.classifications_by_scheme(de::TYPE_CODE) {
        if coding_scheme(c) != Some(dk::LOINC) {
            ctx.report(
                &r::DK_TYPECODE_SYSTEM,
                subject,
                Some("typeCode"),
                format!(
                    "typeCode is {}; the Danish profile uses LOINC ({}) type codes, e.g. '39289-4' for an appointment (APD)",
                    code_text(c),
                    dk::LOINC
                ),
            );
        } else if !is_code(c, dk::LOINC, KNOWN_TYPE_CODES) {
            ctx.report(
                &r::DK_TYPECODE_KNOWN,
                subject,
                Some("typeCode"),
                format!(
                    "typeCode is {}, not one of the LOINC codes MedCom documents use ({})",
                    code_text(c),
                    KNOWN_TYPE_CODES.join(", ")
                ),
            );
        }
    }
    let mut is_apd = false;
    for c in e.classifications_by_scheme(de::FORMAT_CODE) {
        is_apd |= is_code(c, dk::FORMAT_CODE_SYSTEM, &[dk::APD_FORMAT_CODE]);
        if is_code(c, IHE_FORMAT_SYSTEM, &[MIME_TYPE_SUFFICIENT]) {
            continue;
        }
        if coding_scheme(c) != Some(dk::FORMAT_CODE_SYSTEM) {
            ctx.report(
                &r::DK_FORMATCODE_SYSTEM,
                subject,
                Some("formatCode"),
                format!(
                    "formatCode is {}; the Danish profile uses MedCom format codes in {}, e.g. '{}'",
                    code_text(c),
                    dk::FORMAT_CODE_SYSTEM,
                    dk::APD_FORMAT_CODE
                ),
            );
        } else if !is_code(c, dk::FORMAT_CODE_SYSTEM, KNOWN_FORMAT_CODES) {
            ctx.report(
                &r::DK_FORMATCODE_KNOWN,
                subject,
                Some("formatCode"),
                format!(
                    "formatCode is {}, which is not a MedCom format code known to this registry (e.g. '{}')",
                    code_text(c),
                    dk::APD_FORMAT_CODE
                ),
            );
        }
    }
    if is_apd {
        for c in e.classifications_by_scheme(de::TYPE_CODE) {
            if !is_code(c, dk::LOINC, &dk::APD_TYPE_CODES) {
                ctx.report(
                    &r::DK_APD_TYPECODE,
                    subject,
                    Some("typeCode"),
                    format!(
                        "formatCode says APD but typeCode is {}; an APD has typeCode '39289-4' or '56446-8' in {}",
                        code_text(c),
                        dk::LOINC
                    ),
                );
            }
        }
    }
    for c in e.classifications_by_scheme(de::CONFIDENTIALITY_CODE) {
        if !is_code(c, dk::CONFIDENTIALITY_SYSTEM, &["N"]) {
            ctx.report(
                &r::DK_CONFIDENTIALITY_VALUE,
                subject,
                Some("confidentialityCode"),
                format!(
                    "confidentialityCode is {}; the Danish profile allows only 'N' (normal) in {}",
                    code_text(c),
                    dk::CONFIDENTIALITY_SYSTEM
                ),
            );
        }
    }
    if let Some(lang) = first_slot_value(e, "languageCode")
        && !(lang.eq_ignore_ascii_case("da-DK") || lang.eq_ignore_ascii_case("da"))
    {
        ctx.report(
            &r::DK_LANGUAGECODE_VALUE,
            subject,
            Some("languageCode"),
            format!("languageCode is '{lang}'; the Danish profile expects 'da-DK' (or 'da')"),
        );
    }
    if let Some(mime) = e.mime_type
        && !mime.trim().is_empty()
        && !mime.eq_ignore_ascii_case("text/xml")
    {
        ctx.report(
            &r::DK_MIMETYPE_VALUE,
            subject,
            Some("mimeType"),
            format!(
                "mimeType is '{mime}'; MedCom CDA documents in the Danish profile are text/xml"
            ),
        );
    }
    let has_institution = e.classifications_by_scheme(de::AUTHOR).any(|a| {
        a.object
            .slot("authorInstitution")
            .is_some_and(|s| s.values.iter().any(|v| !v.trim().is_empty()))
    });
    if !has_institution {
        ctx.report(
            &r::DK_AUTHOR_REQUIRED,
            subject,
            Some("author"),
            "no author with an authorInstitution; the Danish profile requires the authoring organisation (XON with its SOR code), which consent blocks are matched against",
        );
    }
    author_institutions(ctx, e, de::AUTHOR);
    for (scheme, rule, name) in [
        (
            de::HEALTHCARE_FACILITY_TYPE_CODE,
            r::DK_FACILITYTYPE_SYSTEM,
            "healthcareFacilityTypeCode",
        ),
        (
            de::PRACTICE_SETTING_CODE,
            r::DK_PRACTICESETTING_SYSTEM,
            "practiceSettingCode",
        ),
    ] {
        for c in e.classifications_by_scheme(scheme) {
            if coding_scheme(c) != Some(dk::SNOMED_CT) {
                ctx.report(
                    &rule,
                    subject,
                    Some(name),
                    format!(
                        "{name} is {}; the Danish profile uses SNOMED CT ({}) codes, e.g. '22232009' (hospital) or '408443003' (almen medicin)",
                        code_text(c),
                        dk::SNOMED_CT
                    ),
                );
            }
        }
    }
    let events: Vec<&Classification> = e.classifications_by_scheme(de::EVENT_CODE).collect();
    if events.is_empty() {
        ctx.report(
            &r::DK_EVENTCODE_REQUIRED,
            subject,
            Some("eventCodeList"),
            format!(
                "no eventCode; the Danish profile requires at least one, e.g. an SKS code such as 'ALAL01' in {}",
                dk::SKS
            ),
        );
    }
    for c in events {
        let scheme = coding_scheme(c);
        if scheme != Some(dk::SKS) && scheme != Some(dk::NPU) {
            ctx.report(
                &r::DK_EVENTCODE_SYSTEM,
                subject,
                Some("eventCodeList"),
                format!(
                    "eventCode is {}; the Danish profile uses SKS ({}) or NPU ({}) codes",
                    code_text(c),
                    dk::SKS,
                    dk::NPU
                ),
            );
        }
    }
    if first_slot_value(e, "legalAuthenticator").is_none() {
        ctx.report(
            &r::DK_LEGALAUTHENTICATOR_REQUIRED,
            subject,
            Some("legalAuthenticator"),
            "legalAuthenticator is missing; the Danish metadata draft requires the person who signed the document",
        );
    }
    let has_title = e
        .object
        .name
        .as_ref()
        .and_then(|n| n.first())
        .is_some_and(|t| !t.trim().is_empty());
    if !has_title {
        ctx.report(
            &r::DK_TITLE_REQUIRED,
            subject,
            Some("title"),
            "title is missing; the Danish metadata draft requires one (an APD is titled 'Aftale for <CPR>')",
        );
    }
}

fn is_code(c: &Classification, scheme: &str, codes: &[&str]) -> bool {
    coding_scheme(c) == Some(scheme)
        && c.node_representation
            .as_deref()
            .is_some_and(|v| codes.contains(&v))
}

fn first_slot_value<'a>(e: &Entry<'a>, name: &str) -> Option<&'a str> {
    e.object
        .slot(name)
        .and_then(|s| s.values.first())
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn patient_ids(ctx: &mut Ctx<'_>, e: &Entry<'_>, scheme: &'static str) {
    let subject = Subject::of(e);
    let mut values: Vec<(&'static str, &str)> = e
        .external_identifiers_by_scheme(scheme)
        .map(|x| ("patientId", x.value.as_str()))
        .collect();
    if e.kind == ObjectKind::DocumentEntry
        && let Some(v) = first_slot_value(e, "sourcePatientId")
    {
        values.push(("sourcePatientId", v));
    }
    for (name, value) in values {
        let Ok(cx) = format::cx(value) else {
            continue;
        };
        if cx.authority != dk::CPR_OID {
            ctx.report(
                &r::DK_PATIENTID_AUTHORITY,
                subject,
                Some(name),
                format!(
                    "{name} '{value}' has assigning authority {}; the Danish profile identifies patients by CPR, {}^^^&{}&ISO",
                    cx.authority,
                    "<CPR>",
                    dk::CPR_OID
                ),
            );
        } else if cx.id.len() != 10 || !cx.id.bytes().all(|b| b.is_ascii_digit()) {
            ctx.report(
                &r::DK_PATIENTID_CPR,
                subject,
                Some(name),
                format!(
                    "{name} '{value}' has id '{}'; a CPR number is exactly 10 digits (DDMMYYSSSS, no hyphen)",
                    cx.id
                ),
            );
        }
    }
}

fn author_institutions(ctx: &mut Ctx<'_>, e: &Entry<'_>, scheme: &'static str) {
    let subject = Subject::of(e);
    for a in e.classifications_by_scheme(scheme) {
        let Some(slot) = a.object.slot("authorInstitution") else {
            continue;
        };
        for v in slot.values.iter().filter(|v| !v.trim().is_empty()) {
            let Ok(xon) = format::xon(v) else {
                continue;
            };
            let problem = match (xon.authority, xon.id) {
                (Some(dk::SOR_OID), Some(id)) if id.bytes().all(|b| b.is_ascii_digit()) => None,
                (Some(dk::SOR_OID), Some(id)) => Some(format!("SOR code '{id}' is not numeric")),
                (Some(dk::SOR_OID), None) => Some("it has no SOR code in component 10".to_owned()),
                (Some(WRONG_SOR_OID), _) => Some(format!(
                    "its assigning authority is {WRONG_SOR_OID}, a known client mistake for the SOR OID {}",
                    dk::SOR_OID
                )),
                (Some(other), _) => Some(format!("its assigning authority is {other}, not SOR")),
                (None, _) => Some("it has no assigning authority".to_owned()),
            };
            if let Some(problem) = problem {
                ctx.report(
                    &r::DK_AUTHORINSTITUTION_SOR,
                    subject,
                    Some("authorInstitution"),
                    format!(
                        "authorInstitution '{v}': {problem}; expected Name^^^^^&{}&ISO^^^^<SOR code>",
                        dk::SOR_OID
                    ),
                );
            }
        }
    }
}

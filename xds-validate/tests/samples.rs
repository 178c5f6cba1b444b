//! The sample messages of `samples/` through the validator: every valid request and response
//! yields no `Reject` finding, and every invalid sample yields the error codes, attribute and
//! rule ids its `NAME.expected.toml` names.
//!
//! The SOAP body is cut out of the envelope by text search, because the envelope parser lives
//! in the `soap` crate, which this crate must not depend on; MTOM samples (`*.multipart`) are
//! left to the `soap` crate's tests for the same reason.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use xds_model::message::{Message, parse_message};
use xds_model::rim::{Identifiable, RegistryObjectList};
use xds_model::vocabulary::action;
use xds_validate::{
    Report, Severity, Transaction, ValidationConfig, validate_adhoc_query_request,
    validate_provide_and_register, validate_submission,
};

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

/// The first child element of `soap:Body`, as text.
fn body(envelope: &str) -> Option<&str> {
    let open = envelope
        .find(":Body>")
        .or_else(|| envelope.find("<Body>"))?;
    let start = open + envelope[open..].find('>')? + 1;
    let end = envelope
        .rfind("</soap:Body>")
        .or_else(|| envelope.rfind("</Body>"))?;
    envelope.get(start..end).map(str::trim)
}

fn wsa_action(envelope: &str) -> Option<&str> {
    let at = envelope.find("Action")?;
    let start = at + envelope[at..].find('>')? + 1;
    let end = start + envelope[start..].find('<')?;
    Some(envelope[start..end].trim())
}

/// Validates whatever the message is; `None` for messages without metadata to validate.
fn validate(path: &Path) -> Option<Report> {
    let text = fs::read_to_string(path).unwrap();
    let body = body(&text).unwrap_or_else(|| panic!("{}: no soap:Body", path.display()));
    let message = parse_message(body.as_bytes())
        .unwrap_or_else(|e| panic!("{}: body does not parse: {e}", path.display()));
    let cfg = ValidationConfig::default();
    let act = wsa_action(&text).unwrap_or_default();
    Some(match message {
        Message::ProvideAndRegisterDocumentSetRequest(m) => {
            let ids: Vec<&str> = m.documents.iter().map(|d| d.id.as_str()).collect();
            validate_provide_and_register(
                &m.submit_objects_request.registry_object_list,
                &ids,
                &cfg,
            )
        }
        Message::SubmitObjectsRequest(m) => {
            let tx = if act == action::UPDATE {
                Transaction::Iti57
            } else {
                assert_eq!(act, action::REGISTER, "{}", path.display());
                Transaction::Iti42
            };
            validate_submission(&m.registry_object_list, tx, &cfg)
        }
        Message::AdhocQueryRequest(m) => validate_adhoc_query_request(&m, &cfg),
        Message::AdhocQueryResponse(m) => {
            validate_submission(&m.registry_object_list, Transaction::Iti18, &cfg)
        }
        Message::RemoveObjectsRequest(m) => {
            let list = RegistryObjectList {
                objects: m
                    .object_refs
                    .unwrap_or_default()
                    .into_iter()
                    .map(Identifiable::ObjectRef)
                    .collect(),
            };
            validate_submission(&list, Transaction::Iti62, &cfg)
        }
        Message::RegistryResponse(_)
        | Message::RetrieveDocumentSetRequest(_)
        | Message::RetrieveDocumentSetResponse(_) => return None,
    })
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

#[test]
fn valid_samples_have_no_reject_findings() {
    let mut validated = 0;
    let mut failures = Vec::new();
    for dir in [
        "iti-18", "iti-41", "iti-42", "iti-43", "iti-51", "iti-57", "iti-62",
    ] {
        for path in xml_files(&samples_dir().join(dir)) {
            let Some(report) = validate(&path) else {
                continue;
            };
            validated += 1;
            if report.rejects() {
                failures.push(format!("{}:\n{report}", path.display()));
            }
        }
    }
    assert!(validated >= 20, "only {validated} samples validated");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `NAME.expected.toml` (format: samples/README.md, "Invalid messages").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    description: String,
    error_codes: Vec<String>,
    attribute: Option<String>,
    parse_error: bool,
    severity: Option<String>,
    /// The ids of this crate's rules that fire on the sample.
    rules: Vec<String>,
}

/// Invalid samples whose expected answer comes from another component; each says why. This
/// crate must not reject them (their `rules` list is checked all the same).
const ELSEWHERE: &[(&str, &str)] = &[
    (
        "iti41-hash-mismatch",
        "the repository compares hash and size while it streams the document",
    ),
    (
        "iti41-hasmember-unknown-target",
        "the target is an entryUUID, which only the registry can resolve against its store",
    ),
];

#[test]
fn invalid_samples_produce_their_expected_findings() {
    let dir = samples_dir().join("invalid");
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in xml_files(&dir) {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let expected: Expected =
            toml::from_str(&fs::read_to_string(dir.join(format!("{name}.expected.toml"))).unwrap())
                .unwrap();
        if expected.parse_error {
            // Rejected by the XML parser before validation; the codec's tests cover them.
            continue;
        }
        let report = validate(&path).unwrap_or_default();
        checked += 1;
        let fired = report.rule_ids();
        if expected.rules != fired {
            failures.push(format!(
                "{name}: expected.toml says rules = {:?}, the validator fired {fired:?}",
                expected.rules
            ));
        }
        if let Some((_, why)) = ELSEWHERE.iter().find(|(n, _)| *n == name) {
            if report.rejects() {
                failures.push(format!(
                    "{name}: expected no rejection here ({why}):\n{report}"
                ));
            }
            continue;
        }
        let expected_codes: Vec<&str> = expected.error_codes.iter().map(String::as_str).collect();
        let warning_only = expected.severity.as_deref() == Some("warning");
        let actual_codes = if warning_only {
            if report.rejects() {
                failures.push(format!("{name}: expected only warnings:\n{report}"));
            }
            report.warning_codes()
        } else {
            report.error_codes()
        };
        if actual_codes != expected_codes {
            failures.push(format!(
                "{name} ({}): error codes {actual_codes:?}, expected {expected_codes:?}:\n{report}",
                expected.description
            ));
        }
        if let Some(attr) = &expected.attribute {
            let level = if warning_only {
                Severity::Warning
            } else {
                Severity::Reject
            };
            if !report
                .findings
                .iter()
                .any(|f| f.severity == level && f.attribute == Some(attr.as_str()))
            {
                failures.push(format!(
                    "{name}: no {level} finding on attribute {attr}:\n{report}"
                ));
            }
        }
    }
    assert!(checked >= 20, "only {checked} invalid samples checked");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

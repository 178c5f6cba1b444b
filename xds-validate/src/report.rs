//! Findings and the report that collects them.
//!
//! Invariant: a report never holds a finding of severity `Off` (those rules are not run), and
//! findings are in the order the checks met them: submission-level first, then object by
//! object in document order.

use std::fmt;

use serde::Serialize;

use crate::severity::Severity;

/// The kind of object a finding is about, in IHE's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ObjectKind {
    /// The message as a whole (e.g. "no SubmissionSet").
    Submission,
    DocumentEntry,
    SubmissionSet,
    Folder,
    /// A RegistryPackage that is neither a SubmissionSet nor a Folder.
    RegistryPackage,
    Association,
    Classification,
    ExternalIdentifier,
    ObjectRef,
    /// An ITI-18 stored query request.
    Query,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Submission => "Submission",
            ObjectKind::DocumentEntry => "DocumentEntry",
            ObjectKind::SubmissionSet => "SubmissionSet",
            ObjectKind::Folder => "Folder",
            ObjectKind::RegistryPackage => "RegistryPackage",
            ObjectKind::Association => "Association",
            ObjectKind::Classification => "Classification",
            ObjectKind::ExternalIdentifier => "ExternalIdentifier",
            ObjectKind::ObjectRef => "ObjectRef",
            ObjectKind::Query => "Query",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule broken by one object.
/// Serializes with the fields below (for JSON output of `dds validate` or the admin API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule_id: &'static str,
    /// The effective severity after configuration; never `Off`.
    pub severity: Severity,
    /// The XDS error code (`RegistryError/@errorCode`) the finding becomes.
    pub error_code: &'static str,
    pub object_kind: ObjectKind,
    /// The object's id as sent (entryUUID or symbolic id), or the query id for `Query`.
    pub object_id: Option<String>,
    /// The object's uniqueId, when it has one, so a finding can be traced in the source system.
    pub unique_id: Option<String>,
    /// The XDS attribute name, e.g. `classCode`, or a parameter name for queries.
    pub attribute: Option<&'static str>,
    /// What is wrong and what was expected, in plain words.
    pub message: String,
}

impl Finding {
    /// Where the problem is, e.g. `DocumentEntry Document01 (uniqueId 1.2.3) classCode`.
    pub fn location(&self) -> String {
        let mut out = self.object_kind.as_str().to_owned();
        if let Some(id) = &self.object_id {
            out.push(' ');
            out.push_str(id);
        }
        if let Some(uid) = &self.unique_id {
            out.push_str(" (uniqueId ");
            out.push_str(uid);
            out.push(')');
        }
        if let Some(attr) = self.attribute {
            out.push(' ');
            out.push_str(attr);
        }
        out
    }
}

impl fmt::Display for Finding {
    /// `reject DK-CLASSCODE-VALUE XDSRegistryMetadataError at DocumentEntry … classCode: …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} at {}: {}",
            self.severity,
            self.rule_id,
            self.error_code,
            self.location(),
            self.message
        )
    }
}

/// Everything one validation found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when at least one finding has severity `Reject`: the request must be refused.
    pub fn rejects(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Reject)
    }

    /// The distinct error codes of the `Reject` findings, in order of first occurrence: the
    /// `RegistryError` codes of the refusal.
    pub fn error_codes(&self) -> Vec<&'static str> {
        self.codes_at(Severity::Reject)
    }

    /// The distinct error codes of the `Warning` findings, in order of first occurrence.
    pub fn warning_codes(&self) -> Vec<&'static str> {
        self.codes_at(Severity::Warning)
    }

    /// The distinct rule ids of all findings, in order of first occurrence.
    pub fn rule_ids(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for f in &self.findings {
            if !out.contains(&f.rule_id) {
                out.push(f.rule_id);
            }
        }
        out
    }

    fn codes_at(&self, severity: Severity) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for f in self.findings.iter().filter(|f| f.severity == severity) {
            if !out.contains(&f.error_code) {
                out.push(f.error_code);
            }
        }
        out
    }
}

impl fmt::Display for Report {
    /// One finding per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        Ok(())
    }
}

//! Severities of findings and the transactions a validation runs for.
//!
//! Invariant: `Severity` is ordered `Off < Log < Warning < Reject`, so "at least a warning" is a
//! comparison; only `Reject` makes a [`crate::Report`] reject.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the service does with a finding of a rule (DROS uses the same four levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The rule is not checked; no finding is recorded.
    Off,
    /// Recorded for the operator's log only; the caller never sees it.
    Log,
    /// Returned to the caller as a `RegistryError` of severity Warning; the request proceeds.
    Warning,
    /// The request is refused with the rule's XDS error code.
    Reject,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Log => "log",
            Severity::Warning => "warning",
            Severity::Reject => "reject",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The IHE transaction whose message is validated; requirements differ between them (ITI-41
/// sources need not send hash and size, ITI-42 must).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transaction {
    /// Registry Stored Query: the request's parameters ([`crate::validate_query`]) or the
    /// metadata of a response ([`crate::validate_submission`]).
    Iti18,
    /// Provide and Register Document Set-b, as the Document Source sends it.
    Iti41,
    /// Register Document Set-b, as the repository forwards it (hash, size, repositoryUniqueId).
    Iti42,
    /// Retrieve Document Set: carries no metadata; validation finds nothing.
    Iti43,
    /// Update Document Set (metadata versioning, status updates).
    Iti57,
    /// Delete Document Set: a list of `ObjectRef`s.
    Iti62,
}

impl Transaction {
    pub const ALL: [Transaction; 6] = [
        Transaction::Iti18,
        Transaction::Iti41,
        Transaction::Iti42,
        Transaction::Iti43,
        Transaction::Iti57,
        Transaction::Iti62,
    ];

    /// The key used in configuration files, e.g. `iti-42`.
    pub fn key(self) -> &'static str {
        match self {
            Transaction::Iti18 => "iti-18",
            Transaction::Iti41 => "iti-41",
            Transaction::Iti42 => "iti-42",
            Transaction::Iti43 => "iti-43",
            Transaction::Iti57 => "iti-57",
            Transaction::Iti62 => "iti-62",
        }
    }

    /// Parses a configuration key, case-insensitively (`iti-42`, `ITI-42`).
    pub fn from_key(key: &str) -> Option<Transaction> {
        Transaction::ALL
            .into_iter()
            .find(|t| t.key().eq_ignore_ascii_case(key))
    }

    /// Transactions that submit new metadata (a SubmissionSet with members).
    pub(crate) fn is_submission(self) -> bool {
        matches!(
            self,
            Transaction::Iti41 | Transaction::Iti42 | Transaction::Iti57
        )
    }
}

impl fmt::Display for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key().to_ascii_uppercase())
    }
}

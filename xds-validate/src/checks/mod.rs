//! The checks, grouped by what they look at, and the context that turns a broken rule into a
//! [`Finding`] at its configured severity.
//!
//! Invariant: checks only call [`Ctx::report`]; whether a rule is off, logged, a warning or a
//! rejection is decided there, once, from the configuration.

pub(crate) mod associations;
pub(crate) mod attributes;
pub(crate) mod delete;
pub(crate) mod dk;
pub(crate) mod structure;
pub(crate) mod update;

use crate::catalogue::Rule;
use crate::config::ValidationConfig;
use crate::index::Entry;
use crate::report::{Finding, ObjectKind};
use crate::severity::{Severity, Transaction};

/// What a finding is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub kind: ObjectKind,
    pub id: Option<&'a str>,
    pub unique_id: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub fn of(entry: &Entry<'a>) -> Subject<'a> {
        Subject {
            kind: entry.kind,
            id: Some(entry.id()),
            unique_id: entry.unique_id(),
        }
    }

    pub fn new(kind: ObjectKind, id: &'a str) -> Subject<'a> {
        Subject {
            kind,
            id: Some(id),
            unique_id: None,
        }
    }

    pub fn submission() -> Subject<'static> {
        Subject {
            kind: ObjectKind::Submission,
            id: None,
            unique_id: None,
        }
    }
}

pub(crate) struct Ctx<'c> {
    pub tx: Transaction,
    cfg: &'c ValidationConfig,
    pub findings: Vec<Finding>,
}

impl<'c> Ctx<'c> {
    pub fn new(tx: Transaction, cfg: &'c ValidationConfig) -> Self {
        Ctx {
            tx,
            cfg,
            findings: Vec::new(),
        }
    }

    /// Records that `subject` breaks `rule`, unless the rule is configured off.
    pub fn report(
        &mut self,
        rule: &Rule,
        subject: Subject<'_>,
        attribute: Option<&'static str>,
        message: impl Into<String>,
    ) {
        let severity = self.cfg.severity(rule, self.tx);
        if severity == Severity::Off {
            return;
        }
        self.findings.push(Finding {
            rule_id: rule.id,
            severity,
            error_code: rule.error_code,
            object_kind: subject.kind,
            object_id: subject.id.map(str::to_owned),
            unique_id: subject.unique_id.map(str::to_owned),
            attribute,
            message: message.into(),
        });
    }
}

/// `'a', 'b' and 'c'` for messages.
pub(crate) fn quoted_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

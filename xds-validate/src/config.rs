//! Severity configuration: per rule and per transaction, read from the `[validation]` section
//! of `dds.toml`.
//!
//! ```toml
//! [validation.rules]
//! "DK-CLASSCODE-VALUE" = "warning"
//!
//! [validation.transactions.iti-42]
//! "DE-HASH-REQUIRED" = "off"
//! ```
//!
//! Precedence: a transaction override, else a rule override, else the rule's default.
//!
//! Invariant: a `ValidationConfig` only names rules of the catalogue and known transactions;
//! deserializing one that does not fails with a [`ConfigError`], so a typo stops startup
//! instead of silently leaving a rule at its default.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::catalogue::{self, Rule};
use crate::severity::{Severity, Transaction};

/// Why a validation configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(
        "unknown validation rule id `{rule_id}` in {section}; valid ids are those of `xds_validate::CATALOGUE`"
    )]
    UnknownRule { rule_id: String, section: String },
    #[error(
        "unknown transaction `{key}` in [validation.transactions]; expected one of iti-18, iti-41, iti-42, iti-43, iti-57, iti-62"
    )]
    UnknownTransaction { key: String },
}

/// The configuration as written in the file, before rule ids are checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfigToml {
    #[serde(default)]
    pub rules: BTreeMap<String, Severity>,
    #[serde(default)]
    pub transactions: BTreeMap<String, BTreeMap<String, Severity>>,
}

/// Checked severity overrides. `Default` is "every rule at its default severity".
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ValidationConfigToml")]
pub struct ValidationConfig {
    rules: BTreeMap<&'static str, Severity>,
    transactions: BTreeMap<(Transaction, &'static str), Severity>,
}

impl ValidationConfig {
    /// Overrides one rule for every transaction.
    pub fn set_rule(&mut self, rule_id: &str, severity: Severity) -> Result<(), ConfigError> {
        let rule = known_rule(rule_id, "[validation.rules]")?;
        self.rules.insert(rule.id, severity);
        Ok(())
    }

    /// Overrides one rule for one transaction; wins over [`Self::set_rule`].
    pub fn set_transaction_rule(
        &mut self,
        tx: Transaction,
        rule_id: &str,
        severity: Severity,
    ) -> Result<(), ConfigError> {
        let section = format!("[validation.transactions.{}]", tx.key());
        let rule = known_rule(rule_id, &section)?;
        self.transactions.insert((tx, rule.id), severity);
        Ok(())
    }

    /// The severity of `rule` in `tx`: transaction override > rule override > default.
    pub fn severity(&self, rule: &Rule, tx: Transaction) -> Severity {
        self.transactions
            .get(&(tx, rule.id))
            .or_else(|| self.rules.get(rule.id))
            .copied()
            .unwrap_or(rule.default_severity)
    }
}

fn known_rule(rule_id: &str, section: &str) -> Result<&'static Rule, ConfigError> {
    catalogue::rule(rule_id).ok_or_else(|| ConfigError::UnknownRule {
        rule_id: rule_id.to_owned(),
        section: section.to_owned(),
    })
}

impl TryFrom<ValidationConfigToml> for ValidationConfig {
    type Error = ConfigError;

    fn try_from(raw: ValidationConfigToml) -> Result<Self, ConfigError> {
        let mut cfg = ValidationConfig::default();
        for (rule_id, severity) in &raw.rules {
            cfg.set_rule(rule_id, *severity)?;
        }
        for (key, rules) in &raw.transactions {
            let tx = Transaction::from_key(key)
                .ok_or_else(|| ConfigError::UnknownTransaction { key: key.clone() })?;
            for (rule_id, severity) in rules {
                cfg.set_transaction_rule(tx, rule_id, *severity)?;
            }
        }
        Ok(cfg)
    }
}

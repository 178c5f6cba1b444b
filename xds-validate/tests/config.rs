//! The `[validation]` section of dds.toml: per-rule and per-transaction severities, their
//! precedence, and typed errors for unknown rule ids and transactions.

mod support;

use serde::Deserialize;
use support::Sub;
use xds_validate::rules::{DE_HASH_REQUIRED, DK_CLASSCODE_VALUE};
use xds_validate::{Severity, Transaction, ValidationConfig, validate_submission};

#[derive(Debug, Deserialize)]
struct DdsToml {
    #[serde(default)]
    validation: ValidationConfig,
}

fn load(text: &str) -> Result<ValidationConfig, toml::de::Error> {
    toml::from_str::<DdsToml>(text).map(|d| d.validation)
}

#[test]
fn precedence_is_transaction_then_rule_then_default() {
    let cfg = load(
        r#"
        [validation.rules]
        "DK-CLASSCODE-VALUE" = "warning"
        "DE-HASH-REQUIRED" = "log"

        [validation.transactions.iti-42]
        "DE-HASH-REQUIRED" = "off"
        "#,
    )
    .unwrap();
    assert_eq!(
        cfg.severity(&DK_CLASSCODE_VALUE, Transaction::Iti42),
        Severity::Warning
    );
    assert_eq!(
        cfg.severity(&DE_HASH_REQUIRED, Transaction::Iti42),
        Severity::Off
    );
    assert_eq!(
        cfg.severity(&DE_HASH_REQUIRED, Transaction::Iti57),
        Severity::Log
    );
    let default = ValidationConfig::default();
    assert_eq!(
        default.severity(&DE_HASH_REQUIRED, Transaction::Iti42),
        Severity::Reject
    );
}

#[test]
fn an_absent_section_means_defaults() {
    assert_eq!(load("").unwrap(), ValidationConfig::default());
}

#[test]
fn unknown_rule_id_fails_at_load_and_names_it() {
    let err = load(
        r#"
        [validation.rules]
        "DK-CLASCODE-VALUE" = "warning"
        "#,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unknown validation rule id `DK-CLASCODE-VALUE` in [validation.rules]"),
        "{text}"
    );

    let err = load(
        r#"
        [validation.transactions.iti-42]
        "NOPE" = "off"
        "#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("`NOPE` in [validation.transactions.iti-42]"),
        "{err}"
    );
}

#[test]
fn unknown_transaction_and_severity_fail_at_load() {
    let err =
        load("[validation.transactions.iti-99]\n\"DE-HASH-REQUIRED\" = \"off\"\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown transaction `iti-99`"),
        "{err}"
    );
    let err = load("[validation.rules]\n\"DE-HASH-REQUIRED\" = \"fatal\"\n").unwrap_err();
    assert!(err.to_string().contains("fatal"), "{err}");
}

#[test]
fn typed_error_from_the_programmatic_api() {
    let mut cfg = ValidationConfig::default();
    let err = cfg.set_rule("NO-SUCH-RULE", Severity::Off).unwrap_err();
    assert_eq!(
        err,
        xds_validate::ConfigError::UnknownRule {
            rule_id: "NO-SUCH-RULE".into(),
            section: "[validation.rules]".into()
        }
    );
}

#[test]
fn configured_severity_reaches_the_findings() {
    let mut s = Sub::new();
    s.remove_de_slot("hash");
    s.de_code(xds_model::vocabulary::document_entry::CLASS_CODE)
        .node_representation = Some("XYZ".into());
    let list = s.list();

    let cfg = load(
        r#"
        [validation.rules]
        "DK-CLASSCODE-VALUE" = "warning"
        [validation.transactions.iti-42]
        "DE-HASH-REQUIRED" = "off"
        "#,
    )
    .unwrap();
    let report = validate_submission(&list, Transaction::Iti42, &cfg);
    assert!(!report.rejects(), "{report}");
    assert_eq!(report.rule_ids(), ["DK-CLASSCODE-VALUE"]);
    assert_eq!(report.findings[0].severity, Severity::Warning);

    let strict = validate_submission(&list, Transaction::Iti42, &ValidationConfig::default());
    assert!(strict.rejects());
    assert_eq!(
        strict.rule_ids(),
        ["DE-HASH-REQUIRED", "DK-CLASSCODE-VALUE"]
    );
}

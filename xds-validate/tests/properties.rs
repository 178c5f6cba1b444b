//! Properties that hold for every input: the validator and the format checkers are total (no
//! panic on any string), and a finding's location always names its object kind.

mod support;

use proptest::prelude::*;
use support::Sub;
use xds_model::vocabulary::document_entry as de;
use xds_validate::{Transaction, ValidationConfig, format, validate_submission};

proptest! {
    #[test]
    fn format_checkers_are_total(s in ".{0,80}") {
        let _ = format::dtm(&s);
        let _ = format::oid(&s);
        let _ = format::document_unique_id(&s);
        let _ = format::object_id(&s);
        let _ = format::hash(&s);
        let _ = format::size(&s);
        let _ = format::cx(&s);
        let _ = format::xcn(&s);
        let _ = format::xon(&s);
        let _ = format::language_code(&s);
        let _ = format::mime_type(&s);
        let _ = format::home_community_id(&s);
        let _ = format::pid_field(&s);
    }

    #[test]
    fn any_values_give_findings_not_panics(
        id in "[a-zA-Z0-9:.-]{0,40}",
        time in ".{0,20}",
        pid in "[0-9^&.A-Z]{0,40}",
        code in ".{0,12}",
        tx in prop::sample::select(vec![Transaction::Iti18, Transaction::Iti41, Transaction::Iti42, Transaction::Iti57]),
    ) {
        let mut s = Sub::new();
        s.rename_de(&id);
        s.de_slot("creationTime").values = vec![time];
        s.de_ei(de::PATIENT_ID).value = pid;
        s.de_code(de::CLASS_CODE).node_representation = Some(code);
        let report = validate_submission(&s.list(), tx, &ValidationConfig::default());
        for f in &report.findings {
            prop_assert!(!f.message.is_empty());
            prop_assert!(f.location().starts_with(f.object_kind.as_str()));
        }
    }
}

//! One test (positive and negative) per rule of `consent::decide`, and the block JSON form.

use consent::*;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const PATIENT: &str = "0101011234";
const DOCTOR: &str = "0202021234";
const OTHER_DOCTOR: &str = "0303031234";
const AUTHOR_ORG: &str = "111111";
const OTHER_ORG: &str = "222222";
const NOW: OffsetDateTime = datetime!(2026-06-15 12:00 UTC);

fn doc() -> DocumentFacts {
    DocumentFacts {
        patient_cpr: PATIENT.into(),
        author_institution_sors: vec![AUTHOR_ORG.into()],
        service_start: Some(datetime!(2025-03-10 09:00 UTC)),
        creation_time: Some(datetime!(2025-03-12 09:00 UTC)),
    }
}

fn doctor_at(sor: &str) -> Accessor {
    Accessor::HealthProfessional {
        cpr: DOCTOR.into(),
        organisation_sor: Some(sor.into()),
        on_behalf_of: None,
    }
}

fn block(id: &str, kind: BlockKind) -> Block {
    NewBlock::new(kind, None, None)
        .unwrap()
        .with_id(BlockId(id.into()))
}

fn blocks(list: Vec<Block>) -> Directives {
    Directives {
        opt_out: None,
        blocks: list,
    }
}

fn opted_out() -> Directives {
    Directives {
        opt_out: Some(OptOut {
            since: datetime!(2026-01-01 0:00 UTC),
        }),
        blocks: vec![],
    }
}

fn urgent() -> Override {
    Override {
        reason: "unconscious patient in ER".into(),
    }
}

/// The one check helper: decides with default options at `NOW`.
fn check(
    accessor: &Accessor,
    document: &DocumentFacts,
    directives: &Directives,
    override_: Option<&Override>,
) -> Decision {
    decide(
        accessor,
        PATIENT,
        document,
        directives,
        override_,
        NOW,
        &ConsentOptions::default(),
    )
}

fn withheld(reason: WithholdReason) -> Decision {
    Decision::Withhold { reason }
}

fn blocked(ids: &[&str]) -> Decision {
    withheld(WithholdReason::Blocked {
        blocks: ids.iter().map(|i| BlockId((*i).into())).collect(),
    })
}

#[test]
fn nothing_registered_allows() {
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &doc(), &Directives::default(), None),
        Decision::Allow
    );
}

#[test]
fn citizen_sees_own_documents_despite_everything() {
    let mut d = opted_out();
    d.blocks.push(block(
        "p",
        BlockKind::Period {
            from: date!(2000 - 01 - 01),
            to: date!(2030 - 01 - 01),
        },
    ));
    let me = Accessor::Citizen {
        cpr: PATIENT.into(),
    };
    assert_eq!(check(&me, &doc(), &d, None), Decision::Allow);
}

#[test]
fn citizen_never_sees_another_persons_documents() {
    let other = Accessor::Citizen { cpr: DOCTOR.into() };
    assert_eq!(
        check(&other, &doc(), &Directives::default(), Some(&urgent())),
        withheld(WithholdReason::NotOwnData)
    );
}

#[test]
fn patient_mismatch_fails_closed() {
    let mut document = doc();
    document.patient_cpr = OTHER_DOCTOR.into();
    let me = Accessor::Citizen {
        cpr: PATIENT.into(),
    };
    assert_eq!(
        check(&me, &document, &Directives::default(), None),
        withheld(WithholdReason::PatientMismatch)
    );
}

#[test]
fn opt_out_hides_from_other_organisations_only() {
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &doc(), &opted_out(), None),
        withheld(WithholdReason::OptOut)
    );
    assert_eq!(
        check(&doctor_at(AUTHOR_ORG), &doc(), &opted_out(), None),
        Decision::Allow
    );
    // Any one of several authoring organisations is inside.
    let mut document = doc();
    document.author_institution_sors.insert(0, OTHER_ORG.into());
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &document, &opted_out(), None),
        Decision::Allow
    );
}

#[test]
fn opt_out_hides_from_accessor_without_sor() {
    let cvr_only = Accessor::HealthProfessional {
        cpr: DOCTOR.into(),
        organisation_sor: None,
        on_behalf_of: None,
    };
    assert_eq!(
        check(&cvr_only, &doc(), &opted_out(), None),
        withheld(WithholdReason::OptOut)
    );
}

#[test]
fn override_does_not_lift_opt_out_by_default() {
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &doc(), &opted_out(), Some(&urgent())),
        withheld(WithholdReason::OptOut)
    );
}

#[test]
fn override_lifts_opt_out_when_configured() {
    let options = ConsentOptions {
        override_lifts_opt_out: true,
    };
    let d = decide(
        &doctor_at(OTHER_ORG),
        PATIENT,
        &doc(),
        &opted_out(),
        Some(&urgent()),
        NOW,
        &options,
    );
    assert_eq!(
        d,
        Decision::AllowedByOverride {
            lifted: vec![Lifted::OptOut]
        }
    );
    // Without an override the option changes nothing.
    let d = decide(
        &doctor_at(OTHER_ORG),
        PATIENT,
        &doc(),
        &opted_out(),
        None,
        NOW,
        &options,
    );
    assert_eq!(d, withheld(WithholdReason::OptOut));
}

#[test]
fn professional_block_hides_everything_from_that_professional() {
    let d = blocks(vec![block(
        "b",
        BlockKind::Professional {
            professional_cpr: DOCTOR.into(),
        },
    )]);
    // Even inside the authoring organisation.
    assert_eq!(
        check(&doctor_at(AUTHOR_ORG), &doc(), &d, None),
        blocked(&["b"])
    );
    let other = Accessor::HealthProfessional {
        cpr: OTHER_DOCTOR.into(),
        organisation_sor: Some(AUTHOR_ORG.into()),
        on_behalf_of: None,
    };
    assert_eq!(check(&other, &doc(), &d, None), Decision::Allow);
}

#[test]
fn professional_block_applies_to_delegates_of_that_professional() {
    let d = blocks(vec![block(
        "b",
        BlockKind::Professional {
            professional_cpr: DOCTOR.into(),
        },
    )]);
    let secretary = Accessor::HealthProfessional {
        cpr: OTHER_DOCTOR.into(),
        organisation_sor: Some(AUTHOR_ORG.into()),
        on_behalf_of: Some(DOCTOR.into()),
    };
    assert_eq!(check(&secretary, &doc(), &d, None), blocked(&["b"]));
}

#[test]
fn organisation_block_hides_its_documents_from_outsiders() {
    let d = blocks(vec![block(
        "o",
        BlockKind::Organisation {
            sor: AUTHOR_ORG.into(),
        },
    )]);
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &doc(), &d, None),
        blocked(&["o"])
    );
    // Not from the organisation itself.
    assert_eq!(
        check(&doctor_at(AUTHOR_ORG), &doc(), &d, None),
        Decision::Allow
    );
    // Not documents authored elsewhere.
    let mut elsewhere = doc();
    elsewhere.author_institution_sors = vec!["333333".into()];
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &elsewhere, &d, None),
        Decision::Allow
    );
}

#[test]
fn period_block_uses_service_start_inclusive() {
    let period = |from: Date, to: Date| blocks(vec![block("t", BlockKind::Period { from, to })]);
    let me = doctor_at(AUTHOR_ORG);
    // serviceStart is 2025-03-10: both bounds inclusive.
    assert_eq!(
        check(
            &me,
            &doc(),
            &period(date!(2025 - 03 - 10), date!(2025 - 03 - 10)),
            None
        ),
        blocked(&["t"])
    );
    assert_eq!(
        check(
            &me,
            &doc(),
            &period(date!(2025 - 03 - 01), date!(2025 - 03 - 10)),
            None
        ),
        blocked(&["t"])
    );
    // creationTime (03-12) is ignored when serviceStart is present.
    assert_eq!(
        check(
            &me,
            &doc(),
            &period(date!(2025 - 03 - 11), date!(2025 - 03 - 31)),
            None
        ),
        Decision::Allow
    );
    assert_eq!(
        check(
            &me,
            &doc(),
            &period(date!(2025 - 01 - 01), date!(2025 - 03 - 09)),
            None
        ),
        Decision::Allow
    );
}

#[test]
fn period_block_falls_back_to_creation_time() {
    let d = blocks(vec![block(
        "t",
        BlockKind::Period {
            from: date!(2025 - 03 - 11),
            to: date!(2025 - 03 - 12),
        },
    )]);
    let mut document = doc();
    document.service_start = None;
    assert_eq!(
        check(&doctor_at(AUTHOR_ORG), &document, &d, None),
        blocked(&["t"])
    );
    document.creation_time = Some(datetime!(2025-03-13 0:00 UTC));
    assert_eq!(
        check(&doctor_at(AUTHOR_ORG), &document, &d, None),
        Decision::Allow
    );
}

#[test]
fn period_block_compares_utc_dates() {
    let d = blocks(vec![block(
        "t",
        BlockKind::Period {
            from: date!(2025 - 03 - 10),
            to: date!(2025 - 03 - 10),
        },
    )]);
    let mut document = doc();
    // 01:00 Danish time on the 11th is 23:00 UTC on the 10th.
    document.service_start = Some(datetime!(2025-03-11 01:00 +2));
    assert_eq!(
        check(&doctor_at(AUTHOR_ORG), &document, &d, None),
        blocked(&["t"])
    );
}

#[test]
fn period_block_withholds_undated_documents() {
    let d = blocks(vec![block(
        "t",
        BlockKind::Period {
            from: date!(2025 - 03 - 10),
            to: date!(2025 - 03 - 10),
        },
    )]);
    let mut document = doc();
    document.service_start = None;
    document.creation_time = None;
    assert_eq!(
        check(&doctor_at(AUTHOR_ORG), &document, &d, None),
        blocked(&["t"])
    );
}

#[test]
fn blocks_apply_only_within_their_validity() {
    let kind = BlockKind::Organisation {
        sor: AUTHOR_ORG.into(),
    };
    let valid = |from, to| {
        blocks(vec![
            NewBlock::new(kind.clone(), from, to)
                .unwrap()
                .with_id(BlockId("v".into())),
        ])
    };
    let outsider = doctor_at(OTHER_ORG);
    // NOW is 2026-06-15; bounds inclusive.
    assert_eq!(
        check(
            &outsider,
            &doc(),
            &valid(Some(date!(2026 - 06 - 15)), None),
            None
        ),
        blocked(&["v"])
    );
    assert_eq!(
        check(
            &outsider,
            &doc(),
            &valid(None, Some(date!(2026 - 06 - 15))),
            None
        ),
        blocked(&["v"])
    );
    assert_eq!(
        check(
            &outsider,
            &doc(),
            &valid(Some(date!(2026 - 06 - 16)), None),
            None
        ),
        Decision::Allow
    );
    assert_eq!(
        check(
            &outsider,
            &doc(),
            &valid(None, Some(date!(2026 - 06 - 14))),
            None
        ),
        Decision::Allow
    );
}

#[test]
fn override_lifts_blocks_and_lists_them() {
    let d = blocks(vec![
        block(
            "o",
            BlockKind::Organisation {
                sor: AUTHOR_ORG.into(),
            },
        ),
        block("x", BlockKind::Organisation { sor: "999".into() }),
        block(
            "p",
            BlockKind::Professional {
                professional_cpr: DOCTOR.into(),
            },
        ),
    ]);
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &doc(), &d, None),
        blocked(&["o", "p"])
    );
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &doc(), &d, Some(&urgent())),
        Decision::AllowedByOverride {
            lifted: vec![
                Lifted::Block(BlockId("o".into())),
                Lifted::Block(BlockId("p".into()))
            ]
        }
    );
}

#[test]
fn override_when_nothing_hides_is_plain_allow() {
    assert_eq!(
        check(
            &doctor_at(OTHER_ORG),
            &doc(),
            &Directives::default(),
            Some(&urgent())
        ),
        Decision::Allow
    );
}

#[test]
fn blank_override_reason_is_no_override() {
    let d = blocks(vec![block(
        "o",
        BlockKind::Organisation {
            sor: AUTHOR_ORG.into(),
        },
    )]);
    let blank = Override {
        reason: "  \t".into(),
    };
    assert_eq!(
        check(&doctor_at(OTHER_ORG), &doc(), &d, Some(&blank)),
        blocked(&["o"])
    );
}

#[test]
fn system_is_treated_like_its_organisation_and_cannot_override() {
    let inside = Accessor::System {
        organisation_sor: Some(AUTHOR_ORG.into()),
        organisation_cvr: None,
    };
    let cvr_only = Accessor::System {
        organisation_sor: None,
        organisation_cvr: Some("12345678".into()),
    };
    assert_eq!(check(&inside, &doc(), &opted_out(), None), Decision::Allow);
    assert_eq!(
        check(&cvr_only, &doc(), &opted_out(), None),
        withheld(WithholdReason::OptOut)
    );
    let d = blocks(vec![block(
        "o",
        BlockKind::Organisation {
            sor: AUTHOR_ORG.into(),
        },
    )]);
    assert_eq!(
        check(&cvr_only, &doc(), &d, Some(&urgent())),
        blocked(&["o"])
    );
}

#[test]
fn admin_is_outside_every_organisation_and_cannot_override() {
    assert_eq!(
        check(&Accessor::Admin, &doc(), &opted_out(), None),
        withheld(WithholdReason::OptOut)
    );
    let d = blocks(vec![block(
        "o",
        BlockKind::Organisation {
            sor: AUTHOR_ORG.into(),
        },
    )]);
    assert_eq!(
        check(&Accessor::Admin, &doc(), &d, Some(&urgent())),
        blocked(&["o"])
    );
    assert_eq!(
        check(&Accessor::Admin, &doc(), &Directives::default(), None),
        Decision::Allow
    );
}

// ---- The block JSON form ----

fn parse_err(json: &str) -> BlockError {
    parse_block(json).expect_err(json)
}

#[test]
fn parses_each_kind() {
    let b = parse_block(r#"{"kind":"professional","professional_cpr":"0202021234"}"#).unwrap();
    assert_eq!(
        b.kind(),
        &BlockKind::Professional {
            professional_cpr: DOCTOR.into()
        }
    );
    let b =
        parse_block(r#"{"kind":"organisation","sor":"111111","valid_to":"2026-12-31"}"#).unwrap();
    assert_eq!(
        b.kind(),
        &BlockKind::Organisation {
            sor: AUTHOR_ORG.into()
        }
    );
    assert_eq!(
        (b.valid_from(), b.valid_to()),
        (None, Some(date!(2026 - 12 - 31)))
    );
    let b = parse_block(
        r#"{"kind":"period","from":"2025-01-01","to":"2025-01-01","valid_from":"2026-01-01"}"#,
    )
    .unwrap();
    assert_eq!(
        b.kind(),
        &BlockKind::Period {
            from: date!(2025 - 01 - 01),
            to: date!(2025 - 01 - 01)
        }
    );
    assert_eq!(b.valid_from(), Some(date!(2026 - 01 - 01)));
}

#[test]
fn refuses_each_fault_precisely() {
    assert_eq!(
        parse_err(r#"{"kind":"department","sor":"1"}"#),
        BlockError::UnknownKind {
            kind: "department".into()
        }
    );
    assert_eq!(
        parse_err(r#"{"kind":"period","from":"2025-13-01","to":"2025-12-01"}"#),
        BlockError::BadDate {
            field: "from",
            value: "2025-13-01".into()
        }
    );
    assert_eq!(
        parse_err(r#"{"kind":"organisation","sor":"1","valid_to":"1/1/2026"}"#),
        BlockError::BadDate {
            field: "valid_to",
            value: "1/1/2026".into()
        }
    );
    assert_eq!(
        parse_err(r#"{"kind":"period","from":"2025-02-01","to":"2025-01-31"}"#),
        BlockError::FromAfterTo {
            from_field: "from",
            from: date!(2025 - 02 - 01),
            to_field: "to",
            to: date!(2025 - 01 - 31)
        }
    );
    assert_eq!(
        parse_err(
            r#"{"kind":"organisation","sor":"1","valid_from":"2026-02-01","valid_to":"2026-01-01"}"#
        ),
        BlockError::FromAfterTo {
            from_field: "valid_from",
            from: date!(2026 - 02 - 01),
            to_field: "valid_to",
            to: date!(2026 - 01 - 01)
        }
    );
    assert_eq!(
        parse_err(r#"{"kind":"professional","professional_cpr":"020202-1234"}"#),
        BlockError::BadCpr {
            value: "020202-1234".into()
        }
    );
    assert_eq!(
        parse_err(r#"{"kind":"organisation","sor":" "}"#),
        BlockError::EmptySor
    );
    assert_eq!(
        parse_err(r#"{"kind":"organisation"}"#),
        BlockError::MissingField {
            kind: "organisation",
            field: "sor"
        }
    );
    assert_eq!(
        parse_err(r#"{"kind":"period","from":"2025-01-01","to":"2025-01-02","sor":"1"}"#),
        BlockError::UnexpectedField {
            kind: "period".into(),
            field: "sor"
        }
    );
    assert_eq!(
        parse_err(r#"{"id":"x","kind":"organisation","sor":"1"}"#),
        BlockError::UnexpectedField {
            kind: "organisation".into(),
            field: "id"
        }
    );
    assert!(matches!(
        parse_err(r#"{"kind":"organisation","sor":"1","colour":"red"}"#),
        BlockError::Json { .. }
    ));
    assert!(matches!(parse_err("[1]"), BlockError::Json { .. }));
    assert!(matches!(
        parse_err(r#"{"kind":"organisation","sor":1}"#),
        BlockError::Json { .. }
    ));
}

#[test]
fn error_messages_name_the_input() {
    let e = parse_err(r#"{"kind":"professional","professional_cpr":"12"}"#);
    assert_eq!(e.to_string(), r#"professional_cpr "12" is not 10 digits"#);
    let e = parse_err(r#"{"kind":"period","from":"2025-02-01","to":"2025-01-31"}"#);
    assert_eq!(e.to_string(), "`from` 2025-02-01 is after `to` 2025-01-31");
}

#[test]
fn directives_round_trip_through_json() {
    let d = Directives {
        opt_out: Some(OptOut {
            since: datetime!(2026-01-01 8:30 UTC),
        }),
        blocks: vec![
            block(
                "1",
                BlockKind::Professional {
                    professional_cpr: DOCTOR.into(),
                },
            ),
            NewBlock::new(
                BlockKind::Period {
                    from: date!(2025 - 01 - 01),
                    to: date!(2025 - 06 - 30),
                },
                Some(date!(2026 - 01 - 01)),
                None,
            )
            .unwrap()
            .with_id(BlockId("2".into())),
        ],
    };
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(
        json,
        r#"{"opt_out":{"since":"2026-01-01T08:30:00Z"},"blocks":[{"id":"1","kind":"professional","professional_cpr":"0202021234","valid_from":null,"valid_to":null},{"id":"2","kind":"period","from":"2025-01-01","to":"2025-06-30","valid_from":"2026-01-01","valid_to":null}]}"#
    );
    assert_eq!(serde_json::from_str::<Directives>(&json).unwrap(), d);
}

#[test]
fn stored_blocks_are_checked_on_load_too() {
    let bad = r#"{"id":"1","kind":"professional","professional_cpr":"12"}"#;
    assert!(serde_json::from_str::<Block>(bad).is_err());
    let no_id = r#"{"kind":"organisation","sor":"1"}"#;
    assert!(serde_json::from_str::<Block>(no_id).is_err());
}

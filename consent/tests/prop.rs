//! `decide` against a deliberately plain reference implementation of the rules (written here,
//! separately, as straight-line ifs), plus the invariants that must hold for all inputs.
//!
//! The generators draw CPRs, SORs and dates from small pools so that blocks, accessors and
//! documents collide often enough to exercise every rule.

#![allow(
    clippy::collapsible_if,
    reason = "the reference is deliberately written as plain nested ifs, unlike `decide`"
)]

use consent::*;
use proptest::prelude::*;
use time::{Date, Duration, OffsetDateTime, UtcOffset, macros::date};

const PATIENT: &str = "0000000001";
const CPRS: [&str; 4] = ["0000000001", "0000000002", "0000000003", "0000000004"];
const SORS: [&str; 3] = ["100", "200", "300"];
/// Every generated date is BASE plus 0..DAYS days.
const BASE: Date = date!(2025 - 01 - 01);
const DAYS: i64 = 12;

// ---- The reference implementation ----

/// What the reference says; compared with `Decision` by visibility and by reason/lifted set.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Allow,
    Override {
        opt_out_lifted: bool,
        blocks_lifted: Vec<BlockId>,
    },
    Withhold(WithholdReason),
}

fn reference(
    accessor: &Accessor,
    document: &DocumentFacts,
    directives: &Directives,
    override_: Option<&Override>,
    now: OffsetDateTime,
    options: &ConsentOptions,
) -> Expected {
    if document.patient_cpr != PATIENT {
        return Expected::Withhold(WithholdReason::PatientMismatch);
    }
    if let Accessor::Citizen { cpr } = accessor {
        if cpr == PATIENT {
            return Expected::Allow;
        }
        return Expected::Withhold(WithholdReason::NotOwnData);
    }

    let mut my_sor: Option<String> = None;
    let mut my_cprs: Vec<String> = Vec::new();
    let mut may_override = false;
    if let Accessor::HealthProfessional {
        cpr,
        organisation_sor,
        on_behalf_of,
    } = accessor
    {
        my_sor = organisation_sor.clone();
        my_cprs.push(cpr.clone());
        if let Some(p) = on_behalf_of {
            my_cprs.push(p.clone());
        }
        may_override = true;
    }
    if let Accessor::System {
        organisation_sor, ..
    } = accessor
    {
        my_sor = organisation_sor.clone();
    }

    let mut has_override = false;
    if may_override {
        if let Some(o) = override_ {
            if !o.reason.trim().is_empty() {
                has_override = true;
            }
        }
    }

    let mut in_authoring_org = false;
    for sor in &document.author_institution_sors {
        if Some(sor) == my_sor.as_ref() {
            in_authoring_org = true;
        }
    }

    let mut opt_out_lifted = false;
    if directives.opt_out.is_some() && !in_authoring_org {
        if has_override && options.override_lifts_opt_out {
            opt_out_lifted = true;
        } else {
            return Expected::Withhold(WithholdReason::OptOut);
        }
    }

    let today = now.to_offset(UtcOffset::UTC).date();
    let mut doc_time = document.creation_time;
    if document.service_start.is_some() {
        doc_time = document.service_start;
    }
    let doc_day = doc_time.map(|t| t.to_offset(UtcOffset::UTC).date());

    let mut hiding = Vec::new();
    for b in &directives.blocks {
        if let Some(from) = b.valid_from() {
            if today < from {
                continue;
            }
        }
        if let Some(to) = b.valid_to() {
            if today > to {
                continue;
            }
        }
        let mut hides = false;
        match b.kind() {
            BlockKind::Professional { professional_cpr } => {
                if my_cprs.contains(professional_cpr) {
                    hides = true;
                }
            }
            BlockKind::Organisation { sor } => {
                if document.author_institution_sors.contains(sor) && my_sor.as_ref() != Some(sor) {
                    hides = true;
                }
            }
            BlockKind::Period { from, to } => match doc_day {
                None => hides = true,
                Some(day) => {
                    if *from <= day && day <= *to {
                        hides = true;
                    }
                }
            },
        }
        if hides {
            hiding.push(b.id().clone());
        }
    }

    if !hiding.is_empty() && !has_override {
        return Expected::Withhold(WithholdReason::Blocked { blocks: hiding });
    }
    if opt_out_lifted || !hiding.is_empty() {
        return Expected::Override {
            opt_out_lifted,
            blocks_lifted: hiding,
        };
    }
    Expected::Allow
}

fn as_expected(d: &Decision) -> Expected {
    match d {
        Decision::Allow => Expected::Allow,
        Decision::Withhold { reason } => Expected::Withhold(reason.clone()),
        Decision::AllowedByOverride { lifted } => Expected::Override {
            opt_out_lifted: lifted.contains(&Lifted::OptOut),
            blocks_lifted: lifted
                .iter()
                .filter_map(|l| match l {
                    Lifted::Block(id) => Some(id.clone()),
                    Lifted::OptOut => None,
                })
                .collect(),
        },
    }
}

// ---- Generators ----

fn cpr() -> impl Strategy<Value = String> {
    prop::sample::select(&CPRS[..]).prop_map(String::from)
}

fn sor() -> impl Strategy<Value = String> {
    prop::sample::select(&SORS[..]).prop_map(String::from)
}

fn day() -> impl Strategy<Value = Date> {
    (0..DAYS).prop_map(|d| BASE + Duration::days(d))
}

/// An instant within the date pool, in UTC or Danish summer/winter time.
fn instant() -> impl Strategy<Value = OffsetDateTime> {
    (day(), 0..24u8, prop::sample::select(&[0i8, 1, 2][..])).prop_map(|(d, h, off)| {
        let utc = d.with_hms(h, 0, 0).unwrap().assume_utc();
        utc.to_offset(UtcOffset::from_hms(off, 0, 0).unwrap())
    })
}

fn ordered_days() -> impl Strategy<Value = (Date, Date)> {
    (day(), day()).prop_map(|(a, b)| if a <= b { (a, b) } else { (b, a) })
}

fn block_kind() -> impl Strategy<Value = BlockKind> {
    prop_oneof![
        cpr().prop_map(|professional_cpr| BlockKind::Professional { professional_cpr }),
        sor().prop_map(|sor| BlockKind::Organisation { sor }),
        ordered_days().prop_map(|(from, to)| BlockKind::Period { from, to }),
    ]
}

fn validity() -> impl Strategy<Value = (Option<Date>, Option<Date>)> {
    (prop::option::of(day()), prop::option::of(day())).prop_map(|(a, b)| match (a, b) {
        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
        other => other,
    })
}

fn directives() -> impl Strategy<Value = Directives> {
    (
        prop::option::of(instant().prop_map(|since| OptOut { since })),
        prop::collection::vec((block_kind(), validity()), 0..4),
    )
        .prop_map(|(opt_out, raw)| Directives {
            opt_out,
            blocks: raw
                .into_iter()
                .enumerate()
                .map(|(i, (kind, (from, to)))| {
                    NewBlock::new(kind, from, to)
                        .unwrap()
                        .with_id(BlockId(format!("b{i}")))
                })
                .collect(),
        })
}

fn document() -> impl Strategy<Value = DocumentFacts> {
    (
        // Mostly the patient; sometimes another (the mismatch rule).
        prop_oneof![9 => Just(PATIENT.to_owned()), 1 => cpr()],
        prop::collection::vec(sor(), 0..3),
        prop::option::of(instant()),
        prop::option::of(instant()),
    )
        .prop_map(
            |(patient_cpr, author_institution_sors, service_start, creation_time)| DocumentFacts {
                patient_cpr,
                author_institution_sors,
                service_start,
                creation_time,
            },
        )
}

fn accessor() -> impl Strategy<Value = Accessor> {
    prop_oneof![
        cpr().prop_map(|cpr| Accessor::Citizen { cpr }),
        (cpr(), prop::option::of(sor()), prop::option::of(cpr())).prop_map(
            |(cpr, organisation_sor, on_behalf_of)| Accessor::HealthProfessional {
                cpr,
                organisation_sor,
                on_behalf_of
            }
        ),
        (
            prop::option::of(sor()),
            prop::option::of(Just("12345678".to_owned()))
        )
            .prop_map(|(organisation_sor, organisation_cvr)| Accessor::System {
                organisation_sor,
                organisation_cvr
            }),
        Just(Accessor::Admin),
    ]
}

fn override_() -> impl Strategy<Value = Option<Override>> {
    prop::option::of(
        prop::sample::select(&["acute", "", "  "][..]).prop_map(|r| Override { reason: r.into() }),
    )
}

fn options() -> impl Strategy<Value = ConsentOptions> {
    any::<bool>().prop_map(|override_lifts_opt_out| ConsentOptions {
        override_lifts_opt_out,
    })
}

fn run(
    a: &Accessor,
    doc: &DocumentFacts,
    dir: &Directives,
    ov: Option<&Override>,
    now: OffsetDateTime,
    opts: &ConsentOptions,
) -> Decision {
    decide(a, PATIENT, doc, dir, ov, now, opts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn decide_matches_the_reference(
        a in accessor(), doc in document(), dir in directives(), ov in override_(),
        now in instant(), opts in options(),
    ) {
        let got = run(&a, &doc, &dir, ov.as_ref(), now, &opts);
        prop_assert_eq!(as_expected(&got), reference(&a, &doc, &dir, ov.as_ref(), now, &opts));
    }

    /// Withheld without an override stays withheld with one unless the override is the
    /// reason it became visible — and then it says so. And an override never makes a document
    /// that was visible invisible.
    #[test]
    fn only_an_override_turns_withheld_into_visible(
        a in accessor(), doc in document(), dir in directives(), ov in override_(),
        now in instant(), opts in options(),
    ) {
        let without = run(&a, &doc, &dir, None, now, &opts);
        let with = run(&a, &doc, &dir, ov.as_ref(), now, &opts);
        let used_override = matches!(without, Decision::AllowedByOverride { .. });
        prop_assert!(!used_override, "override used without one: {:?}", without);
        if !without.is_visible() && with.is_visible() {
            prop_assert!(
                matches!(&with, Decision::AllowedByOverride { lifted } if !lifted.is_empty()),
                "became visible without an override: {:?}", with
            );
        }
        if without.is_visible() {
            prop_assert_eq!(&with, &without);
        }
    }

    /// An override never lifts an opt-out unless configured.
    #[test]
    fn override_never_lifts_opt_out_unless_configured(
        a in accessor(), doc in document(), dir in directives(), ov in override_(), now in instant(),
    ) {
        let opts = ConsentOptions { override_lifts_opt_out: false };
        let with = run(&a, &doc, &dir, ov.as_ref(), now, &opts);
        if let Decision::AllowedByOverride { lifted } = &with {
            prop_assert!(!lifted.contains(&Lifted::OptOut));
        }
        if run(&a, &doc, &dir, None, now, &opts)
            == (Decision::Withhold { reason: WithholdReason::OptOut })
        {
            prop_assert_eq!(with, Decision::Withhold { reason: WithholdReason::OptOut });
        }
    }

    /// A citizen always sees their own documents, whatever the directives.
    #[test]
    fn citizen_always_sees_own_documents(
        mut doc in document(), dir in directives(), ov in override_(), now in instant(),
        opts in options(),
    ) {
        doc.patient_cpr = PATIENT.to_owned();
        let me = Accessor::Citizen { cpr: PATIENT.to_owned() };
        prop_assert_eq!(run(&me, &doc, &dir, ov.as_ref(), now, &opts), Decision::Allow);
    }

    /// Stored directives survive their JSON form unchanged.
    #[test]
    fn directives_round_trip_through_json(dir in directives()) {
        let json = serde_json::to_string(&dir).unwrap();
        prop_assert_eq!(serde_json::from_str::<Directives>(&json).unwrap(), dir);
    }
}

//! The decision: may this accessor see this document, given the patient's directives?
//!
//! Invariant: [`decide`] is a pure function of its arguments — no I/O, no clock, no global
//! state — so that the same inputs give the same answer in ITI-18, ITI-43 and the tests.

use time::{Date, OffsetDateTime, UtcOffset};

use crate::directive::{BlockId, BlockKind, Directives};

/// Who is asking, reduced to what the decision needs.
///
/// Independent of `identity::Caller` so that this crate stays pure and dependency-light. The
/// edge (`dds`) maps a verified caller like this:
///
/// | `Caller.role` | `Accessor` |
/// |---|---|
/// | `Citizen` | `Citizen { cpr: caller.cpr() }` |
/// | `Doctor`, `Nurse`, `Secretary` | `HealthProfessional { cpr, organisation_sor: caller.organisation.sor, on_behalf_of: caller.on_behalf_of }` |
/// | `System` | `System { organisation_sor, organisation_cvr }` from `caller.organisation` |
/// | `Admin` | `Admin` |
///
/// A card whose role needs a CPR but names none is refused by `identity` before it gets here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accessor {
    /// A citizen; sees their own documents only.
    Citizen { cpr: String },
    /// A doctor, nurse or secretary.
    HealthProfessional {
        cpr: String,
        /// The organisation the card names by SOR; `None` when it names it by CVR only (then
        /// the accessor is outside every authoring organisation).
        organisation_sor: Option<String>,
        /// The professional a delegate acts for: a block on that professional applies to the
        /// delegate too, or blocking a doctor could be sidestepped through their secretary.
        on_behalf_of: Option<String>,
    },
    /// An IT system acting without a person (system card).
    System {
        organisation_sor: Option<String>,
        organisation_cvr: Option<String>,
    },
    /// Consent and operations administration; not a clinical reader.
    Admin,
}

impl Accessor {
    fn organisation_sor(&self) -> Option<&str> {
        match self {
            Accessor::HealthProfessional {
                organisation_sor, ..
            }
            | Accessor::System {
                organisation_sor, ..
            } => organisation_sor.as_deref(),
            Accessor::Citizen { .. } | Accessor::Admin => None,
        }
    }
}

/// What the decision needs to know about one DocumentEntry.
///
/// The edge fills it from `xds_model::xds::DocumentEntry`: `patient_cpr` from the `patientId`
/// (CX with the CPR root), `author_institution_sors` from the SOR code of every
/// `authorInstitution` XON of every author, and the two times parsed from their DTM slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFacts {
    /// The patient the DocumentEntry is about.
    pub patient_cpr: String,
    /// SOR codes of the authoring institutions. The edge should also add each institution's
    /// SOR ancestors when it knows them (see the crate docs, "Known limitations").
    pub author_institution_sors: Vec<String>,
    /// `serviceStartTime`, if present and parseable.
    pub service_start: Option<OffsetDateTime>,
    /// `creationTime`, if present and parseable.
    pub creation_time: Option<OffsetDateTime>,
}

impl DocumentFacts {
    /// The day the period blocks are compared with: the service start time, or the creation
    /// time when it has none, as a UTC date.
    pub fn period_date(&self) -> Option<Date> {
        self.service_start
            .or(self.creation_time)
            .map(|t| t.to_offset(UtcOffset::UTC).date())
    }
}

/// A ConsentOverride (værdispring) sent with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The professional's stated reason. An override whose reason is blank (after trimming)
    /// is no override.
    pub reason: String,
}

/// Deployment choices the decision honours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsentOptions {
    /// Whether an override also lifts an opt-out (for documents of another organisation).
    /// Off by default: INTERFACE.md allows it only when the config says so.
    pub override_lifts_opt_out: bool,
}

/// A directive an override lifted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lifted {
    OptOut,
    Block(BlockId),
}

/// Why a document is withheld.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WithholdReason {
    /// The document's patient is not the patient whose directives were given: the directives
    /// cannot be trusted for it, so it is withheld (fails closed; a bug in the caller).
    PatientMismatch,
    /// A citizen asked for another person's document.
    NotOwnData,
    /// The patient opted out and the accessor is outside every authoring organisation.
    OptOut,
    /// One or more active blocks hide it (ids in directive order).
    Blocked { blocks: Vec<BlockId> },
}

/// The answer for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Visible only because of the override; `lifted` is never empty and is what MinLog shows
    /// the citizen.
    AllowedByOverride {
        lifted: Vec<Lifted>,
    },
    Withhold {
        reason: WithholdReason,
    },
}

impl Decision {
    /// True if the document may be returned.
    pub fn is_visible(&self) -> bool {
        !matches!(self, Decision::Withhold { .. })
    }
}

/// Decides whether `accessor` may see `document` of `patient_cpr`, whose directives are
/// `directives`, at instant `now`. See the crate docs for the rules.
pub fn decide(
    accessor: &Accessor,
    patient_cpr: &str,
    document: &DocumentFacts,
    directives: &Directives,
    override_: Option<&Override>,
    now: OffsetDateTime,
    options: &ConsentOptions,
) -> Decision {
    let withhold = |reason| Decision::Withhold { reason };
    if document.patient_cpr != patient_cpr {
        return withhold(WithholdReason::PatientMismatch);
    }
    if let Accessor::Citizen { cpr } = accessor {
        return if cpr == patient_cpr {
            Decision::Allow
        } else {
            withhold(WithholdReason::NotOwnData)
        };
    }

    // Only an identifiable professional can override: a system or an administrator has no
    // acute clinical situation to justify it, and no person MinLog could name.
    let overriding = matches!(accessor, Accessor::HealthProfessional { .. })
        && override_.is_some_and(|o| !o.reason.trim().is_empty());

    let accessor_sor = accessor.organisation_sor();
    let inside_authoring_org = |sor: &str| accessor_sor == Some(sor);
    let inside_any_authoring_org = document
        .author_institution_sors
        .iter()
        .any(|s| inside_authoring_org(s));

    let mut lifted = Vec::new();
    if directives.opt_out.is_some() && !inside_any_authoring_org {
        if overriding && options.override_lifts_opt_out {
            lifted.push(Lifted::OptOut);
        } else {
            return withhold(WithholdReason::OptOut);
        }
    }

    let today = now.to_offset(UtcOffset::UTC).date();
    let document_date = document.period_date();
    let hiding: Vec<BlockId> = directives
        .blocks
        .iter()
        .filter(|b| b.is_active_on(today))
        .filter(|b| match b.kind() {
            BlockKind::Professional { professional_cpr } => match accessor {
                Accessor::HealthProfessional {
                    cpr, on_behalf_of, ..
                } => cpr == professional_cpr || on_behalf_of.as_ref() == Some(professional_cpr),
                _ => false,
            },
            BlockKind::Organisation { sor } => {
                document.author_institution_sors.contains(sor) && !inside_authoring_org(sor)
            }
            // An undated document cannot be shown to lie outside the period: withheld.
            BlockKind::Period { from, to } => document_date.is_none_or(|d| *from <= d && d <= *to),
        })
        .map(|b| b.id().clone())
        .collect();

    if !hiding.is_empty() {
        if overriding {
            lifted.extend(hiding.into_iter().map(Lifted::Block));
        } else {
            return withhold(WithholdReason::Blocked { blocks: hiding });
        }
    }
    debug_assert!(
        lifted.is_empty() || overriding,
        "lifted {lifted:?} without an override"
    );
    if lifted.is_empty() {
        Decision::Allow
    } else {
        Decision::AllowedByOverride { lifted }
    }
}

//! The citizen's consent at the SOAP edge: who is asking, what each DocumentEntry tells the
//! decision, and the directives of the patients concerned, loaded fresh for every request.
//!
//! [`ConsentGate`] wraps the pure `consent::decide` for one request: ITI-18 restricts its
//! answer with it (`registry::restrict`), ITI-43 asks it about every requested document before
//! any byte is read. Directives are read from the consent store on every request (no cache), so
//! a directive takes effect for the next request.
//!
//! Invariant: a DocumentEntry of a patient whose directives were not loaded is withheld
//! (fails closed), and so is one that cannot be read.

use std::collections::HashMap;

use consent::{Accessor, ConsentOptions, Decision, Directives, DocumentFacts, Override};
use identity::{Caller, Role};
use time::OffsetDateTime;
use time::macros::format_description;
use xds_model::rim::ExtrinsicObject;
use xds_model::vocabulary::dk;
use xds_model::xds::DocumentEntry;

use crate::app::App;

/// The Danish client library that writes SOR codes under the wrong authority (DK-PROFILE.md);
/// its codes are SOR codes all the same.
const SOR_OID_MISSPELLED: &str = "1.2.208.176.1";

/// The consent decision for one request.
pub struct ConsentGate {
    accessor: Accessor,
    override_: Option<Override>,
    /// By patient id as it appears in the metadata (CX): the patient's CPR and directives.
    directives: HashMap<String, (String, Directives)>,
    now: OffsetDateTime,
    options: ConsentOptions,
}

impl ConsentGate {
    /// Loads the directives of `patient_ids` (CX) for `caller`.
    pub async fn load(
        app: &App,
        caller: &Caller,
        override_: Option<&soap::ConsentOverride>,
        patient_ids: impl IntoIterator<Item = String>,
    ) -> Result<ConsentGate, consent::StoreError> {
        let mut directives = HashMap::new();
        for patient_id in patient_ids {
            if directives.contains_key(&patient_id) {
                continue;
            }
            // A patient outside the CPR authority has no directives here; leaving it out of
            // the map withholds its documents (fails closed) except from nobody: such
            // patients cannot be registered (the registry requires a CPR patientId).
            if let Some(cpr) = cpr_of(&patient_id) {
                let loaded = app.consent.directives(&cpr).await?;
                directives.insert(patient_id, (cpr, loaded));
            }
        }
        Ok(ConsentGate {
            accessor: accessor_of(caller),
            override_: override_.map(|o| Override {
                reason: o.reason.clone(),
            }),
            directives,
            now: OffsetDateTime::now_utc(),
            options: ConsentOptions {
                override_lifts_opt_out: app.config.consent.override_lifts_opt_out,
            },
        })
    }

    /// True when no decision can withhold anything: every patient concerned has no directive
    /// and the caller is not a citizen looking at someone else. The filter is then skipped.
    pub fn withholds_nothing(&self, patient_ids: &std::collections::BTreeSet<String>) -> bool {
        patient_ids.iter().all(|patient_id| {
            let Some((patient_cpr, directives)) = self.directives.get(patient_id) else {
                return false;
            };
            let own_or_not_citizen = match &self.accessor {
                Accessor::Citizen { cpr } => cpr == patient_cpr,
                _ => true,
            };
            own_or_not_citizen && directives.opt_out.is_none() && directives.blocks.is_empty()
        })
    }

    /// The decision for one DocumentEntry as stored.
    pub fn decide(&self, entry: &ExtrinsicObject) -> Decision {
        match DocumentEntry::from_rim(entry) {
            Ok(view) => self.decide_entry(&view),
            Err(_) => Decision::Withhold {
                reason: consent::WithholdReason::PatientMismatch,
            },
        }
    }

    /// The decision for one DocumentEntry as the registry indexed it (ITI-18 answers: no XML
    /// is parsed). Decides exactly as [`ConsentGate::decide`] on the same entry's XML: the
    /// registry derived these columns from it when it was stored.
    pub fn decide_indexed(&self, entry: &registry::EntryFacts<'_>) -> Decision {
        let Some((patient_cpr, directives)) = entry
            .patient_id
            .and_then(|patient_id| self.directives.get(patient_id))
        else {
            return Decision::Withhold {
                reason: consent::WithholdReason::PatientMismatch,
            };
        };
        let facts = DocumentFacts {
            patient_cpr: patient_cpr.clone(),
            author_institution_sors: entry
                .author_institutions
                .iter()
                .filter_map(|xon| sor_of_xon(xon))
                .collect(),
            service_start: entry.service_start_time.and_then(parse_dtm),
            creation_time: entry.creation_time.and_then(parse_dtm),
        };
        self.decide_facts(patient_cpr, &facts, directives)
    }

    fn decide_facts(
        &self,
        patient_cpr: &str,
        facts: &DocumentFacts,
        directives: &Directives,
    ) -> Decision {
        consent::decide(
            &self.accessor,
            patient_cpr,
            facts,
            directives,
            self.override_.as_ref(),
            self.now,
            &self.options,
        )
    }

    /// The decision for one DocumentEntry view.
    pub fn decide_entry(&self, entry: &DocumentEntry) -> Decision {
        let patient_id = entry
            .patient_id
            .as_ref()
            .map(|p| p.value.as_str())
            .unwrap_or_default();
        let Some((patient_cpr, directives)) = self.directives.get(patient_id) else {
            return Decision::Withhold {
                reason: consent::WithholdReason::PatientMismatch,
            };
        };
        let facts = facts_of(entry, patient_cpr);
        self.decide_facts(patient_cpr, &facts, directives)
    }

    /// The override reason MinLog records: a health professional's override, whether or not
    /// it lifted anything (DOMAIN.md: the override itself is logged and shown to the citizen).
    pub fn override_reason(&self) -> Option<&str> {
        match self.accessor {
            Accessor::HealthProfessional { .. } => {
                self.override_.as_ref().map(|o| o.reason.as_str())
            }
            _ => None,
        }
    }
}

/// The accessor a verified caller is, for the decision (see `consent::Accessor`).
pub fn accessor_of(caller: &Caller) -> Accessor {
    match caller.role {
        Role::Citizen => Accessor::Citizen {
            cpr: caller.cpr().unwrap_or_default().to_owned(),
        },
        Role::Doctor | Role::Nurse | Role::Secretary => Accessor::HealthProfessional {
            cpr: caller.cpr().unwrap_or_default().to_owned(),
            organisation_sor: caller.organisation.sor.clone(),
            on_behalf_of: caller.on_behalf_of.clone(),
        },
        Role::System => Accessor::System {
            organisation_sor: caller.organisation.sor.clone(),
            organisation_cvr: caller.organisation.cvr.clone(),
        },
        Role::Admin => Accessor::Admin,
    }
}

/// What the decision needs of a DocumentEntry whose patientId names `patient_cpr`.
fn facts_of(entry: &DocumentEntry, patient_cpr: &str) -> DocumentFacts {
    DocumentFacts {
        patient_cpr: patient_cpr.to_owned(),
        author_institution_sors: entry
            .author
            .iter()
            .flat_map(|a| a.value.institutions.iter())
            .filter_map(|xon| sor_of_xon(xon))
            .collect(),
        service_start: entry.service_start_time.as_deref().and_then(parse_dtm),
        creation_time: entry.creation_time.as_deref().and_then(parse_dtm),
    }
}

/// The SOR code of an `authorInstitution` XON: component 10 under the SOR authority in
/// component 6.
fn sor_of_xon(xon: &str) -> Option<String> {
    let components: Vec<&str> = xon.split('^').collect();
    let authority = components.get(5)?;
    let oid = authority.split('&').nth(1)?;
    if oid != dk::SOR_OID && oid != SOR_OID_MISSPELLED {
        return None;
    }
    let code = components.get(9)?.trim();
    (!code.is_empty()).then(|| code.to_owned())
}

/// An XDS DTM (UTC, 4 to 14 digits) as an instant.
fn parse_dtm(value: &str) -> Option<OffsetDateTime> {
    let padded = registry::dtm::normalize(value)?;
    // Missing month and day are padded with zeros, which are no dates: make them the first.
    let mut digits = padded.into_bytes();
    for position in [5, 7] {
        if digits[position - 1] == b'0' && digits[position] == b'0' {
            digits[position] = b'1';
        }
    }
    let text = String::from_utf8(digits).ok()?;
    let format = format_description!("[year][month][day][hour][minute][second]");
    time::PrimitiveDateTime::parse(&text, format)
        .ok()
        .map(|t| t.assume_utc())
}

/// The CPR of a CX in the Danish CPR authority.
pub fn cpr_of(cx: &str) -> Option<String> {
    let patient = xds_model::xds::parse_cx(cx).ok()?;
    (patient.assigning_authority == dk::CPR_OID).then_some(patient.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sor_codes_come_from_component_ten_under_the_sor_authority() {
        assert_eq!(
            sor_of_xon("Hjerteafd.^^^^^&1.2.208.176.1.1&ISO^^^^6011000016006").as_deref(),
            Some("6011000016006")
        );
        assert_eq!(
            sor_of_xon("Afd^^^^^&1.2.208.176.1&ISO^^^^123").as_deref(),
            Some("123")
        );
        assert_eq!(sor_of_xon("Afd^^^^^&1.2.3&ISO^^^^123"), None);
        assert_eq!(sor_of_xon("Just a name"), None);
    }

    #[test]
    fn dtm_precision_is_padded_to_the_start_of_the_period() {
        use time::macros::datetime;
        assert_eq!(
            parse_dtm("20250102030405"),
            Some(datetime!(2025-01-02 03:04:05 UTC))
        );
        assert_eq!(parse_dtm("2025"), Some(datetime!(2025-01-01 00:00:00 UTC)));
        assert_eq!(
            parse_dtm("202503"),
            Some(datetime!(2025-03-01 00:00:00 UTC))
        );
        assert_eq!(parse_dtm("20251399"), None);
        assert_eq!(parse_dtm("not a date"), None);
    }
}

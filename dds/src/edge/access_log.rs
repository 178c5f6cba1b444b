//! Writing MinLog access records (and BRS follow-ups) for the accesses the endpoints serve.
//!
//! Fail closed: the records are committed before the response leaves; if that fails the
//! caller gets a receiver fault and no data. A follow-up is ordered for a health
//! professional's access that returned a patient's documents (queries and retrievals only:
//! registering a document is not looking at the patient's record).

use std::collections::BTreeMap;

use axum::response::Response;
use identity::Caller;
use minlog::{AccessAction, AccessOutcome, AccessRecord};

use super::respond::internal_fault;
use crate::app::App;

/// The documents an access concerned, by patient CPR (a patient with no documents still
/// appears: a query about them is an access too).
pub type DocumentsByPatient = BTreeMap<String, Vec<String>>;

/// One access to log: one record per patient it concerned.
pub struct Access<'a> {
    pub caller: &'a Caller,
    pub action: AccessAction,
    pub outcome: AccessOutcome,
    /// The reason of a consent override the caller sent.
    pub override_reason: Option<&'a str>,
    pub documents: DocumentsByPatient,
}

impl<'a> Access<'a> {
    pub fn new(caller: &'a Caller, action: AccessAction, documents: DocumentsByPatient) -> Self {
        Access {
            caller,
            action,
            outcome: AccessOutcome::Allowed,
            override_reason: None,
            documents,
        }
    }

    /// The same access for one patient and no documents, with the outcome `rejected`.
    pub fn rejected(caller: &'a Caller, action: AccessAction, patient_cpr: &str) -> Self {
        Access {
            caller,
            action,
            outcome: AccessOutcome::Rejected,
            override_reason: None,
            documents: BTreeMap::from([(patient_cpr.to_owned(), Vec::new())]),
        }
    }
}

/// Commits one record per patient concerned; on failure, the answer to send instead.
pub async fn record(
    app: &App,
    access: Access<'_>,
    relates_to: Option<&str>,
) -> Result<(), Response> {
    let caller = access.caller;
    let time = minlog::now_rfc3339().map_err(|e| internal_fault(&e, relates_to))?;
    let reads = matches!(access.action, AccessAction::Query | AccessAction::Retrieve);
    let mut records = Vec::with_capacity(access.documents.len());
    for (patient_cpr, documents) in access.documents {
        let order_followup = reads
            && caller.role.is_health_professional()
            && access.outcome != AccessOutcome::Rejected
            && !documents.is_empty();
        let record = AccessRecord {
            time: time.clone(),
            patient_cpr,
            user_cpr: caller.cpr().map(str::to_owned),
            user_name: caller.person.as_ref().map(|p| p.name()),
            user_role: caller.role.as_str().to_owned(),
            organisation_sor: caller.organisation.sor.clone(),
            organisation_cvr: caller.organisation.cvr.clone(),
            organisation_name: caller.organisation.name.clone(),
            it_system: caller.it_system.clone(),
            on_behalf_of: caller.on_behalf_of.clone(),
            action: access.action,
            documents,
            override_reason: access.override_reason.map(str::to_owned),
            outcome: access.outcome,
        };
        records.push((record, order_followup));
    }
    // One transaction for every patient of the access, grouped with other requests' records.
    app.door
        .audit
        .record_accesses(records)
        .await
        .map_err(|e| internal_fault(&e, relates_to))?;
    Ok(())
}

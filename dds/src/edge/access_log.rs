//! Writing MinLog access records (and BRS follow-ups) for the accesses the endpoints serve.
//!
//! Fail closed: the records are committed before the response leaves; if that fails the
//! caller gets a receiver fault and no data. A follow-up is ordered for a health
//! professional's access that returned a patient's documents.

use std::collections::BTreeMap;

use axum::response::Response;
use identity::Caller;
use minlog::{AccessAction, AccessOutcome, AccessRecord};

use super::respond::internal_fault;
use crate::app::App;

/// The documents an access concerned, by patient CPR (a patient with no documents still
/// appears: a query about them is an access too).
pub type DocumentsByPatient = BTreeMap<String, Vec<String>>;

/// Commits one record per patient concerned; on failure, the answer to send instead.
pub async fn record(
    app: &App,
    caller: &Caller,
    action: AccessAction,
    documents: DocumentsByPatient,
    relates_to: Option<&str>,
) -> Result<(), Response> {
    let time = minlog::now_rfc3339().map_err(|e| internal_fault(&e, relates_to))?;
    for (patient_cpr, documents) in documents {
        let order_followup = caller.role.is_health_professional() && !documents.is_empty();
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
            action,
            documents,
            override_reason: None,
            outcome: AccessOutcome::Allowed,
        };
        app.door
            .audit
            .record_access(&record, order_followup)
            .await
            .map_err(|e| internal_fault(&e, relates_to))?;
    }
    Ok(())
}

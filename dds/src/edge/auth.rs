//! The door: who is calling, may they do this, and one durable record of every refusal.
//!
//! Invariants:
//! - A request gets past [`Door::authenticate`] only with a card that verified over exactly the
//!   bytes received; nothing downstream reads the card's XML again.
//! - Every refusal (missing or bad card, refused operation) is recorded exactly once, before
//!   the fault is answered. If the record cannot be written, the caller gets a receiver fault:
//!   still no access (fail closed).

use std::net::SocketAddr;

use axum::response::Response;
use identity::{Caller, FaultSubcode, Operation, Policy, Rejection, Verifier};
use minlog::{AuditStore, RejectedAttempt};
use soap::{Envelope, FaultCode, Subcode};
use time::OffsetDateTime;

use super::respond::{fault_response, internal_fault};

/// Card verification, the role policy and the record of refusals.
pub struct Door {
    pub verifier: Verifier,
    pub policy: Policy,
    pub audit: AuditStore,
}

/// What a refusal is about, for its record.
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    pub peer: SocketAddr,
    /// The wsa:Action or API route.
    pub transaction: &'a str,
    /// The raw card bytes when there were any, to name its claimed subject (unverified).
    pub card: Option<&'a [u8]>,
    /// The request's wsa:MessageID, for RelatesTo on the fault.
    pub relates_to: Option<&'a str>,
}

impl Door {
    /// Verifies the ID card of a SOAP request; a refusal is recorded and answered.
    pub async fn authenticate(
        &self,
        envelope: &Envelope<'_>,
        attempt: Attempt<'_>,
    ) -> Result<Caller, Response> {
        let verified = match &envelope.security {
            None => Err(Rejection::HeaderMissing),
            Some(header) => {
                let bindings: Vec<(&str, &str)> = header
                    .element
                    .namespaces
                    .iter()
                    .map(|b| (b.prefix.as_deref().unwrap_or(""), b.uri.as_str()))
                    .collect();
                self.verifier
                    .verify(header.element.bytes(), &bindings, OffsetDateTime::now_utc())
            }
        };
        match verified {
            Ok(caller) => Ok(caller),
            Err(rejection) => {
                let card = envelope.security.as_ref().map(|h| h.element.bytes());
                Err(self.refuse(rejection, Attempt { card, ..attempt }).await)
            }
        }
    }

    /// Applies the role policy; a refusal is recorded and answered.
    pub async fn authorize(
        &self,
        caller: &Caller,
        operation: Operation,
        patient_cpr: Option<&str>,
        attempt: Attempt<'_>,
    ) -> Result<(), Response> {
        match self.policy.authorize(caller, operation, patient_cpr) {
            Ok(()) => Ok(()),
            Err(rejection) => {
                let subject = caller
                    .cpr()
                    .map(str::to_owned)
                    .or_else(|| caller.organisation.cvr.clone());
                Err(self.record_and_answer(rejection, subject, attempt).await)
            }
        }
    }

    /// Records a request refused before its card could be checked (unreadable body or
    /// envelope, no action, an action this endpoint does not serve) and returns `response`, the
    /// fault already built for it. Such a request is a rejected attempt too: it got nothing.
    pub async fn record_unauthenticated(
        &self,
        peer: SocketAddr,
        transaction: Option<&str>,
        fault_code: &str,
        reason: &str,
        response: Response,
    ) -> Response {
        let time = match minlog::now_rfc3339() {
            Ok(time) => time,
            Err(error) => return internal_fault(&error, None),
        };
        let record = RejectedAttempt {
            time,
            remote_address: Some(peer.to_string()),
            claimed_subject: None,
            transaction: transaction.map(str::to_owned),
            fault_code: fault_code.to_owned(),
            reason: reason.to_owned(),
        };
        match self.audit.record_rejected(&record).await {
            Ok(()) => response,
            Err(error) => internal_fault(&error, None),
        }
    }

    async fn refuse(&self, rejection: Rejection, attempt: Attempt<'_>) -> Response {
        let subject = attempt
            .card
            .and_then(identity::claimed_subject)
            .map(|s| match s {
                identity::ClaimedSubject::Cpr(cpr) => format!("CPR {cpr}"),
                identity::ClaimedSubject::Cvr(cvr) => format!("CVR {cvr}"),
            });
        self.record_and_answer(rejection, subject, attempt).await
    }

    async fn record_and_answer(
        &self,
        rejection: Rejection,
        claimed_subject: Option<String>,
        attempt: Attempt<'_>,
    ) -> Response {
        let subcode = soap_subcode(rejection.fault_subcode());
        let time = match minlog::now_rfc3339() {
            Ok(time) => time,
            Err(error) => return internal_fault(&error, attempt.relates_to),
        };
        let record = RejectedAttempt {
            time,
            remote_address: Some(attempt.peer.to_string()),
            claimed_subject,
            transaction: Some(attempt.transaction.to_owned()),
            fault_code: rejection.fault_subcode().qname().to_owned(),
            reason: rejection.to_string(),
        };
        if let Err(error) = self.audit.record_rejected(&record).await {
            return internal_fault(&error, attempt.relates_to);
        }
        tracing::debug!(kind = rejection.kind(), reason = %rejection, "request refused");
        fault_response(
            FaultCode::Sender,
            Some(subcode),
            &rejection.to_string(),
            attempt.relates_to,
        )
    }
}

fn soap_subcode(subcode: FaultSubcode) -> Subcode<'static> {
    match subcode {
        FaultSubcode::InvalidSecurity => Subcode::WSSE_INVALID_SECURITY,
        FaultSubcode::InvalidSecurityToken => Subcode::WSSE_INVALID_SECURITY_TOKEN,
        FaultSubcode::FailedAuthentication => Subcode::WSSE_FAILED_AUTHENTICATION,
    }
}

//! Which role may do what: the role → operation table, and the own-data rule for citizens.
//!
//! Invariants:
//! - Deny by default: an operation not listed for a role is refused.
//! - A citizen acts only on their own CPR, whatever the table says: a citizen card asking
//!   about another CPR, or about no particular patient, is refused ([`Rejection::NotOwnData`]).
//!   This rule is not configurable.
//! - A log is read only by its own person, whatever the table says: [`Operation::ReadOwnLog`]
//!   only for the card's own CPR (so a table that gives it to doctors lets them read their own
//!   log as patients, not anyone's), and the delegation view ([`Operation::ReadDelegations`])
//!   only for the professional it names, except by an admin.
//! - Multi-patient queries (ITI-51) are for systems only in the default table.
//!
//! The default table and why:
//! - `system`: register, update, delete, query, retrieve, multi-patient query. Source systems
//!   (EPJ) own the lifecycle of the documents they share (ITI-41/42/57/62), and integrations
//!   query on behalf of their users.
//! - `doctor`, `nurse`: query, retrieve, register. They read for treatment (the BRS follow-up
//!   audits that afterwards), and an EPJ that submits a document with the author's own card
//!   must be able to; updating and deleting shared metadata stays with the source system.
//! - `secretary`: query, retrieve (the DOMAIN.md flow: a municipal secretary fetches
//!   appointments, usually on behalf of a doctor).
//! - `citizen`: query, retrieve, read own log, manage consent, own CPR only.
//! - `doctor` also: read the delegation view, what delegates did on the doctor's behalf (own
//!   CPR only).
//! - `admin`: administer, manage consent and read any delegation view (complaints and
//!   operations); no access to documents.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::caller::{Caller, Role};
use crate::error::Rejection;

/// Something a caller can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// ITI-41 / ITI-42.
    Register,
    /// ITI-57.
    Update,
    /// ITI-62.
    Delete,
    /// ITI-18 for one patient.
    Query,
    /// ITI-43.
    Retrieve,
    /// ITI-51.
    MultiPatientQuery,
    /// The operations API (`/admin/v1/...`).
    Administer,
    /// MinLog entries about the caller's own CPR.
    ReadOwnLog,
    /// MinLog entries made on a professional's behalf (the delegation view); the CPR the
    /// request is about is that professional's.
    ReadDelegations,
    /// Opt-out and blocks (`/consent/v1/...`).
    ManageConsent,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Register => "register",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Query => "query",
            Operation::Retrieve => "retrieve",
            Operation::MultiPatientQuery => "multi_patient_query",
            Operation::Administer => "administer",
            Operation::ReadOwnLog => "read_own_log",
            Operation::ReadDelegations => "read_delegations",
            Operation::ManageConsent => "manage_consent",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role → operations table. In configuration it is a table of role names to lists of
/// operation names; a configured table replaces the default entirely, and a role it omits may
/// do nothing:
///
/// ```toml
/// [policy]
/// system = ["register", "update", "delete", "query", "retrieve", "multi_patient_query"]
/// doctor = ["query", "retrieve"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Policy {
    allowed: BTreeMap<Role, BTreeSet<Operation>>,
}

impl Default for Policy {
    fn default() -> Self {
        use Operation::*;
        let table: [(Role, &[Operation]); 6] = [
            (
                Role::System,
                &[Register, Update, Delete, Query, Retrieve, MultiPatientQuery],
            ),
            (Role::Doctor, &[Query, Retrieve, Register, ReadDelegations]),
            (Role::Nurse, &[Query, Retrieve, Register]),
            (Role::Secretary, &[Query, Retrieve]),
            (Role::Citizen, &[Query, Retrieve, ReadOwnLog, ManageConsent]),
            (Role::Admin, &[Administer, ReadDelegations, ManageConsent]),
        ];
        Policy {
            allowed: table
                .into_iter()
                .map(|(role, ops)| (role, ops.iter().copied().collect()))
                .collect(),
        }
    }
}

impl Policy {
    /// Whether the table lets `role` do `operation` (without the own-data rule).
    pub fn allows(&self, role: Role, operation: Operation) -> bool {
        self.allowed
            .get(&role)
            .is_some_and(|ops| ops.contains(&operation))
    }

    /// Decides whether `caller` may do `operation` concerning `patient_cpr` (the patient the
    /// request is about, if it is about one; for [`Operation::ReadDelegations`], the
    /// professional whose delegations are read).
    pub fn authorize(
        &self,
        caller: &Caller,
        operation: Operation,
        patient_cpr: Option<&str>,
    ) -> Result<(), Rejection> {
        if !self.allows(caller.role, operation) {
            return Err(Rejection::NotAuthorized {
                role: caller.role,
                operation,
            });
        }
        if caller.role == Role::Citizen {
            match (caller.cpr(), patient_cpr) {
                (Some(own), Some(patient)) if own == patient => {}
                _ => return Err(Rejection::NotOwnData { operation }),
            }
        }
        let own_cpr_only = match operation {
            Operation::ReadOwnLog => true,
            Operation::ReadDelegations => caller.role != Role::Admin,
            _ => false,
        };
        if own_cpr_only {
            match (caller.cpr(), patient_cpr) {
                (Some(own), Some(professional)) if own == professional => {}
                _ => return Err(Rejection::NotOwnData { operation }),
            }
        }
        Ok(())
    }
}

//! MinLog access records and treatment-relation (BRS) follow-ups.
//!
//! Will own (MinLog issue): the access record of every query, retrieval, registration, update
//! and delete that concerns a patient; the outbox of follow-ups delivered at least once, in
//! order per patient, with back-off and dead-lettering; the citizen's log API and page.
//!
//! Invariant: records are committed durably before the response they describe leaves (fail
//! closed: no record, no data).

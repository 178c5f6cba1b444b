//! The XDS.b document registry.
//!
//! Will own (registry issue): the durable metadata store behind a trait (SQLite by default,
//! PostgreSQL for scale-out), ITI-42 registration as one all-or-nothing transaction, the
//! document lifecycle (RPLC, APND, XFRM, XFRM_RPLC, signs), ITI-57 metadata updates, ITI-62
//! deletes, and all stored queries of ITI-18 and ITI-51.
//!
//! Invariant: knows nothing of SOAP or HTTP; it takes typed messages from `xds-model` and an
//! authenticated caller, and answers typed results.

//! The citizen's consent and blocking directives.
//!
//! Will own (consent issue): the directive model (opt-out; blocks on a professional, an
//! organisation, a period; each with optional validity), one pure decision function from
//! (caller, patient, document metadata, directives, override) to allow or withhold with a
//! reason, and the durable directive store the JSON API writes to.
//!
//! Invariant: the decision function does no I/O; every query and retrieval passes through it.

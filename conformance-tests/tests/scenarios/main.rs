//! The conformance scenarios: one test per scenario, each against its own fresh server.
//! Run with `cargo test -p conformance-tests`; a failure names the scenario, the NIST test
//! it mirrors, the step, every unmet expectation and the response body.

mod delete;
mod multi_patient;
mod register;
mod stored_query;
mod update;
mod world;

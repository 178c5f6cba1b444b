//! Validation of XDS metadata against IHE ITI TF-3 and the Danish profile.
//!
//! Owns (foundation issue): the rule catalogue, each rule with an id, a default severity and a
//! severity configurable per rule and per transaction (`off`, `log`, `warning`, `reject`), and
//! findings that name the rule, the XDS error code, the object and attribute, and say in plain
//! words what is wrong and what was expected.
//!
//! Invariant: pure functions over `xds-model` values; never rejects by itself, it reports.

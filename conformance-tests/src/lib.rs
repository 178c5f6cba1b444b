//! Conformance scenarios against the real server.
//!
//! Will own (registry issue): a scenario runner that starts `dds serve` on an ephemeral port and
//! speaks SOAP to it, with one scenario per NIST XDS registry test it mirrors (register, stored
//! query, metadata update, delete): purpose, request, and assertions on status, error codes and
//! the resulting state.

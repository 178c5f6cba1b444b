//! Fuzz the SOAP envelope parser: arbitrary bytes must never panic, and on success every
//! returned slice must be a sub-slice of the input that re-parses as the same single element
//! (see `soap::invariants::check_envelope_slices`, which `cargo test -p soap` also runs).
//!
//! Run: `cargo +nightly fuzz run envelope` from the workspace root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    soap::invariants::check_envelope_slices(data);
});

//! Fuzz the MTOM multipart reader: the input is a Content-Type line and a body; feeding the
//! body in chunks of sizes derived from the input (and byte by byte) must give exactly the
//! events, part bytes and final result of feeding it in one chunk
//! (see `soap::invariants::check_mtom_chunking`, which `cargo test -p soap` also runs).
//!
//! Run: `cargo +nightly fuzz run mtom` from the workspace root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    soap::invariants::check_mtom_chunking(data);
});

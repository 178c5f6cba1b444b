//! Fuzz the ebRS/ebRIM body parser: any bytes either fail with a typed error or parse to a
//! message whose serialization parses back to the same message and serializes identically.
//!
//! Run: `cargo +nightly fuzz run ebrim` in `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xds_model::message::parse_message;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse_message(data) else {
        return;
    };
    let xml = message.to_xml();
    let again = match parse_message(xml.as_bytes()) {
        Ok(m) => m,
        Err(e) => panic!("our own output does not parse: {e}\n{xml}"),
    };
    assert_eq!(again, message, "parse(serialize(m)) != m\n{xml}");
    assert_eq!(again.to_xml(), xml, "serialization is not stable");
});

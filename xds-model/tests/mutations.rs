//! A stand-in for the fuzz target that runs with `cargo test`: byte mutations of valid
//! bodies either fail with a typed error or round-trip (the property of
//! `fuzz/fuzz_targets/ebrim.rs`).

mod support;

use proptest::prelude::*;
use xds_model::message::{Message, parse_message};

fn seeds() -> Vec<Vec<u8>> {
    let mut p = support::provide_and_register(1);
    p.documents.push(xds_model::message::Document {
        id: "d".into(),
        content: xds_model::message::DocumentContent::Inline(b"abc".to_vec()),
    });
    vec![
        Message::ProvideAndRegisterDocumentSetRequest(p).to_xml().into_bytes(),
        br#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnType="LeafClass" returnComposedObjects="true"/><rim:AdhocQuery id="x"><rim:Slot name="$p"><rim:ValueList><rim:Value>'a&amp;b'</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest>"#.to_vec(),
        br#"<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="s"><rs:RegistryErrorList><rs:RegistryError errorCode="e" codeContext="c&#13;d">t</rs:RegistryError></rs:RegistryErrorList></rs:RegistryResponse>"#.to_vec(),
    ]
}

fn check(data: &[u8]) -> Result<(), TestCaseError> {
    let Ok(m) = parse_message(data) else {
        return Ok(());
    };
    let xml = m.to_xml();
    let again = parse_message(xml.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("own output does not parse: {e}\n{xml}")))?;
    prop_assert_eq!(&again, &m);
    prop_assert_eq!(again.to_xml(), xml);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_bodies_fail_cleanly_or_round_trip(
        seed in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut data = seeds().swap_remove(seed);
        for (at, byte, kind) in edits {
            if data.is_empty() {
                break;
            }
            let i = at.index(data.len());
            match kind {
                0 => data[i] = byte,
                1 => data.insert(i, byte),
                _ => {
                    data.remove(i);
                }
            }
        }
        check(&data)?;
    }
}

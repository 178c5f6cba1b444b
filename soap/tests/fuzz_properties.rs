//! The fuzz targets' property checks, run by `cargo test` over seeds (the DGWS fixture, the
//! samples, writer output) and over random mutations of them: a small in-process fuzzer, so
//! the properties stay checked without a nightly toolchain.

use proptest::prelude::*;
use soap::invariants::{check_envelope_slices, check_mtom_chunking};
use soap::{ContentId, MtomWriter};

const DGWS: &str = include_str!("fixtures/dgws-iti18.xml");

fn mtom_seed() -> Vec<u8> {
    let writer = MtomWriter::from_id("seed").unwrap();
    let mut data = writer.content_type("urn:a").unwrap().into_bytes();
    data.push(b'\n');
    data.extend(writer.head(DGWS.as_bytes()).unwrap());
    data.extend(
        writer
            .attachment_head(&ContentId::new("doc@x").unwrap(), "text/xml")
            .unwrap(),
    );
    data.extend_from_slice(b"<doc>\r\n--MIMEBoundary_see\r\n</doc>");
    data.extend(writer.tail());
    data
}

#[test]
fn seeds_hold() {
    check_envelope_slices(DGWS.as_bytes());
    check_mtom_chunking(&mtom_seed());
    // LF-only framing and a preamble.
    check_mtom_chunking(
        b"multipart/related; boundary=b; type=\"application/xop+xml\"\npre\n--b\nContent-ID: <a@b>\n\nx\n--b--\n",
    );
}

/// Applies `edits` (position, byte, kind) to `seed`: overwrite, insert or delete one byte.
fn mutate(seed: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for &(pos, byte, kind) in edits {
        if data.is_empty() {
            data.push(byte);
            continue;
        }
        let pos = pos % data.len();
        match kind % 3 {
            0 => data[pos] = byte,
            1 => data.insert(pos, byte),
            _ => {
                data.remove(pos);
            }
        }
    }
    data
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b'<'),
        Just(b'>'),
        Just(b'/'),
        Just(b'-'),
        Just(b'\r'),
        Just(b'\n'),
        Just(b'"'),
        Just(b'&'),
        Just(b':'),
        any::<u8>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_envelopes(edits in prop::collection::vec((any::<usize>(), interesting_byte(), any::<u8>()), 1..6)) {
        check_envelope_slices(&mutate(DGWS.as_bytes(), &edits));
    }

    #[test]
    fn mutated_mtom(edits in prop::collection::vec((any::<usize>(), interesting_byte(), any::<u8>()), 1..6)) {
        check_mtom_chunking(&mutate(&mtom_seed(), &edits));
    }

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        check_envelope_slices(&data);
        let mut framed = b"multipart/related; boundary=ab; type=\"application/xop+xml\"\n".to_vec();
        framed.extend_from_slice(&data);
        check_mtom_chunking(&framed);
    }
}

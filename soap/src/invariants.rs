//! Property checks shared by the fuzz targets (`fuzz/fuzz_targets/envelope.rs`, `mtom.rs`) and
//! this crate's tests, so the exact code the fuzzer runs is also compiled and exercised by
//! `cargo test`.
//!
//! Job: given arbitrary bytes, run a parser and assert the invariants its module docs promise.
//! These functions panic when an invariant is violated — that is how a fuzzer reports a
//! finding — and return normally for inputs the parser (correctly) refuses.

use quick_xml::events::Event as XmlEvent;
use quick_xml::name::ResolveResult;

use crate::content_type::ContentType;
use crate::envelope::{ElementSlice, EnvelopeOptions, parse_envelope};
use crate::limits::MultipartLimits;
use crate::multipart::{Event, MultipartError, MultipartReader, PartHeaders};

/// Parses `data` as an envelope; on success checks that every slice is `&data[range]` (a
/// sub-slice of the input, not a copy) and that re-reading each slice with the namespaces in
/// scope yields one whole element with the same name, ending exactly at the slice end.
pub fn check_envelope_slices(data: &[u8]) {
    let Ok(envelope) = parse_envelope(data, &EnvelopeOptions::default()) else {
        return;
    };
    let slices = envelope
        .security
        .iter()
        .chain(&envelope.headers)
        .map(|h| &h.element)
        .chain(std::iter::once(&envelope.body));
    for slice in slices {
        check_slice(data, slice);
    }
}

fn check_slice(data: &[u8], slice: &ElementSlice<'_>) {
    let range = slice.range.clone();
    assert!(
        range.start < range.end && range.end <= data.len(),
        "range {range:?} outside input"
    );
    let bytes = slice.bytes();
    assert_eq!(&data[range.clone()], bytes, "slice is not input[range]");
    assert!(
        std::ptr::eq(bytes.as_ptr(), data[range.start..].as_ptr()),
        "slice does not borrow from the input"
    );
    let mut reader = slice.ns_reader();
    let mut depth = 0usize;
    let mut first = true;
    loop {
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(ok) => ok,
            Err(e) => panic!("slice {range:?} does not re-parse: {e}"),
        };
        let namespace = match resolved {
            ResolveResult::Bound(ns) => Some(ns.into_inner().to_string()),
            ResolveResult::Unbound => Some(String::new()),
            ResolveResult::Unknown(_) => None,
        };
        match event {
            XmlEvent::Start(ref e) | XmlEvent::Empty(ref e) => {
                if first {
                    assert_eq!(namespace.as_deref(), Some(slice.namespace.as_str()));
                    assert_eq!(e.local_name().into_inner(), slice.local_name);
                    first = false;
                } else {
                    assert!(depth > 0, "second top-level element in slice {range:?}");
                }
                if matches!(event, XmlEvent::Start(_)) {
                    depth += 1;
                } else if depth == 0 {
                    assert_eq!(reader.buffer_position() as usize, bytes.len());
                }
            }
            XmlEvent::End(_) => {
                depth -= 1;
                if depth == 0 {
                    assert_eq!(reader.buffer_position() as usize, bytes.len());
                }
            }
            XmlEvent::Eof => break,
            _ => assert!(depth > 0, "content outside the element in slice {range:?}"),
        }
    }
    assert!(
        !first && depth == 0,
        "slice {range:?} is not one whole element"
    );
}

/// What a reader run produced, with adjacent data merged so chunkings compare equal.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Start(usize, bool, PartHeaders),
    Data(Vec<u8>),
    PartEnd,
    End,
}

/// Limits small enough that fuzz inputs reach every limit path.
const TIGHT: MultipartLimits = MultipartLimits {
    parts_max: 3,
    part_header_bytes_max: 96,
    part_headers_max: 3,
    headers_total_max: 5,
    root_part_bytes_max: 64,
    attachment_bytes_max: 16,
    preamble_bytes_max: 32,
    epilogue_bytes_max: 8,
};

type Outcome = (Vec<Seen>, Result<(), MultipartError>);

fn run(
    content_type: &str,
    body: &[u8],
    sizes: &[usize],
    limits: MultipartLimits,
) -> Option<Outcome> {
    let Ok(ContentType::Multipart(related)) = ContentType::parse(content_type) else {
        return None;
    };
    let Ok(mut reader) = MultipartReader::new(&related.boundary, related.start, limits) else {
        return None;
    };
    let mut seen = Vec::new();
    let mut rest = body;
    let mut i = 0;
    let result = 'outer: loop {
        if rest.is_empty() {
            break reader.finish();
        }
        let size = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut feed = reader.feed(chunk);
        loop {
            match feed.next_event() {
                Ok(None) => break,
                Ok(Some(Event::PartStart(s))) => {
                    seen.push(Seen::Start(s.index, s.is_root, s.headers))
                }
                Ok(Some(Event::PartData(d))) => {
                    assert!(!d.is_empty(), "empty PartData event");
                    match seen.last_mut() {
                        Some(Seen::Data(acc)) => acc.extend_from_slice(d),
                        _ => seen.push(Seen::Data(d.to_vec())),
                    }
                }
                Ok(Some(Event::PartEnd)) => seen.push(Seen::PartEnd),
                Ok(Some(Event::End)) => seen.push(Seen::End),
                Err(e) => break 'outer Err(e),
            }
        }
    };
    Some((seen, result))
}

/// Splits `data` into a Content-Type line and a body, reads the body in one chunk and in
/// chunks of sizes derived from the input, and checks both runs agree on every event, every
/// byte of part data and the final result.
pub fn check_mtom_chunking(data: &[u8]) {
    let Some(newline) = data.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(content_type) = std::str::from_utf8(&data[..newline]) else {
        return;
    };
    let body = &data[newline + 1..];
    let sizes: Vec<usize> = content_type
        .bytes()
        .chain(body.iter().take(16).copied())
        .map(|b| usize::from(b % 23) + 1)
        .collect();
    let sizes = if sizes.is_empty() { vec![1] } else { sizes };
    let content_type = content_type.trim();
    for limits in [MultipartLimits::default(), TIGHT] {
        let Some(whole) = run(content_type, body, &[usize::MAX], limits) else {
            return;
        };
        let chunked = run(content_type, body, &sizes, limits);
        assert_eq!(
            Some(&whole),
            chunked.as_ref(),
            "chunked read differs from whole read"
        );
        let single = run(content_type, body, &[1], limits);
        assert_eq!(
            Some(&whole),
            single.as_ref(),
            "byte-wise read differs from whole read"
        );
    }
}

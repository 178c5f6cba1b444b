//! Every sample message in `samples/` must be accepted by this crate: SOAP envelopes
//! (`**/*.xml` whose root is a SOAP envelope) parse, and MTOM messages (`NAME.multipart` with
//! `NAME.content-type`) read back, chunked or whole, with every `xop:Include` resolving to a
//! part. Files under `samples/invalid/` may fail (they break some rule, not necessarily ours).
//! Passes with no samples at all.

use std::path::{Path, PathBuf};

use quick_xml::events::Event as XmlEvent;
use quick_xml::name::{Namespace, ResolveResult};
use soap::{
    ContentId, ContentType, Envelope, EnvelopeOptions, Event, MultipartLimits, MultipartReader, ns,
    parse_envelope, resolve_xop_references,
};

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn is_invalid_sample(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "invalid")
}

/// Whether the document's root element is named `Envelope` (any namespace): those are the
/// files meant as SOAP messages.
fn looks_like_envelope(bytes: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(e) | XmlEvent::Empty(e)) => {
                return e.local_name().into_inner() == "Envelope";
            }
            Ok(XmlEvent::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// The `href` of every `xop:Include` in the body.
fn xop_hrefs(envelope: &Envelope<'_>) -> Vec<String> {
    let mut reader = envelope.body.ns_reader();
    let mut hrefs = Vec::new();
    loop {
        match reader.read_resolved_event().unwrap() {
            (ResolveResult::Bound(Namespace(ns::XOP)), XmlEvent::Start(e) | XmlEvent::Empty(e))
                if e.local_name().into_inner() == "Include" =>
            {
                let href = e.try_get_attribute("href").unwrap().expect("href");
                hrefs.push(href.value.into_owned());
            }
            (_, XmlEvent::Eof) => return hrefs,
            _ => {}
        }
    }
}

struct Part {
    is_root: bool,
    content_id: Option<ContentId>,
    data: Vec<u8>,
}

fn read_multipart(content_type: &str, body: &[u8], chunk: usize) -> Vec<Part> {
    let ContentType::Multipart(related) = ContentType::parse(content_type).unwrap() else {
        panic!("not multipart/related");
    };
    let mut reader =
        MultipartReader::new(&related.boundary, related.start, MultipartLimits::default()).unwrap();
    let mut parts: Vec<Part> = Vec::new();
    for piece in body.chunks(chunk) {
        let mut feed = reader.feed(piece);
        while let Some(event) = feed.next_event().unwrap() {
            match event {
                Event::PartStart(start) => parts.push(Part {
                    is_root: start.is_root,
                    content_id: start.headers.content_id,
                    data: Vec::new(),
                }),
                Event::PartData(data) => parts.last_mut().unwrap().data.extend_from_slice(data),
                Event::PartEnd | Event::End => {}
            }
        }
    }
    reader.finish().unwrap();
    parts
}

fn check_multipart(path: &Path) {
    let content_type_path = path.with_extension("content-type");
    let content_type = std::fs::read_to_string(&content_type_path)
        .unwrap_or_else(|e| panic!("{}: {e}", content_type_path.display()));
    let content_type = content_type.trim();
    let body = std::fs::read(path).unwrap();
    let parts = read_multipart(content_type, &body, body.len().max(1));
    for chunk in [1, 7, 4096] {
        let chunked = read_multipart(content_type, &body, chunk);
        assert_eq!(chunked.len(), parts.len());
        for (a, b) in chunked.iter().zip(&parts) {
            assert_eq!(a.data, b.data, "{} chunk size {chunk}", path.display());
        }
    }
    let root = parts.iter().find(|p| p.is_root).expect("root part");
    let envelope = parse_envelope(&root.data, &EnvelopeOptions::default())
        .unwrap_or_else(|e| panic!("{}: root part: {e}", path.display()));
    let attachments: Vec<ContentId> = parts
        .iter()
        .filter(|p| !p.is_root)
        .map(|p| p.content_id.clone().expect("attachment Content-ID"))
        .collect();
    let hrefs = xop_hrefs(&envelope);
    let resolution = resolve_xop_references(hrefs.iter().map(String::as_str), &attachments)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        resolution.unreferenced.is_empty(),
        "{}: unreferenced parts {:?}",
        path.display(),
        resolution.unreferenced
    );
}

#[test]
fn samples_parse() {
    let mut all = Vec::new();
    files(&samples_dir(), &mut all);
    all.sort();
    let mut checked = 0;
    for path in &all {
        let invalid = is_invalid_sample(path);
        match path.extension().and_then(|e| e.to_str()) {
            Some("xml") => {
                let bytes = std::fs::read(path).unwrap();
                if !looks_like_envelope(&bytes) {
                    continue;
                }
                let result = parse_envelope(&bytes, &EnvelopeOptions::default());
                if let Err(e) = &result
                    && !invalid
                {
                    panic!("{}: {e}", path.display());
                }
                if let Ok(envelope) = &result
                    && !invalid
                {
                    // Every override header in the samples must be well-formed.
                    envelope
                        .consent_override()
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                }
                checked += 1;
            }
            Some("multipart") => {
                if invalid {
                    let _ = std::panic::catch_unwind(|| check_multipart(path));
                } else {
                    check_multipart(path);
                }
                checked += 1;
            }
            _ => {}
        }
    }
    eprintln!("checked {checked} sample messages");
}

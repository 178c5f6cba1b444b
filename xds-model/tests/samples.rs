//! Every ebRS/XDS body in `samples/` parses, and parse → serialize → parse is the identity.
//!
//! Files are SOAP envelopes (the body's first element is taken, with the namespace
//! declarations in scope on the envelope and body copied onto it) or bare bodies. Other XML
//! (CDA documents, header examples, faults) is skipped. Under `samples/invalid/`, a file may
//! fail to parse only when its `NAME.expected.toml` says `parse_error = true`, and then it
//! must fail. With no sample files at all the test passes; with XML files present it must
//! have checked at least one body.

use std::path::{Path, PathBuf};

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use xds_model::message::parse_message;

const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            xml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

enum Body {
    /// The body element's bytes, namespace declarations of its ancestors added.
    Message(Vec<u8>),
    /// Not an ebRS body: a document, a header example, a fault.
    Skip,
    /// The file itself is not well-formed XML (or carries a DOCTYPE, which we never read).
    Unreadable(String),
}

fn ebxml(ns: &str) -> bool {
    ns.starts_with("urn:oasis:names:tc:ebxml-regrep:xsd:") || ns == "urn:ihe:iti:xds-b:2007"
}

/// Finds the message element: the root, or the first child of the SOAP Body.
fn extract(input: &[u8]) -> Body {
    let mut reader = NsReader::from_reader(input);
    let mut inherited: Vec<(String, String)> = Vec::new();
    let mut in_body = false;
    let mut depth = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_resolved_event() {
            Ok((ns, e)) => (
                match ns {
                    ResolveResult::Bound(n) => n.0.to_owned(),
                    _ => String::new(),
                },
                e.into_owned(),
            ),
            Err(e) => return Body::Unreadable(e.to_string()),
        };
        match event {
            (_, Event::DocType(_)) => return Body::Unreadable("DOCTYPE".into()),
            (ns, ev @ (Event::Start(_) | Event::Empty(_))) => {
                let empty = matches!(ev, Event::Empty(_));
                let (Event::Start(s) | Event::Empty(s)) = ev else {
                    unreachable!()
                };
                let local = s.local_name().as_ref().to_owned();
                let is_soap = ns == SOAP12 || ns == SOAP11;
                if depth == 0 && !is_soap {
                    return if ebxml(&ns) {
                        Body::Message(input.to_vec())
                    } else {
                        Body::Skip // neither a SOAP envelope nor an ebRS body
                    };
                }
                if in_body {
                    if !ebxml(&ns) {
                        return Body::Skip; // e.g. a SOAP Fault
                    }
                    // After read_to_end the reader stands just past the element's end tag.
                    let end = if empty {
                        reader.buffer_position() as usize
                    } else {
                        match reader.read_to_end(s.name()) {
                            Ok(_) => reader.buffer_position() as usize,
                            Err(e) => return Body::Unreadable(e.to_string()),
                        }
                    };
                    let element = &input[before..end];
                    return Body::Message(with_namespaces(element, &s, &inherited));
                }
                for a in s.attributes().flatten() {
                    let key = a.key.0;
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        inherited.push((key.to_owned(), a.value.to_string()));
                    }
                }
                if is_soap && local == "Body" {
                    in_body = true;
                }
                depth += 1;
            }
            (_, Event::End(_)) => {
                if in_body {
                    return Body::Skip; // empty SOAP body
                }
                depth = depth.saturating_sub(1);
            }
            (_, Event::Eof) => return Body::Skip,
            _ => {}
        }
    }
}

/// Copies the ancestors' namespace declarations onto the element's start tag (those it does
/// not redeclare itself), so the element reads the same on its own.
fn with_namespaces(
    element: &[u8],
    start: &quick_xml::events::BytesStart<'_>,
    inherited: &[(String, String)],
) -> Vec<u8> {
    let own: Vec<String> = start
        .attributes()
        .flatten()
        .map(|a| a.key.0.to_owned())
        .collect();
    let mut decls = String::new();
    for (k, v) in inherited.iter().rev() {
        if !own.contains(k) && !decls.contains(&format!(" {k}=")) {
            decls.push_str(&format!(" {k}=\"{v}\""));
        }
    }
    let name_len = 1 + start.name().0.len();
    let mut out = element[..name_len].to_vec();
    out.extend_from_slice(decls.as_bytes());
    out.extend_from_slice(&element[name_len..]);
    out
}

fn expects_parse_error(xml: &Path) -> bool {
    let toml = xml.with_extension("expected.toml");
    std::fs::read_to_string(toml)
        .is_ok_and(|t| t.lines().any(|l| l.replace(' ', "") == "parse_error=true"))
}

#[test]
fn samples_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let mut files = Vec::new();
    xml_files(&root, &mut files);
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let input = std::fs::read(path).unwrap();
        let must_fail = name.starts_with("invalid/") && expects_parse_error(path);
        let outcome = match extract(&input) {
            Body::Skip => continue,
            // Our parser must reject what the scan could not read: feed it the whole file.
            Body::Unreadable(why) => match parse_message(&input) {
                Err(e) => Err(format!("{why}; ours: {e}")),
                Ok(_) => Ok(()),
            }
            .and_then(|()| Err(format!("{why}, but our parser accepted the file"))),
            Body::Message(body) => match parse_message(&body) {
                Err(e) => Err(e.to_string()),
                Ok(m) => {
                    let xml = m.to_xml();
                    match parse_message(xml.as_bytes()) {
                        Ok(again) if again == m => Ok(()),
                        Ok(_) => {
                            failures.push(format!("{name}: round trip changed the message"));
                            Ok(())
                        }
                        Err(e) => {
                            failures.push(format!("{name}: our own output does not parse: {e}"));
                            Ok(())
                        }
                    }
                }
            },
        };
        checked += 1;
        match (outcome, must_fail) {
            (Ok(()), true) => failures.push(format!("{name}: expected a parse error, parsed")),
            (Err(e), false) => failures.push(format!("{name}: {e}")),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if !files.is_empty() {
        assert!(
            checked >= 1,
            "samples/ holds XML files but no ebRS body among them"
        );
    }
    eprintln!("checked {checked} of {} sample files", files.len());
}

//! The gate in front of the XML-DSig library: turns the exact bytes of a `wsse:Security`
//! header into one self-contained XML document, and rejects what must never reach a DOM.
//!
//! Invariants:
//! - Nothing larger than [`SECURITY_HEADER_BYTES_MAX`], deeper than [`XML_DEPTH_MAX`] or with
//!   more than [`XML_ELEMENTS_MAX`] elements is parsed into a tree.
//! - A DOCTYPE anywhere is [`Rejection::DoctypeForbidden`]; processing instructions, XML
//!   declarations and entity references other than the five predefined ones and character
//!   references are [`Rejection::Malformed`]. So the tree has no DTD-defined content at all.
//! - The header bytes are kept verbatim; the only change is that the ancestors' in-scope
//!   namespace declarations are added to the root start tag (those it does not itself
//!   declare), which is what a namespace-aware parser would have seen in the envelope.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::caller::{is_cpr, is_cvr};
use crate::error::Rejection;

/// Largest `wsse:Security` header accepted, in bytes. A DGWS header with an embedded
/// certificate is about 8 KiB; 64 KiB leaves room for long names and extra tokens while
/// keeping the work per rejected request small.
pub const SECURITY_HEADER_BYTES_MAX: usize = 64 * 1024;

/// Deepest element nesting accepted inside the header (the card needs 9:
/// Security/Assertion/Signature/SignedInfo/Reference/Transforms/Transform/InclusiveNamespaces).
pub const XML_DEPTH_MAX: usize = 24;

/// Most elements accepted in the header (a card has about 60).
pub const XML_ELEMENTS_MAX: usize = 512;

/// Longest value kept from an unverified card for the rejected-attempt record.
const CLAIMED_VALUE_CHARS_MAX: usize = 64;

/// Builds the document to verify: the header's bytes with the ancestors' namespace
/// declarations added to its root start tag, after checking size and encoding.
pub(crate) fn build_document(
    header: &[u8],
    in_scope_namespaces: &[(&str, &str)],
) -> Result<String, Rejection> {
    if header.len() > SECURITY_HEADER_BYTES_MAX {
        return Err(Rejection::HeaderTooLarge {
            limit_bytes: SECURITY_HEADER_BYTES_MAX,
        });
    }
    let text = std::str::from_utf8(header)
        .map_err(|_| Rejection::Malformed("the header is not UTF-8".into()))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(Rejection::HeaderMissing);
    }
    if starts_with_ignore_case(text, "<!DOCTYPE") {
        return Err(Rejection::DoctypeForbidden);
    }
    let bytes = text.as_bytes();
    let name_starts = bytes.first() == Some(&b'<')
        && bytes
            .get(1)
            .is_some_and(|&b| !matches!(b, b'?' | b'!' | b'/') && !b.is_ascii_whitespace());
    if !name_starts {
        return Err(Rejection::Malformed(
            "the header does not start with an element".into(),
        ));
    }
    let name_end = bytes
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        .ok_or_else(|| Rejection::Malformed("the root start tag is not closed".into()))?;

    let declared = root_declared_prefixes(text)?;
    // Later entries are nearer ancestors and win; keep the last declaration of each prefix.
    let mut extra: Vec<(&str, &str)> = Vec::new();
    for &(prefix, uri) in in_scope_namespaces {
        if prefix == "xml" || prefix == "xmlns" || declared.iter().any(|d| d == prefix) {
            continue;
        }
        if !prefix.is_empty() && !is_ncname(prefix) {
            return Err(Rejection::Malformed(
                "an in-scope namespace prefix is not a valid name".into(),
            ));
        }
        extra.retain(|(p, _)| *p != prefix);
        extra.push((prefix, uri));
    }

    let mut doc = String::with_capacity(text.len() + 128 * extra.len());
    doc.push_str(&text[..name_end]);
    for (prefix, uri) in extra {
        if prefix.is_empty() {
            doc.push_str(" xmlns=\"");
        } else {
            doc.push_str(" xmlns:");
            doc.push_str(prefix);
            doc.push_str("=\"");
        }
        push_attr_escaped(&mut doc, uri);
        doc.push('"');
    }
    doc.push_str(&text[name_end..]);
    Ok(doc)
}

/// A `wsse:Security` header as a self-contained element: its exact bytes with the namespace
/// declarations it inherits from the envelope added to its start tag, which is the document
/// [`crate::Verifier::verify`] checks. A service that passes a verified caller's card on (a
/// repository asking the registry on the caller's behalf) sends this, so the receiver verifies
/// the very bytes the first service verified.
pub fn standalone_security_header(
    header: &[u8],
    in_scope_namespaces: &[(&str, &str)],
) -> Result<String, Rejection> {
    build_document(header, in_scope_namespaces)
}

/// Wraps a bare card (`Authorization: SAML <base64>` of the JSON APIs) in a `wsse:Security`
/// element so it goes through exactly the same checks as a SOAP header.
pub(crate) fn wrap_bare_card(card: &[u8]) -> Result<Vec<u8>, Rejection> {
    if card.len() > SECURITY_HEADER_BYTES_MAX {
        return Err(Rejection::HeaderTooLarge {
            limit_bytes: SECURITY_HEADER_BYTES_MAX,
        });
    }
    let text = std::str::from_utf8(card)
        .map_err(|_| Rejection::Malformed("the card is not UTF-8".into()))?;
    let mut text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(Rejection::AssertionMissing);
    }
    // An XML declaration is allowed in front of a bare card (it is a whole document there).
    if text.starts_with("<?xml") {
        let end = text
            .find("?>")
            .ok_or_else(|| Rejection::Malformed("unterminated XML declaration".into()))?;
        text = text[end + 2..].trim_start();
    }
    let mut out = Vec::with_capacity(text.len() + 160);
    out.extend_from_slice(b"<wsse:Security xmlns:wsse=\"");
    out.extend_from_slice(crate::ns::WSSE.as_bytes());
    out.extend_from_slice(b"\">");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"</wsse:Security>");
    Ok(out)
}

/// The gate: one streaming pass that enforces the limits and refuses DTD-related and other
/// unexpected markup before any tree is built.
pub(crate) fn gate(doc: &str) -> Result<(), Rejection> {
    let mut reader = Reader::from_str(doc);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut root_closed = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            if matches!(
                e,
                quick_xml::Error::Syntax(quick_xml::errors::SyntaxError::UnclosedDoctype)
            ) {
                Rejection::DoctypeForbidden
            } else {
                Rejection::Malformed(format!(
                    "not well-formed near byte {}",
                    reader.error_position()
                ))
            }
        })?;
        match event {
            Event::Start(_) | Event::Empty(_) => {
                if root_closed {
                    return Err(Rejection::Malformed(
                        "content after the root element".into(),
                    ));
                }
                elements += 1;
                if elements > XML_ELEMENTS_MAX {
                    return Err(Rejection::Malformed(format!(
                        "more than {XML_ELEMENTS_MAX} elements"
                    )));
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > XML_DEPTH_MAX {
                        return Err(Rejection::Malformed(format!(
                            "nested deeper than {XML_DEPTH_MAX} elements"
                        )));
                    }
                } else if depth == 0 {
                    root_closed = true;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    root_closed = true;
                }
            }
            Event::Text(t) => {
                if (root_closed || depth == 0) && !t.chars().all(|c| c.is_ascii_whitespace()) {
                    return Err(Rejection::Malformed("text outside the root element".into()));
                }
            }
            Event::CData(_) | Event::Comment(_) => {}
            Event::GeneralRef(r) => {
                let predefined = matches!(&*r, "lt" | "gt" | "amp" | "apos" | "quot");
                if !(predefined || r.is_char_ref()) {
                    return Err(Rejection::Malformed(
                        "entity references are not allowed".into(),
                    ));
                }
            }
            Event::DocType(_) => return Err(Rejection::DoctypeForbidden),
            Event::PI(_) => {
                return Err(Rejection::Malformed(
                    "processing instructions are not allowed".into(),
                ));
            }
            Event::Decl(_) => {
                return Err(Rejection::Malformed(
                    "an XML declaration is not allowed inside the header".into(),
                ));
            }
            Event::Eof => break,
        }
    }
    if depth != 0 || !root_closed {
        return Err(Rejection::Malformed(
            "the root element is not closed".into(),
        ));
    }
    Ok(())
}

/// What an unverified card claims its subject is, for the rejected-attempt record.
///
/// Never use it for anything but recording: nothing about it was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedSubject {
    /// A CPR number (user cards).
    Cpr(String),
    /// A CVR number (system cards).
    Cvr(String),
}

/// Best effort: the CPR or CVR the card in a `wsse:Security` header (or a bare card) claims in
/// its `saml:NameID` or `medcom:UserCivilRegistrationNumber`, if it can be read within the
/// same limits as verification. `None` if there is no readable, well-formed claim.
pub fn claimed_subject(header: &[u8]) -> Option<ClaimedSubject> {
    if header.len() > SECURITY_HEADER_BYTES_MAX {
        return None;
    }
    let text = std::str::from_utf8(header).ok()?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut elements = 0usize;
    // What the current text belongs to: NameID (with its format) or the CPR attribute value.
    let mut in_name_id: Option<Option<String>> = None;
    let mut in_cpr_attribute = false;
    let mut in_attribute_value = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                elements += 1;
                if depth > XML_DEPTH_MAX || elements > XML_ELEMENTS_MAX {
                    return None;
                }
                match e.local_name().as_ref() {
                    "NameID" => {
                        let format = e.try_get_attribute("Format").ok().flatten().and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .ok()
                                .map(|v| v.into_owned())
                        });
                        in_name_id = Some(format);
                    }
                    "Attribute" => {
                        in_cpr_attribute = e
                            .try_get_attribute("Name")
                            .ok()
                            .flatten()
                            .is_some_and(|a| &*a.value == crate::ns::card::USER_CPR);
                    }
                    "AttributeValue" => in_attribute_value = true,
                    _ => {}
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                match e.local_name().as_ref() {
                    "NameID" => in_name_id = None,
                    "Attribute" => in_cpr_attribute = false,
                    "AttributeValue" => in_attribute_value = false,
                    _ => {}
                }
            }
            Event::Text(t) => {
                let value = t.xml_content(quick_xml::XmlVersion::Implicit1_0);
                let value = value.trim();
                if value.is_empty() || value.chars().count() > CLAIMED_VALUE_CHARS_MAX {
                    continue;
                }
                if let Some(format) = &in_name_id {
                    let is_cvr_format = format.as_deref() == Some(crate::ns::card::FORMAT_CVR);
                    if is_cvr_format && is_cvr(value) {
                        return Some(ClaimedSubject::Cvr(value.to_owned()));
                    }
                    if !is_cvr_format && is_cpr(value) {
                        return Some(ClaimedSubject::Cpr(value.to_owned()));
                    }
                } else if in_cpr_attribute && in_attribute_value && is_cpr(value) {
                    return Some(ClaimedSubject::Cpr(value.to_owned()));
                }
            }
            Event::DocType(_) | Event::Eof => return None,
            _ => {}
        }
    }
}

/// The prefixes the root start tag declares itself (`""` for a default namespace).
fn root_declared_prefixes(text: &str) -> Result<Vec<String>, Rejection> {
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let mut prefixes = Vec::new();
                for attr in e.attributes() {
                    let attr = attr.map_err(|_| {
                        Rejection::Malformed("the root start tag has a malformed attribute".into())
                    })?;
                    let key = attr.key.as_ref();
                    if key == "xmlns" {
                        prefixes.push(String::new());
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        prefixes.push(p.to_owned());
                    }
                }
                return Ok(prefixes);
            }
            Ok(Event::DocType(_)) => return Err(Rejection::DoctypeForbidden),
            Ok(Event::Eof) | Err(_) => {
                return Err(Rejection::Malformed(
                    "the root start tag is malformed".into(),
                ));
            }
            Ok(_) => {}
        }
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// A conservative NCName check: ASCII letters, digits, `-`, `_`, `.`; not starting with a
/// digit, `-` or `.`.
fn is_ncname(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub(crate) fn push_attr_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

pub(crate) fn push_text_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

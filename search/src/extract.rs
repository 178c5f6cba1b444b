//! The searchable text of a document's bytes: the narrative blocks of a CDA document, the text
//! nodes of other XML, plain text as it is. Everything else (PDF, images) gives no text; its
//! metadata is still indexed.
//!
//! Invariant: never fails and never panics on any input; bytes it cannot read give no text
//! (or the text read up to the problem). The output is at most [`TEXT_BYTES_MAX`] bytes.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Most text kept from one document: a long discharge letter is well under it; the rest of a
/// huge document would mostly cost index space.
pub const TEXT_BYTES_MAX: usize = 256 * 1024;

/// The HL7 v3 namespace of CDA documents.
const HL7_V3: &str = "urn:hl7-org:v3";

/// The text of a document with this mime type, if it has any we can read.
pub fn document_text(mime_type: &str, bytes: &[u8]) -> Option<String> {
    let mime = mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let text = match mime.as_str() {
        "text/plain" => String::from_utf8_lossy(bytes).into_owned(),
        "text/xml" | "application/xml" | "application/hl7-v3+xml" => xml_text(bytes),
        m if m.ends_with("+xml") => xml_text(bytes),
        _ => return None,
    };
    // Layout whitespace means nothing to a search and would only fill snippets.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = truncate(&text, TEXT_BYTES_MAX);
    (!text.is_empty()).then(|| text.to_owned())
}

/// The text of an XML document: of a CDA document (root `ClinicalDocument` in the HL7 v3
/// namespace) the section titles and narrative blocks (`<text>`), which is what a reader of
/// the document sees; of any other XML every text node.
fn xml_text(bytes: &[u8]) -> String {
    let mut reader = Reader::from_reader(bytes);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = false;
    let mut out = String::new();
    // None until the root is seen; then whether it is a CDA document.
    let mut cda: Option<bool> = None;
    // How many open elements make the current text part of what a CDA reader sees.
    let mut narrative_depth = 0usize;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let event = match reader.read_event_into(&mut buffer) {
            Ok(event) => event,
            Err(_) => break,
        };
        match event {
            Event::Start(start) => {
                let name = start.local_name();
                let local: &str = name.into_inner();
                if cda.is_none() {
                    cda = Some(local == "ClinicalDocument" && declares_hl7(&start));
                }
                if narrative_depth > 0 {
                    narrative_depth += 1;
                } else if matches!(local, "text" | "title") && cda == Some(true) {
                    narrative_depth = 1;
                }
                separate(&mut out);
            }
            Event::End(_) => {
                narrative_depth = narrative_depth.saturating_sub(1);
                separate(&mut out);
            }
            Event::Empty(_) => separate(&mut out),
            Event::Text(text) if keeps(cda, narrative_depth) => {
                out.push_str(&text.xml10_content());
            }
            Event::CData(text) if keeps(cda, narrative_depth) => {
                out.push_str(&text.xml10_content());
            }
            Event::GeneralRef(r) if keeps(cda, narrative_depth) => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                _ => {
                    if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r) {
                        out.push_str(s);
                    }
                }
            },
            Event::Eof => break,
            _ => {}
        }
        if out.len() > TEXT_BYTES_MAX {
            break;
        }
    }
    out
}

fn keeps(cda: Option<bool>, narrative_depth: usize) -> bool {
    cda != Some(true) || narrative_depth > 0
}

fn declares_hl7(start: &quick_xml::events::BytesStart<'_>) -> bool {
    start
        .attributes()
        .flatten()
        .any(|a| a.key.0 == "xmlns" && &*a.value == HL7_V3)
}

/// Element boundaries separate words (`<td>a</td><td>b</td>` is "a b", not "ab").
fn separate(out: &mut String) {
    if !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cda_document_gives_its_titles_and_narrative_only() {
        let cda = r#"<?xml version="1.0"?>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Ambulant besøg</title>
<recordTarget><patientRole><patient><name><given>Jens</given></name></patient></patientRole></recordTarget>
<component><structuredBody><component><section><title>Konklusion</title>
<text><paragraph>Hjertet er <content>normalt</content> &amp; rask.</paragraph><table><tr><td>a</td><td>b</td></tr></table></text>
</section></component></structuredBody></component></ClinicalDocument>"#;
        let text = document_text("text/xml", cda.as_bytes()).unwrap();
        assert!(text.contains("Ambulant besøg"), "{text}");
        assert!(text.contains("Hjertet er normalt & rask."), "{text}");
        assert!(text.contains("a b"), "{text}");
        assert!(
            !text.contains("Jens"),
            "patient data outside the narrative: {text}"
        );
    }

    #[test]
    fn other_xml_and_plain_text_give_all_their_text() {
        assert_eq!(
            document_text("application/xml", b"<a><b>en</b><c>to</c></a>").as_deref(),
            Some("en to")
        );
        assert_eq!(
            document_text("text/plain; charset=utf-8", "  Kære læge \n".as_bytes()).as_deref(),
            Some("Kære læge")
        );
        assert_eq!(document_text("application/pdf", b"%PDF-1.7"), None);
        assert_eq!(document_text("text/plain", b"   "), None);
    }

    #[test]
    fn broken_or_hostile_xml_gives_what_was_read_without_failing() {
        assert_eq!(
            document_text("text/xml", b"<a>ok</b"),
            Some("ok".to_owned())
        );
        let entity = br#"<!DOCTYPE a [<!ENTITY x "boom">]><a>&x; fin</a>"#;
        let text = document_text("text/xml", entity).unwrap_or_default();
        assert!(!text.contains("boom"), "{text}");
        let long = "å".repeat(TEXT_BYTES_MAX);
        let text = document_text("text/plain", long.as_bytes()).unwrap();
        assert!(text.len() <= TEXT_BYTES_MAX && text.chars().all(|c| c == 'å'));
    }
}

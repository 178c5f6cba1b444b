//! Reading what another service answered: a SOAP 1.2 fault in a response body, and the text of
//! a simple element (a header block that carries one value).
//!
//! Job: the client side of [`crate::writer`]. A service that calls another one (a repository
//! registering with its registry, a forwarded retrieval) gets either the response body it
//! expects or a `soap:Fault`, whose code says whose fault it was and whose reason goes to the
//! log.
//!
//! Invariant: like the rest of the crate, bytes in and typed values out; text is unescaped
//! (character and predefined entity references), nothing is fetched or expanded.

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

use crate::envelope::ElementSlice;
use crate::ns;

/// A SOAP 1.2 fault as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFault {
    /// The local name of `soap:Code/soap:Value` (`Sender`, `Receiver`, …); empty if missing.
    pub code: String,
    /// The first `soap:Reason/soap:Text`; empty if missing.
    pub reason: String,
}

impl ReceivedFault {
    /// Whether the sender (we) was at fault: the request was refused before anything was done.
    pub fn is_sender(&self) -> bool {
        self.code == "Sender"
    }
}

/// Why an element's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed element at byte {offset}: {message}")]
pub struct TextError {
    pub offset: usize,
    pub message: String,
}

/// The fault in a response body, if the body is a `soap:Fault`; `Ok(None)` for any other body.
pub fn fault(body: &ElementSlice<'_>) -> Result<Option<ReceivedFault>, TextError> {
    if body.namespace != ns::SOAP12 || body.local_name != "Fault" {
        return Ok(None);
    }
    let base = body.range.start;
    let mut reader = body.ns_reader();
    // Local names of the open elements below the fault, outermost first (empty for an
    // element outside the SOAP namespace).
    let mut path: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut code = String::new();
    // One per `soap:Text`; the first is the reason (the others say it in other languages).
    let mut texts: Vec<String> = Vec::new();
    loop {
        let offset = base + reader.buffer_position() as usize;
        let (resolved, event) = reader.read_resolved_event().map_err(|e| TextError {
            offset,
            message: e.to_string(),
        })?;
        let in_soap = matches!(resolved, ResolveResult::Bound(Namespace(n)) if n == ns::SOAP12);
        match &event {
            Event::Start(start) => {
                depth += 1;
                if depth > 1 {
                    let name = start.local_name().into_inner();
                    path.push(if in_soap {
                        name.to_owned()
                    } else {
                        String::new()
                    });
                    if is_path(&path, "Reason", "Text") {
                        texts.push(String::new());
                    }
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                path.pop();
            }
            Event::Eof => break,
            other => {
                if let Some(text) = text_of(other, offset)? {
                    if is_path(&path, "Code", "Value") {
                        code.push_str(&text);
                    } else if is_path(&path, "Reason", "Text")
                        && let Some(last) = texts.last_mut()
                    {
                        last.push_str(&text);
                    }
                }
            }
        }
    }
    Ok(Some(ReceivedFault {
        code: code
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        reason: texts
            .first()
            .map(|t| t.trim().to_owned())
            .unwrap_or_default(),
    }))
}

fn is_path(path: &[String], parent: &str, child: &str) -> bool {
    matches!(path, [p, c] if p == parent && c == child)
}

/// The character data directly inside `element` (child elements are refused: a value header
/// carries text only), unescaped.
pub fn element_text(element: &ElementSlice<'_>) -> Result<String, TextError> {
    let base = element.range.start;
    let mut reader = element.ns_reader();
    let mut depth = 0usize;
    let mut text = String::new();
    loop {
        let offset = base + reader.buffer_position() as usize;
        let (_, event) = reader.read_resolved_event().map_err(|e| TextError {
            offset,
            message: e.to_string(),
        })?;
        match &event {
            Event::Start(_) | Event::Empty(_) if depth >= 1 => {
                return Err(TextError {
                    offset,
                    message: format!("{} carries text only, not elements", element.local_name),
                });
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => return Ok(text),
            other => {
                if let Some(t) = text_of(other, offset)? {
                    text.push_str(&t);
                }
            }
        }
    }
}

/// Text of one event, if it is character data.
fn text_of(event: &Event<'_>, offset: usize) -> Result<Option<String>, TextError> {
    let error = |message: String| TextError { offset, message };
    Ok(match event {
        Event::Text(t) => Some(t.xml10_content().into_owned()),
        Event::CData(c) => Some(c.xml10_content().into_owned()),
        Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| error(e.to_string()))? {
            Some(c) => Some(c.to_string()),
            None => Some(
                quick_xml::escape::resolve_predefined_entity(r)
                    .ok_or_else(|| error(format!("undefined entity &{};", &**r)))?
                    .to_string(),
            ),
        },
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::{
        Fault, FaultCode, RequestHeaders, ResponseHeaders, Subcode, write_fault,
        write_request_envelope,
    };
    use crate::{EnvelopeOptions, parse_envelope};

    fn headers() -> ResponseHeaders<'static> {
        ResponseHeaders {
            action: "ignored",
            message_id: "urn:uuid:1",
            relates_to: Some("urn:uuid:0"),
        }
    }

    #[test]
    fn a_written_fault_reads_back() {
        let mut fault_value = Fault::new(FaultCode::Sender, "The card is <expired> & gone.");
        fault_value.subcode = Some(Subcode::WSSE_INVALID_SECURITY);
        let bytes = write_fault(&fault_value, &headers()).unwrap();
        let envelope = parse_envelope(&bytes, &EnvelopeOptions::default()).unwrap();
        let received = fault(&envelope.body).unwrap().unwrap();
        assert_eq!(received.code, "Sender");
        assert!(received.is_sender());
        assert_eq!(received.reason, "The card is <expired> & gone.");

        let receiver =
            write_fault(&Fault::new(FaultCode::Receiver, "internal"), &headers()).unwrap();
        let envelope = parse_envelope(&receiver, &EnvelopeOptions::default()).unwrap();
        let received = fault(&envelope.body).unwrap().unwrap();
        assert!(!received.is_sender());
        assert_eq!(received.reason, "internal");
    }

    #[test]
    fn a_request_envelope_round_trips_with_its_header_blocks() {
        let value = br#"<dds:Value xmlns:dds="urn:dds:2026">a&amp;b &#x41;</dds:Value>"#;
        let bytes = write_request_envelope(
            &RequestHeaders {
                action: "urn:ihe:iti:2007:RetrieveDocumentSet",
                message_id: "urn:uuid:2",
                to: "http://repository.example/xds/repository?a=1&b=2",
            },
            &[value],
            b"<x:Body xmlns:x=\"urn:x\"/>",
        );
        let envelope = parse_envelope(&bytes, &EnvelopeOptions::default()).unwrap();
        assert_eq!(
            envelope.addressing.action.as_deref(),
            Some("urn:ihe:iti:2007:RetrieveDocumentSet")
        );
        assert_eq!(
            envelope.addressing.to.as_deref(),
            Some("http://repository.example/xds/repository?a=1&b=2")
        );
        let header = envelope
            .headers_named("urn:dds:2026", "Value")
            .next()
            .unwrap();
        assert_eq!(element_text(&header.element).unwrap(), "a&b A");
        assert_eq!(fault(&envelope.body).unwrap(), None);
    }

    #[test]
    fn element_text_refuses_child_elements() {
        let bytes = write_request_envelope(
            &RequestHeaders {
                action: "a",
                message_id: "m",
                to: "http://x",
            },
            &[br#"<dds:Value xmlns:dds="urn:dds:2026"><dds:Inner/></dds:Value>"#],
            b"<x:Body xmlns:x=\"urn:x\"/>",
        );
        let envelope = parse_envelope(&bytes, &EnvelopeOptions::default()).unwrap();
        let header = envelope
            .headers_named("urn:dds:2026", "Value")
            .next()
            .unwrap();
        assert!(element_text(&header.element).is_err());
    }
}

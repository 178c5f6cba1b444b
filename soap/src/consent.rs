//! The consent override a health professional sends in an acute situation (INTERFACE.md
//! "Consent override"), from either of two headers:
//!
//! - `<dds:ConsentOverride xmlns:dds="urn:dds:2026"><dds:Reason>…</dds:Reason>` — ours; the
//!   reason is the trimmed text of the one `dds:Reason` child and must not be empty.
//! - `hsuid:HsuidHeader` (DK-PROFILE.md §3) — what Danish clients already send: an
//!   `Attribute` with `Name="nsi:ConsentOverride"` whose `AttributeValue` is `true`. It carries
//!   no reason, so the reason recorded is [`HSUID_OVERRIDE_REASON`]. `false` means no override.
//!   `Attribute` and `AttributeValue` are matched by local name anywhere under the header (the
//!   SAML namespace prefix varies between clients, as the reference clients' XPath shows).
//!
//! When both are present, `dds:ConsentOverride` wins (it carries the professional's reason);
//! both are still validated, so a malformed one is never silently ignored.
//!
//! Invariant: reads only the exact header slices the envelope parser produced, with the
//! namespaces in scope there; the slices were already checked against every limit.

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

use crate::envelope::{ElementSlice, Envelope};
use crate::ns;

/// The reason recorded for an override that came from `hsuid:HsuidHeader`, which has no
/// reason field.
pub const HSUID_OVERRIDE_REASON: &str = "hsuid:HsuidHeader nsi:ConsentOverride=true";

/// The `Name` of the HSUID attribute that requests an override.
pub const HSUID_CONSENT_OVERRIDE_ATTRIBUTE: &str = "nsi:ConsentOverride";

/// Which header requested the override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideSource {
    DdsConsentOverride,
    HsuidHeader,
}

/// A validated consent override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentOverride {
    /// Non-empty, whitespace-trimmed.
    pub reason: String,
    pub source: OverrideSource,
}

/// Why an override header was refused (all answered as `soap:Sender` faults). Offsets are
/// byte offsets into the whole envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentOverrideError {
    #[error("second {header} header at byte {offset}")]
    DuplicateHeader { header: &'static str, offset: usize },
    #[error("dds:ConsentOverride at byte {offset} has no dds:Reason")]
    MissingReason { offset: usize },
    #[error("dds:ConsentOverride at byte {offset} has more than one dds:Reason")]
    DuplicateReason { offset: usize },
    #[error("dds:Reason at byte {offset} is empty")]
    EmptyReason { offset: usize },
    #[error("nsi:ConsentOverride attribute at byte {offset} appears more than once")]
    DuplicateHsuidAttribute { offset: usize },
    #[error("nsi:ConsentOverride attribute at byte {offset} has no single AttributeValue")]
    MissingHsuidValue { offset: usize },
    #[error("nsi:ConsentOverride value `{value}` at byte {offset} is neither true nor false")]
    InvalidHsuidValue { offset: usize, value: String },
    #[error("malformed override header at byte {offset}: {message}")]
    Xml { offset: usize, message: String },
}

impl Envelope<'_> {
    /// The consent override requested by this message, if any; see the module docs.
    pub fn consent_override(&self) -> Result<Option<ConsentOverride>, ConsentOverrideError> {
        let dds = single(
            self.headers_named(ns::DDS, "ConsentOverride"),
            "dds:ConsentOverride",
        )?
        .map(|h| dds_override(&h.element))
        .transpose()?;
        let hsuid = single(
            self.headers_named(ns::HSUID, "HsuidHeader"),
            "hsuid:HsuidHeader",
        )?
        .map(|h| hsuid_override(&h.element))
        .transpose()?
        .flatten();
        Ok(dds.or(hsuid))
    }
}

fn single<'h, 'a: 'h>(
    mut headers: impl Iterator<Item = &'h crate::HeaderBlock<'a>>,
    header: &'static str,
) -> Result<Option<&'h crate::HeaderBlock<'a>>, ConsentOverrideError> {
    let first = headers.next();
    if let Some(second) = headers.next() {
        return Err(ConsentOverrideError::DuplicateHeader {
            header,
            offset: second.element.range.start,
        });
    }
    Ok(first)
}

/// Text of one event, if it is character data.
fn text_of(event: &Event<'_>, offset: usize) -> Result<Option<String>, ConsentOverrideError> {
    let xml_error = |message: String| ConsentOverrideError::Xml { offset, message };
    Ok(match event {
        Event::Text(t) => Some(t.xml10_content().into_owned()),
        Event::CData(c) => Some(c.xml10_content().into_owned()),
        Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| xml_error(e.to_string()))? {
            Some(c) => Some(c.to_string()),
            None => Some(
                quick_xml::escape::resolve_predefined_entity(r)
                    .ok_or_else(|| xml_error(format!("undefined entity &{};", &**r)))?
                    .to_string(),
            ),
        },
        _ => None,
    })
}

fn dds_override(element: &ElementSlice<'_>) -> Result<ConsentOverride, ConsentOverrideError> {
    let base = element.range.start;
    let mut reader = element.ns_reader();
    let mut depth = 0usize;
    let mut reason: Option<(usize, String)> = None;
    let mut in_reason = false;
    loop {
        let offset = base + reader.buffer_position() as usize;
        let (resolved, event) =
            reader
                .read_resolved_event()
                .map_err(|e| ConsentOverrideError::Xml {
                    offset,
                    message: e.to_string(),
                })?;
        let is_reason = matches!(resolved, ResolveResult::Bound(Namespace(ns::DDS)))
            && matches!(&event, Event::Start(s) | Event::Empty(s) if s.local_name().into_inner() == "Reason");
        match &event {
            Event::Start(_) | Event::Empty(_) => {
                if depth == 1 && is_reason {
                    if reason.is_some() {
                        return Err(ConsentOverrideError::DuplicateReason { offset: base });
                    }
                    reason = Some((offset, String::new()));
                    in_reason = matches!(event, Event::Start(_));
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_reason = false;
                }
            }
            Event::Eof => break,
            _ => {
                if in_reason
                    && depth == 2
                    && let Some(text) = text_of(&event, offset)?
                    && let Some((_, reason)) = &mut reason
                {
                    reason.push_str(&text);
                }
            }
        }
    }
    let (offset, reason) = reason.ok_or(ConsentOverrideError::MissingReason { offset: base })?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ConsentOverrideError::EmptyReason { offset });
    }
    Ok(ConsentOverride {
        reason: reason.to_string(),
        source: OverrideSource::DdsConsentOverride,
    })
}

fn hsuid_override(
    element: &ElementSlice<'_>,
) -> Result<Option<ConsentOverride>, ConsentOverrideError> {
    let base = element.range.start;
    let mut reader = element.ns_reader();
    let mut depth = 0usize;
    // Depth of the open nsi:ConsentOverride Attribute, and of an open AttributeValue in it.
    let mut attribute_depth: Option<usize> = None;
    let mut value_depth: Option<usize> = None;
    let mut found: Option<(usize, Vec<String>)> = None;
    loop {
        let offset = base + reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| ConsentOverrideError::Xml {
            offset,
            message: e.to_string(),
        })?;
        match &event {
            Event::Start(s) | Event::Empty(s) => {
                let empty = matches!(event, Event::Empty(_));
                let local = s.local_name().into_inner();
                if local == "Attribute" && attribute_depth.is_none() {
                    let name =
                        s.try_get_attribute("Name")
                            .map_err(|e| ConsentOverrideError::Xml {
                                offset,
                                message: e.to_string(),
                            })?;
                    if name.is_some_and(|n| n.value == HSUID_CONSENT_OVERRIDE_ATTRIBUTE) {
                        if found.is_some() {
                            return Err(ConsentOverrideError::DuplicateHsuidAttribute { offset });
                        }
                        found = Some((offset, Vec::new()));
                        if !empty {
                            attribute_depth = Some(depth + 1);
                        }
                    }
                } else if local == "AttributeValue"
                    && attribute_depth == Some(depth)
                    && let Some((_, values)) = &mut found
                {
                    values.push(String::new());
                    if !empty {
                        value_depth = Some(depth + 1);
                    }
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(_) => {
                if value_depth == Some(depth) {
                    value_depth = None;
                }
                if attribute_depth == Some(depth) {
                    attribute_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {
                if value_depth == Some(depth)
                    && let Some(text) = text_of(&event, offset)?
                    && let Some((_, values)) = &mut found
                    && let Some(value) = values.last_mut()
                {
                    value.push_str(&text);
                }
            }
        }
    }
    let Some((offset, values)) = found else {
        return Ok(None);
    };
    let [value] = values.as_slice() else {
        return Err(ConsentOverrideError::MissingHsuidValue { offset });
    };
    match value.trim() {
        "true" | "1" => Ok(Some(ConsentOverride {
            reason: HSUID_OVERRIDE_REASON.to_string(),
            source: OverrideSource::HsuidHeader,
        })),
        "false" | "0" => Ok(None),
        other => Err(ConsentOverrideError::InvalidHsuidValue {
            offset,
            value: other.to_string(),
        }),
    }
}

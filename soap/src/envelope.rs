//! SOAP 1.2 envelope parser (Part 1 §5) with WS-Addressing 1.0 headers.
//!
//! Job: read the envelope once, over the request bytes, and hand back an [`Envelope`] that
//! borrows from them: the WS-Addressing headers decoded, the `wsse:Security` header as its
//! exact bytes (for XML-signature verification), every header block with its namespace, local
//! name and `mustUnderstand` flag, and the single child of `soap:Body` as its exact bytes.
//! Because a slice may use prefixes declared on an ancestor (typically `soap:Envelope`), each
//! slice comes with the namespace bindings in scope at it; [`ElementSlice::ns_reader`] gives a
//! reader over the slice that already knows them.
//!
//! Invariants:
//! - Every slice is `&input[range]`, a sub-slice of the input, and is one whole element.
//! - Limits ([`EnvelopeLimits`]) are enforced while reading; any DOCTYPE or processing
//!   instruction is refused, no entity other than the five predefined ones and character
//!   references is accepted, so nothing is ever expanded or fetched.
//! - Only UTF-8 is read (SOAP 1.2 HTTP binding; the DK profile sends UTF-8).
//! - A SOAP 1.1 (or any other) root element is an error classified `VersionMismatch`; a header
//!   with `mustUnderstand="true"` targeted at us, in a namespace the caller did not list as
//!   understood, is an error classified `MustUnderstand`; every other error is `Sender`.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, PrefixDeclaration, ResolveResult};

use crate::limits::EnvelopeLimits;
use crate::writer::FaultCode;
use crate::{UNDERSTOOD_NAMESPACES, ns, role};

/// Why an envelope was refused. Offsets are byte offsets into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    #[error("envelope of {bytes} bytes exceeds the limit of {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
    #[error("envelope is not UTF-8 (invalid byte at {offset})")]
    NotUtf8 { offset: usize },
    #[error("XML declaration names encoding `{encoding}`; only UTF-8 is accepted")]
    UnsupportedEncoding { encoding: String },
    #[error("malformed XML at byte {offset}: {message}")]
    Xml { offset: usize, message: String },
    #[error("DOCTYPE at byte {offset} is not allowed in a SOAP message")]
    Doctype { offset: usize },
    #[error("processing instruction at byte {offset} is not allowed in a SOAP message")]
    ProcessingInstruction { offset: usize },
    #[error("undefined entity `&{name};` at byte {offset}")]
    UndefinedEntity { offset: usize, name: String },
    #[error("element `{name}` at byte {offset} uses an undeclared namespace prefix `{prefix}`")]
    UnboundPrefix {
        offset: usize,
        name: String,
        prefix: String,
    },
    #[error(
        "the root element at byte {offset} is a SOAP 1.1 envelope; this service speaks SOAP 1.2"
    )]
    Soap11Envelope { offset: usize },
    #[error(
        "the root element at byte {offset} is `{local_name}` in namespace `{namespace}`, not the SOAP 1.2 Envelope"
    )]
    NotAnEnvelope {
        offset: usize,
        namespace: String,
        local_name: String,
    },
    #[error("no root element")]
    NoEnvelope,
    #[error("unexpected element `{name}` at byte {offset} inside `{parent}`")]
    UnexpectedElement {
        offset: usize,
        name: String,
        parent: &'static str,
    },
    #[error("unexpected text at byte {offset} (only whitespace is allowed there)")]
    UnexpectedText { offset: usize },
    #[error("the envelope ending at byte {offset} has no soap:Body")]
    MissingBody { offset: usize },
    #[error("soap:Body at byte {offset} has no child element")]
    EmptyBody { offset: usize },
    #[error("soap:Body has a second child element at byte {offset}; exactly one is required")]
    MultipleBodyChildren { offset: usize },
    #[error("element at byte {offset} is nested deeper than {limit} levels")]
    DepthExceeded { offset: usize, limit: usize },
    #[error("element at byte {offset} has more than {limit} attributes")]
    TooManyAttributes { offset: usize, limit: usize },
    #[error("more than {limit} elements (at byte {offset})")]
    TooManyElements { offset: usize, limit: usize },
    #[error("text or attribute value at byte {offset} exceeds {limit} bytes")]
    TextTooLarge { offset: usize, limit: usize },
    #[error("header block `{name}` at byte {offset} has no namespace (SOAP 1.2 Part 1 §5.2.1)")]
    UnqualifiedHeader { offset: usize, name: String },
    #[error("more than {limit} header blocks (at byte {offset})")]
    TooManyHeaders { offset: usize, limit: usize },
    #[error("soap:mustUnderstand at byte {offset} has value `{value}`, not true/false/1/0")]
    InvalidMustUnderstand { offset: usize, value: String },
    #[error("second wsse:Security header at byte {offset}; at most one is accepted")]
    DuplicateSecurityHeader { offset: usize },
    #[error("second wsa:{name} header at byte {offset}")]
    DuplicateAddressingHeader { offset: usize, name: &'static str },
    #[error("the input ended at byte {offset} inside an element")]
    UnexpectedEof { offset: usize },
    #[error("mandatory header(s) not understood: {}", format_qnames(.headers))]
    NotUnderstood {
        /// `(namespace, local name)` of each header not understood, for `soap:NotUnderstood`.
        headers: Vec<(String, String)>,
    },
}

fn format_qnames(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(ns, local)| format!("{{{ns}}}{local}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl EnvelopeError {
    /// The SOAP fault code this error is answered with.
    pub fn fault_code(&self) -> FaultCode {
        match self {
            EnvelopeError::Soap11Envelope { .. } | EnvelopeError::NotAnEnvelope { .. } => {
                FaultCode::VersionMismatch
            }
            EnvelopeError::NotUnderstood { .. } => FaultCode::MustUnderstand,
            _ => FaultCode::Sender,
        }
    }
}

/// Options of [`parse_envelope`].
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeOptions<'o> {
    pub limits: EnvelopeLimits,
    /// Header namespaces the server processes; a `mustUnderstand` header in any other
    /// namespace fails the parse with [`EnvelopeError::NotUnderstood`].
    pub understood_namespaces: &'o [&'o str],
}

impl Default for EnvelopeOptions<'static> {
    fn default() -> Self {
        EnvelopeOptions {
            limits: EnvelopeLimits::default(),
            understood_namespaces: UNDERSTOOD_NAMESPACES,
        }
    }
}

/// A namespace binding in scope at an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceBinding {
    /// `None` for the default namespace.
    pub prefix: Option<String>,
    pub uri: String,
}

/// One element of the input, exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementSlice<'a> {
    /// Resolved namespace URI (empty if none).
    pub namespace: String,
    pub local_name: String,
    /// Byte range of the element (start tag to end tag) in the input.
    pub range: Range<usize>,
    /// `&input[range]`.
    pub xml: &'a str,
    /// Bindings in scope at the element (declared on it or on an ancestor; the innermost
    /// declaration of a prefix wins), without the built-in `xml` prefix. Exclusive c14n of the
    /// slice needs the ones it visibly uses.
    pub namespaces: Vec<NamespaceBinding>,
}

impl<'a> ElementSlice<'a> {
    /// The exact bytes of the element.
    pub fn bytes(&self) -> &'a [u8] {
        self.xml.as_bytes()
    }

    /// A quick-xml reader over the slice that resolves prefixes declared on ancestors.
    /// Positions it reports are relative to the slice (add `range.start`).
    pub fn ns_reader(&self) -> NsReader<&'a [u8]> {
        let mut reader = NsReader::from_str(self.xml);
        for binding in &self.namespaces {
            let prefix = match &binding.prefix {
                Some(p) => PrefixDeclaration::Named(p),
                None => PrefixDeclaration::Default,
            };
            // The bindings came from a resolver that accepted them, so adding them again
            // cannot fail; ignoring the impossible error keeps this infallible.
            let _ = reader
                .resolver_mut()
                .add(prefix, Namespace(binding.uri.as_str()));
        }
        reader
    }
}

/// A header block (a child of `soap:Header`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBlock<'a> {
    pub element: ElementSlice<'a>,
    /// `soap:mustUnderstand` is `true` or `1`.
    pub must_understand: bool,
    /// `soap:role`, if present.
    pub role: Option<String>,
}

impl HeaderBlock<'_> {
    /// Whether this block is targeted at us (SOAP 1.2 Part 1 §2.2): no role, `next` or
    /// `ultimateReceiver`. We play no other role.
    pub fn targets_us(&self) -> bool {
        match self.role.as_deref() {
            None | Some(role::NEXT) | Some(role::ULTIMATE_RECEIVER) => true,
            Some(_) => false,
        }
    }

    fn is(&self, namespace: &str, local_name: &str) -> bool {
        self.element.namespace == namespace && self.element.local_name == local_name
    }
}

/// WS-Addressing 1.0 message addressing properties, whitespace-trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addressing {
    pub action: Option<String>,
    pub message_id: Option<String>,
    pub to: Option<String>,
    /// `wsa:ReplyTo/wsa:Address`.
    pub reply_to: Option<String>,
    pub relates_to: Option<String>,
    /// `wsa:From/wsa:Address`.
    pub from: Option<String>,
}

/// A parsed SOAP 1.2 envelope borrowing from its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub addressing: Addressing,
    /// The one `wsse:Security` header, if any.
    pub security: Option<HeaderBlock<'a>>,
    /// Every header block except `wsse:Security`, in document order (WS-Addressing headers
    /// included; they are also decoded into [`Envelope::addressing`]).
    pub headers: Vec<HeaderBlock<'a>>,
    /// The single child element of `soap:Body`.
    pub body: ElementSlice<'a>,
}

impl<'a> Envelope<'a> {
    /// Header blocks with this namespace and local name, in document order.
    pub fn headers_named<'s>(
        &'s self,
        namespace: &'s str,
        local_name: &'s str,
    ) -> impl Iterator<Item = &'s HeaderBlock<'a>> + 's {
        self.headers
            .iter()
            .filter(move |h| h.is(namespace, local_name))
    }

    /// The action of the request: `wsa:Action`, else the Content-Type `action` parameter
    /// (INTERFACE.md "SOAP endpoints").
    pub fn action<'s>(&'s self, content_type_action: Option<&'s str>) -> Option<&'s str> {
        self.addressing.action.as_deref().or(content_type_action)
    }
}

/// Parses a SOAP 1.2 envelope; see the module docs for what is checked.
pub fn parse_envelope<'a>(
    input: &'a [u8],
    options: &EnvelopeOptions<'_>,
) -> Result<Envelope<'a>, EnvelopeError> {
    let limits = &options.limits;
    if input.len() > limits.envelope_bytes_max {
        return Err(EnvelopeError::TooLarge {
            bytes: input.len(),
            limit: limits.envelope_bytes_max,
        });
    }
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let base = if input.starts_with(BOM) { BOM.len() } else { 0 };
    let text = std::str::from_utf8(&input[base..]).map_err(|e| EnvelopeError::NotUtf8 {
        offset: base + e.valid_up_to(),
    })?;
    let mut reader = NsReader::from_str(text);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        config.allow_unmatched_ends = false;
        config.check_comments = true;
    }
    let mut parser = Parser {
        text,
        base,
        limits,
        depth: 0,
        elements: 0,
        seen_root: false,
        header_seen: false,
        body_seen: false,
        section: Section::None,
        block: None,
        capture: None,
        addressing: Addressing::default(),
        security: None,
        headers: Vec::new(),
        body: None,
    };
    loop {
        let before = reader.buffer_position() as usize;
        let offset = base + before;
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(ok) => ok,
            Err(error) => {
                let message = error.to_string();
                return Err(EnvelopeError::Xml {
                    offset: base + reader.error_position() as usize,
                    message,
                });
            }
        };
        let namespace = match resolved {
            ResolveResult::Bound(ns) => Ok(ns.into_inner().to_string()),
            ResolveResult::Unbound => Ok(String::new()),
            ResolveResult::Unknown(prefix) => Err(prefix),
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(start) => {
                parser.start(
                    &reader,
                    &start,
                    element_namespace(namespace, &start, offset)?,
                    before,
                )?;
            }
            Event::Empty(start) => {
                parser.start(
                    &reader,
                    &start,
                    element_namespace(namespace, &start, offset)?,
                    before,
                )?;
                parser.end(after)?;
            }
            Event::End(_) => parser.end(after)?,
            Event::Text(t) => {
                let content = t.xml10_content();
                parser.text(&content, offset)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                parser.text_nonblank(&content, offset)?;
            }
            Event::GeneralRef(r) => {
                let resolved: Cow<'_, str> = match r.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => Cow::Borrowed(s),
                        None => {
                            return Err(EnvelopeError::UndefinedEntity {
                                offset,
                                name: r.into_inner().into_owned(),
                            });
                        }
                    },
                    Err(error) => {
                        return Err(EnvelopeError::Xml {
                            offset,
                            message: error.to_string(),
                        });
                    }
                };
                parser.text_nonblank(&resolved, offset)?;
            }
            // Only at the very start; elsewhere `<?xml ...?>` is a misplaced PI.
            Event::Decl(_) if before != 0 => {
                return Err(EnvelopeError::ProcessingInstruction { offset });
            }
            Event::Decl(decl) => {
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(|e| EnvelopeError::Xml {
                        offset,
                        message: e.to_string(),
                    })?;
                    if !encoding.eq_ignore_ascii_case("utf-8") {
                        return Err(EnvelopeError::UnsupportedEncoding {
                            encoding: encoding.into_owned(),
                        });
                    }
                }
            }
            Event::DocType(_) => return Err(EnvelopeError::Doctype { offset }),
            Event::PI(_) => return Err(EnvelopeError::ProcessingInstruction { offset }),
            Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    parser.finish(options)
}

fn element_namespace(
    namespace: Result<String, String>,
    start: &BytesStart<'_>,
    offset: usize,
) -> Result<String, EnvelopeError> {
    namespace.map_err(|prefix| EnvelopeError::UnboundPrefix {
        offset,
        name: start.name().into_inner().to_string(),
        prefix,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Header,
    Body,
}

/// What a header block is, as far as this parser cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    /// A WS-Addressing header whose value is its text (Action, MessageID, To, RelatesTo).
    WsaText(WsaField),
    /// A WS-Addressing endpoint reference whose value is `wsa:Address` (ReplyTo, From).
    WsaEndpoint(WsaField),
    Security,
    Other,
    BodyChild,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WsaField {
    Action,
    MessageId,
    To,
    RelatesTo,
    ReplyTo,
    From,
}

impl WsaField {
    fn name(self) -> &'static str {
        match self {
            WsaField::Action => "Action",
            WsaField::MessageId => "MessageID",
            WsaField::To => "To",
            WsaField::RelatesTo => "RelatesTo",
            WsaField::ReplyTo => "ReplyTo",
            WsaField::From => "From",
        }
    }

    fn slot(self, addressing: &mut Addressing) -> &mut Option<String> {
        match self {
            WsaField::Action => &mut addressing.action,
            WsaField::MessageId => &mut addressing.message_id,
            WsaField::To => &mut addressing.to,
            WsaField::RelatesTo => &mut addressing.relates_to,
            WsaField::ReplyTo => &mut addressing.reply_to,
            WsaField::From => &mut addressing.from,
        }
    }
}

/// A depth-3 element (header block or body child) being read.
struct OpenBlock {
    kind: BlockKind,
    start: usize,
    namespace: String,
    local_name: String,
    namespaces: Vec<NamespaceBinding>,
    must_understand: bool,
    role: Option<String>,
    /// The decoded WS-Addressing value, once its text has been read.
    value: Option<String>,
}

/// Text being collected for a WS-Addressing value at a given depth.
struct Capture {
    depth: usize,
    text: String,
}

struct Parser<'a, 'l> {
    /// Input after an optional BOM; reader positions are relative to it.
    text: &'a str,
    /// Length of the BOM skipped, added to every reported offset and range.
    base: usize,
    limits: &'l EnvelopeLimits,
    depth: usize,
    elements: usize,
    seen_root: bool,
    header_seen: bool,
    body_seen: bool,
    section: Section,
    block: Option<OpenBlock>,
    capture: Option<Capture>,
    addressing: Addressing,
    security: Option<HeaderBlock<'a>>,
    headers: Vec<HeaderBlock<'a>>,
    body: Option<ElementSlice<'a>>,
}

fn is_xml_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn bindings(reader: &NsReader<&[u8]>) -> Vec<NamespaceBinding> {
    reader
        .resolver()
        .bindings()
        .map(|(prefix, uri)| NamespaceBinding {
            prefix: match prefix {
                PrefixDeclaration::Default => None,
                PrefixDeclaration::Named(p) => Some(p.to_string()),
            },
            uri: uri.into_inner().to_string(),
        })
        .collect()
}

impl<'a> Parser<'a, '_> {
    fn start(
        &mut self,
        reader: &NsReader<&'a [u8]>,
        start: &BytesStart<'_>,
        namespace: String,
        position: usize,
    ) -> Result<(), EnvelopeError> {
        let offset = self.base + position;
        let limits = self.limits;
        self.depth += 1;
        if self.depth > limits.xml.depth_max {
            return Err(EnvelopeError::DepthExceeded {
                offset,
                limit: limits.xml.depth_max,
            });
        }
        self.elements += 1;
        if self.elements > limits.xml.elements_max {
            return Err(EnvelopeError::TooManyElements {
                offset,
                limit: limits.xml.elements_max,
            });
        }
        let local_name = start.local_name().into_inner().to_string();
        let qname = || start.name().into_inner().to_string();

        // Attributes: count, size, well-formedness; soap:mustUnderstand and soap:role on
        // header blocks.
        let header_block = self.depth == 3 && self.section == Section::Header;
        let mut must_understand = false;
        let mut role = None;
        let mut count = 0;
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| EnvelopeError::Xml {
                offset,
                message: e.to_string(),
            })?;
            count += 1;
            if count > limits.xml.attributes_max {
                return Err(EnvelopeError::TooManyAttributes {
                    offset,
                    limit: limits.xml.attributes_max,
                });
            }
            if attribute.value.len() > limits.xml.text_bytes_max {
                return Err(EnvelopeError::TextTooLarge {
                    offset,
                    limit: limits.xml.text_bytes_max,
                });
            }
            // References in attribute values must be predefined or character references too,
            // in the body as much as in headers.
            if attribute.value.contains('&') {
                attribute
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|e| EnvelopeError::Xml {
                        offset,
                        message: e.to_string(),
                    })?;
            }
            if !header_block {
                continue;
            }
            let (attr_ns, attr_local) = reader.resolver().resolve_attribute(attribute.key);
            if attr_ns != ResolveResult::Bound(Namespace(ns::SOAP12)) {
                continue;
            }
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| EnvelopeError::Xml {
                    offset,
                    message: e.to_string(),
                })?;
            match attr_local.into_inner() {
                "mustUnderstand" => {
                    must_understand = match value.trim() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(EnvelopeError::InvalidMustUnderstand {
                                offset,
                                value: other.to_string(),
                            });
                        }
                    }
                }
                "role" => role = Some(value.trim().to_string()),
                _ => {}
            }
        }

        match self.depth {
            1 => {
                self.seen_root = true;
                if namespace == ns::SOAP12 && local_name == "Envelope" {
                    Ok(())
                } else if namespace == ns::SOAP11 {
                    Err(EnvelopeError::Soap11Envelope { offset })
                } else {
                    Err(EnvelopeError::NotAnEnvelope {
                        offset,
                        namespace,
                        local_name,
                    })
                }
            }
            2 => {
                let soap = namespace == ns::SOAP12;
                if soap && local_name == "Header" && !self.header_seen && !self.body_seen {
                    self.header_seen = true;
                    self.section = Section::Header;
                    Ok(())
                } else if soap && local_name == "Body" && !self.body_seen {
                    self.body_seen = true;
                    self.section = Section::Body;
                    Ok(())
                } else {
                    Err(EnvelopeError::UnexpectedElement {
                        offset,
                        name: qname(),
                        parent: "soap:Envelope",
                    })
                }
            }
            3 => {
                let kind = match self.section {
                    Section::Body => {
                        if self.body.is_some() {
                            return Err(EnvelopeError::MultipleBodyChildren { offset });
                        }
                        BlockKind::BodyChild
                    }
                    Section::Header => {
                        if self.headers.len() + usize::from(self.security.is_some())
                            >= limits.header_blocks_max
                        {
                            return Err(EnvelopeError::TooManyHeaders {
                                offset,
                                limit: limits.header_blocks_max,
                            });
                        }
                        if namespace.is_empty() {
                            return Err(EnvelopeError::UnqualifiedHeader {
                                offset,
                                name: qname(),
                            });
                        }
                        header_kind(&namespace, &local_name)
                    }
                    Section::None => BlockKind::Other,
                };
                if let BlockKind::WsaText(_) = kind {
                    self.capture = Some(Capture {
                        depth: 3,
                        text: String::new(),
                    });
                }
                self.block = Some(OpenBlock {
                    kind,
                    start: position,
                    namespace,
                    local_name,
                    namespaces: bindings(reader),
                    must_understand,
                    role,
                    value: None,
                });
                Ok(())
            }
            4 => {
                if let Some(block) = &self.block
                    && let BlockKind::WsaEndpoint(_) = block.kind
                    && namespace == ns::WSA
                    && local_name == "Address"
                    && block.value.is_none()
                {
                    self.capture = Some(Capture {
                        depth: 4,
                        text: String::new(),
                    });
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// An end tag (or the end of an empty element) at `end`, the position after it.
    fn end(&mut self, end: usize) -> Result<(), EnvelopeError> {
        if let Some(capture) = &self.capture
            && capture.depth == self.depth
            && let Some(capture) = self.capture.take()
            && let Some(block) = &mut self.block
        {
            block.value = Some(
                capture
                    .text
                    .trim_matches([' ', '\t', '\r', '\n'])
                    .to_string(),
            );
        }
        match self.depth {
            3 => {
                if let Some(block) = self.block.take() {
                    self.finish_block(block, end)?;
                }
            }
            2 => self.section = Section::None,
            _ => {}
        }
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    fn finish_block(&mut self, block: OpenBlock, end: usize) -> Result<(), EnvelopeError> {
        let offset = self.base + block.start;
        debug_assert!(
            self.text[block.start..end].starts_with('<') && self.text[..end].ends_with('>'),
            "element slice must span exactly one element"
        );
        let element = ElementSlice {
            namespace: block.namespace,
            local_name: block.local_name,
            range: self.base + block.start..self.base + end,
            xml: &self.text[block.start..end],
            namespaces: block.namespaces,
        };
        let header = |element| HeaderBlock {
            element,
            must_understand: block.must_understand,
            role: block.role.clone(),
        };
        match block.kind {
            BlockKind::BodyChild => self.body = Some(element),
            BlockKind::Security => {
                if self.security.is_some() {
                    return Err(EnvelopeError::DuplicateSecurityHeader { offset });
                }
                self.security = Some(header(element));
            }
            BlockKind::WsaText(field) | BlockKind::WsaEndpoint(field) => {
                let slot = field.slot(&mut self.addressing);
                if slot.is_some() {
                    return Err(EnvelopeError::DuplicateAddressingHeader {
                        offset,
                        name: field.name(),
                    });
                }
                *slot = block.value.clone();
                self.headers.push(header(element));
            }
            BlockKind::Other => self.headers.push(header(element)),
        }
        Ok(())
    }

    /// Text that may be whitespace-only noise between elements.
    fn text(&mut self, content: &str, offset: usize) -> Result<(), EnvelopeError> {
        if self.depth <= 2 {
            // Between structural elements only whitespace is allowed.
            if !is_xml_whitespace(content) {
                return Err(EnvelopeError::UnexpectedText { offset });
            }
            return Ok(());
        }
        self.text_nonblank(content, offset)
    }

    /// Character data inside a header block or the body child.
    fn text_nonblank(&mut self, content: &str, offset: usize) -> Result<(), EnvelopeError> {
        if self.depth <= 2 {
            if content.is_empty() {
                return Ok(());
            }
            return Err(EnvelopeError::UnexpectedText { offset });
        }
        let limit = if self.section == Section::Body {
            self.limits.body_text_bytes_max
        } else {
            self.limits.xml.text_bytes_max
        };
        if content.len() > limit {
            return Err(EnvelopeError::TextTooLarge { offset, limit });
        }
        if let Some(capture) = &mut self.capture
            && capture.depth == self.depth
        {
            if capture.text.len() + content.len() > self.limits.xml.text_bytes_max {
                return Err(EnvelopeError::TextTooLarge {
                    offset,
                    limit: self.limits.xml.text_bytes_max,
                });
            }
            capture.text.push_str(content);
        }
        Ok(())
    }

    fn finish(self, options: &EnvelopeOptions<'_>) -> Result<Envelope<'a>, EnvelopeError> {
        let end = self.base + self.text.len();
        if self.depth != 0 {
            return Err(EnvelopeError::UnexpectedEof { offset: end });
        }
        if !self.seen_root {
            return Err(EnvelopeError::NoEnvelope);
        }
        if !self.body_seen {
            return Err(EnvelopeError::MissingBody { offset: end });
        }
        let body = self.body.ok_or(EnvelopeError::EmptyBody { offset: end })?;
        let not_understood: Vec<(String, String)> = self
            .security
            .iter()
            .chain(&self.headers)
            .filter(|h| h.must_understand && h.targets_us())
            .filter(|h| {
                !options
                    .understood_namespaces
                    .contains(&h.element.namespace.as_str())
            })
            .map(|h| (h.element.namespace.clone(), h.element.local_name.clone()))
            .collect();
        if !not_understood.is_empty() {
            return Err(EnvelopeError::NotUnderstood {
                headers: not_understood,
            });
        }
        Ok(Envelope {
            addressing: self.addressing,
            security: self.security,
            headers: self.headers,
            body,
        })
    }
}

fn header_kind(namespace: &str, local_name: &str) -> BlockKind {
    if namespace == ns::WSSE && local_name == "Security" {
        return BlockKind::Security;
    }
    if namespace != ns::WSA {
        return BlockKind::Other;
    }
    match local_name {
        "Action" => BlockKind::WsaText(WsaField::Action),
        "MessageID" => BlockKind::WsaText(WsaField::MessageId),
        "To" => BlockKind::WsaText(WsaField::To),
        "RelatesTo" => BlockKind::WsaText(WsaField::RelatesTo),
        "ReplyTo" => BlockKind::WsaEndpoint(WsaField::ReplyTo),
        "From" => BlockKind::WsaEndpoint(WsaField::From),
        _ => BlockKind::Other,
    }
}

//! The XML layer under every codec of this crate: a bounded, namespace-aware pull reader over a
//! byte slice, and a compact writer with fixed prefixes.
//!
//! Reading invariants:
//! - Every limit of [`XmlLimits`] is checked when the element, attribute or text that would
//!   exceed it is read, never after the whole document was taken in.
//! - A DOCTYPE anywhere is an error ([`ParseError::Doctype`]), so no entity can be declared and
//!   none expands; a processing instruction other than the XML declaration is an error too.
//! - Events borrow from the input; the only allocations are the values a codec keeps.
//! - Errors carry the byte offset of the markup at fault and the element path leading to it
//!   (rebuilt from the input only when an error is reported, so the happy path keeps nothing
//!   but one offset per open element).
//!
//! Writing invariants: output is compact (no indentation, no XML declaration), uses the
//! prefixes `rim`, `rs`, `lcm`, `query`, `xdsb` (and `xop` for includes) declared on the root
//! element, and escapes every value so that reading it back yields the same string.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::limits::XmlLimits;
use crate::vocabulary::ns;

/// Why a body could not be read. Every variant names where (byte offset, element path) and
/// what (the offending name or value). All of them map to `XDSRegistryMetadataError` or a
/// SOAP `Sender` fault at the edge: the caller sent something we will not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("malformed XML at byte {offset} in {path}: {message}")]
    Syntax {
        offset: u64,
        path: String,
        message: String,
    },
    #[error("DOCTYPE declaration at byte {offset} is not accepted")]
    Doctype { offset: u64 },
    #[error("processing instruction `{target}` at byte {offset} is not accepted")]
    ProcessingInstruction { offset: u64, target: String },
    #[error("element {path} at byte {offset} nests deeper than {max} levels")]
    TooDeep {
        offset: u64,
        path: String,
        max: usize,
    },
    #[error("element {path} at byte {offset} has {count} attributes, more than {max}")]
    TooManyAttributes {
        offset: u64,
        path: String,
        count: usize,
        max: usize,
    },
    #[error("element {path} at byte {offset} is more than the {max} elements accepted")]
    TooManyElements {
        offset: u64,
        path: String,
        max: usize,
    },
    #[error("{what} in {path} at byte {offset} is {bytes} bytes or more, above the {max} accepted")]
    ValueTooLong {
        offset: u64,
        path: String,
        what: String,
        bytes: usize,
        max: usize,
    },
    #[error("unknown entity `&{entity};` in {path} at byte {offset}")]
    UnknownEntity {
        offset: u64,
        path: String,
        entity: String,
    },
    #[error("unexpected element `{element}` in {path} at byte {offset}")]
    UnexpectedElement {
        offset: u64,
        path: String,
        element: String,
    },
    #[error("element `{element}` repeated in {path} at byte {offset}")]
    DuplicateElement {
        offset: u64,
        path: String,
        element: String,
    },
    #[error("unexpected text {text:?} in {path} at byte {offset}")]
    UnexpectedText {
        offset: u64,
        path: String,
        text: String,
    },
    #[error("element {path} at byte {offset} lacks the required attribute `{attribute}`")]
    MissingAttribute {
        offset: u64,
        path: String,
        attribute: &'static str,
    },
    #[error(
        "attribute `{attribute}` of {path} at byte {offset} has the invalid value {value:?} (expected {expected})"
    )]
    InvalidAttribute {
        offset: u64,
        path: String,
        attribute: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("element {path} at byte {offset} lacks the required child `{element}`")]
    MissingElement {
        offset: u64,
        path: String,
        element: &'static str,
    },
    #[error("invalid base64 in {path} at byte {offset}: {message}")]
    Base64 {
        offset: u64,
        path: String,
        message: String,
    },
    #[error(
        "root element `{element}` at byte {offset} (namespace `{namespace}`) is not {expected}"
    )]
    UnexpectedRoot {
        offset: u64,
        element: String,
        namespace: String,
        expected: &'static str,
    },
    #[error("input ends at byte {offset} inside {path}")]
    UnexpectedEof { offset: u64, path: String },
    #[error("content after the root element at byte {offset}")]
    TrailingContent { offset: u64 },
}

/// The namespaces this crate reads; everything else is [`Ns::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    Rim,
    Rs,
    Lcm,
    Query,
    Xdsb,
    Xop,
    /// Unbound or any other namespace.
    Other,
}

impl Ns {
    #[inline]
    fn of(resolved: &ResolveResult<'_>) -> Ns {
        // Runs for every start tag: compare the shared ebXML prefix once, then the short tail.
        const EBXML: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:";
        let ResolveResult::Bound(n) = resolved else {
            return Ns::Other;
        };
        if let Some(tail) = n.0.strip_prefix(EBXML) {
            return match tail {
                "rim:3.0" => Ns::Rim,
                "rs:3.0" => Ns::Rs,
                "lcm:3.0" => Ns::Lcm,
                "query:3.0" => Ns::Query,
                _ => Ns::Other,
            };
        }
        match n.0 {
            ns::XDSB => Ns::Xdsb,
            ns::XOP => Ns::Xop,
            _ => Ns::Other,
        }
    }
}

/// A start tag read by [`XmlReader`], borrowing from the input.
#[derive(Debug)]
pub struct Element<'a> {
    pub ns: Ns,
    /// Byte offset of the `<`.
    pub offset: u64,
    start: BytesStart<'a>,
    /// Where the local name starts in the qualified name (after the prefix's `:`), computed
    /// once because codecs compare it several times per element.
    local_start: usize,
}

impl<'a> Element<'a> {
    fn new(ns: Ns, offset: u64, start: BytesStart<'a>) -> Self {
        let local_start = start.name().0.find(':').map_or(0, |i| i + 1);
        Element {
            ns,
            offset,
            start,
            local_start,
        }
    }

    #[inline]
    pub fn local_name(&self) -> &str {
        self.start
            .name()
            .0
            .get(self.local_start..)
            .unwrap_or_default()
    }

    pub fn qname(&self) -> &str {
        self.start.name().0
    }

    /// Whether this is `{ns}local`.
    #[inline]
    pub fn is(&self, ns: Ns, local: &str) -> bool {
        self.ns == ns && self.local_name() == local
    }

    /// The attributes as `(qualified name, normalized value)`; namespace declarations
    /// included (codecs ignore what they do not know). Errors carry no path yet: pass them
    /// through [`XmlReader::locate`].
    pub fn attributes(&self) -> Attributes<'_> {
        Attributes {
            raw: self.start.attributes_raw(),
            pos: 0,
            offset: self.offset,
            seen: [""; SEEN_INLINE],
            seen_len: 0,
            seen_more: Vec::new(),
            done: false,
        }
    }
}

/// A bounded pull reader: callers walk the tree with [`XmlReader::next_child`] and
/// [`XmlReader::read_text`], and every limit is checked as elements open.
pub struct XmlReader<'a> {
    input: &'a [u8],
    reader: NsReader<&'a [u8]>,
    limits: XmlLimits,
    /// Start offsets of the open elements; the path of an error is rebuilt from them.
    stack: Vec<u64>,
    elements: usize,
    /// The root element's namespace URI (empty when unbound), for error messages.
    root_namespace: String,
}

impl<'a> XmlReader<'a> {
    pub fn new(input: &'a [u8], limits: XmlLimits) -> Self {
        let mut reader = NsReader::from_reader(input);
        let config = reader.config_mut();
        // Empty elements become Start+End so that codecs have one shape to handle.
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.check_comments = true;
        XmlReader {
            input,
            reader,
            limits,
            stack: Vec::with_capacity(16),
            elements: 0,
            root_namespace: String::new(),
        }
    }

    /// Declares namespace bindings inherited from ancestors the input does not contain (a SOAP
    /// body element cut out of its envelope may use prefixes declared on `soap:Envelope`).
    /// `None` is the default namespace. A binding the resolver refuses (such as rebinding
    /// `xml`) is reported as a syntax error at offset 0.
    pub fn with_inherited_namespaces(
        mut self,
        bindings: &[(Option<&str>, &str)],
    ) -> Result<Self, ParseError> {
        use quick_xml::name::{Namespace, PrefixDeclaration};
        for (prefix, uri) in bindings {
            let declaration = match prefix {
                Some(p) => PrefixDeclaration::Named(p),
                None => PrefixDeclaration::Default,
            };
            if let Err(e) = self.reader.resolver_mut().add(declaration, Namespace(uri)) {
                return Err(ParseError::Syntax {
                    offset: 0,
                    path: "/".to_owned(),
                    message: format!("inherited namespace binding refused: {e}"),
                });
            }
        }
        Ok(self)
    }

    /// The namespace URI of the root element read by [`XmlReader::root`].
    pub fn root_namespace(&self) -> &str {
        &self.root_namespace
    }

    pub fn limits(&self) -> &XmlLimits {
        &self.limits
    }

    /// The slash-separated qualified names of the open elements, as written in the input.
    pub fn path(&self) -> String {
        let mut path = String::new();
        for &start in &self.stack {
            path.push('/');
            path.push_str(&name_at(self.input, start));
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    /// The path with one more element (for errors about a child that is being opened).
    fn path_with(&self, offset: u64) -> String {
        let mut p = self.path();
        if p == "/" {
            p.clear();
        }
        p.push('/');
        p.push_str(&name_at(self.input, offset));
        p
    }

    fn syntax(&self, e: quick_xml::Error) -> ParseError {
        ParseError::Syntax {
            offset: self.reader.error_position(),
            path: self.path(),
            message: e.to_string(),
        }
    }

    /// Fills in the path of an error raised by [`Element::attributes`], which cannot see it.
    pub fn locate(&self, mut e: ParseError, element: &Element<'_>) -> ParseError {
        if let ParseError::Syntax { path, .. } | ParseError::UnknownEntity { path, .. } = &mut e
            && path.is_empty()
        {
            *path = self.path_of(element);
        }
        e
    }

    #[inline(always)]
    fn read(&mut self) -> Result<(u64, Ns, Event<'a>), ParseError> {
        let offset = self.reader.buffer_position();
        match self.reader.read_resolved_event() {
            Ok((resolved, event)) => {
                let ns = match &event {
                    Event::Start(_) => Ns::of(&resolved),
                    _ => Ns::Other,
                };
                Ok((offset, ns, event))
            }
            Err(e) => Err(self.syntax(e)),
        }
    }

    /// Checks the limits for a start tag at `offset` and pushes it on the stack.
    fn open(&mut self, offset: u64, start: &BytesStart<'_>) -> Result<(), ParseError> {
        if self.stack.len() >= self.limits.depth_max {
            return Err(ParseError::TooDeep {
                offset,
                path: self.path_with(offset),
                max: self.limits.depth_max,
            });
        }
        self.elements += 1;
        if self.elements > self.limits.elements_max {
            return Err(ParseError::TooManyElements {
                offset,
                path: self.path_with(offset),
                max: self.limits.elements_max,
            });
        }
        let raw = start.attributes_raw();
        // An attribute takes at least 4 bytes (`a=""`), so a short tag cannot be over the
        // limit; for longer ones counting `=` is an upper bound that costs one memchr pass,
        // and only above the limit are the attributes really parsed and counted.
        if raw.len() >= 4 * (self.limits.attributes_max + 1)
            && memchr::memchr_iter(b'=', raw.as_bytes()).count() > self.limits.attributes_max
        {
            let mut attrs = start.attributes();
            attrs.with_checks(false);
            let count = attrs.count();
            if count > self.limits.attributes_max {
                return Err(ParseError::TooManyAttributes {
                    offset,
                    path: self.path_with(offset),
                    count,
                    max: self.limits.attributes_max,
                });
            }
        }
        // Likewise the whole tag bounds each value; look closer only when the tag is long.
        if raw.len() > self.limits.text_bytes_max {
            let mut attrs = start.attributes();
            attrs.with_checks(false);
            for a in attrs.flatten() {
                if a.value.len() > self.limits.text_bytes_max {
                    return Err(ParseError::ValueTooLong {
                        offset,
                        path: self.path_with(offset),
                        what: format!("attribute `{}`", a.key.0),
                        bytes: a.value.len(),
                        max: self.limits.text_bytes_max,
                    });
                }
            }
        }
        self.stack.push(offset);
        Ok(())
    }

    fn reject_markup(&self, offset: u64, event: &Event<'_>) -> Option<ParseError> {
        match event {
            Event::DocType(_) => Some(ParseError::Doctype { offset }),
            Event::PI(pi) => Some(ParseError::ProcessingInstruction {
                offset,
                target: pi.target().to_owned(),
            }),
            Event::Decl(_) => Some(ParseError::Syntax {
                offset,
                path: self.path(),
                message: "XML declaration after the start of the document".to_owned(),
            }),
            _ => None,
        }
    }

    /// Reads up to and including the root element's start tag.
    pub fn root(&mut self) -> Result<Element<'a>, ParseError> {
        let mut first = true;
        loop {
            let (offset, ns, event) = self.read()?;
            match event {
                Event::Decl(_) if first => {}
                Event::Comment(_) => {}
                Event::Text(t) if t.trim().is_empty() => {}
                Event::Start(start) => {
                    self.open(offset, &start)?;
                    // Kept for the error that names a root nobody expected.
                    self.root_namespace =
                        match self.reader.resolver().resolve_element(start.name()).0 {
                            ResolveResult::Bound(n) => n.0.to_owned(),
                            _ => String::new(),
                        };
                    return Ok(Element::new(ns, offset, start));
                }
                Event::Eof => {
                    return Err(ParseError::UnexpectedEof {
                        offset,
                        path: "/".to_owned(),
                    });
                }
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(ParseError::UnexpectedText {
                        offset,
                        path: "/".to_owned(),
                        text: excerpt(self.input, offset),
                    });
                }
                other => {
                    if let Some(e) = self.reject_markup(offset, &other) {
                        return Err(e);
                    }
                }
            }
            first = false;
        }
    }

    /// After the root element closed: only comments and whitespace may follow.
    pub fn finish(&mut self) -> Result<(), ParseError> {
        loop {
            let (offset, _, event) = self.read()?;
            match event {
                Event::Eof => return Ok(()),
                Event::Comment(_) => {}
                Event::Text(t) if t.trim().is_empty() => {}
                other => {
                    return Err(self
                        .reject_markup(offset, &other)
                        .unwrap_or(ParseError::TrailingContent { offset }));
                }
            }
        }
    }

    /// The next child element of the innermost open element, or `None` when that element
    /// ends. Whitespace and comments between elements are skipped; other text is an error,
    /// because no ebXML element read here has mixed content.
    pub fn next_child(&mut self) -> Result<Option<Element<'a>>, ParseError> {
        loop {
            let (offset, ns, event) = self.read()?;
            match event {
                Event::Start(start) => {
                    self.open(offset, &start)?;
                    return Ok(Some(Element::new(ns, offset, start)));
                }
                Event::End(_) => {
                    self.stack.pop();
                    return Ok(None);
                }
                Event::Comment(_) => {}
                Event::Text(t) if t.trim().is_empty() => {}
                Event::CData(t) if t.trim().is_empty() => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(ParseError::UnexpectedText {
                        offset,
                        path: self.path(),
                        text: excerpt(self.input, offset),
                    });
                }
                Event::Eof => {
                    return Err(ParseError::UnexpectedEof {
                        offset,
                        path: self.path(),
                    });
                }
                other => {
                    if let Some(e) = self.reject_markup(offset, &other) {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Reads the text content of the innermost open element up to its end tag, resolving the
    /// predefined entities and character references. `max` bounds the bytes kept.
    pub fn read_text(&mut self, max: usize) -> Result<String, ParseError> {
        match self.text_or_first_child(max)? {
            TextOrChild::Text(t) => Ok(t),
            TextOrChild::Child(c) => Err(self.unexpected(&c)),
        }
    }

    /// Like [`XmlReader::read_text`], but a child element after only whitespace is returned
    /// (opened) instead of being an error: for the mixed content of `xdsb:Document`, which
    /// holds either base64 text or one `xop:Include`.
    pub fn text_or_first_child(&mut self, max: usize) -> Result<TextOrChild<'a>, ParseError> {
        let mut text: Option<Cow<'a, str>> = None;
        loop {
            let (offset, ns, event) = self.read()?;
            let piece: Cow<'a, str> = match event {
                Event::Text(t) => t.xml10_content(),
                Event::CData(t) => t.xml10_content(),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(c) => c,
                        Err(e) => return Err(self.syntax(e)),
                    };
                    match resolved {
                        Some(c) => Cow::Owned(c.to_string()),
                        None => match quick_xml::escape::resolve_predefined_entity(&r) {
                            Some(s) => Cow::Borrowed(s),
                            None => {
                                return Err(ParseError::UnknownEntity {
                                    offset,
                                    path: self.path(),
                                    entity: r.to_string(),
                                });
                            }
                        },
                    }
                }
                Event::Comment(_) => continue,
                Event::End(_) => {
                    self.stack.pop();
                    return Ok(TextOrChild::Text(
                        text.map(Cow::into_owned).unwrap_or_default(),
                    ));
                }
                Event::Start(start) => {
                    if text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
                        return Err(ParseError::UnexpectedElement {
                            offset,
                            path: self.path(),
                            element: start.name().0.to_owned(),
                        });
                    }
                    self.open(offset, &start)?;
                    return Ok(TextOrChild::Child(Element::new(ns, offset, start)));
                }
                Event::Eof => {
                    return Err(ParseError::UnexpectedEof {
                        offset,
                        path: self.path(),
                    });
                }
                other => {
                    return Err(self
                        .reject_markup(offset, &other)
                        .unwrap_or(ParseError::TrailingContent { offset }));
                }
            };
            let len = text.as_ref().map_or(0, |t| t.len()) + piece.len();
            if len > max {
                return Err(ParseError::ValueTooLong {
                    offset,
                    path: self.path(),
                    what: "text".to_owned(),
                    bytes: len,
                    max,
                });
            }
            text = Some(match text {
                None => piece,
                Some(prev) => {
                    let mut s = prev.into_owned();
                    s.push_str(&piece);
                    Cow::Owned(s)
                }
            });
        }
    }

    /// Skips the rest of the innermost open element, still enforcing every limit.
    pub fn skip(&mut self) -> Result<(), ParseError> {
        let level = self.stack.len();
        while self.stack.len() >= level {
            let (offset, _, event) = self.read()?;
            match event {
                Event::Start(start) => self.open(offset, &start)?,
                Event::End(_) => {
                    self.stack.pop();
                }
                Event::Text(t) => self.check_skipped_text(offset, t.len())?,
                Event::CData(t) => self.check_skipped_text(offset, t.len())?,
                Event::Eof => {
                    return Err(ParseError::UnexpectedEof {
                        offset,
                        path: self.path(),
                    });
                }
                other => {
                    if let Some(e) = self.reject_markup(offset, &other) {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Skipped text is not kept, but a limit is a limit: the same answer whether or not a
    /// codec reads the element.
    fn check_skipped_text(&self, offset: u64, len: usize) -> Result<(), ParseError> {
        if len > self.limits.text_bytes_max {
            return Err(ParseError::ValueTooLong {
                offset,
                path: self.path(),
                what: "text".to_owned(),
                bytes: len,
                max: self.limits.text_bytes_max,
            });
        }
        Ok(())
    }

    /// Path for errors about `element` (which is on the stack once returned to a caller).
    pub fn path_of(&self, element: &Element<'_>) -> String {
        if self.stack.last() == Some(&element.offset) {
            self.path()
        } else {
            self.path_with(element.offset)
        }
    }

    pub fn unexpected(&self, child: &Element<'_>) -> ParseError {
        let mut path = self.path();
        // The child is on the stack already; report the parent's path and the child's name.
        if let Some(cut) = path.rfind('/') {
            path.truncate(cut.max(1));
        }
        ParseError::UnexpectedElement {
            offset: child.offset,
            path,
            element: child.qname().to_owned(),
        }
    }

    pub fn duplicate(&self, child: &Element<'_>) -> ParseError {
        let mut path = self.path();
        if let Some(cut) = path.rfind('/') {
            path.truncate(cut.max(1));
        }
        ParseError::DuplicateElement {
            offset: child.offset,
            path,
            element: child.qname().to_owned(),
        }
    }

    pub fn missing_attribute(&self, element: &Element<'_>, attribute: &'static str) -> ParseError {
        ParseError::MissingAttribute {
            offset: element.offset,
            path: self.path_of(element),
            attribute,
        }
    }

    pub fn invalid_attribute(
        &self,
        element: &Element<'_>,
        attribute: &'static str,
        value: &str,
        expected: &'static str,
    ) -> ParseError {
        ParseError::InvalidAttribute {
            offset: element.offset,
            path: self.path_of(element),
            attribute,
            value: value.to_owned(),
            expected,
        }
    }

    pub fn missing_element(&self, element: &Element<'_>, child: &'static str) -> ParseError {
        ParseError::MissingElement {
            offset: element.offset,
            path: self.path_of(element),
            element: child,
        }
    }
}

const SEEN_INLINE: usize = 12;

/// Iterator over the attributes of a start tag.
///
/// Written here rather than taken from quick-xml because it is the hottest loop of every
/// parse (a third of the time went to quick-xml's general attribute iterator, which also
/// serves HTML): this one borrows every value that needs no normalization, checks names for
/// duplicates without allocating for the usual handful, and applies XML 1.0 attribute-value
/// normalization (3.3.3: literal tab, CR, LF and CRLF become one space each, references are
/// expanded, `<` is an error) only when a value holds `&` or such whitespace.
pub struct Attributes<'e> {
    raw: &'e str,
    pos: usize,
    offset: u64,
    seen: [&'e str; SEEN_INLINE],
    seen_len: usize,
    seen_more: Vec<&'e str>,
    done: bool,
}

impl<'e> Attributes<'e> {
    fn fail(&mut self, message: String) -> Option<Result<(&'e str, Cow<'e, str>), ParseError>> {
        self.done = true;
        Some(Err(ParseError::Syntax {
            offset: self.offset,
            path: String::new(),
            message,
        }))
    }

    fn is_duplicate(&mut self, name: &'e str) -> bool {
        if self.seen[..self.seen_len].contains(&name) || self.seen_more.contains(&name) {
            return true;
        }
        if self.seen_len < SEEN_INLINE {
            self.seen[self.seen_len] = name;
            self.seen_len += 1;
        } else {
            self.seen_more.push(name);
        }
        false
    }
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'e> Iterator for Attributes<'e> {
    type Item = Result<(&'e str, Cow<'e, str>), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let raw = self.raw;
        let bytes = raw.as_bytes();
        let at_start = self.pos;
        while self.pos < bytes.len() && is_xml_space(bytes[self.pos]) {
            self.pos += 1;
        }
        if self.pos >= bytes.len() {
            self.done = true;
            return None;
        }
        if self.pos == at_start && at_start > 0 {
            return self.fail(format!(
                "attributes must be separated by whitespace at `{}`",
                &raw[self.pos..]
            ));
        }
        let name_start = self.pos;
        while self.pos < bytes.len() && !is_xml_space(bytes[self.pos]) && bytes[self.pos] != b'=' {
            self.pos += 1;
        }
        let name = &raw[name_start..self.pos];
        while self.pos < bytes.len() && is_xml_space(bytes[self.pos]) {
            self.pos += 1;
        }
        if name.is_empty() || bytes.get(self.pos) != Some(&b'=') {
            return self.fail(format!("attribute `{name}` has no `=` and value"));
        }
        self.pos += 1;
        while self.pos < bytes.len() && is_xml_space(bytes[self.pos]) {
            self.pos += 1;
        }
        let quote = match bytes.get(self.pos) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return self.fail(format!("value of attribute `{name}` is not quoted")),
        };
        let value_start = self.pos + 1;
        let Some(len) = memchr::memchr(quote, &bytes[value_start..]) else {
            return self.fail(format!("value of attribute `{name}` is not closed"));
        };
        let value = &raw[value_start..value_start + len];
        self.pos = value_start + len + 1;
        if self.is_duplicate(name) {
            return self.fail(format!("attribute `{name}` appears twice"));
        }
        if !value
            .bytes()
            .any(|b| matches!(b, b'&' | b'<' | b'\t' | b'\n' | b'\r'))
        {
            return Some(Ok((name, Cow::Borrowed(value))));
        }
        match normalize_attribute(value) {
            Ok(v) => Some(Ok((name, Cow::Owned(v)))),
            Err(NormalizeError::Lt) => self.fail(format!("`<` in the value of attribute `{name}`")),
            Err(NormalizeError::Reference(r)) => {
                self.done = true;
                Some(Err(ParseError::UnknownEntity {
                    offset: self.offset,
                    path: String::new(),
                    entity: r,
                }))
            }
        }
    }
}

enum NormalizeError {
    Lt,
    Reference(String),
}

/// XML 1.0 3.3.3 for CDATA attributes (we read no DTD, so every attribute is CDATA).
fn normalize_attribute(value: &str) -> Result<String, NormalizeError> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '<' => return Err(NormalizeError::Lt),
            '\r' => {
                // CRLF is one line end, hence one space.
                if let Some((_, '\n')) = chars.peek() {
                    chars.next();
                }
                out.push(' ');
            }
            '\t' | '\n' => out.push(' '),
            '&' => {
                let rest = &value[i + 1..];
                let Some(end) = rest.find(';') else {
                    return Err(NormalizeError::Reference(rest.chars().take(16).collect()));
                };
                let reference = &rest[..end];
                match resolve_reference(reference) {
                    Some(c) => out.push(c),
                    None => return Err(NormalizeError::Reference(reference.to_owned())),
                }
                // Skip the reference's characters and the `;`.
                while let Some((j, _)) = chars.peek() {
                    if *j > i + end + 1 {
                        break;
                    }
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A predefined entity or a character reference; `None` for anything else (no DTD, no other
/// entities) and for characters XML does not allow.
fn resolve_reference(reference: &str) -> Option<char> {
    let code = match reference {
        "lt" => return Some('<'),
        "gt" => return Some('>'),
        "amp" => return Some('&'),
        "apos" => return Some('\''),
        "quot" => return Some('"'),
        r => {
            let num = r.strip_prefix('#')?;
            match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse::<u32>().ok()?,
            }
        }
    };
    if code == 0 {
        return None;
    }
    char::from_u32(code)
}

/// What [`XmlReader::text_or_first_child`] found.
#[derive(Debug)]
pub enum TextOrChild<'a> {
    Text(String),
    Child(Element<'a>),
}

/// The qualified name of the tag starting at `offset` (`<name ...`).
fn name_at(input: &[u8], offset: u64) -> String {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let rest = input.get(start..).unwrap_or_default();
    let end = rest
        .iter()
        .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>'))
        .unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

/// At most 40 characters of the input at `offset`, for error messages.
fn excerpt(input: &[u8], offset: u64) -> String {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let rest = input.get(start..).unwrap_or_default();
    let end = rest.len().min(40);
    String::from_utf8_lossy(&rest[..end]).trim().to_owned()
}

/// Builds compact XML. Start tags stay open until content or the end tag follows, so an
/// element without content is written as `<x/>`.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
    open: bool,
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter::default()
    }

    pub fn with_capacity(capacity: usize) -> Self {
        XmlWriter {
            out: String::with_capacity(capacity),
            open: false,
        }
    }

    fn close_open(&mut self) {
        if self.open {
            self.out.push('>');
            self.open = false;
        }
    }

    pub fn start(&mut self, qname: &str) {
        self.close_open();
        self.out.push('<');
        self.out.push_str(qname);
        self.open = true;
    }

    pub fn attr(&mut self, name: &str, value: &str) {
        debug_assert!(self.open, "attribute written outside a start tag");
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_into(&mut self.out, value, true);
        self.out.push('"');
    }

    pub fn attr_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.attr(name, v);
        }
    }

    pub fn text(&mut self, text: &str) {
        self.close_open();
        escape_into(&mut self.out, text, false);
    }

    /// Text known to need no escaping (base64).
    pub fn raw_text(&mut self, text: &str) {
        self.close_open();
        debug_assert!(!text.contains(['<', '&', '\r']));
        self.out.push_str(text);
    }

    /// Markup this writer produced earlier (a complete element, or the first part of one that
    /// [`XmlWriter::raw_continue`] completes), written as it is.
    pub fn raw_element(&mut self, xml: &str) {
        self.close_open();
        self.out.push_str(xml);
    }

    /// The rest of the markup [`XmlWriter::raw_element`] began.
    pub fn raw_continue(&mut self, xml: &str) {
        debug_assert!(!self.open, "raw markup continued inside an open start tag");
        self.out.push_str(xml);
    }

    pub fn end(&mut self, qname: &str) {
        if self.open {
            self.out.push_str("/>");
            self.open = false;
        } else {
            self.out.push_str("</");
            self.out.push_str(qname);
            self.out.push('>');
        }
    }

    /// `<qname>text</qname>`.
    pub fn text_element(&mut self, qname: &str, text: &str) {
        self.start(qname);
        self.close_open();
        self.text(text);
        self.out.push_str("</");
        self.out.push_str(qname);
        self.out.push('>');
    }

    pub fn finish(mut self) -> String {
        self.close_open();
        self.out
    }
}

/// Escapes markup characters; in attributes also whitespace other than the space, which
/// attribute-value normalization would otherwise turn into spaces. `\r` is escaped in text
/// too, because end-of-line normalization would drop it.
fn escape_into(out: &mut String, value: &str, attribute: bool) {
    let bytes = value.as_bytes();
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' if attribute => "&quot;",
            b'\r' => "&#13;",
            b'\n' if attribute => "&#10;",
            b'\t' if attribute => "&#9;",
            _ => continue,
        };
        out.push_str(&value[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&value[last..]);
}

impl ParseError {
    /// The byte offset in the input where the fault was found.
    pub fn offset(&self) -> u64 {
        match self {
            ParseError::Syntax { offset, .. }
            | ParseError::Doctype { offset }
            | ParseError::ProcessingInstruction { offset, .. }
            | ParseError::TooDeep { offset, .. }
            | ParseError::TooManyAttributes { offset, .. }
            | ParseError::TooManyElements { offset, .. }
            | ParseError::ValueTooLong { offset, .. }
            | ParseError::UnknownEntity { offset, .. }
            | ParseError::UnexpectedElement { offset, .. }
            | ParseError::DuplicateElement { offset, .. }
            | ParseError::UnexpectedText { offset, .. }
            | ParseError::MissingAttribute { offset, .. }
            | ParseError::InvalidAttribute { offset, .. }
            | ParseError::MissingElement { offset, .. }
            | ParseError::Base64 { offset, .. }
            | ParseError::UnexpectedRoot { offset, .. }
            | ParseError::UnexpectedEof { offset, .. }
            | ParseError::TrailingContent { offset } => *offset,
        }
    }
}

/// Namespace declarations for a root element, by prefix.
pub(crate) fn declare(w: &mut XmlWriter, prefixes: &[&str]) {
    for p in prefixes {
        let uri = match *p {
            "rim" => ns::RIM,
            "rs" => ns::RS,
            "lcm" => ns::LCM,
            "query" => ns::QUERY,
            "xdsb" => ns::XDSB,
            "xop" => ns::XOP,
            _ => continue,
        };
        w.out.push_str(" xmlns:");
        w.out.push_str(p);
        w.out.push_str("=\"");
        w.out.push_str(uri);
        w.out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_through_the_reader() {
        let value = "a&b<c>\"d\"\r\n\te 'f'";
        let mut w = XmlWriter::new();
        w.start("x");
        w.attr("v", value);
        w.text(value);
        w.end("x");
        let xml = w.finish();
        let mut r = XmlReader::new(xml.as_bytes(), XmlLimits::default());
        let root = r.root().unwrap();
        let attr: Vec<_> = root
            .attributes()
            .map(|a| a.unwrap().1.into_owned())
            .collect();
        assert_eq!(attr, vec![value.to_owned()]);
        assert_eq!(r.read_text(100).unwrap(), value);
        r.finish().unwrap();
    }

    fn attrs(tag: &str) -> Result<Vec<(String, String)>, ParseError> {
        let mut r = XmlReader::new(tag.as_bytes(), XmlLimits::default());
        let root = r.root()?;
        root.attributes()
            .map(|a| a.map(|(k, v)| (k.to_owned(), v.into_owned())))
            .collect()
    }

    #[test]
    fn attribute_values_are_normalized_as_xml_says() {
        let got = attrs("<x a = 'q\"1' b=\"t\tn\nr\r\ncrlf &#10;&#x41;&lt;&amp;\" c=''/>").unwrap();
        assert_eq!(
            got,
            [
                ("a".to_owned(), "q\"1".to_owned()),
                ("b".to_owned(), "t n r crlf \nA<&".to_owned()),
                ("c".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn malformed_attributes_are_errors() {
        for (tag, what) in [
            ("<x a='1' a='2'/>", "twice"),
            ("<x a='1'b='2'/>", "separated"),
            ("<x a/>", "no `=`"),
            ("<x a=1/>", "not quoted"),
            ("<x a='<'/>", "`<`"),
        ] {
            let e = attrs(tag).unwrap_err();
            assert!(e.to_string().contains(what), "{tag}: {e}");
        }
        assert!(matches!(
            attrs("<x a='&nbsp;'/>"),
            Err(ParseError::UnknownEntity { entity, .. }) if entity == "nbsp"
        ));
        assert!(matches!(
            attrs("<x a='&#0;'/>"),
            Err(ParseError::UnknownEntity { .. })
        ));
    }
}

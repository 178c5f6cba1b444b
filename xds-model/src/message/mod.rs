//! The ebRS request and response bodies of every transaction we serve, typed, with their codec.
//!
//! | transaction | request | response |
//! |---|---|---|
//! | ITI-41 | [`ProvideAndRegisterDocumentSetRequest`] | [`RegistryResponse`] |
//! | ITI-42, ITI-57 | [`SubmitObjectsRequest`] | [`RegistryResponse`] |
//! | ITI-18, ITI-51 | [`AdhocQueryRequest`] | [`AdhocQueryResponse`] |
//! | ITI-43 | [`RetrieveDocumentSetRequest`] | [`RetrieveDocumentSetResponse`] |
//! | ITI-62 | [`RemoveObjectsRequest`] | [`RegistryResponse`] |
//!
//! [`parse_message`] reads any of them, dispatching on the root element's namespace and local
//! name; each type also has its own `parse` and `to_xml`.
//!
//! Invariants:
//! - Lossless for the model: `T::parse(t.to_xml()) == t` for every value the codec produced.
//! - Document content is never resolved here: an `xop:Include` stays a `cid:` reference for
//!   the `soap` crate to fill in, and inline base64 is decoded into bytes, bounded by
//!   [`crate::limits::DOCUMENT_BYTES_MAX`].
//! - Attributes the model does not know are ignored; unknown elements of an ebXML or XDS
//!   namespace are errors naming them (see [`crate::codec`]).

pub mod query_value;

use base64::Engine as _;

use crate::codec::{
    StoredXml, foreign_or_error, read_object_ref, read_registry_object_list, read_slot,
    unexpected_root, write_common_attributes, write_common_children, write_identifiable,
    write_object_ref, write_registry_object_list, write_slot,
};
use crate::limits::{DOCUMENT_BYTES_MAX, XmlLimits};
use crate::rim::{ObjectRef, RegistryObject, RegistryObjectList, Slot};
use crate::xml::{Element, Ns, ParseError, XmlReader, XmlWriter, declare};

type Result<T> = std::result::Result<T, ParseError>;

/// Any body this crate reads, by root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `lcm:SubmitObjectsRequest` (ITI-42, ITI-57).
    SubmitObjectsRequest(SubmitObjectsRequest),
    /// `xdsb:ProvideAndRegisterDocumentSetRequest` (ITI-41).
    ProvideAndRegisterDocumentSetRequest(ProvideAndRegisterDocumentSetRequest),
    /// `rs:RegistryResponse` (ITI-41, ITI-42, ITI-57, ITI-62 responses).
    RegistryResponse(RegistryResponse),
    /// `query:AdhocQueryRequest` (ITI-18, ITI-51).
    AdhocQueryRequest(AdhocQueryRequest),
    /// `query:AdhocQueryResponse`.
    AdhocQueryResponse(AdhocQueryResponse),
    /// `xdsb:RetrieveDocumentSetRequest` (ITI-43).
    RetrieveDocumentSetRequest(RetrieveDocumentSetRequest),
    /// `xdsb:RetrieveDocumentSetResponse`.
    RetrieveDocumentSetResponse(RetrieveDocumentSetResponse),
    /// `lcm:RemoveObjectsRequest` (ITI-62).
    RemoveObjectsRequest(RemoveObjectsRequest),
}

/// Parses a SOAP body element with the default limits.
pub fn parse_message(input: &[u8]) -> Result<Message> {
    parse_message_with(input, XmlLimits::default())
}

/// Parses a SOAP body element, dispatching on its qualified name.
pub fn parse_message_with(input: &[u8], limits: XmlLimits) -> Result<Message> {
    parse_message_in_scope(input, &[], limits)
}

/// Parses a SOAP body element cut out of its envelope: `inherited` are the namespace bindings
/// in scope at the element (declared on its ancestors), `None` being the default namespace.
pub fn parse_message_in_scope(
    input: &[u8],
    inherited: &[(Option<&str>, &str)],
    limits: XmlLimits,
) -> Result<Message> {
    let mut r = XmlReader::new(input, limits).with_inherited_namespaces(inherited)?;
    let root = r.root()?;
    let m = match (root.ns, root.local_name()) {
        (Ns::Lcm, "SubmitObjectsRequest") => {
            Message::SubmitObjectsRequest(read_submit_objects_request(&mut r, &root)?)
        }
        (Ns::Xdsb, "ProvideAndRegisterDocumentSetRequest") => {
            Message::ProvideAndRegisterDocumentSetRequest(read_provide_and_register(&mut r, &root)?)
        }
        (Ns::Rs, "RegistryResponse") => {
            Message::RegistryResponse(read_registry_response(&mut r, &root)?)
        }
        (Ns::Query, "AdhocQueryRequest") => {
            Message::AdhocQueryRequest(read_adhoc_query_request(&mut r, &root)?)
        }
        (Ns::Query, "AdhocQueryResponse") => {
            Message::AdhocQueryResponse(read_adhoc_query_response(&mut r, &root)?)
        }
        (Ns::Xdsb, "RetrieveDocumentSetRequest") => {
            Message::RetrieveDocumentSetRequest(read_retrieve_request(&mut r)?)
        }
        (Ns::Xdsb, "RetrieveDocumentSetResponse") => {
            Message::RetrieveDocumentSetResponse(read_retrieve_response(&mut r, &root)?)
        }
        (Ns::Lcm, "RemoveObjectsRequest") => {
            Message::RemoveObjectsRequest(read_remove_objects_request(&mut r, &root)?)
        }
        _ => return Err(unexpected_root(&r, &root, "an ebRS/XDS.b message body")),
    };
    r.finish()?;
    Ok(m)
}

impl Message {
    /// The compact XML of the body element.
    pub fn to_xml(&self) -> String {
        match self {
            Message::SubmitObjectsRequest(m) => m.to_xml(),
            Message::ProvideAndRegisterDocumentSetRequest(m) => m.to_xml(),
            Message::RegistryResponse(m) => m.to_xml(),
            Message::AdhocQueryRequest(m) => m.to_xml(),
            Message::AdhocQueryResponse(m) => m.to_xml(),
            Message::RetrieveDocumentSetRequest(m) => m.to_xml(),
            Message::RetrieveDocumentSetResponse(m) => m.to_xml(),
            Message::RemoveObjectsRequest(m) => m.to_xml(),
        }
    }
}

/// Parses a document whose root must be `expected`, with `read` for its content.
fn parse_root<T>(
    input: &[u8],
    ns: Ns,
    local: &str,
    expected: &'static str,
    read: impl FnOnce(&mut XmlReader<'_>, &Element<'_>) -> Result<T>,
) -> Result<T> {
    let mut r = XmlReader::new(input, XmlLimits::default());
    let root = r.root()?;
    if !root.is(ns, local) {
        return Err(unexpected_root(&r, &root, expected));
    }
    let v = read(&mut r, &root)?;
    r.finish()?;
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// The request header shared by every rs:RegistryRequestType.

/// `rs:RegistryRequestType`: what every ebRS request carries besides its own content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHeader {
    pub id: Option<String>,
    pub comment: Option<String>,
    /// `rs:RequestSlotList/rim:Slot`.
    pub slots: Vec<Slot>,
}

impl RequestHeader {
    fn attribute(&mut self, k: &str, v: &str) -> bool {
        match k {
            "id" => self.id = Some(v.to_owned()),
            "comment" => self.comment = Some(v.to_owned()),
            _ => return false,
        }
        true
    }

    fn write_attributes(&self, w: &mut XmlWriter) {
        w.attr_opt("id", self.id.as_deref());
        w.attr_opt("comment", self.comment.as_deref());
    }

    fn write_slots(&self, w: &mut XmlWriter) {
        if !self.slots.is_empty() {
            write_slot_list(w, "rs:RequestSlotList", &self.slots);
        }
    }
}

fn write_slot_list(w: &mut XmlWriter, tag: &str, slots: &[Slot]) {
    w.start(tag);
    for s in slots {
        write_slot(w, s);
    }
    w.end(tag);
}

fn read_slot_list(r: &mut XmlReader<'_>) -> Result<Vec<Slot>> {
    let mut slots = Vec::new();
    while let Some(c) = r.next_child()? {
        if c.is(Ns::Rim, "Slot") {
            slots.push(read_slot(r, &c)?);
        } else {
            foreign_or_error(r, &c)?;
        }
    }
    Ok(slots)
}

fn once<T>(r: &XmlReader<'_>, c: &Element<'_>, slot: &Option<T>) -> Result<()> {
    if slot.is_some() {
        Err(r.duplicate(c))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// ITI-42 / ITI-57.

/// `lcm:SubmitObjectsRequest` (ITI-42 Register, ITI-57 Update, and the metadata of ITI-41).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitObjectsRequest {
    pub header: RequestHeader,
    pub registry_object_list: RegistryObjectList,
}

impl SubmitObjectsRequest {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Lcm,
            "SubmitObjectsRequest",
            "lcm:SubmitObjectsRequest",
            read_submit_objects_request,
        )
    }

    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::with_capacity(8192);
        write_submit_objects_request(&mut w, self, true);
        w.finish()
    }
}

fn read_submit_objects_request(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
) -> Result<SubmitObjectsRequest> {
    let mut m = SubmitObjectsRequest::default();
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        m.header.attribute(k, &v);
    }
    let mut seen_slots = false;
    let mut list = None;
    while let Some(c) = r.next_child()? {
        if c.is(Ns::Rs, "RequestSlotList") {
            if seen_slots {
                return Err(r.duplicate(&c));
            }
            seen_slots = true;
            m.header.slots = read_slot_list(r)?;
        } else if c.is(Ns::Rim, "RegistryObjectList") {
            once(r, &c, &list)?;
            list = Some(read_registry_object_list(r)?);
        } else {
            foreign_or_error(r, &c)?;
        }
    }
    m.registry_object_list = list.ok_or_else(|| r.missing_element(el, "rim:RegistryObjectList"))?;
    Ok(m)
}

fn write_submit_objects_request(w: &mut XmlWriter, m: &SubmitObjectsRequest, root: bool) {
    const TAG: &str = "lcm:SubmitObjectsRequest";
    w.start(TAG);
    if root {
        declare(w, &["lcm", "rim", "rs"]);
    }
    m.header.write_attributes(w);
    m.header.write_slots(w);
    write_registry_object_list(w, &m.registry_object_list, false);
    w.end(TAG);
}

// ---------------------------------------------------------------------------------------------
// ITI-41.

/// The content of an `xdsb:Document` (ITI-41) or of a `DocumentResponse/Document` (ITI-43).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentContent {
    /// Inline base64 text, decoded.
    Inline(Vec<u8>),
    /// `xop:Include href="cid:…"`: the bytes travel in a MIME part the `soap` crate resolves.
    Include { href: String },
}

impl Default for DocumentContent {
    fn default() -> Self {
        DocumentContent::Inline(Vec::new())
    }
}

/// One `xdsb:Document` of a ProvideAndRegister request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// The `id` attribute: the entryUUID or symbolic id of the DocumentEntry it belongs to.
    pub id: String,
    pub content: DocumentContent,
}

/// `xdsb:ProvideAndRegisterDocumentSetRequest` (ITI-41).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvideAndRegisterDocumentSetRequest {
    pub submit_objects_request: SubmitObjectsRequest,
    pub documents: Vec<Document>,
}

impl ProvideAndRegisterDocumentSetRequest {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Xdsb,
            "ProvideAndRegisterDocumentSetRequest",
            "xdsb:ProvideAndRegisterDocumentSetRequest",
            read_provide_and_register,
        )
    }

    pub fn to_xml(&self) -> String {
        const TAG: &str = "xdsb:ProvideAndRegisterDocumentSetRequest";
        let mut w = XmlWriter::with_capacity(16384);
        w.start(TAG);
        declare(&mut w, &["xdsb", "lcm", "rim", "rs"]);
        write_submit_objects_request(&mut w, &self.submit_objects_request, false);
        for d in &self.documents {
            w.start("xdsb:Document");
            w.attr("id", &d.id);
            write_document_content(&mut w, &d.content);
            w.end("xdsb:Document");
        }
        w.end(TAG);
        w.finish()
    }
}

fn read_provide_and_register(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
) -> Result<ProvideAndRegisterDocumentSetRequest> {
    let mut submit = None;
    let mut documents = Vec::new();
    while let Some(c) = r.next_child()? {
        if c.is(Ns::Lcm, "SubmitObjectsRequest") {
            once(r, &c, &submit)?;
            submit = Some(read_submit_objects_request(r, &c)?);
        } else if c.is(Ns::Xdsb, "Document") {
            let mut id = None;
            for a in c.attributes() {
                let (k, v) = a.map_err(|e| r.locate(e, &c))?;
                if k == "id" {
                    id = Some(v.into_owned());
                }
            }
            let id = id.ok_or_else(|| r.missing_attribute(&c, "id"))?;
            let content = read_document_content(r, &c)?;
            documents.push(Document { id, content });
        } else {
            foreign_or_error(r, &c)?;
        }
    }
    Ok(ProvideAndRegisterDocumentSetRequest {
        submit_objects_request: submit
            .ok_or_else(|| r.missing_element(el, "lcm:SubmitObjectsRequest"))?,
        documents,
    })
}

/// Base64 text of the largest document accepted, plus generous room for line breaks.
const DOCUMENT_TEXT_BYTES_MAX: usize = (DOCUMENT_BYTES_MAX as usize / 3 + 1) * 4 * 41 / 40;

/// Reads either an `xop:Include` child or base64 text. The content model is mixed here, so
/// this reads events itself instead of going through `read_text`.
fn read_document_content(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<DocumentContent> {
    // Peek at the first child: an xop:Include comes alone (whitespace around it allowed).
    let text = match read_text_or_include(r)? {
        TextOrInclude::Include(href) => return Ok(DocumentContent::Include { href }),
        TextOrInclude::Text(t) => t,
    };
    // Senders often wrap base64 lines; copy without whitespace only when there is some.
    let engine = &base64::engine::general_purpose::STANDARD;
    let decoded = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let cleaned: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        engine.decode(&cleaned)
    } else {
        engine.decode(text.as_bytes())
    };
    decoded
        .map(DocumentContent::Inline)
        .map_err(|e| ParseError::Base64 {
            offset: el.offset,
            path: r.path_of(el),
            message: e.to_string(),
        })
}

enum TextOrInclude {
    Text(String),
    Include(String),
}

fn read_text_or_include(r: &mut XmlReader<'_>) -> Result<TextOrInclude> {
    // The document is either pure text or exactly one xop:Include (whitespace around it).
    match r.text_or_first_child(DOCUMENT_TEXT_BYTES_MAX)? {
        crate::xml::TextOrChild::Text(t) => Ok(TextOrInclude::Text(t)),
        crate::xml::TextOrChild::Child(inc) => {
            if !inc.is(Ns::Xop, "Include") {
                return Err(r.unexpected(&inc));
            }
            let mut href = None;
            for a in inc.attributes() {
                let (k, v) = a.map_err(|e| r.locate(e, &inc))?;
                if k == "href" {
                    href = Some(v.into_owned());
                }
            }
            let href = href.ok_or_else(|| r.missing_attribute(&inc, "href"))?;
            // xop:Include has no content of ours; then the Document must end.
            r.skip()?;
            if let Some(extra) = r.next_child()? {
                return Err(r.unexpected(&extra));
            }
            Ok(TextOrInclude::Include(href))
        }
    }
}

fn write_document_content(w: &mut XmlWriter, c: &DocumentContent) {
    match c {
        DocumentContent::Inline(bytes) => {
            if !bytes.is_empty() {
                w.raw_text(&base64::engine::general_purpose::STANDARD.encode(bytes));
            }
        }
        DocumentContent::Include { href } => {
            w.start("xop:Include");
            declare(w, &["xop"]);
            w.attr("href", href);
            w.end("xop:Include");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// rs:RegistryResponse.

/// `rs:RegistryError`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryError {
    pub error_code: String,
    pub code_context: String,
    pub location: Option<String>,
    /// A `severity` URN; absent means Error (the schema default).
    pub severity: Option<String>,
    /// The element's text content (rarely used).
    pub value: String,
}

/// `rs:RegistryErrorList`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryErrorList {
    pub highest_severity: Option<String>,
    pub errors: Vec<RegistryError>,
}

/// `rs:RegistryResponse`: the response of ITI-41, ITI-42, ITI-57 and ITI-62, and the part
/// shared by the query and retrieve responses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryResponse {
    /// A `response_status` URN.
    pub status: String,
    pub request_id: Option<String>,
    /// `rs:ResponseSlotList/rim:Slot`.
    pub slots: Vec<Slot>,
    pub errors: Option<RegistryErrorList>,
}

impl RegistryResponse {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Rs,
            "RegistryResponse",
            "rs:RegistryResponse",
            read_registry_response,
        )
    }

    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::with_capacity(1024);
        w.start("rs:RegistryResponse");
        declare(&mut w, &["rs", "rim"]);
        self.write_attributes(&mut w);
        self.write_children(&mut w);
        w.end("rs:RegistryResponse");
        w.finish()
    }

    fn attribute(&mut self, k: &str, v: &str) -> bool {
        match k {
            "status" => self.status = v.to_owned(),
            "requestId" => self.request_id = Some(v.to_owned()),
            _ => return false,
        }
        true
    }

    fn write_attributes(&self, w: &mut XmlWriter) {
        w.attr("status", &self.status);
        w.attr_opt("requestId", self.request_id.as_deref());
    }

    fn write_children(&self, w: &mut XmlWriter) {
        if !self.slots.is_empty() {
            write_slot_list(w, "rs:ResponseSlotList", &self.slots);
        }
        if let Some(list) = &self.errors {
            w.start("rs:RegistryErrorList");
            w.attr_opt("highestSeverity", list.highest_severity.as_deref());
            for e in &list.errors {
                w.start("rs:RegistryError");
                w.attr("errorCode", &e.error_code);
                w.attr("codeContext", &e.code_context);
                w.attr_opt("location", e.location.as_deref());
                w.attr_opt("severity", e.severity.as_deref());
                if !e.value.is_empty() {
                    w.text(&e.value);
                }
                w.end("rs:RegistryError");
            }
            w.end("rs:RegistryErrorList");
        }
    }

    /// Reads a response child (slot list or error list); `Ok(false)` when it is neither.
    fn child(&mut self, r: &mut XmlReader<'_>, c: &Element<'_>) -> Result<bool> {
        if c.is(Ns::Rs, "ResponseSlotList") {
            self.slots = read_slot_list(r)?;
        } else if c.is(Ns::Rs, "RegistryErrorList") {
            once(r, c, &self.errors)?;
            self.errors = Some(read_error_list(r, c)?);
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

fn read_status_attributes(
    r: &XmlReader<'_>,
    el: &Element<'_>,
    resp: &mut RegistryResponse,
    mut own: impl FnMut(&str, &str) -> Result<()>,
) -> Result<()> {
    let mut has_status = false;
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        if k == "status" {
            has_status = true;
        }
        if !resp.attribute(k, &v) {
            own(k, &v)?;
        }
    }
    if has_status {
        Ok(())
    } else {
        Err(r.missing_attribute(el, "status"))
    }
}

fn read_registry_response(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<RegistryResponse> {
    let mut resp = RegistryResponse::default();
    read_status_attributes(r, el, &mut resp, |_, _| Ok(()))?;
    while let Some(c) = r.next_child()? {
        if !resp.child(r, &c)? {
            foreign_or_error(r, &c)?;
        }
    }
    Ok(resp)
}

fn read_error_list(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<RegistryErrorList> {
    let mut list = RegistryErrorList::default();
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        if k == "highestSeverity" {
            list.highest_severity = Some(v.into_owned());
        }
    }
    while let Some(c) = r.next_child()? {
        if !c.is(Ns::Rs, "RegistryError") {
            foreign_or_error(r, &c)?;
            continue;
        }
        let mut e = RegistryError::default();
        let (mut code, mut context) = (None, None);
        for a in c.attributes() {
            let (k, v) = a.map_err(|err| r.locate(err, &c))?;
            match k {
                "errorCode" => code = Some(v.into_owned()),
                "codeContext" => context = Some(v.into_owned()),
                "location" => e.location = Some(v.into_owned()),
                "severity" => e.severity = Some(v.into_owned()),
                _ => {}
            }
        }
        e.error_code = code.ok_or_else(|| r.missing_attribute(&c, "errorCode"))?;
        e.code_context = context.ok_or_else(|| r.missing_attribute(&c, "codeContext"))?;
        let max = r.limits().text_bytes_max;
        e.value = r.read_text(max)?;
        list.errors.push(e);
    }
    Ok(list)
}

// ---------------------------------------------------------------------------------------------
// ITI-18 / ITI-51.

/// `query:ResponseOption/@returnType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnType {
    LeafClass,
    ObjectRef,
    /// The schema default.
    #[default]
    RegistryObject,
    LeafClassWithRepositoryItem,
}

impl ReturnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnType::LeafClass => "LeafClass",
            ReturnType::ObjectRef => "ObjectRef",
            ReturnType::RegistryObject => "RegistryObject",
            ReturnType::LeafClassWithRepositoryItem => "LeafClassWithRepositoryItem",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "LeafClass" => ReturnType::LeafClass,
            "ObjectRef" => ReturnType::ObjectRef,
            "RegistryObject" => ReturnType::RegistryObject,
            "LeafClassWithRepositoryItem" => ReturnType::LeafClassWithRepositoryItem,
            _ => return None,
        })
    }
}

/// `query:ResponseOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseOption {
    pub return_type: ReturnType,
    pub return_composed_objects: bool,
}

/// `rim:AdhocQuery`: a stored query id (`id`) with its parameters as slots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdhocQuery {
    /// `id` is the stored query id; `home` the homeCommunityId (ITI-38); `slots` the
    /// parameters, each value in the ITI-18 syntax ([`query_value`]).
    pub object: RegistryObject,
}

impl AdhocQuery {
    /// The parameter's values, parsed; `None` when the query lacks it.
    pub fn parameter(
        &self,
        name: &str,
    ) -> Option<std::result::Result<Vec<query_value::QueryValue>, query_value::QueryValueError>>
    {
        self.object.slot(name).map(|s| {
            s.values
                .iter()
                .map(|v| query_value::QueryValue::parse(v))
                .collect()
        })
    }
}

/// `query:AdhocQueryRequest` (ITI-18, ITI-51).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdhocQueryRequest {
    pub header: RequestHeader,
    pub federated: Option<bool>,
    pub federation: Option<String>,
    pub start_index: Option<u64>,
    pub max_results: Option<i64>,
    pub response_option: ResponseOption,
    pub adhoc_query: AdhocQuery,
}

impl AdhocQueryRequest {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Query,
            "AdhocQueryRequest",
            "query:AdhocQueryRequest",
            read_adhoc_query_request,
        )
    }

    pub fn to_xml(&self) -> String {
        const TAG: &str = "query:AdhocQueryRequest";
        let mut w = XmlWriter::with_capacity(2048);
        w.start(TAG);
        declare(&mut w, &["query", "rim", "rs"]);
        self.header.write_attributes(&mut w);
        if let Some(f) = self.federated {
            w.attr("federated", if f { "true" } else { "false" });
        }
        w.attr_opt("federation", self.federation.as_deref());
        if let Some(i) = self.start_index {
            w.attr("startIndex", &i.to_string());
        }
        if let Some(i) = self.max_results {
            w.attr("maxResults", &i.to_string());
        }
        self.header.write_slots(&mut w);
        w.start("query:ResponseOption");
        w.attr("returnType", self.response_option.return_type.as_str());
        w.attr(
            "returnComposedObjects",
            if self.response_option.return_composed_objects {
                "true"
            } else {
                "false"
            },
        );
        w.end("query:ResponseOption");
        write_adhoc_query(&mut w, &self.adhoc_query);
        w.end(TAG);
        w.finish()
    }
}

fn parse_bool_attr(
    r: &XmlReader<'_>,
    el: &Element<'_>,
    name: &'static str,
    v: &str,
) -> Result<bool> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(r.invalid_attribute(el, name, v, "xs:boolean")),
    }
}

fn parse_int_attr<T: std::str::FromStr>(
    r: &XmlReader<'_>,
    el: &Element<'_>,
    name: &'static str,
    v: &str,
) -> Result<T> {
    v.trim()
        .parse()
        .map_err(|_| r.invalid_attribute(el, name, v, "an integer"))
}

fn read_adhoc_query_request(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<AdhocQueryRequest> {
    let mut m = AdhocQueryRequest::default();
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        if m.header.attribute(k, &v) {
            continue;
        }
        match k {
            "federated" => m.federated = Some(parse_bool_attr(r, el, "federated", &v)?),
            "federation" => m.federation = Some(v.into_owned()),
            "startIndex" => m.start_index = Some(parse_int_attr(r, el, "startIndex", &v)?),
            "maxResults" => m.max_results = Some(parse_int_attr(r, el, "maxResults", &v)?),
            _ => {}
        }
    }
    let (mut option, mut query) = (None, None);
    let mut seen_slots = false;
    while let Some(c) = r.next_child()? {
        if c.is(Ns::Rs, "RequestSlotList") {
            if seen_slots {
                return Err(r.duplicate(&c));
            }
            seen_slots = true;
            m.header.slots = read_slot_list(r)?;
        } else if c.is(Ns::Query, "ResponseOption") {
            once(r, &c, &option)?;
            let mut o = ResponseOption::default();
            for a in c.attributes() {
                let (k, v) = a.map_err(|e| r.locate(e, &c))?;
                match k {
                    "returnType" => {
                        o.return_type = ReturnType::parse(v.trim()).ok_or_else(|| {
                            r.invalid_attribute(
                                &c,
                                "returnType",
                                &v,
                                "LeafClass, ObjectRef, RegistryObject or LeafClassWithRepositoryItem",
                            )
                        })?;
                    }
                    "returnComposedObjects" => {
                        o.return_composed_objects =
                            parse_bool_attr(r, &c, "returnComposedObjects", &v)?;
                    }
                    _ => {}
                }
            }
            while let Some(x) = r.next_child()? {
                foreign_or_error(r, &x)?;
            }
            option = Some(o);
        } else if c.is(Ns::Rim, "AdhocQuery") {
            once(r, &c, &query)?;
            query = Some(read_adhoc_query(r, &c)?);
        } else {
            foreign_or_error(r, &c)?;
        }
    }
    m.response_option = option.ok_or_else(|| r.missing_element(el, "query:ResponseOption"))?;
    m.adhoc_query = query.ok_or_else(|| r.missing_element(el, "rim:AdhocQuery"))?;
    Ok(m)
}

/// `rim:AdhocQuery` is a registry object without children of its own (a `rim:QueryExpression`
/// is rejected: XDS uses stored queries only).
fn read_adhoc_query(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<AdhocQuery> {
    Ok(AdhocQuery {
        object: crate::codec::read_plain_object(r, el)?,
    })
}

fn write_adhoc_query(w: &mut XmlWriter, q: &AdhocQuery) {
    w.start("rim:AdhocQuery");
    write_common_attributes(w, &q.object);
    write_common_children(w, &q.object);
    w.end("rim:AdhocQuery");
}

/// `query:AdhocQueryResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdhocQueryResponse {
    pub response: RegistryResponse,
    pub start_index: Option<u64>,
    pub total_result_count: Option<u64>,
    /// LeafClass objects or `ObjectRef`s, depending on the request's returnType.
    pub registry_object_list: RegistryObjectList,
    /// LeafClass objects as the registry stored them, written after `registry_object_list`'s
    /// objects in the same `rim:RegistryObjectList` (see [`StoredXml`]). Only a registry
    /// building its answer sets this; parsing a response never does.
    pub stored_objects: Vec<StoredXml>,
}

impl AdhocQueryResponse {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Query,
            "AdhocQueryResponse",
            "query:AdhocQueryResponse",
            read_adhoc_query_response,
        )
    }

    pub fn to_xml(&self) -> String {
        const TAG: &str = "query:AdhocQueryResponse";
        let mut w = XmlWriter::with_capacity(8192);
        w.start(TAG);
        declare(&mut w, &["query", "rim", "rs"]);
        self.response.write_attributes(&mut w);
        if let Some(i) = self.start_index {
            w.attr("startIndex", &i.to_string());
        }
        if let Some(i) = self.total_result_count {
            w.attr("totalResultCount", &i.to_string());
        }
        self.response.write_children(&mut w);
        if self.stored_objects.is_empty() {
            write_registry_object_list(&mut w, &self.registry_object_list, false);
        } else {
            const LIST: &str = "rim:RegistryObjectList";
            w.start(LIST);
            for object in &self.registry_object_list.objects {
                write_identifiable(&mut w, object, false);
            }
            for object in &self.stored_objects {
                object.write_nested(&mut w);
            }
            w.end(LIST);
        }
        w.end(TAG);
        w.finish()
    }
}

fn read_adhoc_query_response(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
) -> Result<AdhocQueryResponse> {
    let mut m = AdhocQueryResponse::default();
    let (mut start, mut total) = (None, None);
    read_status_attributes(r, el, &mut m.response, |k, v| {
        match k {
            "startIndex" => start = Some(parse_int_attr(r, el, "startIndex", v)?),
            "totalResultCount" => total = Some(parse_int_attr(r, el, "totalResultCount", v)?),
            _ => {}
        }
        Ok(())
    })?;
    m.start_index = start;
    m.total_result_count = total;
    let mut list = None;
    while let Some(c) = r.next_child()? {
        if m.response.child(r, &c)? {
            continue;
        }
        if c.is(Ns::Rim, "RegistryObjectList") {
            once(r, &c, &list)?;
            list = Some(read_registry_object_list(r)?);
        } else {
            foreign_or_error(r, &c)?;
        }
    }
    // The schema requires the list, but failure responses often omit it; an absent list reads
    // as an empty one and is written back as an empty element.
    m.registry_object_list = list.unwrap_or_default();
    Ok(m)
}

// ---------------------------------------------------------------------------------------------
// ITI-43.

/// One `xdsb:DocumentRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentRequest {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
}

/// `xdsb:RetrieveDocumentSetRequest` (ITI-43).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetrieveDocumentSetRequest {
    pub document_requests: Vec<DocumentRequest>,
}

impl RetrieveDocumentSetRequest {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Xdsb,
            "RetrieveDocumentSetRequest",
            "xdsb:RetrieveDocumentSetRequest",
            |r, _| read_retrieve_request(r),
        )
    }

    pub fn to_xml(&self) -> String {
        const TAG: &str = "xdsb:RetrieveDocumentSetRequest";
        let mut w = XmlWriter::with_capacity(1024);
        w.start(TAG);
        declare(&mut w, &["xdsb"]);
        for d in &self.document_requests {
            w.start("xdsb:DocumentRequest");
            if let Some(h) = &d.home_community_id {
                w.text_element("xdsb:HomeCommunityId", h);
            }
            w.text_element("xdsb:RepositoryUniqueId", &d.repository_unique_id);
            w.text_element("xdsb:DocumentUniqueId", &d.document_unique_id);
            w.end("xdsb:DocumentRequest");
        }
        w.end(TAG);
        w.finish()
    }
}

fn read_xdsb_text(r: &mut XmlReader<'_>, c: &Element<'_>, slot: &mut Option<String>) -> Result<()> {
    once(r, c, slot)?;
    let max = r.limits().text_bytes_max;
    *slot = Some(r.read_text(max)?);
    Ok(())
}

fn read_retrieve_request(r: &mut XmlReader<'_>) -> Result<RetrieveDocumentSetRequest> {
    let mut m = RetrieveDocumentSetRequest::default();
    while let Some(c) = r.next_child()? {
        if !c.is(Ns::Xdsb, "DocumentRequest") {
            foreign_or_error(r, &c)?;
            continue;
        }
        let (mut home, mut repo, mut doc) = (None, None, None);
        while let Some(f) = r.next_child()? {
            match (f.ns, f.local_name()) {
                (Ns::Xdsb, "HomeCommunityId") => read_xdsb_text(r, &f, &mut home)?,
                (Ns::Xdsb, "RepositoryUniqueId") => read_xdsb_text(r, &f, &mut repo)?,
                (Ns::Xdsb, "DocumentUniqueId") => read_xdsb_text(r, &f, &mut doc)?,
                _ => foreign_or_error(r, &f)?,
            }
        }
        m.document_requests.push(DocumentRequest {
            home_community_id: home,
            repository_unique_id: repo
                .ok_or_else(|| r.missing_element(&c, "xdsb:RepositoryUniqueId"))?,
            document_unique_id: doc
                .ok_or_else(|| r.missing_element(&c, "xdsb:DocumentUniqueId"))?,
        });
    }
    Ok(m)
}

/// One `xdsb:DocumentResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentResponse {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
    pub new_repository_unique_id: Option<String>,
    pub new_document_unique_id: Option<String>,
    pub mime_type: String,
    pub document: DocumentContent,
}

/// `xdsb:RetrieveDocumentSetResponse` (ITI-43).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetrieveDocumentSetResponse {
    pub registry_response: RegistryResponse,
    pub document_responses: Vec<DocumentResponse>,
}

impl RetrieveDocumentSetResponse {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Xdsb,
            "RetrieveDocumentSetResponse",
            "xdsb:RetrieveDocumentSetResponse",
            read_retrieve_response,
        )
    }

    pub fn to_xml(&self) -> String {
        const TAG: &str = "xdsb:RetrieveDocumentSetResponse";
        let mut w = XmlWriter::with_capacity(4096);
        w.start(TAG);
        declare(&mut w, &["xdsb", "rs", "rim"]);
        w.start("rs:RegistryResponse");
        self.registry_response.write_attributes(&mut w);
        self.registry_response.write_children(&mut w);
        w.end("rs:RegistryResponse");
        for d in &self.document_responses {
            w.start("xdsb:DocumentResponse");
            if let Some(h) = &d.home_community_id {
                w.text_element("xdsb:HomeCommunityId", h);
            }
            w.text_element("xdsb:RepositoryUniqueId", &d.repository_unique_id);
            w.text_element("xdsb:DocumentUniqueId", &d.document_unique_id);
            if let Some(v) = &d.new_repository_unique_id {
                w.text_element("xdsb:NewRepositoryUniqueId", v);
            }
            if let Some(v) = &d.new_document_unique_id {
                w.text_element("xdsb:NewDocumentUniqueId", v);
            }
            w.text_element("xdsb:mimeType", &d.mime_type);
            w.start("xdsb:Document");
            write_document_content(&mut w, &d.document);
            w.end("xdsb:Document");
            w.end("xdsb:DocumentResponse");
        }
        w.end(TAG);
        w.finish()
    }
}

fn read_retrieve_response(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
) -> Result<RetrieveDocumentSetResponse> {
    let mut m = RetrieveDocumentSetResponse::default();
    let mut resp = None;
    while let Some(c) = r.next_child()? {
        if c.is(Ns::Rs, "RegistryResponse") {
            once(r, &c, &resp)?;
            resp = Some(read_registry_response(r, &c)?);
        } else if c.is(Ns::Xdsb, "DocumentResponse") {
            m.document_responses.push(read_document_response(r, &c)?);
        } else {
            foreign_or_error(r, &c)?;
        }
    }
    m.registry_response = resp.ok_or_else(|| r.missing_element(el, "rs:RegistryResponse"))?;
    Ok(m)
}

fn read_document_response(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<DocumentResponse> {
    let (mut home, mut repo, mut doc, mut new_repo, mut new_doc, mut mime) =
        (None, None, None, None, None, None);
    let mut document = None;
    while let Some(f) = r.next_child()? {
        match (f.ns, f.local_name()) {
            (Ns::Xdsb, "HomeCommunityId") => read_xdsb_text(r, &f, &mut home)?,
            (Ns::Xdsb, "RepositoryUniqueId") => read_xdsb_text(r, &f, &mut repo)?,
            (Ns::Xdsb, "DocumentUniqueId") => read_xdsb_text(r, &f, &mut doc)?,
            (Ns::Xdsb, "NewRepositoryUniqueId") => read_xdsb_text(r, &f, &mut new_repo)?,
            (Ns::Xdsb, "NewDocumentUniqueId") => read_xdsb_text(r, &f, &mut new_doc)?,
            (Ns::Xdsb, "mimeType") => read_xdsb_text(r, &f, &mut mime)?,
            (Ns::Xdsb, "Document") => {
                once(r, &f, &document)?;
                document = Some(read_document_content(r, &f)?);
            }
            _ => foreign_or_error(r, &f)?,
        }
    }
    Ok(DocumentResponse {
        home_community_id: home,
        repository_unique_id: repo
            .ok_or_else(|| r.missing_element(el, "xdsb:RepositoryUniqueId"))?,
        document_unique_id: doc.ok_or_else(|| r.missing_element(el, "xdsb:DocumentUniqueId"))?,
        new_repository_unique_id: new_repo,
        new_document_unique_id: new_doc,
        mime_type: mime.ok_or_else(|| r.missing_element(el, "xdsb:mimeType"))?,
        document: document.ok_or_else(|| r.missing_element(el, "xdsb:Document"))?,
    })
}

// ---------------------------------------------------------------------------------------------
// ITI-62.

/// `lcm:RemoveObjectsRequest` (ITI-62).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoveObjectsRequest {
    pub header: RequestHeader,
    /// `deletionScope`; absent means `…DeletionScopeType:DeleteAll`.
    pub deletion_scope: Option<String>,
    pub adhoc_query: Option<AdhocQuery>,
    /// `rim:ObjectRefList`; `None` when the element is absent (distinct from an empty list).
    pub object_refs: Option<Vec<ObjectRef>>,
}

impl RemoveObjectsRequest {
    pub fn parse(input: &[u8]) -> Result<Self> {
        parse_root(
            input,
            Ns::Lcm,
            "RemoveObjectsRequest",
            "lcm:RemoveObjectsRequest",
            read_remove_objects_request,
        )
    }

    pub fn to_xml(&self) -> String {
        const TAG: &str = "lcm:RemoveObjectsRequest";
        let mut w = XmlWriter::with_capacity(1024);
        w.start(TAG);
        declare(&mut w, &["lcm", "rim", "rs"]);
        self.header.write_attributes(&mut w);
        w.attr_opt("deletionScope", self.deletion_scope.as_deref());
        self.header.write_slots(&mut w);
        if let Some(q) = &self.adhoc_query {
            write_adhoc_query(&mut w, q);
        }
        if let Some(refs) = &self.object_refs {
            w.start("rim:ObjectRefList");
            for o in refs {
                write_object_ref(&mut w, o);
            }
            w.end("rim:ObjectRefList");
        }
        w.end(TAG);
        w.finish()
    }
}

fn read_remove_objects_request(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
) -> Result<RemoveObjectsRequest> {
    let mut m = RemoveObjectsRequest::default();
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        if !m.header.attribute(k, &v) && k == "deletionScope" {
            m.deletion_scope = Some(v.into_owned());
        }
    }
    let mut seen_slots = false;
    while let Some(c) = r.next_child()? {
        if c.is(Ns::Rs, "RequestSlotList") {
            if seen_slots {
                return Err(r.duplicate(&c));
            }
            seen_slots = true;
            m.header.slots = read_slot_list(r)?;
        } else if c.is(Ns::Rim, "AdhocQuery") {
            once(r, &c, &m.adhoc_query)?;
            m.adhoc_query = Some(read_adhoc_query(r, &c)?);
        } else if c.is(Ns::Rim, "ObjectRefList") {
            once(r, &c, &m.object_refs)?;
            let mut refs = Vec::new();
            while let Some(o) = r.next_child()? {
                if o.is(Ns::Rim, "ObjectRef") {
                    refs.push(read_object_ref(r, &o)?);
                } else {
                    foreign_or_error(r, &o)?;
                }
            }
            m.object_refs = Some(refs);
        } else {
            foreign_or_error(r, &c)?;
        }
    }
    Ok(m)
}

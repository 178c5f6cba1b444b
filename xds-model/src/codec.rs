//! The ebRIM 3.0 codec: reads and writes the objects of [`crate::rim`].
//!
//! Invariants:
//! - Lossless for the model: for every value `v`, `parse(serialize(v)) == v`, and for every
//!   input that parses to `v`, serializing `v` and parsing again yields `v`.
//! - Children are written in schema order (Slot*, Name?, Description?, VersionInfo?,
//!   Classification*, ExternalIdentifier*, then the type's own children). Reading accepts them
//!   in any order, because what they mean does not depend on it and the model keeps each kind
//!   in its own list.
//! - Unknown attributes are ignored; an element of the rim namespace the model has no place
//!   for is an error naming it (silently dropping it would break the lossless promise);
//!   elements of foreign namespaces are skipped (ebRIM has no extension points, so these are
//!   noise from some sender's tooling, and nothing of XDS lives there).
//! - `rim:ObjectRef` children (ebRIM allows Slot there) are not kept by the model and are
//!   therefore rejected.

use crate::limits::XmlLimits;
use crate::rim::{
    Association, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable,
    InternationalString, LocalizedString, ObjectRef, RegistryObject, RegistryObjectList,
    RegistryPackage, Slot, VersionInfo,
};
use crate::xml::{Element, Ns, ParseError, XmlReader, XmlWriter, declare};

type Result<T> = std::result::Result<T, ParseError>;

// ---------------------------------------------------------------------------------------------
// Public entry points.

/// Parses a document whose root is `rim:RegistryObjectList`.
pub fn parse_registry_object_list(input: &[u8]) -> Result<RegistryObjectList> {
    parse_registry_object_list_with(input, XmlLimits::default())
}

pub fn parse_registry_object_list_with(
    input: &[u8],
    limits: XmlLimits,
) -> Result<RegistryObjectList> {
    let mut r = XmlReader::new(input, limits);
    let root = r.root()?;
    if !root.is(Ns::Rim, "RegistryObjectList") {
        return Err(unexpected_root(&r, &root, "rim:RegistryObjectList"));
    }
    let list = read_registry_object_list(&mut r)?;
    r.finish()?;
    Ok(list)
}

/// Parses a document whose root is one identifiable (`rim:ExtrinsicObject`, …).
pub fn parse_identifiable(input: &[u8]) -> Result<Identifiable> {
    let mut r = XmlReader::new(input, XmlLimits::default());
    let root = r.root()?;
    let Some(obj) = read_identifiable(&mut r, &root)? else {
        return Err(unexpected_root(
            &r,
            &root,
            "an ebRIM identifiable (ExtrinsicObject, RegistryPackage, Association, Classification, ExternalIdentifier, ObjectRef)",
        ));
    };
    r.finish()?;
    Ok(obj)
}

pub(crate) fn unexpected_root(
    r: &XmlReader<'_>,
    root: &Element<'_>,
    expected: &'static str,
) -> ParseError {
    ParseError::UnexpectedRoot {
        offset: root.offset,
        element: root.qname().to_owned(),
        namespace: r.root_namespace().to_owned(),
        expected,
    }
}

impl RegistryObjectList {
    /// `<rim:RegistryObjectList xmlns:rim=…>…</rim:RegistryObjectList>`.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::with_capacity(4096);
        write_registry_object_list(&mut w, self, true);
        w.finish()
    }
}

impl Identifiable {
    /// The object as a standalone document with the `rim` prefix declared on it.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::with_capacity(1024);
        write_identifiable(&mut w, self, true);
        w.finish()
    }
}

/// An object's XML exactly as [`Identifiable::to_xml`] wrote it, to be written into a
/// response again without being parsed and re-serialized (the registry answers queries from
/// the XML it stored; parsing it back only to write the same bytes was the largest single
/// cost of an ITI-18 answer).
///
/// Invariant: the text is one complete `rim:` element that this crate's writer produced, so it
/// is well-formed and escaped; [`StoredXml::new`] checks the cheap part of that (the root
/// element and its `id`), the store's write path guarantees the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredXml {
    xml: String,
    /// Where the root's ` xmlns:rim="…"` declaration is, if it has one: it is left out when
    /// the object is written inside an element that already declares `rim`, so that the
    /// bytes equal those of writing the parsed object.
    declaration: Option<std::ops::Range<usize>>,
}

/// Why stored XML cannot be written as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored XML of {object} is not an object this codec wrote: {detail}")]
pub struct StoredXmlError {
    pub object: String,
    pub detail: &'static str,
}

impl StoredXml {
    /// Takes the stored XML of the object whose id is `id`.
    pub fn new(id: &str, xml: String) -> std::result::Result<StoredXml, StoredXmlError> {
        let error = |detail| StoredXmlError {
            object: id.to_owned(),
            detail,
        };
        if !xml.starts_with("<rim:") {
            return Err(error("it does not start with a rim: element"));
        }
        let start_tag_end = xml
            .find('>')
            .ok_or_else(|| error("its start tag is not closed"))?;
        let start_tag = &xml[..start_tag_end];
        // Identifiers the registry stores are UUID URNs, written unescaped.
        if id.contains(['<', '>', '&', '"', '\'']) {
            return Err(error("its id needs escaping, which stored ids never do"));
        }
        let id_attribute = format!(" id=\"{id}\"");
        if !start_tag.contains(&id_attribute) {
            return Err(error("its root element does not carry that id"));
        }
        let declaration_text = format!(" xmlns:rim=\"{}\"", crate::vocabulary::ns::RIM);
        let declaration = start_tag
            .find(&declaration_text)
            .map(|at| at..at + declaration_text.len());
        Ok(StoredXml { xml, declaration })
    }

    /// Writes the object as a child of an element that declares `rim`.
    pub(crate) fn write_nested(&self, w: &mut XmlWriter) {
        match &self.declaration {
            Some(range) => {
                w.raw_element(&self.xml[..range.start]);
                w.raw_continue(&self.xml[range.end..]);
            }
            None => w.raw_element(&self.xml),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading. Each `read_*` is called with the element's start tag consumed and returns after
// its end tag.

pub(crate) fn read_registry_object_list(r: &mut XmlReader<'_>) -> Result<RegistryObjectList> {
    let mut objects = Vec::new();
    while let Some(child) = r.next_child()? {
        match read_identifiable(r, &child)? {
            Some(o) => objects.push(o),
            None => foreign_or_error(r, &child)?,
        }
    }
    Ok(RegistryObjectList { objects })
}

/// `Ok(None)` when `el` is not an identifiable (its content is then still unread).
pub(crate) fn read_identifiable(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
) -> Result<Option<Identifiable>> {
    if el.ns != Ns::Rim {
        return Ok(None);
    }
    Ok(Some(match el.local_name() {
        "ExtrinsicObject" => Identifiable::ExtrinsicObject(read_extrinsic_object(r, el)?),
        "RegistryPackage" => Identifiable::RegistryPackage(read_registry_package(r, el)?),
        "Association" => Identifiable::Association(read_association(r, el)?),
        "Classification" => Identifiable::Classification(read_classification(r, el)?),
        "ExternalIdentifier" => Identifiable::ExternalIdentifier(read_external_identifier(r, el)?),
        "ObjectRef" => Identifiable::ObjectRef(read_object_ref(r, el)?),
        _ => return Ok(None),
    }))
}

/// A child the caller has no place for: skipped when foreign, an error in an ebXML namespace.
pub(crate) fn foreign_or_error(r: &mut XmlReader<'_>, child: &Element<'_>) -> Result<()> {
    if child.ns == Ns::Other {
        r.skip()
    } else {
        Err(r.unexpected(child))
    }
}

fn value_max(r: &XmlReader<'_>) -> usize {
    r.limits().text_bytes_max
}

/// Reads one registry-object attribute into `o`; `false` when the name is not one of them.
fn common_attribute(o: &mut RegistryObject, key: &str, value: &str) -> bool {
    let slot = match key {
        "id" => {
            o.id = value.to_owned();
            return true;
        }
        "home" => &mut o.home,
        "lid" => &mut o.lid,
        "objectType" => &mut o.object_type,
        "status" => &mut o.status,
        _ => return false,
    };
    *slot = Some(value.to_owned());
    true
}

/// Reads one registry-object child into `o`; `Ok(false)` when it is not one of them (content
/// still unread).
fn common_child(
    r: &mut XmlReader<'_>,
    o: &mut RegistryObject,
    child: &Element<'_>,
) -> Result<bool> {
    if child.ns != Ns::Rim {
        return Ok(false);
    }
    match child.local_name() {
        "Slot" => o.slots.push(read_slot(r, child)?),
        "Name" => {
            if o.name.is_some() {
                return Err(r.duplicate(child));
            }
            o.name = Some(read_international_string(r)?);
        }
        "Description" => {
            if o.description.is_some() {
                return Err(r.duplicate(child));
            }
            o.description = Some(read_international_string(r)?);
        }
        "VersionInfo" => {
            if o.version_info.is_some() {
                return Err(r.duplicate(child));
            }
            o.version_info = Some(read_version_info(r, child)?);
        }
        "Classification" => o.classifications.push(read_classification(r, child)?),
        "ExternalIdentifier" => o
            .external_identifiers
            .push(read_external_identifier(r, child)?),
        _ => return Ok(false),
    }
    Ok(true)
}

fn require_id(r: &XmlReader<'_>, el: &Element<'_>, o: &RegistryObject, seen: bool) -> Result<()> {
    let _ = o;
    if seen {
        Ok(())
    } else {
        Err(r.missing_attribute(el, "id"))
    }
}

fn parse_bool(r: &XmlReader<'_>, el: &Element<'_>, name: &'static str, v: &str) -> Result<bool> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(r.invalid_attribute(el, name, v, "xs:boolean")),
    }
}

/// Reads the registry-object part plus a closure for the type's own attributes.
fn read_object_attributes(
    r: &XmlReader<'_>,
    el: &Element<'_>,
    o: &mut RegistryObject,
    mut own: impl FnMut(&str, &str) -> Result<()>,
) -> Result<()> {
    let mut has_id = false;
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        if k == "id" {
            has_id = true;
        }
        if !common_attribute(o, k, &v) {
            own(k, &v)?;
        }
    }
    require_id(r, el, o, has_id)
}

fn read_extrinsic_object(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<ExtrinsicObject> {
    let mut eo = ExtrinsicObject::default();
    let mut mime_type = None;
    let mut is_opaque = None;
    read_object_attributes(r, el, &mut eo.object, |k, v| {
        match k {
            "mimeType" => mime_type = Some(v.to_owned()),
            "isOpaque" => is_opaque = Some(parse_bool(r, el, "isOpaque", v)?),
            _ => {}
        }
        Ok(())
    })?;
    eo.mime_type = mime_type;
    eo.is_opaque = is_opaque;
    while let Some(child) = r.next_child()? {
        if common_child(r, &mut eo.object, &child)? {
            continue;
        }
        if child.is(Ns::Rim, "ContentVersionInfo") {
            if eo.content_version_info.is_some() {
                return Err(r.duplicate(&child));
            }
            eo.content_version_info = Some(read_version_info(r, &child)?);
        } else {
            foreign_or_error(r, &child)?;
        }
    }
    Ok(eo)
}

fn read_registry_package(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<RegistryPackage> {
    let mut p = RegistryPackage::default();
    read_object_attributes(r, el, &mut p.object, |_, _| Ok(()))?;
    let mut seen_list = false;
    while let Some(child) = r.next_child()? {
        if common_child(r, &mut p.object, &child)? {
            continue;
        }
        if child.is(Ns::Rim, "RegistryObjectList") {
            if seen_list {
                return Err(r.duplicate(&child));
            }
            seen_list = true;
            p.members = read_registry_object_list(r)?.objects;
        } else {
            foreign_or_error(r, &child)?;
        }
    }
    Ok(p)
}

fn read_association(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<Association> {
    let mut a = Association::default();
    let (mut ty, mut src, mut tgt) = (None, None, None);
    read_object_attributes(r, el, &mut a.object, |k, v| {
        match k {
            "associationType" => ty = Some(v.to_owned()),
            "sourceObject" => src = Some(v.to_owned()),
            "targetObject" => tgt = Some(v.to_owned()),
            _ => {}
        }
        Ok(())
    })?;
    a.association_type = ty.ok_or_else(|| r.missing_attribute(el, "associationType"))?;
    a.source_object = src.ok_or_else(|| r.missing_attribute(el, "sourceObject"))?;
    a.target_object = tgt.ok_or_else(|| r.missing_attribute(el, "targetObject"))?;
    read_plain_object_children(r, &mut a.object)?;
    Ok(a)
}

/// A registry object with no attributes or children beyond the common ones (`rim:AdhocQuery`).
pub(crate) fn read_plain_object(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<RegistryObject> {
    let mut o = RegistryObject::default();
    read_object_attributes(r, el, &mut o, |_, _| Ok(()))?;
    read_plain_object_children(r, &mut o)?;
    Ok(o)
}

fn read_plain_object_children(r: &mut XmlReader<'_>, o: &mut RegistryObject) -> Result<()> {
    while let Some(child) = r.next_child()? {
        if !common_child(r, o, &child)? {
            foreign_or_error(r, &child)?;
        }
    }
    Ok(())
}

fn read_classification(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<Classification> {
    let mut c = Classification::default();
    let mut classified = None;
    let (mut scheme, mut node, mut rep) = (None, None, None);
    read_object_attributes(r, el, &mut c.object, |k, v| {
        match k {
            "classificationScheme" => scheme = Some(v.to_owned()),
            "classifiedObject" => classified = Some(v.to_owned()),
            "classificationNode" => node = Some(v.to_owned()),
            "nodeRepresentation" => rep = Some(v.to_owned()),
            _ => {}
        }
        Ok(())
    })?;
    c.classified_object = classified.ok_or_else(|| r.missing_attribute(el, "classifiedObject"))?;
    c.classification_scheme = scheme;
    c.classification_node = node;
    c.node_representation = rep;
    read_plain_object_children(r, &mut c.object)?;
    Ok(c)
}

fn read_external_identifier(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<ExternalIdentifier> {
    let mut e = ExternalIdentifier::default();
    let (mut ro, mut scheme, mut value) = (None, None, None);
    read_object_attributes(r, el, &mut e.object, |k, v| {
        match k {
            "registryObject" => ro = Some(v.to_owned()),
            "identificationScheme" => scheme = Some(v.to_owned()),
            "value" => value = Some(v.to_owned()),
            _ => {}
        }
        Ok(())
    })?;
    e.registry_object = ro.ok_or_else(|| r.missing_attribute(el, "registryObject"))?;
    e.identification_scheme =
        scheme.ok_or_else(|| r.missing_attribute(el, "identificationScheme"))?;
    e.value = value.ok_or_else(|| r.missing_attribute(el, "value"))?;
    read_plain_object_children(r, &mut e.object)?;
    Ok(e)
}

pub(crate) fn read_object_ref(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<ObjectRef> {
    let mut o = ObjectRef::default();
    let mut id = None;
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        match k {
            "id" => id = Some(v.into_owned()),
            "home" => o.home = Some(v.into_owned()),
            "createReplica" => o.create_replica = Some(parse_bool(r, el, "createReplica", &v)?),
            _ => {}
        }
    }
    o.id = id.ok_or_else(|| r.missing_attribute(el, "id"))?;
    while let Some(child) = r.next_child()? {
        foreign_or_error(r, &child)?;
    }
    Ok(o)
}

pub(crate) fn read_slot(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<Slot> {
    let mut slot = Slot::default();
    let mut name = None;
    for a in el.attributes() {
        let (k, v) = a.map_err(|e| r.locate(e, el))?;
        match k {
            "name" => name = Some(v.into_owned()),
            "slotType" => slot.slot_type = Some(v.into_owned()),
            _ => {}
        }
    }
    slot.name = name.ok_or_else(|| r.missing_attribute(el, "name"))?;
    let mut seen_list = false;
    while let Some(child) = r.next_child()? {
        if child.is(Ns::Rim, "ValueList") {
            if seen_list {
                return Err(r.duplicate(&child));
            }
            seen_list = true;
            while let Some(value) = r.next_child()? {
                if value.is(Ns::Rim, "Value") {
                    let max = value_max(r);
                    slot.values.push(r.read_text(max)?);
                } else {
                    foreign_or_error(r, &value)?;
                }
            }
        } else {
            foreign_or_error(r, &child)?;
        }
    }
    if !seen_list {
        return Err(r.missing_element(el, "rim:ValueList"));
    }
    Ok(slot)
}

fn read_international_string(r: &mut XmlReader<'_>) -> Result<InternationalString> {
    let mut s = InternationalString::default();
    while let Some(child) = r.next_child()? {
        if child.is(Ns::Rim, "LocalizedString") {
            let mut ls = LocalizedString::default();
            let mut value = None;
            for a in child.attributes() {
                let (k, v) = a.map_err(|e| r.locate(e, &child))?;
                match k {
                    "xml:lang" => ls.lang = Some(v.into_owned()),
                    "charset" => ls.charset = Some(v.into_owned()),
                    "value" => value = Some(v.into_owned()),
                    _ => {}
                }
            }
            ls.value = value.ok_or_else(|| r.missing_attribute(&child, "value"))?;
            while let Some(c) = r.next_child()? {
                foreign_or_error(r, &c)?;
            }
            s.localized.push(ls);
        } else {
            foreign_or_error(r, &child)?;
        }
    }
    Ok(s)
}

fn read_version_info(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<VersionInfo> {
    let mut v = VersionInfo::default();
    for a in el.attributes() {
        let (k, val) = a.map_err(|e| r.locate(e, el))?;
        match k {
            "versionName" => v.version_name = Some(val.into_owned()),
            "comment" => v.comment = Some(val.into_owned()),
            _ => {}
        }
    }
    while let Some(c) = r.next_child()? {
        foreign_or_error(r, &c)?;
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Writing.

const RIM_PREFIX: &[&str] = &["rim"];

pub(crate) fn write_registry_object_list(w: &mut XmlWriter, list: &RegistryObjectList, root: bool) {
    write_objects(w, &list.objects, root);
}

fn write_objects(w: &mut XmlWriter, objects: &[Identifiable], root: bool) {
    w.start("rim:RegistryObjectList");
    if root {
        declare(w, RIM_PREFIX);
    }
    for o in objects {
        write_identifiable(w, o, false);
    }
    w.end("rim:RegistryObjectList");
}

pub(crate) fn write_identifiable(w: &mut XmlWriter, o: &Identifiable, root: bool) {
    let decl = |w: &mut XmlWriter| {
        if root {
            declare(w, RIM_PREFIX);
        }
    };
    match o {
        Identifiable::ExtrinsicObject(eo) => {
            const TAG: &str = "rim:ExtrinsicObject";
            w.start(TAG);
            decl(w);
            write_common_attributes(w, &eo.object);
            w.attr_opt("mimeType", eo.mime_type.as_deref());
            if let Some(b) = eo.is_opaque {
                w.attr("isOpaque", bool_str(b));
            }
            write_common_children(w, &eo.object);
            if let Some(v) = &eo.content_version_info {
                write_version_info(w, "rim:ContentVersionInfo", v);
            }
            w.end(TAG);
        }
        Identifiable::RegistryPackage(p) => {
            const TAG: &str = "rim:RegistryPackage";
            w.start(TAG);
            decl(w);
            write_common_attributes(w, &p.object);
            write_common_children(w, &p.object);
            if !p.members.is_empty() {
                write_objects(w, &p.members, false);
            }
            w.end(TAG);
        }
        Identifiable::Association(a) => {
            const TAG: &str = "rim:Association";
            w.start(TAG);
            decl(w);
            write_common_attributes(w, &a.object);
            w.attr("associationType", &a.association_type);
            w.attr("sourceObject", &a.source_object);
            w.attr("targetObject", &a.target_object);
            write_common_children(w, &a.object);
            w.end(TAG);
        }
        Identifiable::Classification(c) => {
            w.start("rim:Classification");
            decl(w);
            write_classification_body(w, c);
        }
        Identifiable::ExternalIdentifier(e) => {
            w.start("rim:ExternalIdentifier");
            decl(w);
            write_external_identifier_body(w, e);
        }
        Identifiable::ObjectRef(r) => {
            w.start("rim:ObjectRef");
            decl(w);
            write_object_ref_body(w, r);
        }
    }
}

pub(crate) fn write_object_ref(w: &mut XmlWriter, r: &ObjectRef) {
    w.start("rim:ObjectRef");
    write_object_ref_body(w, r);
}

fn write_object_ref_body(w: &mut XmlWriter, r: &ObjectRef) {
    w.attr("id", &r.id);
    w.attr_opt("home", r.home.as_deref());
    if let Some(b) = r.create_replica {
        w.attr("createReplica", bool_str(b));
    }
    w.end("rim:ObjectRef");
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

pub(crate) fn write_common_attributes(w: &mut XmlWriter, o: &RegistryObject) {
    w.attr("id", &o.id);
    w.attr_opt("home", o.home.as_deref());
    w.attr_opt("lid", o.lid.as_deref());
    w.attr_opt("objectType", o.object_type.as_deref());
    w.attr_opt("status", o.status.as_deref());
}

pub(crate) fn write_common_children(w: &mut XmlWriter, o: &RegistryObject) {
    for s in &o.slots {
        write_slot(w, s);
    }
    if let Some(n) = &o.name {
        write_international_string(w, "rim:Name", n);
    }
    if let Some(d) = &o.description {
        write_international_string(w, "rim:Description", d);
    }
    if let Some(v) = &o.version_info {
        write_version_info(w, "rim:VersionInfo", v);
    }
    for c in &o.classifications {
        w.start("rim:Classification");
        write_classification_body(w, c);
    }
    for e in &o.external_identifiers {
        w.start("rim:ExternalIdentifier");
        write_external_identifier_body(w, e);
    }
}

fn write_classification_body(w: &mut XmlWriter, c: &Classification) {
    write_common_attributes(w, &c.object);
    w.attr_opt("classificationScheme", c.classification_scheme.as_deref());
    w.attr("classifiedObject", &c.classified_object);
    w.attr_opt("classificationNode", c.classification_node.as_deref());
    w.attr_opt("nodeRepresentation", c.node_representation.as_deref());
    write_common_children(w, &c.object);
    w.end("rim:Classification");
}

fn write_external_identifier_body(w: &mut XmlWriter, e: &ExternalIdentifier) {
    write_common_attributes(w, &e.object);
    w.attr("registryObject", &e.registry_object);
    w.attr("identificationScheme", &e.identification_scheme);
    w.attr("value", &e.value);
    write_common_children(w, &e.object);
    w.end("rim:ExternalIdentifier");
}

pub(crate) fn write_slot(w: &mut XmlWriter, s: &Slot) {
    w.start("rim:Slot");
    w.attr("name", &s.name);
    w.attr_opt("slotType", s.slot_type.as_deref());
    w.start("rim:ValueList");
    for v in &s.values {
        w.text_element("rim:Value", v);
    }
    w.end("rim:ValueList");
    w.end("rim:Slot");
}

fn write_international_string(w: &mut XmlWriter, tag: &str, s: &InternationalString) {
    w.start(tag);
    for l in &s.localized {
        w.start("rim:LocalizedString");
        w.attr_opt("xml:lang", l.lang.as_deref());
        w.attr_opt("charset", l.charset.as_deref());
        w.attr("value", &l.value);
        w.end("rim:LocalizedString");
    }
    w.end(tag);
}

fn write_version_info(w: &mut XmlWriter, tag: &str, v: &VersionInfo) {
    w.start(tag);
    w.attr_opt("versionName", v.version_name.as_deref());
    w.attr_opt("comment", v.comment.as_deref());
    w.end(tag);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\"";

    #[test]
    fn reads_an_extrinsic_object_with_every_child() {
        let xml = format!(
            r#"<rim:RegistryObjectList {NS}>
  <rim:ExtrinsicObject id="Doc1" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1" isOpaque="false" unknown="x">
    <rim:Slot name="creationTime"><rim:ValueList><rim:Value>20240101</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString xml:lang="da-DK" value="Aftale &amp; mere"/></rim:Name>
    <rim:VersionInfo versionName="1"/>
    <rim:Classification id="c1" classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" classifiedObject="Doc1" nodeRepresentation="001">
      <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.208.184.100.9</rim:Value></rim:ValueList></rim:Slot>
    </rim:Classification>
    <rim:ExternalIdentifier id="e1" registryObject="Doc1" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" value="1.2.3"/>
    <rim:ContentVersionInfo versionName="2"/>
  </rim:ExtrinsicObject>
</rim:RegistryObjectList>"#
        );
        let list = parse_registry_object_list(xml.as_bytes()).unwrap();
        let Identifiable::ExtrinsicObject(eo) = &list.objects[0] else {
            panic!("not an ExtrinsicObject: {list:?}");
        };
        assert_eq!(eo.object.slots[0].values, ["20240101"]);
        assert_eq!(
            eo.object.name.as_ref().unwrap().first(),
            Some("Aftale & mere")
        );
        assert_eq!(eo.is_opaque, Some(false));
        assert_eq!(eo.object.classifications.len(), 1);
        assert_eq!(
            eo.content_version_info
                .as_ref()
                .unwrap()
                .version_name
                .as_deref(),
            Some("2")
        );
        let again = parse_registry_object_list(list.to_xml().as_bytes()).unwrap();
        assert_eq!(again, list);
    }

    #[test]
    fn unknown_rim_child_is_named() {
        let xml = format!(
            r#"<rim:RegistryObjectList {NS}><rim:ExtrinsicObject id="a"><rim:Bogus/></rim:ExtrinsicObject></rim:RegistryObjectList>"#
        );
        let err = parse_registry_object_list(xml.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, ParseError::UnexpectedElement { element, path, .. } if element == "rim:Bogus" && path == "/rim:RegistryObjectList/rim:ExtrinsicObject"),
            "{err:?}"
        );
    }

    #[test]
    fn foreign_children_are_skipped() {
        let xml = format!(
            r#"<rim:RegistryObjectList {NS}><rim:ObjectRef id="a"><x:y xmlns:x="urn:x"><z/></x:y></rim:ObjectRef></rim:RegistryObjectList>"#
        );
        let list = parse_registry_object_list(xml.as_bytes()).unwrap();
        assert_eq!(list.objects.len(), 1);
    }

    #[test]
    fn missing_required_attribute() {
        let xml = format!(
            r#"<rim:RegistryObjectList {NS}><rim:Association id="a" sourceObject="x"/></rim:RegistryObjectList>"#
        );
        let err = parse_registry_object_list(xml.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                ParseError::MissingAttribute {
                    attribute: "associationType",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

//! ebRIM 3.0 registry objects as they travel on the wire.
//!
//! These types mirror the schema `urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0` closely enough
//! that parse → serialize → parse is the identity: every slot, classification, external
//! identifier and localized string is kept in document order, whether or not XDS knows it.
//! The XDS meaning of the objects (which classification is a `classCode`, which slot is a
//! `creationTime`) lives in [`crate::xds`], never here.
//!
//! Invariant: these are plain data. Nothing here validates XDS rules; a value that parses is
//! only well-formed ebRIM.

/// A `rim:Slot`: a named list of string values, optionally typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Slot {
    pub name: String,
    pub slot_type: Option<String>,
    /// The `rim:ValueList/rim:Value` texts in order.
    pub values: Vec<String>,
}

impl Slot {
    pub fn new(
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Slot {
            name: name.into(),
            slot_type: None,
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// One `rim:LocalizedString`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalizedString {
    /// `xml:lang`; absent means the registry default.
    pub lang: Option<String>,
    pub charset: Option<String>,
    pub value: String,
}

/// A `rim:Name` or `rim:Description`: the same text in one or more languages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InternationalString {
    pub localized: Vec<LocalizedString>,
}

impl InternationalString {
    /// A single string without a language tag.
    pub fn plain(value: impl Into<String>) -> Self {
        InternationalString {
            localized: vec![LocalizedString {
                lang: None,
                charset: None,
                value: value.into(),
            }],
        }
    }

    /// The first localized value, which is what XDS reads as "the" title or display name.
    pub fn first(&self) -> Option<&str> {
        self.localized.first().map(|l| l.value.as_str())
    }
}

/// `rim:VersionInfo` (and `rim:ContentVersionInfo`, which has the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionInfo {
    pub version_name: Option<String>,
    pub comment: Option<String>,
}

/// The attributes and children every `rim:RegistryObject` has, in schema order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryObject {
    /// `id`: an entryUUID (`urn:uuid:…`) or, inside a submission, a symbolic id.
    pub id: String,
    pub home: Option<String>,
    /// `lid`: the logicalId shared by all versions of one object (ITI-57).
    pub lid: Option<String>,
    pub object_type: Option<String>,
    /// `status`: an availabilityStatus URN.
    pub status: Option<String>,
    pub slots: Vec<Slot>,
    pub name: Option<InternationalString>,
    pub description: Option<InternationalString>,
    pub version_info: Option<VersionInfo>,
    pub classifications: Vec<Classification>,
    pub external_identifiers: Vec<ExternalIdentifier>,
}

impl RegistryObject {
    pub fn new(id: impl Into<String>) -> Self {
        RegistryObject {
            id: id.into(),
            ..RegistryObject::default()
        }
    }

    /// The first slot of that name. XDS slots are single-occurrence; a second one is a
    /// validation finding, never silently merged.
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }

    /// Classifications under one classification scheme, in document order.
    pub fn classifications_by_scheme<'a>(
        &'a self,
        scheme: &'a str,
    ) -> impl Iterator<Item = &'a Classification> + 'a {
        self.classifications
            .iter()
            .filter(move |c| c.classification_scheme.as_deref() == Some(scheme))
    }

    /// External identifiers under one identification scheme, in document order.
    pub fn external_identifiers_by_scheme<'a>(
        &'a self,
        scheme: &'a str,
    ) -> impl Iterator<Item = &'a ExternalIdentifier> + 'a {
        self.external_identifiers
            .iter()
            .filter(move |e| e.identification_scheme == scheme)
    }
}

/// `rim:ExtrinsicObject`: in XDS, a DocumentEntry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtrinsicObject {
    pub object: RegistryObject,
    pub mime_type: Option<String>,
    pub is_opaque: Option<bool>,
    pub content_version_info: Option<VersionInfo>,
}

/// `rim:RegistryPackage`: in XDS, a SubmissionSet or a Folder (told apart by a classification).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryPackage {
    pub object: RegistryObject,
    /// A nested `rim:RegistryObjectList`; XDS never uses it but ebRIM allows it.
    pub members: Vec<Identifiable>,
}

/// `rim:Association` between two registry objects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Association {
    pub object: RegistryObject,
    pub association_type: String,
    pub source_object: String,
    pub target_object: String,
}

/// `rim:Classification`: either external (a scheme plus a code in `node_representation`, as
/// XDS codes are) or internal (a `classification_node`, as the SubmissionSet marker is).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    pub object: RegistryObject,
    pub classification_scheme: Option<String>,
    pub classified_object: String,
    pub classification_node: Option<String>,
    pub node_representation: Option<String>,
}

/// `rim:ExternalIdentifier`: in XDS, patientId, uniqueId and sourceId.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalIdentifier {
    pub object: RegistryObject,
    pub registry_object: String,
    pub identification_scheme: String,
    pub value: String,
}

/// `rim:ObjectRef`: a reference to an object not carried in the message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    pub id: String,
    pub home: Option<String>,
    pub create_replica: Option<bool>,
}

/// Anything that can stand in a `rim:RegistryObjectList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifiable {
    ExtrinsicObject(ExtrinsicObject),
    RegistryPackage(RegistryPackage),
    Association(Association),
    Classification(Classification),
    ExternalIdentifier(ExternalIdentifier),
    ObjectRef(ObjectRef),
}

impl Identifiable {
    /// The `id` attribute, which every identifiable has.
    pub fn id(&self) -> &str {
        match self {
            Identifiable::ExtrinsicObject(o) => &o.object.id,
            Identifiable::RegistryPackage(o) => &o.object.id,
            Identifiable::Association(o) => &o.object.id,
            Identifiable::Classification(o) => &o.object.id,
            Identifiable::ExternalIdentifier(o) => &o.object.id,
            Identifiable::ObjectRef(o) => &o.id,
        }
    }

    /// The common registry-object part, absent only for an `ObjectRef`.
    pub fn registry_object(&self) -> Option<&RegistryObject> {
        match self {
            Identifiable::ExtrinsicObject(o) => Some(&o.object),
            Identifiable::RegistryPackage(o) => Some(&o.object),
            Identifiable::Association(o) => Some(&o.object),
            Identifiable::Classification(o) => Some(&o.object),
            Identifiable::ExternalIdentifier(o) => Some(&o.object),
            Identifiable::ObjectRef(_) => None,
        }
    }
}

/// A `rim:RegistryObjectList`, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryObjectList {
    pub objects: Vec<Identifiable>,
}

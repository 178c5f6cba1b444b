//! The IHE XDS.b views over ebRIM objects (ITI TF-3 4.2.3): [`DocumentEntry`],
//! [`SubmissionSet`], [`Folder`] and [`Association`], converted both ways.
//!
//! Invariants:
//! - Lossless: `View::from_rim(&o)?.to_rim() == o` for every object `from_rim` accepts. Slots,
//!   classifications and external identifiers the view does not know go to its `extra_*`
//!   fields; the ones it reads keep their ebRIM envelope ([`Classified`], [`Identified`]), and
//!   `to_rim` rewrites only what differs from what that envelope already says. The order of
//!   slots, classifications and external identifiers is recorded in [`ObjectOrder`] and
//!   restored; objects built from scratch (empty order) are written in the order of
//!   ITI TF-3 4.2.3 with the extras last.
//! - A slot is read into a typed field only when it has the expected shape (no `slotType`,
//!   exactly one value for single-valued attributes, at least one for multi-valued ones) and
//!   is the first of its name; anything else stays in `extra_slots` for the validator to see.
//! - Nothing here validates XDS rules (required attributes, code values): that is
//!   `xds-validate`'s job. The views only give the ebRIM parts their XDS names.
//! - Ids generated for parts added to a view (`{entryUUID}_{attribute}[_{n}]`) are symbolic,
//!   as a submission's ids may be; the registry assigns UUIDs.

use crate::rim::{
    self, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable, InternationalString,
    RegistryObject, RegistryObjectList, RegistryPackage, Slot, VersionInfo,
};
use crate::vocabulary::{
    association_type as at, classification_node, document_entry as de, folder as fd, object_type,
    slot as sn, submission_set as ss, submission_set_status,
};

/// Why an ebRIM object is not the XDS object asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    #[error("ExtrinsicObject {id} has objectType {object_type:?}, not a DocumentEntry type")]
    NotADocumentEntry { id: String, object_type: String },
    #[error("RegistryPackage {id} is classified as a {found}, not a {expected}")]
    WrongPackageKind {
        id: String,
        expected: &'static str,
        found: &'static str,
    },
}

/// A coded value as XDS carries it in a Classification: `nodeRepresentation`, the
/// `codingScheme` slot and the `Name`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Code {
    pub code: String,
    pub scheme: String,
    pub display_name: Option<String>,
}

impl Code {
    pub fn new(
        code: impl Into<String>,
        scheme: impl Into<String>,
        display_name: Option<&str>,
    ) -> Self {
        Code {
            code: code.into(),
            scheme: scheme.into(),
            display_name: display_name.map(str::to_owned),
        }
    }
}

/// An author (ITI TF-3 4.2.3.1.4): the slots of an author Classification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Author {
    /// `authorPerson` (XCN).
    pub person: Option<String>,
    /// `authorInstitution` (XON).
    pub institutions: Vec<String>,
    pub roles: Vec<String>,
    pub specialties: Vec<String>,
    /// `authorTelecommunication` (XTN).
    pub telecommunications: Vec<String>,
}

/// A value read from a Classification, with the Classification it came from (or a default
/// one for a value added to a view). `to_rim` starts from `classification` and rewrites only
/// the parts where `value` differs from what it says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classified<T> {
    pub value: T,
    pub classification: Classification,
}

impl<T> Classified<T> {
    pub fn new(value: T) -> Self {
        Classified {
            value,
            classification: Classification::default(),
        }
    }
}

/// A value read from an ExternalIdentifier, with that ExternalIdentifier (or a default one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identified {
    pub value: String,
    pub external_identifier: ExternalIdentifier,
}

impl Identified {
    pub fn new(value: impl Into<String>) -> Self {
        Identified {
            value: value.into(),
            external_identifier: ExternalIdentifier::default(),
        }
    }
}

/// The original id and order of an object's parts, so `to_rim` writes them back in place.
/// Empty for views built from scratch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectOrder {
    /// The `id` the object had; references to it in kept parts follow a changed entryUUID.
    pub id: String,
    pub slots: Vec<String>,
    /// Classification keys (id, scheme and node; see `classification_key`).
    pub classifications: Vec<String>,
    /// ExternalIdentifier keys (id and scheme).
    pub external_identifiers: Vec<String>,
}

/// What places a Classification in its list. Deliberately not its code: a changed code keeps
/// its place. Ties are safe because a view always claims the *first* classification of a
/// scheme or node, so among equal keys the claimed one comes first both before and after.
fn classification_key(c: &Classification) -> String {
    format!(
        "{}\u{0}{}\u{0}{}",
        c.object.id,
        c.classification_scheme.as_deref().unwrap_or(""),
        c.classification_node.as_deref().unwrap_or("")
    )
}

fn external_identifier_key(e: &ExternalIdentifier) -> String {
    format!("{}\u{0}{}", e.object.id, e.identification_scheme)
}

impl ObjectOrder {
    fn of(o: &RegistryObject) -> Self {
        ObjectOrder {
            id: o.id.clone(),
            slots: o.slots.iter().map(|s| s.name.clone()).collect(),
            classifications: o.classifications.iter().map(classification_key).collect(),
            external_identifiers: o
                .external_identifiers
                .iter()
                .map(external_identifier_key)
                .collect(),
        }
    }

    fn apply(&self, o: &mut RegistryObject) {
        o.slots = reorder(std::mem::take(&mut o.slots), &self.slots, |s| {
            s.name.clone()
        });
        o.classifications = reorder(
            std::mem::take(&mut o.classifications),
            &self.classifications,
            classification_key,
        );
        o.external_identifiers = reorder(
            std::mem::take(&mut o.external_identifiers),
            &self.external_identifiers,
            external_identifier_key,
        );
    }
}

/// Sorts `items` by the position of their key in `original` (each position used once);
/// items not found keep their relative order after all found ones.
fn reorder<T>(items: Vec<T>, original: &[String], key: impl Fn(&T) -> String) -> Vec<T> {
    if original.is_empty() {
        return items;
    }
    let mut used = vec![false; original.len()];
    let mut ranked: Vec<(usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let k = key(&item);
            let found = original
                .iter()
                .enumerate()
                .position(|(j, o)| !used[j] && *o == k);
            let rank = match found {
                Some(j) => {
                    used[j] = true;
                    j
                }
                None => original.len() + i,
            };
            (rank, item)
        })
        .collect();
    ranked.sort_by_key(|(r, _)| *r);
    ranked.into_iter().map(|(_, t)| t).collect()
}

// ---------------------------------------------------------------------------------------------
// Reading and writing the parts.

/// The slots of an object, claimed one by one; what is left is `extra_slots`.
struct Slots(Vec<Option<Slot>>);

impl Slots {
    fn new(slots: &[Slot]) -> Self {
        Slots(slots.iter().cloned().map(Some).collect())
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.name == name))
    }

    fn single(&mut self, name: &str) -> Option<String> {
        let i = self.position(name)?;
        let slot = self.0[i].as_mut()?;
        if slot.slot_type.is_some() || slot.values.len() != 1 {
            return None;
        }
        let value = slot.values.pop();
        self.0[i] = None;
        value
    }

    fn multi(&mut self, name: &str) -> Vec<String> {
        let Some(i) = self.position(name) else {
            return Vec::new();
        };
        match &self.0[i] {
            Some(s) if s.slot_type.is_none() && !s.values.is_empty() => {
                self.0[i].take().map(|s| s.values).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    fn rest(self) -> Vec<Slot> {
        self.0.into_iter().flatten().collect()
    }
}

fn put_single(slots: &mut Vec<Slot>, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        slots.push(Slot::new(name, [v.as_str()]));
    }
}

fn put_multi(slots: &mut Vec<Slot>, name: &str, values: &[String]) {
    if !values.is_empty() {
        slots.push(Slot::new(name, values.iter().map(String::as_str)));
    }
}

fn first_value<'a>(slots: &'a [Slot], name: &str) -> Option<&'a String> {
    slots
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.values.first())
}

fn all_values(slots: &[Slot], name: &str) -> Vec<String> {
    slots
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.values.clone())
        .unwrap_or_default()
}

/// Replaces (or adds, or with no values removes) the first slot of that name, in place.
fn set_slot(slots: &mut Vec<Slot>, name: &str, values: Vec<String>) {
    match slots.iter().position(|s| s.name == name) {
        Some(i) if values.is_empty() => {
            slots.remove(i);
        }
        Some(i) => slots[i].values = values,
        None if values.is_empty() => {}
        None => slots.push(Slot {
            name: name.to_owned(),
            slot_type: None,
            values,
        }),
    }
}

impl Code {
    fn read(c: &Classification) -> Code {
        Code {
            code: c.node_representation.clone().unwrap_or_default(),
            scheme: first_value(&c.object.slots, sn::CODING_SCHEME)
                .cloned()
                .unwrap_or_default(),
            display_name: c
                .object
                .name
                .as_ref()
                .and_then(|n| n.first())
                .map(str::to_owned),
        }
    }

    fn write(&self, c: &mut Classification) {
        let now = Code::read(c);
        if now.code != self.code {
            c.node_representation = Some(self.code.clone());
        }
        if now.scheme != self.scheme {
            set_slot(
                &mut c.object.slots,
                sn::CODING_SCHEME,
                vec![self.scheme.clone()],
            );
        }
        if now.display_name != self.display_name {
            match (&self.display_name, &mut c.object.name) {
                (None, name) => *name = None,
                (Some(d), Some(name)) if !name.localized.is_empty() => {
                    name.localized[0].value = d.clone();
                }
                (Some(d), name) => *name = Some(InternationalString::plain(d.as_str())),
            }
        }
    }
}

impl Author {
    fn read(c: &Classification) -> Author {
        let s = &c.object.slots;
        Author {
            person: first_value(s, sn::AUTHOR_PERSON).cloned(),
            institutions: all_values(s, sn::AUTHOR_INSTITUTION),
            roles: all_values(s, sn::AUTHOR_ROLE),
            specialties: all_values(s, sn::AUTHOR_SPECIALTY),
            telecommunications: all_values(s, sn::AUTHOR_TELECOMMUNICATION),
        }
    }

    fn write(&self, c: &mut Classification) {
        let now = Author::read(c);
        let slots = &mut c.object.slots;
        if now.person != self.person {
            set_slot(
                slots,
                sn::AUTHOR_PERSON,
                self.person.iter().cloned().collect(),
            );
        }
        let lists = [
            (
                sn::AUTHOR_INSTITUTION,
                &now.institutions,
                &self.institutions,
            ),
            (sn::AUTHOR_ROLE, &now.roles, &self.roles),
            (sn::AUTHOR_SPECIALTY, &now.specialties, &self.specialties),
            (
                sn::AUTHOR_TELECOMMUNICATION,
                &now.telecommunications,
                &self.telecommunications,
            ),
        ];
        for (name, old, new) in lists {
            if old != new {
                set_slot(slots, name, new.clone());
            }
        }
    }
}

/// What `to_rim` needs to know about the owner of a part.
struct Owner<'a> {
    id: &'a str,
    original_id: &'a str,
}

impl Owner<'_> {
    /// The reference to the owner in a kept part: follows a changed entryUUID (and only
    /// then, so that an unchanged view writes back exactly what it read).
    fn fix_reference(&self, reference: &mut String) {
        if self.id != self.original_id && reference == self.original_id {
            *reference = self.id.to_owned();
        }
    }
}

fn classified_to_rim<T>(
    item: &Classified<T>,
    owner: &Owner<'_>,
    scheme: &str,
    suffix: &str,
    write: impl Fn(&T, &mut Classification),
) -> Classification {
    let mut c = item.classification.clone();
    // A Classification read by `from_rim` always has its scheme, so a default one was added
    // to the view: give it what ITI TF-3 says such a classification carries (the empty
    // nodeRepresentation is what author classifications need; codes overwrite it).
    if c == Classification::default() {
        c.object.id = format!("{}_{suffix}", owner.id);
        c.classified_object = owner.id.to_owned();
        c.classification_scheme = Some(scheme.to_owned());
        c.node_representation = Some(String::new());
    } else {
        owner.fix_reference(&mut c.classified_object);
    }
    write(&item.value, &mut c);
    c
}

fn codes_to_rim(
    out: &mut Vec<Classification>,
    items: &[Classified<Code>],
    owner: &Owner<'_>,
    scheme: &str,
    suffix: &str,
) {
    for (i, item) in items.iter().enumerate() {
        let suffix = if items.len() > 1 {
            format!("{suffix}_{i}")
        } else {
            suffix.to_owned()
        };
        out.push(classified_to_rim(item, owner, scheme, &suffix, Code::write));
    }
}

fn code_to_rim(
    out: &mut Vec<Classification>,
    item: &Option<Classified<Code>>,
    owner: &Owner<'_>,
    scheme: &str,
    suffix: &str,
) {
    if let Some(item) = item {
        out.push(classified_to_rim(item, owner, scheme, suffix, Code::write));
    }
}

fn authors_to_rim(
    out: &mut Vec<Classification>,
    items: &[Classified<Author>],
    owner: &Owner<'_>,
    scheme: &str,
) {
    for (i, item) in items.iter().enumerate() {
        out.push(classified_to_rim(
            item,
            owner,
            scheme,
            &format!("author_{i}"),
            Author::write,
        ));
    }
}

fn marker_to_rim(
    out: &mut Vec<Classification>,
    marker: &Option<Classification>,
    owner: &Owner<'_>,
) {
    if let Some(m) = marker {
        let mut m = m.clone();
        owner.fix_reference(&mut m.classified_object);
        out.push(m);
    }
}

fn identified_to_rim(
    out: &mut Vec<ExternalIdentifier>,
    item: &Option<Identified>,
    owner: &Owner<'_>,
    scheme: &str,
    name: &str,
    suffix: &str,
) {
    let Some(item) = item else { return };
    let mut e = item.external_identifier.clone();
    if e == ExternalIdentifier::default() {
        // Added to the view: give it what ITI TF-3 says such an identifier carries.
        e.object.id = format!("{}_{suffix}", owner.id);
        e.object.name = Some(InternationalString::plain(name));
        e.registry_object = owner.id.to_owned();
        e.identification_scheme = scheme.to_owned();
    } else {
        owner.fix_reference(&mut e.registry_object);
    }
    if e.value != item.value {
        e.value = item.value.clone();
    }
    out.push(e);
}

fn is_scheme(c: &Classification, scheme: &str) -> bool {
    c.classification_scheme.as_deref() == Some(scheme)
}

fn is_node(c: &Classification, node: &str) -> bool {
    c.classification_node.as_deref() == Some(node)
}

fn identified(e: &ExternalIdentifier) -> Identified {
    Identified {
        value: e.value.clone(),
        external_identifier: e.clone(),
    }
}

fn classified<T>(c: &Classification, read: impl Fn(&Classification) -> T) -> Classified<T> {
    Classified {
        value: read(c),
        classification: c.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// DocumentEntry.

/// An XDS DocumentEntry (ITI TF-3 4.2.3.2) over a `rim:ExtrinsicObject`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentEntry {
    /// `id`.
    pub entry_uuid: String,
    /// `home`.
    pub home_community_id: Option<String>,
    /// `lid`.
    pub logical_id: Option<String>,
    /// `objectType`: stable or On-Demand.
    pub object_type: Option<String>,
    /// `status`.
    pub availability_status: Option<String>,
    pub mime_type: Option<String>,
    /// `isOpaque` (ebRIM; not an XDS attribute, kept for the round trip).
    pub is_opaque: Option<bool>,
    /// `rim:Name`.
    pub title: Option<InternationalString>,
    /// `rim:Description`.
    pub comments: Option<InternationalString>,
    /// `rim:VersionInfo` (`versionName` is the XDS version).
    pub version: Option<VersionInfo>,
    pub content_version_info: Option<VersionInfo>,

    pub creation_time: Option<String>,
    pub hash: Option<String>,
    /// Decimal bytes, as sent (see [`DocumentEntry::size_bytes`]).
    pub size: Option<String>,
    pub language_code: Option<String>,
    pub legal_authenticator: Option<String>,
    pub repository_unique_id: Option<String>,
    pub service_start_time: Option<String>,
    pub service_stop_time: Option<String>,
    pub source_patient_id: Option<String>,
    pub source_patient_info: Vec<String>,
    pub uri: Option<String>,
    pub document_availability: Option<String>,
    pub reference_id_list: Vec<String>,

    pub author: Vec<Classified<Author>>,
    pub class_code: Option<Classified<Code>>,
    pub confidentiality_code: Vec<Classified<Code>>,
    pub event_code_list: Vec<Classified<Code>>,
    pub format_code: Option<Classified<Code>>,
    pub healthcare_facility_type_code: Option<Classified<Code>>,
    pub practice_setting_code: Option<Classified<Code>>,
    pub type_code: Option<Classified<Code>>,
    /// The limitedMetadata marker Classification (a classificationNode), when present.
    pub limited_metadata: Option<Classification>,

    pub patient_id: Option<Identified>,
    pub unique_id: Option<Identified>,

    pub extra_slots: Vec<Slot>,
    pub extra_classifications: Vec<Classification>,
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    pub original_order: ObjectOrder,
}

impl DocumentEntry {
    pub fn from_rim(eo: &ExtrinsicObject) -> Result<DocumentEntry, ViewError> {
        let o = &eo.object;
        if let Some(t) = &o.object_type
            && t != object_type::STABLE_DOCUMENT_ENTRY
            && t != object_type::ON_DEMAND_DOCUMENT_ENTRY
        {
            return Err(ViewError::NotADocumentEntry {
                id: o.id.clone(),
                object_type: t.clone(),
            });
        }
        let mut s = Slots::new(&o.slots);
        let mut d = DocumentEntry {
            entry_uuid: o.id.clone(),
            home_community_id: o.home.clone(),
            logical_id: o.lid.clone(),
            object_type: o.object_type.clone(),
            availability_status: o.status.clone(),
            mime_type: eo.mime_type.clone(),
            is_opaque: eo.is_opaque,
            title: o.name.clone(),
            comments: o.description.clone(),
            version: o.version_info.clone(),
            content_version_info: eo.content_version_info.clone(),
            creation_time: s.single(sn::CREATION_TIME),
            hash: s.single(sn::HASH),
            size: s.single(sn::SIZE),
            language_code: s.single(sn::LANGUAGE_CODE),
            legal_authenticator: s.single(sn::LEGAL_AUTHENTICATOR),
            repository_unique_id: s.single(sn::REPOSITORY_UNIQUE_ID),
            service_start_time: s.single(sn::SERVICE_START_TIME),
            service_stop_time: s.single(sn::SERVICE_STOP_TIME),
            source_patient_id: s.single(sn::SOURCE_PATIENT_ID),
            source_patient_info: s.multi(sn::SOURCE_PATIENT_INFO),
            uri: s.single(sn::URI),
            document_availability: s.single(sn::DOCUMENT_AVAILABILITY),
            reference_id_list: s.multi(sn::REFERENCE_ID_LIST),
            original_order: ObjectOrder::of(o),
            ..DocumentEntry::default()
        };
        d.extra_slots = s.rest();
        for c in &o.classifications {
            if is_scheme(c, de::AUTHOR) {
                d.author.push(classified(c, Author::read));
            } else if is_scheme(c, de::CONFIDENTIALITY_CODE) {
                d.confidentiality_code.push(classified(c, Code::read));
            } else if is_scheme(c, de::EVENT_CODE) {
                d.event_code_list.push(classified(c, Code::read));
            } else if is_scheme(c, de::CLASS_CODE) && d.class_code.is_none() {
                d.class_code = Some(classified(c, Code::read));
            } else if is_scheme(c, de::FORMAT_CODE) && d.format_code.is_none() {
                d.format_code = Some(classified(c, Code::read));
            } else if is_scheme(c, de::HEALTHCARE_FACILITY_TYPE_CODE)
                && d.healthcare_facility_type_code.is_none()
            {
                d.healthcare_facility_type_code = Some(classified(c, Code::read));
            } else if is_scheme(c, de::PRACTICE_SETTING_CODE) && d.practice_setting_code.is_none() {
                d.practice_setting_code = Some(classified(c, Code::read));
            } else if is_scheme(c, de::TYPE_CODE) && d.type_code.is_none() {
                d.type_code = Some(classified(c, Code::read));
            } else if is_node(c, de::LIMITED_METADATA) && d.limited_metadata.is_none() {
                d.limited_metadata = Some(c.clone());
            } else {
                d.extra_classifications.push(c.clone());
            }
        }
        for e in &o.external_identifiers {
            if e.identification_scheme == de::PATIENT_ID && d.patient_id.is_none() {
                d.patient_id = Some(identified(e));
            } else if e.identification_scheme == de::UNIQUE_ID && d.unique_id.is_none() {
                d.unique_id = Some(identified(e));
            } else {
                d.extra_external_identifiers.push(e.clone());
            }
        }
        Ok(d)
    }

    pub fn to_rim(&self) -> ExtrinsicObject {
        let owner = Owner {
            id: &self.entry_uuid,
            original_id: &self.original_order.id,
        };
        let mut slots = Vec::new();
        put_single(&mut slots, sn::CREATION_TIME, &self.creation_time);
        put_single(&mut slots, sn::HASH, &self.hash);
        put_single(&mut slots, sn::SIZE, &self.size);
        put_single(&mut slots, sn::LANGUAGE_CODE, &self.language_code);
        put_single(
            &mut slots,
            sn::LEGAL_AUTHENTICATOR,
            &self.legal_authenticator,
        );
        put_single(
            &mut slots,
            sn::REPOSITORY_UNIQUE_ID,
            &self.repository_unique_id,
        );
        put_single(&mut slots, sn::SERVICE_START_TIME, &self.service_start_time);
        put_single(&mut slots, sn::SERVICE_STOP_TIME, &self.service_stop_time);
        put_single(&mut slots, sn::SOURCE_PATIENT_ID, &self.source_patient_id);
        put_multi(
            &mut slots,
            sn::SOURCE_PATIENT_INFO,
            &self.source_patient_info,
        );
        put_single(&mut slots, sn::URI, &self.uri);
        put_single(
            &mut slots,
            sn::DOCUMENT_AVAILABILITY,
            &self.document_availability,
        );
        put_multi(&mut slots, sn::REFERENCE_ID_LIST, &self.reference_id_list);
        slots.extend(self.extra_slots.iter().cloned());

        let mut cls = Vec::new();
        authors_to_rim(&mut cls, &self.author, &owner, de::AUTHOR);
        code_to_rim(
            &mut cls,
            &self.class_code,
            &owner,
            de::CLASS_CODE,
            "classCode",
        );
        codes_to_rim(
            &mut cls,
            &self.confidentiality_code,
            &owner,
            de::CONFIDENTIALITY_CODE,
            "confidentialityCode",
        );
        codes_to_rim(
            &mut cls,
            &self.event_code_list,
            &owner,
            de::EVENT_CODE,
            "eventCodeList",
        );
        code_to_rim(
            &mut cls,
            &self.format_code,
            &owner,
            de::FORMAT_CODE,
            "formatCode",
        );
        code_to_rim(
            &mut cls,
            &self.healthcare_facility_type_code,
            &owner,
            de::HEALTHCARE_FACILITY_TYPE_CODE,
            "healthcareFacilityTypeCode",
        );
        code_to_rim(
            &mut cls,
            &self.practice_setting_code,
            &owner,
            de::PRACTICE_SETTING_CODE,
            "practiceSettingCode",
        );
        code_to_rim(&mut cls, &self.type_code, &owner, de::TYPE_CODE, "typeCode");
        marker_to_rim(&mut cls, &self.limited_metadata, &owner);
        cls.extend(self.extra_classifications.iter().cloned());

        let mut ids = Vec::new();
        identified_to_rim(
            &mut ids,
            &self.patient_id,
            &owner,
            de::PATIENT_ID,
            "XDSDocumentEntry.patientId",
            "patientId",
        );
        identified_to_rim(
            &mut ids,
            &self.unique_id,
            &owner,
            de::UNIQUE_ID,
            "XDSDocumentEntry.uniqueId",
            "uniqueId",
        );
        ids.extend(self.extra_external_identifiers.iter().cloned());

        let mut object = RegistryObject {
            id: self.entry_uuid.clone(),
            home: self.home_community_id.clone(),
            lid: self.logical_id.clone(),
            object_type: self.object_type.clone(),
            status: self.availability_status.clone(),
            slots,
            name: self.title.clone(),
            description: self.comments.clone(),
            version_info: self.version.clone(),
            classifications: cls,
            external_identifiers: ids,
        };
        self.original_order.apply(&mut object);
        ExtrinsicObject {
            object,
            mime_type: self.mime_type.clone(),
            is_opaque: self.is_opaque,
            content_version_info: self.content_version_info.clone(),
        }
    }

    /// `size` as a number, when it is one.
    pub fn size_bytes(&self) -> Option<u64> {
        self.size.as_deref().and_then(|s| s.parse().ok())
    }

    /// The first title text.
    pub fn title_text(&self) -> Option<&str> {
        self.title.as_ref().and_then(InternationalString::first)
    }
}

// ---------------------------------------------------------------------------------------------
// SubmissionSet and Folder.

/// Which kind of package a nested marker Classification makes a RegistryPackage.
fn nested_kind(p: &RegistryPackage) -> Option<&'static str> {
    p.object.classifications.iter().find_map(|c| {
        if is_node(c, classification_node::SUBMISSION_SET) {
            Some("SubmissionSet")
        } else if is_node(c, classification_node::FOLDER) {
            Some("Folder")
        } else {
            None
        }
    })
}

/// An XDS SubmissionSet (ITI TF-3 4.2.3.3) over a `rim:RegistryPackage`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmissionSet {
    pub entry_uuid: String,
    pub home_community_id: Option<String>,
    pub logical_id: Option<String>,
    pub object_type: Option<String>,
    pub availability_status: Option<String>,
    pub title: Option<InternationalString>,
    pub comments: Option<InternationalString>,
    pub version: Option<VersionInfo>,

    pub submission_time: Option<String>,
    pub intended_recipient: Vec<String>,

    pub author: Vec<Classified<Author>>,
    pub content_type_code: Option<Classified<Code>>,
    pub limited_metadata: Option<Classification>,
    /// The nested Classification with the SubmissionSet classificationNode, when the marker is
    /// inside the package (it may instead stand beside it in the RegistryObjectList).
    pub marker: Option<Classification>,

    pub patient_id: Option<Identified>,
    pub source_id: Option<Identified>,
    pub unique_id: Option<Identified>,

    /// A nested `rim:RegistryObjectList` (ebRIM allows it; XDS does not use it).
    pub members: Vec<Identifiable>,
    pub extra_slots: Vec<Slot>,
    pub extra_classifications: Vec<Classification>,
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    pub original_order: ObjectOrder,
}

impl SubmissionSet {
    pub fn from_rim(p: &RegistryPackage) -> Result<SubmissionSet, ViewError> {
        let o = &p.object;
        if let Some(found @ "Folder") = nested_kind(p) {
            return Err(ViewError::WrongPackageKind {
                id: o.id.clone(),
                expected: "SubmissionSet",
                found,
            });
        }
        let mut s = Slots::new(&o.slots);
        let mut v = SubmissionSet {
            entry_uuid: o.id.clone(),
            home_community_id: o.home.clone(),
            logical_id: o.lid.clone(),
            object_type: o.object_type.clone(),
            availability_status: o.status.clone(),
            title: o.name.clone(),
            comments: o.description.clone(),
            version: o.version_info.clone(),
            submission_time: s.single(sn::SUBMISSION_TIME),
            intended_recipient: s.multi(sn::INTENDED_RECIPIENT),
            members: p.members.clone(),
            original_order: ObjectOrder::of(o),
            ..SubmissionSet::default()
        };
        v.extra_slots = s.rest();
        for c in &o.classifications {
            if is_scheme(c, ss::AUTHOR) {
                v.author.push(classified(c, Author::read));
            } else if is_scheme(c, ss::CONTENT_TYPE_CODE) && v.content_type_code.is_none() {
                v.content_type_code = Some(classified(c, Code::read));
            } else if is_node(c, ss::LIMITED_METADATA) && v.limited_metadata.is_none() {
                v.limited_metadata = Some(c.clone());
            } else if is_node(c, classification_node::SUBMISSION_SET) && v.marker.is_none() {
                v.marker = Some(c.clone());
            } else {
                v.extra_classifications.push(c.clone());
            }
        }
        for e in &o.external_identifiers {
            if e.identification_scheme == ss::PATIENT_ID && v.patient_id.is_none() {
                v.patient_id = Some(identified(e));
            } else if e.identification_scheme == ss::SOURCE_ID && v.source_id.is_none() {
                v.source_id = Some(identified(e));
            } else if e.identification_scheme == ss::UNIQUE_ID && v.unique_id.is_none() {
                v.unique_id = Some(identified(e));
            } else {
                v.extra_external_identifiers.push(e.clone());
            }
        }
        Ok(v)
    }

    pub fn to_rim(&self) -> RegistryPackage {
        let owner = Owner {
            id: &self.entry_uuid,
            original_id: &self.original_order.id,
        };
        let mut slots = Vec::new();
        put_single(&mut slots, sn::SUBMISSION_TIME, &self.submission_time);
        put_multi(&mut slots, sn::INTENDED_RECIPIENT, &self.intended_recipient);
        slots.extend(self.extra_slots.iter().cloned());

        let mut cls = Vec::new();
        authors_to_rim(&mut cls, &self.author, &owner, ss::AUTHOR);
        code_to_rim(
            &mut cls,
            &self.content_type_code,
            &owner,
            ss::CONTENT_TYPE_CODE,
            "contentTypeCode",
        );
        marker_to_rim(&mut cls, &self.limited_metadata, &owner);
        marker_to_rim(&mut cls, &self.marker, &owner);
        cls.extend(self.extra_classifications.iter().cloned());

        let mut ids = Vec::new();
        identified_to_rim(
            &mut ids,
            &self.patient_id,
            &owner,
            ss::PATIENT_ID,
            "XDSSubmissionSet.patientId",
            "patientId",
        );
        identified_to_rim(
            &mut ids,
            &self.source_id,
            &owner,
            ss::SOURCE_ID,
            "XDSSubmissionSet.sourceId",
            "sourceId",
        );
        identified_to_rim(
            &mut ids,
            &self.unique_id,
            &owner,
            ss::UNIQUE_ID,
            "XDSSubmissionSet.uniqueId",
            "uniqueId",
        );
        ids.extend(self.extra_external_identifiers.iter().cloned());

        let mut object = RegistryObject {
            id: self.entry_uuid.clone(),
            home: self.home_community_id.clone(),
            lid: self.logical_id.clone(),
            object_type: self.object_type.clone(),
            status: self.availability_status.clone(),
            slots,
            name: self.title.clone(),
            description: self.comments.clone(),
            version_info: self.version.clone(),
            classifications: cls,
            external_identifiers: ids,
        };
        self.original_order.apply(&mut object);
        RegistryPackage {
            object,
            members: self.members.clone(),
        }
    }
}

/// An XDS Folder (ITI TF-3 4.2.3.4) over a `rim:RegistryPackage`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folder {
    pub entry_uuid: String,
    pub home_community_id: Option<String>,
    pub logical_id: Option<String>,
    pub object_type: Option<String>,
    pub availability_status: Option<String>,
    pub title: Option<InternationalString>,
    pub comments: Option<InternationalString>,
    pub version: Option<VersionInfo>,

    pub last_update_time: Option<String>,
    pub code_list: Vec<Classified<Code>>,
    pub limited_metadata: Option<Classification>,
    /// The nested Classification with the Folder classificationNode, when inside the package.
    pub marker: Option<Classification>,

    pub patient_id: Option<Identified>,
    pub unique_id: Option<Identified>,

    pub members: Vec<Identifiable>,
    pub extra_slots: Vec<Slot>,
    pub extra_classifications: Vec<Classification>,
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    pub original_order: ObjectOrder,
}

impl Folder {
    pub fn from_rim(p: &RegistryPackage) -> Result<Folder, ViewError> {
        let o = &p.object;
        if let Some(found @ "SubmissionSet") = nested_kind(p) {
            return Err(ViewError::WrongPackageKind {
                id: o.id.clone(),
                expected: "Folder",
                found,
            });
        }
        let mut s = Slots::new(&o.slots);
        let mut v = Folder {
            entry_uuid: o.id.clone(),
            home_community_id: o.home.clone(),
            logical_id: o.lid.clone(),
            object_type: o.object_type.clone(),
            availability_status: o.status.clone(),
            title: o.name.clone(),
            comments: o.description.clone(),
            version: o.version_info.clone(),
            last_update_time: s.single(sn::LAST_UPDATE_TIME),
            members: p.members.clone(),
            original_order: ObjectOrder::of(o),
            ..Folder::default()
        };
        v.extra_slots = s.rest();
        for c in &o.classifications {
            if is_scheme(c, fd::CODE_LIST) {
                v.code_list.push(classified(c, Code::read));
            } else if is_node(c, fd::LIMITED_METADATA) && v.limited_metadata.is_none() {
                v.limited_metadata = Some(c.clone());
            } else if is_node(c, classification_node::FOLDER) && v.marker.is_none() {
                v.marker = Some(c.clone());
            } else {
                v.extra_classifications.push(c.clone());
            }
        }
        for e in &o.external_identifiers {
            if e.identification_scheme == fd::PATIENT_ID && v.patient_id.is_none() {
                v.patient_id = Some(identified(e));
            } else if e.identification_scheme == fd::UNIQUE_ID && v.unique_id.is_none() {
                v.unique_id = Some(identified(e));
            } else {
                v.extra_external_identifiers.push(e.clone());
            }
        }
        Ok(v)
    }

    pub fn to_rim(&self) -> RegistryPackage {
        let owner = Owner {
            id: &self.entry_uuid,
            original_id: &self.original_order.id,
        };
        let mut slots = Vec::new();
        put_single(&mut slots, sn::LAST_UPDATE_TIME, &self.last_update_time);
        slots.extend(self.extra_slots.iter().cloned());

        let mut cls = Vec::new();
        codes_to_rim(&mut cls, &self.code_list, &owner, fd::CODE_LIST, "codeList");
        marker_to_rim(&mut cls, &self.limited_metadata, &owner);
        marker_to_rim(&mut cls, &self.marker, &owner);
        cls.extend(self.extra_classifications.iter().cloned());

        let mut ids = Vec::new();
        identified_to_rim(
            &mut ids,
            &self.patient_id,
            &owner,
            fd::PATIENT_ID,
            "XDSFolder.patientId",
            "patientId",
        );
        identified_to_rim(
            &mut ids,
            &self.unique_id,
            &owner,
            fd::UNIQUE_ID,
            "XDSFolder.uniqueId",
            "uniqueId",
        );
        ids.extend(self.extra_external_identifiers.iter().cloned());

        let mut object = RegistryObject {
            id: self.entry_uuid.clone(),
            home: self.home_community_id.clone(),
            lid: self.logical_id.clone(),
            object_type: self.object_type.clone(),
            status: self.availability_status.clone(),
            slots,
            name: self.title.clone(),
            description: self.comments.clone(),
            version_info: self.version.clone(),
            classifications: cls,
            external_identifiers: ids,
        };
        self.original_order.apply(&mut object);
        RegistryPackage {
            object,
            members: self.members.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Association.

/// `associationType`, typed. Unknown values (including unprefixed legacy ones such as
/// `HasMember`) are kept verbatim in `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssociationType {
    HasMember,
    Rplc,
    Apnd,
    Xfrm,
    XfrmRplc,
    Signs,
    IsSnapshotOf,
    UpdateAvailabilityStatus,
    Other(String),
}

impl AssociationType {
    pub fn from_urn(urn: &str) -> AssociationType {
        match urn {
            at::HAS_MEMBER => AssociationType::HasMember,
            at::REPLACE => AssociationType::Rplc,
            at::APPEND => AssociationType::Apnd,
            at::TRANSFORM => AssociationType::Xfrm,
            at::TRANSFORM_AND_REPLACE => AssociationType::XfrmRplc,
            at::SIGNS => AssociationType::Signs,
            at::IS_SNAPSHOT_OF => AssociationType::IsSnapshotOf,
            at::UPDATE_AVAILABILITY_STATUS => AssociationType::UpdateAvailabilityStatus,
            other => AssociationType::Other(other.to_owned()),
        }
    }

    pub fn as_urn(&self) -> &str {
        match self {
            AssociationType::HasMember => at::HAS_MEMBER,
            AssociationType::Rplc => at::REPLACE,
            AssociationType::Apnd => at::APPEND,
            AssociationType::Xfrm => at::TRANSFORM,
            AssociationType::XfrmRplc => at::TRANSFORM_AND_REPLACE,
            AssociationType::Signs => at::SIGNS,
            AssociationType::IsSnapshotOf => at::IS_SNAPSHOT_OF,
            AssociationType::UpdateAvailabilityStatus => at::UPDATE_AVAILABILITY_STATUS,
            AssociationType::Other(s) => s,
        }
    }

    /// The document relationships of ITI TF-3 4.2.2 (RPLC, APND, XFRM, XFRM_RPLC, signs).
    pub fn is_document_relationship(&self) -> bool {
        matches!(
            self,
            AssociationType::Rplc
                | AssociationType::Apnd
                | AssociationType::Xfrm
                | AssociationType::XfrmRplc
                | AssociationType::Signs
        )
    }
}

/// The `SubmissionSetStatus` slot of a HasMember association from a SubmissionSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionSetStatus {
    Original,
    Reference,
    Other(String),
}

impl SubmissionSetStatus {
    fn parse(s: &str) -> Self {
        match s {
            submission_set_status::ORIGINAL => SubmissionSetStatus::Original,
            submission_set_status::REFERENCE => SubmissionSetStatus::Reference,
            other => SubmissionSetStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            SubmissionSetStatus::Original => submission_set_status::ORIGINAL,
            SubmissionSetStatus::Reference => submission_set_status::REFERENCE,
            SubmissionSetStatus::Other(s) => s,
        }
    }
}

/// An XDS Association (ITI TF-3 4.2.2) over a `rim:Association`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub entry_uuid: String,
    pub home_community_id: Option<String>,
    pub logical_id: Option<String>,
    pub object_type: Option<String>,
    pub availability_status: Option<String>,
    pub association_type: AssociationType,
    pub source_object: String,
    pub target_object: String,
    pub submission_set_status: Option<SubmissionSetStatus>,
    /// ITI-57 `PreviousVersion`.
    pub previous_version: Option<String>,
    /// ITI-57 UpdateAvailabilityStatus `OriginalStatus` / `NewStatus`.
    pub original_status: Option<String>,
    pub new_status: Option<String>,
    pub name: Option<InternationalString>,
    pub description: Option<InternationalString>,
    pub version: Option<VersionInfo>,
    pub extra_slots: Vec<Slot>,
    pub extra_classifications: Vec<Classification>,
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    pub original_order: ObjectOrder,
}

impl Association {
    /// A new association of that type, everything else empty.
    pub fn new(
        entry_uuid: impl Into<String>,
        association_type: AssociationType,
        source_object: impl Into<String>,
        target_object: impl Into<String>,
    ) -> Self {
        Association {
            entry_uuid: entry_uuid.into(),
            home_community_id: None,
            logical_id: None,
            object_type: None,
            availability_status: None,
            association_type,
            source_object: source_object.into(),
            target_object: target_object.into(),
            submission_set_status: None,
            previous_version: None,
            original_status: None,
            new_status: None,
            name: None,
            description: None,
            version: None,
            extra_slots: Vec::new(),
            extra_classifications: Vec::new(),
            extra_external_identifiers: Vec::new(),
            original_order: ObjectOrder::default(),
        }
    }

    pub fn from_rim(a: &rim::Association) -> Result<Association, ViewError> {
        let o = &a.object;
        let mut s = Slots::new(&o.slots);
        let mut v = Association::new(
            o.id.clone(),
            AssociationType::from_urn(&a.association_type),
            a.source_object.clone(),
            a.target_object.clone(),
        );
        v.home_community_id = o.home.clone();
        v.logical_id = o.lid.clone();
        v.object_type = o.object_type.clone();
        v.availability_status = o.status.clone();
        v.submission_set_status = s
            .single(sn::SUBMISSION_SET_STATUS)
            .map(|x| SubmissionSetStatus::parse(&x));
        v.previous_version = s.single(sn::PREVIOUS_VERSION);
        v.original_status = s.single(sn::ORIGINAL_STATUS);
        v.new_status = s.single(sn::NEW_STATUS);
        v.extra_slots = s.rest();
        v.name = o.name.clone();
        v.description = o.description.clone();
        v.version = o.version_info.clone();
        v.extra_classifications = o.classifications.clone();
        v.extra_external_identifiers = o.external_identifiers.clone();
        v.original_order = ObjectOrder::of(o);
        Ok(v)
    }

    pub fn to_rim(&self) -> rim::Association {
        let mut slots = Vec::new();
        put_single(
            &mut slots,
            sn::SUBMISSION_SET_STATUS,
            &self
                .submission_set_status
                .as_ref()
                .map(|s| s.as_str().to_owned()),
        );
        put_single(&mut slots, sn::PREVIOUS_VERSION, &self.previous_version);
        put_single(&mut slots, sn::ORIGINAL_STATUS, &self.original_status);
        put_single(&mut slots, sn::NEW_STATUS, &self.new_status);
        slots.extend(self.extra_slots.iter().cloned());
        let mut object = RegistryObject {
            id: self.entry_uuid.clone(),
            home: self.home_community_id.clone(),
            lid: self.logical_id.clone(),
            object_type: self.object_type.clone(),
            status: self.availability_status.clone(),
            slots,
            name: self.name.clone(),
            description: self.description.clone(),
            version_info: self.version.clone(),
            classifications: self.extra_classifications.clone(),
            external_identifiers: self.extra_external_identifiers.clone(),
        };
        self.original_order.apply(&mut object);
        rim::Association {
            object,
            association_type: self.association_type.as_urn().to_owned(),
            source_object: self.source_object.clone(),
            target_object: self.target_object.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Classifying a RegistryObjectList.

/// What an identifiable of a RegistryObjectList is in XDS terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    DocumentEntry,
    SubmissionSet,
    Folder,
    Association,
    /// Anything else: ObjectRefs, top-level Classifications (such as a package marker),
    /// ExternalIdentifiers, an ExtrinsicObject of a foreign objectType, or a RegistryPackage
    /// classified as neither or as both.
    Other,
}

/// The kind of each object of `list`, index for index. A RegistryPackage is a SubmissionSet
/// or Folder when its marker Classification (classificationNode) is nested in it or stands in
/// the list with `classifiedObject` naming it.
pub fn classify(list: &RegistryObjectList) -> Vec<ObjectKind> {
    let top_marker = |id: &str, node: &str| {
        list.objects.iter().any(|o| {
            matches!(o, Identifiable::Classification(c)
                if c.classified_object == id && is_node(c, node))
        })
    };
    list.objects
        .iter()
        .map(|o| match o {
            Identifiable::ExtrinsicObject(eo) => match eo.object.object_type.as_deref() {
                None
                | Some(object_type::STABLE_DOCUMENT_ENTRY)
                | Some(object_type::ON_DEMAND_DOCUMENT_ENTRY) => ObjectKind::DocumentEntry,
                Some(_) => ObjectKind::Other,
            },
            Identifiable::RegistryPackage(p) => {
                let has = |node: &str| {
                    p.object.classifications.iter().any(|c| is_node(c, node))
                        || top_marker(&p.object.id, node)
                };
                match (
                    has(classification_node::SUBMISSION_SET),
                    has(classification_node::FOLDER),
                ) {
                    (true, false) => ObjectKind::SubmissionSet,
                    (false, true) => ObjectKind::Folder,
                    _ => ObjectKind::Other,
                }
            }
            Identifiable::Association(_) => ObjectKind::Association,
            _ => ObjectKind::Other,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// CX patient ids.

/// A patientId as XDS restricts CX: `id^^^&OID&ISO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientId {
    pub id: String,
    /// The assigning authority's universal id (an OID), e.g. the CPR OID `1.2.208.176.1.2`.
    pub assigning_authority: String,
}

impl PatientId {
    /// The CX form, `id^^^&OID&ISO`.
    pub fn to_cx(&self) -> String {
        format!("{}^^^&{}&ISO", self.id, self.assigning_authority)
    }
}

/// Why a value is not an XDS CX patient id; each variant names the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CxError {
    #[error("patient id {value:?} has an empty ID (component 1)")]
    MissingId { value: String },
    #[error("patient id {value:?} lacks the assigning authority (component 4)")]
    MissingAssigningAuthority { value: String },
    #[error("patient id {value:?} has component {component}, which XDS does not allow")]
    ExtraComponent { value: String, component: usize },
    #[error(
        "assigning authority of patient id {value:?} must be `&OID&ISO` (namespace id empty, type ISO)"
    )]
    BadAssigningAuthority { value: String },
    #[error("assigning authority {oid:?} of patient id {value:?} is not an OID")]
    BadOid { value: String, oid: String },
}

/// Parses `CPR^^^&1.2.208.176.1.2&ISO` into its id and assigning-authority OID.
pub fn parse_cx(value: &str) -> Result<PatientId, CxError> {
    let components: Vec<&str> = value.split('^').collect();
    let id = components.first().copied().unwrap_or_default();
    if id.is_empty() {
        return Err(CxError::MissingId {
            value: value.to_owned(),
        });
    }
    for (i, c) in components.iter().enumerate() {
        if (i == 1 || i == 2 || i >= 4) && !c.is_empty() {
            return Err(CxError::ExtraComponent {
                value: value.to_owned(),
                component: i + 1,
            });
        }
    }
    let authority = components.get(3).copied().unwrap_or_default();
    if authority.is_empty() {
        return Err(CxError::MissingAssigningAuthority {
            value: value.to_owned(),
        });
    }
    let sub: Vec<&str> = authority.split('&').collect();
    let [namespace, oid, kind] = sub.as_slice() else {
        return Err(CxError::BadAssigningAuthority {
            value: value.to_owned(),
        });
    };
    if !namespace.is_empty() || *kind != "ISO" {
        return Err(CxError::BadAssigningAuthority {
            value: value.to_owned(),
        });
    }
    let oid_ok = !oid.is_empty()
        && oid
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
    if !oid_ok {
        return Err(CxError::BadOid {
            value: value.to_owned(),
            oid: (*oid).to_owned(),
        });
    }
    Ok(PatientId {
        id: id.to_owned(),
        assigning_authority: (*oid).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cx_parses_and_names_faults() {
        let p = parse_cx("0101011234^^^&1.2.208.176.1.2&ISO").unwrap();
        assert_eq!(p.id, "0101011234");
        assert_eq!(p.assigning_authority, "1.2.208.176.1.2");
        assert_eq!(p.to_cx(), "0101011234^^^&1.2.208.176.1.2&ISO");
        assert!(matches!(
            parse_cx("^^^&1.2&ISO"),
            Err(CxError::MissingId { .. })
        ));
        assert!(matches!(
            parse_cx("1"),
            Err(CxError::MissingAssigningAuthority { .. })
        ));
        assert!(matches!(
            parse_cx("1^x^^&1.2&ISO"),
            Err(CxError::ExtraComponent { component: 2, .. })
        ));
        assert!(matches!(
            parse_cx("1^^^ns&1.2&ISO"),
            Err(CxError::BadAssigningAuthority { .. })
        ));
        assert!(matches!(
            parse_cx("1^^^&1.2&DNS"),
            Err(CxError::BadAssigningAuthority { .. })
        ));
        assert!(matches!(
            parse_cx("1^^^&1..2&ISO"),
            Err(CxError::BadOid { .. })
        ));
        assert!(matches!(
            parse_cx("1^^^&1.2&ISO^x"),
            Err(CxError::ExtraComponent { component: 5, .. })
        ));
    }

    #[test]
    fn association_types_round_trip() {
        for urn in [
            at::HAS_MEMBER,
            at::REPLACE,
            at::APPEND,
            at::TRANSFORM,
            at::TRANSFORM_AND_REPLACE,
            at::SIGNS,
            at::IS_SNAPSHOT_OF,
            at::UPDATE_AVAILABILITY_STATUS,
            "HasMember",
        ] {
            assert_eq!(AssociationType::from_urn(urn).as_urn(), urn);
        }
        assert_eq!(
            AssociationType::from_urn("HasMember"),
            AssociationType::Other("HasMember".into())
        );
    }

    #[test]
    fn a_fresh_document_entry_gets_xds_envelopes() {
        let d = DocumentEntry {
            entry_uuid: "Doc1".into(),
            class_code: Some(Classified::new(Code::new(
                "001",
                "1.2.208.184.100.9",
                Some("Klinisk rapport"),
            ))),
            patient_id: Some(Identified::new("1^^^&1.2.208.176.1.2&ISO")),
            ..DocumentEntry::default()
        };
        let eo = d.to_rim();
        let c = &eo.object.classifications[0];
        assert_eq!(c.object.id, "Doc1_classCode");
        assert_eq!(c.classified_object, "Doc1");
        assert_eq!(c.node_representation.as_deref(), Some("001"));
        assert_eq!(c.object.slots[0].values, ["1.2.208.184.100.9"]);
        let e = &eo.object.external_identifiers[0];
        assert_eq!(e.registry_object, "Doc1");
        assert_eq!(
            e.object.name.as_ref().and_then(|n| n.first()),
            Some("XDSDocumentEntry.patientId")
        );
        let back = DocumentEntry::from_rim(&eo).unwrap();
        assert_eq!(back.class_code.unwrap().value, d.class_code.unwrap().value);
    }
}

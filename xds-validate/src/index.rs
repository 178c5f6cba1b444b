//! Which rim object is which XDS object, worked out from ebRIM alone.
//!
//! A RegistryPackage is a SubmissionSet or a Folder by its classification node, wherever that
//! Classification sits (nested, or standing alone in the list with `classifiedObject` pointing
//! at the package, as most ITI-41 messages send it). An ExtrinsicObject is a DocumentEntry.
//! Stand-alone Classifications and ExternalIdentifiers count as part of the object they name.
//!
//! Invariant: nothing is merged or deduplicated: an object with two classCodes has two in its
//! `classifications`, so multiplicity checks see what was sent. Building the index never fails.

use std::collections::{HashMap, HashSet};

use xds_model::rim::{
    Association, Classification, ExternalIdentifier, Identifiable, RegistryObject,
    RegistryObjectList,
};
use xds_model::vocabulary::{
    association_type, classification_node, document_entry, folder, submission_set,
};

use crate::report::ObjectKind;

/// One DocumentEntry, SubmissionSet, Folder or unclassified RegistryPackage with everything
/// that belongs to it.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub kind: ObjectKind,
    pub object: &'a RegistryObject,
    /// `mimeType` of an ExtrinsicObject; always `None` for packages.
    pub mime_type: Option<&'a str>,
    /// Nested classifications, then stand-alone ones naming this object, in document order.
    pub classifications: Vec<&'a Classification>,
    /// Nested external identifiers, then stand-alone ones naming this object.
    pub external_identifiers: Vec<&'a ExternalIdentifier>,
}

impl<'a> Entry<'a> {
    pub fn id(&self) -> &'a str {
        &self.object.id
    }

    pub fn classifications_by_scheme(
        &self,
        scheme: &'a str,
    ) -> impl Iterator<Item = &'a Classification> + '_ {
        self.classifications
            .iter()
            .copied()
            .filter(move |c| c.classification_scheme.as_deref() == Some(scheme))
    }

    pub fn external_identifiers_by_scheme(
        &self,
        scheme: &'a str,
    ) -> impl Iterator<Item = &'a ExternalIdentifier> + '_ {
        self.external_identifiers
            .iter()
            .copied()
            .filter(move |e| e.identification_scheme == scheme)
    }

    /// The (first) uniqueId value, for locating findings.
    pub fn unique_id(&self) -> Option<&'a str> {
        let scheme = match self.kind {
            ObjectKind::DocumentEntry => document_entry::UNIQUE_ID,
            ObjectKind::SubmissionSet => submission_set::UNIQUE_ID,
            ObjectKind::Folder => folder::UNIQUE_ID,
            _ => return None,
        };
        self.external_identifiers_by_scheme(scheme)
            .next()
            .map(|e| e.value.as_str())
    }

    /// The (first) patientId value.
    pub fn patient_id(&self) -> Option<&'a str> {
        let scheme = match self.kind {
            ObjectKind::DocumentEntry => document_entry::PATIENT_ID,
            ObjectKind::SubmissionSet => submission_set::PATIENT_ID,
            ObjectKind::Folder => folder::PATIENT_ID,
            _ => return None,
        };
        self.external_identifiers_by_scheme(scheme)
            .next()
            .map(|e| e.value.as_str())
    }
}

/// The objects of one message, sorted into their XDS roles.
#[derive(Debug, Default)]
pub(crate) struct Index<'a> {
    /// Every id in the list with the first object that has it.
    pub by_id: HashMap<&'a str, &'a Identifiable>,
    /// Ids that occur more than once, each once, in order.
    pub duplicate_ids: Vec<&'a str>,
    pub document_entries: Vec<Entry<'a>>,
    pub submission_sets: Vec<Entry<'a>>,
    pub folders: Vec<Entry<'a>>,
    /// RegistryPackages classified as neither or both; with how many markers they had.
    pub unclassified_packages: Vec<Entry<'a>>,
    pub associations: Vec<&'a Association>,
    /// Stand-alone classifications, except those marking a package (they are consumed by it).
    pub loose_classifications: Vec<&'a Classification>,
    pub loose_external_identifiers: Vec<&'a ExternalIdentifier>,
    pub object_refs: Vec<&'a str>,
    /// The kind of every DocumentEntry, SubmissionSet, Folder and package, by id (first wins).
    kinds: HashMap<&'a str, ObjectKind>,
    /// (sourceObject, targetObject) of every HasMember association.
    has_member: HashSet<(&'a str, &'a str)>,
}

impl<'a> Index<'a> {
    pub fn build(list: &'a RegistryObjectList) -> Index<'a> {
        let mut ix = Index::default();
        let mut loose_cl: HashMap<&'a str, Vec<&'a Classification>> = HashMap::new();
        let mut loose_ei: HashMap<&'a str, Vec<&'a ExternalIdentifier>> = HashMap::new();
        for obj in &list.objects {
            let id = obj.id();
            if ix.by_id.insert(id, obj).is_some() && !ix.duplicate_ids.contains(&id) {
                ix.duplicate_ids.push(id);
            }
            match obj {
                Identifiable::Classification(c) => {
                    loose_cl.entry(&c.classified_object).or_default().push(c);
                    ix.loose_classifications.push(c);
                }
                Identifiable::ExternalIdentifier(e) => {
                    loose_ei.entry(&e.registry_object).or_default().push(e);
                    ix.loose_external_identifiers.push(e);
                }
                Identifiable::Association(a) => {
                    if a.association_type == association_type::HAS_MEMBER {
                        ix.has_member
                            .insert((a.source_object.as_str(), a.target_object.as_str()));
                    }
                    ix.associations.push(a);
                }
                Identifiable::ObjectRef(r) => ix.object_refs.push(&r.id),
                Identifiable::ExtrinsicObject(_) | Identifiable::RegistryPackage(_) => {}
            }
        }
        for obj in &list.objects {
            let (object, mime_type, is_package) = match obj {
                Identifiable::ExtrinsicObject(eo) => (&eo.object, eo.mime_type.as_deref(), false),
                Identifiable::RegistryPackage(rp) => (&rp.object, None, true),
                _ => continue,
            };
            let mut classifications: Vec<&'a Classification> =
                object.classifications.iter().collect();
            classifications.extend(loose_cl.get(object.id.as_str()).into_iter().flatten());
            let mut external_identifiers: Vec<&'a ExternalIdentifier> =
                object.external_identifiers.iter().collect();
            external_identifiers.extend(loose_ei.get(object.id.as_str()).into_iter().flatten());
            let kind = if is_package {
                let node_is = |node: &str| {
                    classifications
                        .iter()
                        .any(|c| c.classification_node.as_deref() == Some(node))
                };
                match (
                    node_is(classification_node::SUBMISSION_SET),
                    node_is(classification_node::FOLDER),
                ) {
                    (true, false) => ObjectKind::SubmissionSet,
                    (false, true) => ObjectKind::Folder,
                    _ => ObjectKind::RegistryPackage,
                }
            } else {
                ObjectKind::DocumentEntry
            };
            ix.kinds.entry(object.id.as_str()).or_insert(kind);
            let entry = Entry {
                kind,
                object,
                mime_type,
                classifications,
                external_identifiers,
            };
            match kind {
                ObjectKind::DocumentEntry => ix.document_entries.push(entry),
                ObjectKind::SubmissionSet => ix.submission_sets.push(entry),
                ObjectKind::Folder => ix.folders.push(entry),
                _ => ix.unclassified_packages.push(entry),
            }
        }
        ix
    }

    /// DocumentEntries, SubmissionSets, Folders and unclassified packages, in that order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry<'a>> {
        self.document_entries
            .iter()
            .chain(&self.submission_sets)
            .chain(&self.folders)
            .chain(&self.unclassified_packages)
    }

    /// Whether the message carries a DocumentEntry, SubmissionSet, Folder or package with that id.
    pub fn has_entry(&self, id: &str) -> bool {
        self.kinds.contains_key(id)
    }

    /// Whether a HasMember association from `source` to `target` is in the message.
    pub fn has_member(&self, source: &str, target: &str) -> bool {
        self.has_member.contains(&(source, target))
    }

    /// The kind of the object with that id in this message, if any.
    pub fn kind_of(&self, id: &str) -> Option<ObjectKind> {
        if let Some(kind) = self.kinds.get(id) {
            return Some(*kind);
        }
        self.by_id.get(id).map(|o| match o {
            Identifiable::Association(_) => ObjectKind::Association,
            Identifiable::Classification(_) => ObjectKind::Classification,
            Identifiable::ExternalIdentifier(_) => ObjectKind::ExternalIdentifier,
            Identifiable::ObjectRef(_) => ObjectKind::ObjectRef,
            Identifiable::ExtrinsicObject(_) => ObjectKind::DocumentEntry,
            Identifiable::RegistryPackage(_) => ObjectKind::RegistryPackage,
        })
    }
}

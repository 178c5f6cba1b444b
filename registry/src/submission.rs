//! ITI-42 registration rules, independent of the storage backend.
//!
//! Registration runs in three steps:
//! 1. [`plan`] (pure): classify the submitted objects, move top-level classifications and
//!    external identifiers into the object they describe, give every symbolic id a fresh
//!    `urn:uuid:`, rewrite every reference consistently, set what the registry owns (status
//!    Approved, lid, version 1, folder lastUpdateTime) and record every finding that needs no
//!    store: patientId form and consistency, uniqueIds inside the message, association shapes.
//! 2. The store gathers [`StoreFacts`] about the objects the plan refers to, inside its write
//!    transaction, and [`check_against_store`] adds the findings that need them (unknown
//!    patient, uniqueId already registered, unresolved references, replaced document not
//!    Approved …) and derives the [`Effects`] on stored objects (deprecation, folder
//!    memberships carried over to a replacement, folders touched).
//! 3. The store writes the plan and the effects, only when there is no finding at all.
//!
//! Invariants: after [`plan`], every id and reference in `Plan::objects` that was symbolic is
//! a `urn:uuid:`; findings are collected, never short-circuited, so a rejection lists all of
//! them; nothing here mutates the store.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use xds_model::rim::{
    Association, Identifiable, RegistryObject, RegistryObjectList, Slot, VersionInfo,
};
use xds_model::vocabulary::{association_type, dk, status};

use crate::error::SubmissionError;
use crate::index::{ObjectIndex, ObjectKind, slot};

/// Which patients the registry accepts (config `patient_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatientPolicy {
    /// Any well-formed CPR patientId (`DDDDDDDDDD^^^&1.2.208.176.1.2&ISO`).
    #[default]
    Any,
    /// Only patients fed through the known-patient feed (`XDSUnknownPatientId` otherwise).
    Known,
}

/// Options of one registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegisterOptions {
    pub patient_policy: PatientPolicy,
}

/// What a successful registration did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registered {
    /// Every symbolic id of the submission and the entryUUID the registry gave it.
    pub assigned_uuids: BTreeMap<String, String>,
    /// entryUUIDs of the stored DocumentEntries, SubmissionSet, Folders and Associations,
    /// in submission order, followed by the associations the registry created itself.
    pub stored: Vec<String>,
    /// DocumentEntries deprecated by RPLC / XFRM_RPLC.
    pub deprecated: Vec<String>,
}

/// One object the registration will store, after rewriting.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedObject {
    /// The id as submitted (symbolic or `urn:uuid:`), for error locations.
    pub submitted_id: String,
    pub object: Identifiable,
    pub index: ObjectIndex,
}

/// The rewritten submission and the findings that need no store.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub objects: Vec<PlannedObject>,
    pub assigned_uuids: BTreeMap<String, String>,
    pub findings: Vec<SubmissionError>,
    /// The registry's time of this registration (DTM, 14 digits).
    pub now: String,
}

/// What the store knows about one object the submission refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSummary {
    pub kind: ObjectKind,
    pub status: String,
    pub patient_id: Option<String>,
}

/// An object already registered under a uniqueId the submission uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUniqueId {
    pub entry_uuid: String,
    pub kind: ObjectKind,
    pub hash: Option<String>,
    pub size: Option<u64>,
}

/// Facts the store gathered inside its write transaction for [`check_against_store`].
#[derive(Debug, Clone, Default)]
pub struct StoreFacts {
    /// Every id of [`Plan::referenced_ids`] and of the planned objects that exists in the store.
    pub existing: HashMap<String, StoredSummary>,
    /// Stored objects by uniqueId, for the uniqueIds of [`Plan::unique_ids`].
    pub unique_ids: HashMap<String, Vec<StoredUniqueId>>,
    /// Patients of the submission that are in the known-patient table.
    pub known_patients: HashSet<String>,
    /// For each stored DocumentEntry a replacement targets: the Folders it is a member of
    /// (through an Approved HasMember association).
    pub folders_of: HashMap<String, Vec<String>>,
}

/// Changes to stored objects that a registration causes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Effects {
    /// Stored DocumentEntries to set Deprecated.
    pub deprecate: Vec<String>,
    /// HasMember associations the registry creates (folder membership carried over).
    pub new_associations: Vec<PlannedObject>,
    /// Stored Folders whose membership changes (their lastUpdateTime becomes `now`).
    pub touched_folders: BTreeSet<String>,
}

const UUID_PREFIX: &str = "urn:uuid:";

pub(crate) fn is_uuid_ref(id: &str) -> bool {
    id.starts_with(UUID_PREFIX)
}

/// A fresh entryUUID.
pub fn new_entry_uuid() -> String {
    format!("{UUID_PREFIX}{}", uuid::Uuid::new_v4())
}

/// Is `patient_id` a CPR number in the DK assigning authority (`DDDDDDDDDD^^^&OID&ISO`)?
pub fn is_wellformed_cpr_patient_id(patient_id: &str) -> bool {
    let Some((cpr, authority)) = patient_id.split_once("^^^") else {
        return false;
    };
    cpr.len() == 10
        && cpr.bytes().all(|b| b.is_ascii_digit())
        && authority == format!("&{}&ISO", dk::CPR_OID)
}

pub(crate) fn registry_object_mut(object: &mut Identifiable) -> Option<&mut RegistryObject> {
    match object {
        Identifiable::ExtrinsicObject(o) => Some(&mut o.object),
        Identifiable::RegistryPackage(o) => Some(&mut o.object),
        Identifiable::Association(o) => Some(&mut o.object),
        Identifiable::Classification(o) => Some(&mut o.object),
        Identifiable::ExternalIdentifier(o) => Some(&mut o.object),
        Identifiable::ObjectRef(_) => None,
    }
}

/// Sets (or replaces) a single-valued slot.
pub fn set_slot(object: &mut RegistryObject, name: &str, value: &str) {
    match object.slots.iter_mut().find(|s| s.name == name) {
        Some(slot) => slot.values = vec![value.to_owned()],
        None => object.slots.push(Slot::new(name, [value])),
    }
}

/// Is this association type one a submission may carry (ITI-42)?
fn is_submittable_association(kind: &str) -> bool {
    matches!(
        kind,
        association_type::HAS_MEMBER
            | association_type::REPLACE
            | association_type::APPEND
            | association_type::TRANSFORM
            | association_type::TRANSFORM_AND_REPLACE
            | association_type::SIGNS
    )
}

fn is_replacement(kind: &str) -> bool {
    kind == association_type::REPLACE || kind == association_type::TRANSFORM_AND_REPLACE
}

/// A submission after the rewriting every transaction that stores objects shares (ITI-42 and
/// ITI-57): classifications and identifiers moved into their object, every symbolic id given
/// a fresh `urn:uuid:` and every reference rewritten to it. `lid`, `status` and `versionInfo`
/// are left as submitted: their meaning differs between the transactions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rewritten {
    /// (id as submitted, rewritten object), in submission order; only stored kinds.
    pub objects: Vec<(String, Identifiable)>,
    pub assigned_uuids: BTreeMap<String, String>,
    pub findings: Vec<SubmissionError>,
}

/// Classifies, assigns UUIDs and rewrites references; records the structural findings.
pub(crate) fn rewrite(submission: &RegistryObjectList) -> Rewritten {
    let mut findings = Vec::new();

    // Top-level classifications and external identifiers belong inside their object.
    let mut stored: Vec<Identifiable> = Vec::new();
    let mut detached = Vec::new();
    for object in &submission.objects {
        match object {
            Identifiable::Classification(_) | Identifiable::ExternalIdentifier(_) => {
                detached.push(object.clone())
            }
            // An ObjectRef only declares that a referenced object lives in the registry.
            Identifiable::ObjectRef(_) => {}
            Identifiable::RegistryPackage(p) if !p.members.is_empty() => {
                findings.push(SubmissionError::UnsupportedObject {
                    object: p.object.id.clone(),
                    what: "a RegistryPackage with nested members",
                });
            }
            _ => stored.push(object.clone()),
        }
    }
    for object in detached {
        let (owner, id) = match &object {
            Identifiable::Classification(c) => (c.classified_object.clone(), c.object.id.clone()),
            Identifiable::ExternalIdentifier(e) => (e.registry_object.clone(), e.object.id.clone()),
            _ => continue,
        };
        let Some(target) = stored
            .iter_mut()
            .find(|o| o.id() == owner)
            .and_then(registry_object_mut)
        else {
            findings.push(if is_uuid_ref(&owner) {
                SubmissionError::UnsupportedObject {
                    object: id,
                    what: "a classification or identifier of an object outside the submission",
                }
            } else {
                SubmissionError::UnresolvedReference {
                    object: id,
                    reference: owner,
                }
            });
            continue;
        };
        match object {
            Identifiable::Classification(c) => target.classifications.push(c),
            Identifiable::ExternalIdentifier(e) => target.external_identifiers.push(e),
            _ => {}
        }
    }

    // Which objects are stored, and under which UUID.
    let mut kept = Vec::new();
    let mut seen = HashSet::new();
    let mut assigned_uuids = BTreeMap::new();
    for object in stored {
        if ObjectKind::of(&object).is_none() {
            findings.push(SubmissionError::UnclassifiedPackage {
                object: object.id().to_owned(),
            });
            continue;
        }
        let id = object.id().to_owned();
        if !seen.insert(id.clone()) {
            findings.push(SubmissionError::DuplicateId { object: id });
            continue;
        }
        if !is_uuid_ref(&id) {
            assigned_uuids.insert(id, new_entry_uuid());
        }
        kept.push(object);
    }
    let resolve = |reference: &str| -> Option<String> {
        if is_uuid_ref(reference) {
            Some(reference.to_owned())
        } else {
            assigned_uuids.get(reference).cloned()
        }
    };

    let mut objects = Vec::new();
    for mut object in kept {
        let submitted_id = object.id().to_owned();
        let entry_uuid = resolve(&submitted_id).unwrap_or_else(|| submitted_id.clone());
        if let Identifiable::Association(a) = &mut object {
            for end in [&mut a.source_object, &mut a.target_object] {
                match resolve(end) {
                    Some(uuid) => *end = uuid,
                    None => findings.push(SubmissionError::UnresolvedReference {
                        object: submitted_id.clone(),
                        reference: end.clone(),
                    }),
                }
            }
        }
        let Some(ro) = registry_object_mut(&mut object) else {
            continue;
        };
        ro.id = entry_uuid.clone();
        for c in &mut ro.classifications {
            c.classified_object = entry_uuid.clone();
            if !is_uuid_ref(&c.object.id) {
                c.object.id = new_entry_uuid();
            }
        }
        for e in &mut ro.external_identifiers {
            e.registry_object = entry_uuid.clone();
            if !is_uuid_ref(&e.object.id) {
                e.object.id = new_entry_uuid();
            }
        }
        objects.push((submitted_id, object));
    }
    Rewritten {
        objects,
        assigned_uuids,
        findings,
    }
}

/// Step 1: classify, assign UUIDs, rewrite references, and record store-free findings.
pub fn plan(submission: &RegistryObjectList, now: &str) -> Plan {
    let Rewritten {
        objects: rewritten,
        assigned_uuids,
        mut findings,
    } = rewrite(submission);
    let mut objects = Vec::new();
    for (submitted_id, mut object) in rewritten {
        let Some(ro) = registry_object_mut(&mut object) else {
            continue;
        };
        let entry_uuid = ro.id.clone();
        match ro.lid.as_deref() {
            Some(lid) if lid != submitted_id && lid != entry_uuid => {
                findings.push(SubmissionError::LidNotEntryUuid {
                    object: submitted_id.clone(),
                    lid: lid.to_owned(),
                });
            }
            _ => {}
        }
        ro.lid = Some(entry_uuid.clone());
        ro.status = Some(status::APPROVED.to_owned());
        ro.version_info = Some(VersionInfo {
            version_name: Some("1".to_owned()),
            comment: ro.version_info.as_ref().and_then(|v| v.comment.clone()),
        });
        if ObjectKind::of(&object) == Some(ObjectKind::Folder)
            && let Some(ro) = registry_object_mut(&mut object)
        {
            set_slot(ro, slot::LAST_UPDATE_TIME, now);
        }
        let Some(index) = ObjectIndex::of(&object) else {
            continue;
        };
        objects.push(PlannedObject {
            submitted_id,
            object,
            index,
        });
    }

    let mut plan = Plan {
        objects,
        assigned_uuids,
        findings,
        now: now.to_owned(),
    };
    check_plan(&mut plan);
    plan
}

/// The store-free rules over the rewritten objects.
fn check_plan(plan: &mut Plan) {
    let findings = &mut plan.findings;
    let submission_sets: Vec<&PlannedObject> = plan
        .objects
        .iter()
        .filter(|o| o.index.kind == ObjectKind::SubmissionSet)
        .collect();
    match submission_sets.len() {
        0 => findings.push(SubmissionError::NoSubmissionSet),
        1 => {}
        count => findings.push(SubmissionError::MultipleSubmissionSets { count }),
    }
    let submission_set = submission_sets.first().copied();

    let mut unique_ids: HashSet<&str> = HashSet::new();
    for o in &plan.objects {
        if o.index.kind == ObjectKind::Association {
            continue;
        }
        match o.index.patient_id.as_deref() {
            None => findings.push(SubmissionError::MissingPatientId {
                object: o.submitted_id.clone(),
            }),
            Some(pid) if !is_wellformed_cpr_patient_id(pid) => {
                findings.push(SubmissionError::MalformedPatientId {
                    object: o.submitted_id.clone(),
                    patient_id: pid.to_owned(),
                })
            }
            Some(pid) => {
                if let Some(ss) = submission_set
                    && o.index.kind != ObjectKind::SubmissionSet
                    && let Some(expected) = ss.index.patient_id.as_deref()
                    && expected != pid
                {
                    findings.push(SubmissionError::PatientIdDoesNotMatch {
                        object: o.submitted_id.clone(),
                        patient_id: pid.to_owned(),
                        other: ss.submitted_id.clone(),
                        expected: expected.to_owned(),
                    });
                }
            }
        }
        match o.index.unique_id.as_deref() {
            None => findings.push(SubmissionError::MissingUniqueId {
                object: o.submitted_id.clone(),
            }),
            Some(uid) => {
                if !unique_ids.insert(uid) {
                    findings.push(SubmissionError::DuplicateUniqueIdInSubmission {
                        object: o.submitted_id.clone(),
                        unique_id: uid.to_owned(),
                    });
                }
            }
        }
        if let Some(size) = &o.index.size
            && size.parse::<u64>().is_err()
        {
            findings.push(SubmissionError::InvalidSize {
                object: o.submitted_id.clone(),
                value: size.clone(),
            });
        }
    }

    let kinds: HashMap<&str, ObjectKind> = plan
        .objects
        .iter()
        .map(|o| (o.index.entry_uuid.as_str(), o.index.kind))
        .collect();
    let mut replaced: HashSet<&str> = HashSet::new();
    for o in &plan.objects {
        let (Some(kind), Some(source), Some(target)) = (
            o.index.association_type.as_deref(),
            o.index.source_object.as_deref(),
            o.index.target_object.as_deref(),
        ) else {
            continue;
        };
        if !is_submittable_association(kind) {
            findings.push(SubmissionError::UnsupportedAssociationType {
                object: o.submitted_id.clone(),
                association_type: kind.to_owned(),
            });
            continue;
        }
        if kind == association_type::HAS_MEMBER {
            let source_kind = kinds.get(source).copied();
            let target_kind = kinds.get(target).copied();
            match source_kind {
                Some(ObjectKind::SubmissionSet) | Some(ObjectKind::Folder) | None => {}
                Some(_) => findings.push(SubmissionError::InvalidHasMemberSource {
                    object: o.submitted_id.clone(),
                    source_object: source.to_owned(),
                }),
            }
            let target_ok = match (source_kind, target_kind) {
                (_, None) => true, // a stored object; checked against the store
                (Some(ObjectKind::SubmissionSet), Some(_)) => true,
                (_, Some(ObjectKind::DocumentEntry)) => true,
                _ => false,
            };
            if !target_ok {
                findings.push(SubmissionError::InvalidHasMemberTarget {
                    object: o.submitted_id.clone(),
                    source_object: source.to_owned(),
                    target_object: target.to_owned(),
                });
            }
        } else {
            if kinds.get(source) != Some(&ObjectKind::DocumentEntry) {
                findings.push(SubmissionError::RelationshipSourceNotNewDocument {
                    object: o.submitted_id.clone(),
                    association_type: kind.to_owned(),
                    source_object: source.to_owned(),
                });
            }
            match kinds.get(target) {
                Some(ObjectKind::DocumentEntry) if is_replacement(kind) => {
                    findings.push(SubmissionError::RelationshipTargetNotDocument {
                        object: o.submitted_id.clone(),
                        association_type: kind.to_owned(),
                        target_object: target.to_owned(),
                        where_: " registered before this submission",
                    })
                }
                Some(ObjectKind::DocumentEntry) | None => {}
                Some(_) => findings.push(SubmissionError::RelationshipTargetNotDocument {
                    object: o.submitted_id.clone(),
                    association_type: kind.to_owned(),
                    target_object: target.to_owned(),
                    where_: "",
                }),
            }
            if is_replacement(kind) && !replaced.insert(target) {
                findings.push(SubmissionError::ReplacedTwice {
                    target_object: target.to_owned(),
                });
            }
        }
    }
}

impl Plan {
    /// Ids the plan refers to that are not among its own objects: they must be in the store.
    pub fn referenced_ids(&self) -> BTreeSet<String> {
        let own: HashSet<&str> = self
            .objects
            .iter()
            .map(|o| o.index.entry_uuid.as_str())
            .collect();
        self.objects
            .iter()
            .flat_map(|o| [&o.index.source_object, &o.index.target_object])
            .flatten()
            .filter(|id| is_uuid_ref(id) && !own.contains(id.as_str()))
            .cloned()
            .collect()
    }

    /// entryUUIDs of the plan's own objects (they must not exist in the store yet).
    pub fn entry_uuids(&self) -> Vec<String> {
        self.objects
            .iter()
            .map(|o| o.index.entry_uuid.clone())
            .collect()
    }

    /// The uniqueIds of the DocumentEntries, SubmissionSet and Folders.
    pub fn unique_ids(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter_map(|o| o.index.unique_id.clone())
            .collect()
    }

    /// The patientIds of the submission.
    pub fn patient_ids(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter_map(|o| o.index.patient_id.clone())
            .collect()
    }

    /// Stored DocumentEntries that a replacement in this plan targets.
    pub fn replaced_ids(&self) -> Vec<String> {
        self.objects
            .iter()
            .filter(|o| {
                o.index
                    .association_type
                    .as_deref()
                    .is_some_and(is_replacement)
            })
            .filter_map(|o| o.index.target_object.clone())
            .collect()
    }

    fn submission_set_patient(&self) -> Option<(&str, &str)> {
        self.objects
            .iter()
            .find(|o| o.index.kind == ObjectKind::SubmissionSet)
            .and_then(|o| Some((o.submitted_id.as_str(), o.index.patient_id.as_deref()?)))
    }
}

/// Step 2: the findings that need the store, and the effects on stored objects.
pub fn check_against_store(
    plan: &Plan,
    facts: &StoreFacts,
    options: &RegisterOptions,
) -> (Vec<SubmissionError>, Effects) {
    let mut findings = Vec::new();
    let mut effects = Effects::default();

    for o in &plan.objects {
        if facts.existing.contains_key(&o.index.entry_uuid) {
            findings.push(SubmissionError::EntryUuidExists {
                object: o.submitted_id.clone(),
            });
        }
    }

    if options.patient_policy == PatientPolicy::Known {
        let mut reported = HashSet::new();
        for o in &plan.objects {
            if let Some(pid) = &o.index.patient_id
                && is_wellformed_cpr_patient_id(pid)
                && !facts.known_patients.contains(pid)
                && reported.insert(o.submitted_id.clone())
            {
                findings.push(SubmissionError::UnknownPatientId {
                    object: o.submitted_id.clone(),
                    patient_id: pid.clone(),
                });
            }
        }
    }

    for o in &plan.objects {
        let Some(uid) = &o.index.unique_id else {
            continue;
        };
        for stored in facts.unique_ids.get(uid).into_iter().flatten() {
            if stored.entry_uuid == o.index.entry_uuid {
                continue;
            }
            // ITI TF-2b 3.42.4.1.3: a DocumentEntry may repeat a registered document's
            // uniqueId only for the identical document (same hash and size); a SubmissionSet's
            // or Folder's uniqueId, or a uniqueId registered for another kind, never repeats.
            let finding = if o.index.kind == ObjectKind::DocumentEntry
                && stored.kind == ObjectKind::DocumentEntry
            {
                if stored.hash != o.index.hash {
                    Some(SubmissionError::NonIdenticalHash {
                        object: o.submitted_id.clone(),
                        unique_id: uid.clone(),
                    })
                } else if stored.size != o.index.size.as_deref().and_then(|s| s.parse().ok()) {
                    Some(SubmissionError::NonIdenticalSize {
                        object: o.submitted_id.clone(),
                        unique_id: uid.clone(),
                    })
                } else {
                    None
                }
            } else {
                Some(SubmissionError::DuplicateUniqueIdInRegistry {
                    object: o.submitted_id.clone(),
                    unique_id: uid.clone(),
                })
            };
            if let Some(finding) = finding {
                findings.push(finding);
                break;
            }
        }
    }

    let own: HashMap<&str, &PlannedObject> = plan
        .objects
        .iter()
        .map(|o| (o.index.entry_uuid.as_str(), o))
        .collect();
    let ss_patient = plan.submission_set_patient();
    let check_patient = |findings: &mut Vec<SubmissionError>, object: &str, stored: &str| {
        if let (Some((ss, expected)), Some(summary)) = (ss_patient, facts.existing.get(stored))
            && let Some(pid) = summary.patient_id.as_deref()
            && pid != expected
        {
            findings.push(SubmissionError::PatientIdDoesNotMatch {
                object: object.to_owned(),
                patient_id: pid.to_owned(),
                other: ss.to_owned(),
                expected: expected.to_owned(),
            });
        }
    };

    for o in &plan.objects {
        let (Some(kind), Some(source), Some(target)) = (
            o.index.association_type.as_deref(),
            o.index.source_object.as_deref(),
            o.index.target_object.as_deref(),
        ) else {
            continue;
        };
        if !is_submittable_association(kind) {
            continue;
        }
        for end in [source, target] {
            // Unresolved symbolic ids were reported by `plan`.
            if is_uuid_ref(end) && !own.contains_key(end) && !facts.existing.contains_key(end) {
                findings.push(SubmissionError::UnresolvedReference {
                    object: o.submitted_id.clone(),
                    reference: end.to_owned(),
                });
            }
        }
        if kind == association_type::HAS_MEMBER {
            if let Some(stored) = facts.existing.get(source) {
                if stored.kind != ObjectKind::Folder {
                    findings.push(SubmissionError::InvalidHasMemberSource {
                        object: o.submitted_id.clone(),
                        source_object: source.to_owned(),
                    });
                } else {
                    check_patient(&mut findings, &o.submitted_id, source);
                    effects.touched_folders.insert(source.to_owned());
                }
            }
            if let Some(stored) = facts.existing.get(target) {
                let source_is_ss =
                    own.get(source).map(|s| s.index.kind) == Some(ObjectKind::SubmissionSet);
                let allowed = stored.kind == ObjectKind::DocumentEntry
                    || (source_is_ss && stored.kind == ObjectKind::Folder);
                if !allowed {
                    findings.push(SubmissionError::InvalidHasMemberTarget {
                        object: o.submitted_id.clone(),
                        source_object: source.to_owned(),
                        target_object: target.to_owned(),
                    });
                } else {
                    check_patient(&mut findings, &o.submitted_id, target);
                }
            }
            continue;
        }
        // Document relationships: the target is a stored (or, except for replacements,
        // submitted) DocumentEntry.
        let Some(stored) = facts.existing.get(target) else {
            continue;
        };
        if stored.kind != ObjectKind::DocumentEntry {
            findings.push(SubmissionError::RelationshipTargetNotDocument {
                object: o.submitted_id.clone(),
                association_type: kind.to_owned(),
                target_object: target.to_owned(),
                where_: "",
            });
            continue;
        }
        check_patient(&mut findings, &o.submitted_id, target);
        let must_be_approved = is_replacement(kind) || kind == association_type::APPEND;
        if must_be_approved && stored.status != status::APPROVED {
            findings.push(SubmissionError::RelationshipTargetNotApproved {
                object: o.submitted_id.clone(),
                association_type: kind.to_owned(),
                target_object: target.to_owned(),
                status: stored.status.clone(),
            });
            continue;
        }
        if is_replacement(kind) {
            effects.deprecate.push(target.to_owned());
            // ITI TF-2b 3.42.4.1.3.5: the replacement joins every folder of the original.
            for folder in facts.folders_of.get(target).into_iter().flatten() {
                let association = Association {
                    object: RegistryObject {
                        id: new_entry_uuid(),
                        status: Some(status::APPROVED.to_owned()),
                        ..RegistryObject::default()
                    },
                    association_type: association_type::HAS_MEMBER.to_owned(),
                    source_object: folder.clone(),
                    target_object: source.to_owned(),
                };
                let mut object = Identifiable::Association(association);
                if let Some(ro) = registry_object_mut(&mut object) {
                    ro.lid = Some(ro.id.clone());
                    ro.version_info = Some(VersionInfo {
                        version_name: Some("1".to_owned()),
                        comment: None,
                    });
                }
                if let Some(index) = ObjectIndex::of(&object) {
                    effects.new_associations.push(PlannedObject {
                        submitted_id: index.entry_uuid.clone(),
                        object,
                        index,
                    });
                }
                effects.touched_folders.insert(folder.clone());
            }
        }
    }
    (findings, effects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpr_patient_ids_are_recognised() {
        assert!(is_wellformed_cpr_patient_id(
            "2512489996^^^&1.2.208.176.1.2&ISO"
        ));
        assert!(!is_wellformed_cpr_patient_id(
            "251248999^^^&1.2.208.176.1.2&ISO"
        ));
        assert!(!is_wellformed_cpr_patient_id(
            "2512489996^^^&1.2.208.176.1.1&ISO"
        ));
        assert!(!is_wellformed_cpr_patient_id("2512489996"));
        assert!(!is_wellformed_cpr_patient_id(
            "25124899x6^^^&1.2.208.176.1.2&ISO"
        ));
    }
}

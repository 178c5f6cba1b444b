//! ITI-57 Update Document Set rules (XDS Metadata Update, ITI TF-2b 3.57.4.1.3), independent of
//! the storage backend.
//!
//! An update is a SubmitObjectsRequest whose SubmissionSet carries *operations* rather than
//! first versions:
//! - **Update DocumentEntry / Folder metadata** (3.57.4.1.3.3.1, 3.57.4.1.3.3.3): a new version
//!   of the object (new entryUUID or symbolic id, `lid` = the logicalId of the registered object)
//!   and a HasMember from the SubmissionSet to it with Slot `PreviousVersion`. The previous
//!   version must be the latest one (`XDSMetadataVersionError` otherwise) and Approved; uniqueId,
//!   objectType and patientId stay (`XDSMetadataUpdateError`, `XDSPatientIdDoesNotMatch`). The
//!   new version gets version = previous + 1 and status Approved, the previous one becomes
//!   Deprecated. Unless the HasMember says `AssociationPropagation` = `no`, the Approved
//!   associations of the previous version are replicated onto the new one: a DocumentEntry's
//!   Folder memberships and document relationships, a Folder's HasMember to its documents.
//! - **Update availabilityStatus** (3.57.4.1.3.3.2): an `UpdateAvailabilityStatus` association
//!   from the SubmissionSet to a registered DocumentEntry (its latest version) or Association,
//!   with Slots `OriginalStatus` (must equal the current status) and `NewStatus`, both Approved
//!   or Deprecated. A target that is a new version of the same submission gets its status after
//!   it is created (ITI57-015).
//! - **Add association**: a HasMember from a registered Folder to a registered
//!   DocumentEntry; the Folder's lastUpdateTime is set.
//!
//! Anything else (first versions, other association types, operations on SubmissionSets or
//! Folder status) is refused, with `UnsupportedCapabilityException` where the supplement allows
//! it but this registry does not implement it; nothing is accepted silently.
//!
//! Steps mirror [`crate::submission`]: [`plan`] (pure), the store gathers [`UpdateFacts`] in its
//! write transaction, [`check_against_store`] adds the findings that need them and derives the
//! [`UpdateEffects`], and the store writes only when there is no finding at all.
//!
//! Invariants: pure; findings are collected, never short-circuited; a version number is only
//! ever the stored latest + 1, decided inside the write transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use xds_model::rim::{Association, Identifiable, RegistryObject, RegistryObjectList, VersionInfo};
use xds_model::vocabulary::{association_type, document_availability, error_code, slot, status};

use crate::error::{StoreError, SubmissionError};
use crate::index::{ObjectIndex, ObjectKind, slot as index_slot};
use crate::submission::{
    self, PatientPolicy, PlannedObject, RegisterOptions, is_uuid_ref, is_wellformed_cpr_patient_id,
    new_entry_uuid, registry_object_mut, set_slot,
};

/// The document relationships whose associations follow a DocumentEntry to its new version.
const RELATIONSHIPS: [&str; 5] = [
    association_type::REPLACE,
    association_type::APPEND,
    association_type::TRANSFORM,
    association_type::TRANSFORM_AND_REPLACE,
    association_type::SIGNS,
];

/// One finding against an ITI-57 request. A rejected update carries all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateFinding {
    /// A rule shared with ITI-42 (structure, references, patientId form and consistency).
    #[error(transparent)]
    Submission(SubmissionError),
    #[error(
        "{object} has no lid or a lid equal to its entryUUID: an update carries only new versions of registered objects (XDSMetadataUpdateError)"
    )]
    InitialVersion { object: String },
    #[error("{object} has lid {lid}, which is not a UUID (XDSMetadataUpdateError)")]
    SymbolicLid { object: String, lid: String },
    #[error(
        "{object} has no HasMember association from the SubmissionSet with a PreviousVersion slot (XDSMetadataUpdateError)"
    )]
    NoPreviousVersion { object: String },
    #[error(
        "association {object}: slot {slot} must have exactly one value of the allowed form, found {value:?} (XDSMetadataUpdateError)"
    )]
    InvalidSlot {
        object: String,
        slot: &'static str,
        value: Vec<String>,
    },
    #[error("{object}: lid {lid} names no registered {kind} (XDSMetadataUpdateError)")]
    UnknownLogicalId {
        object: String,
        lid: String,
        kind: &'static str,
    },
    #[error(
        "{object}: lid {lid} is updated more than once in this submission (XDSMetadataUpdateError)"
    )]
    UpdatedTwice { object: String, lid: String },
    #[error(
        "{object}: the latest version {latest} of {lid} is {status}, not Approved (XDSMetadataUpdateError)"
    )]
    PreviousVersionNotApproved {
        object: String,
        lid: String,
        latest: String,
        status: String,
    },
    #[error(
        "{object}: PreviousVersion is {previous_version} but the latest version of {lid} is {latest_version} (XDSMetadataVersionError)"
    )]
    VersionMismatch {
        object: String,
        lid: String,
        previous_version: String,
        latest_version: u64,
    },
    #[error(
        "{object}: uniqueId {unique_id} differs from {stored} of the previous version (XDSMetadataUpdateError)"
    )]
    UniqueIdChanged {
        object: String,
        unique_id: String,
        stored: String,
    },
    #[error(
        "{object}: objectType {object_type} differs from {stored} of the previous version (XDSMetadataUpdateError)"
    )]
    ObjectTypeChanged {
        object: String,
        object_type: String,
        stored: String,
    },
    #[error(
        "{object}: patientId {patient_id} differs from {stored} of the previous version (XDSPatientIdDoesNotMatch)"
    )]
    PatientIdChanged {
        object: String,
        patient_id: String,
        stored: String,
    },
    #[error(
        "UpdateAvailabilityStatus association {object}: source {source_object} is not this submission's SubmissionSet (XDSMetadataUpdateError)"
    )]
    StatusSourceNotSubmissionSet {
        object: String,
        source_object: String,
    },
    #[error(
        "association {object}: target {target} is not in the registry (UnresolvedReferenceException)"
    )]
    TargetUnknown { object: String, target: String },
    #[error(
        "UpdateAvailabilityStatus association {object}: {target} is not the latest version of its DocumentEntry (XDSMetadataUpdateError)"
    )]
    StatusTargetNotLatest { object: String, target: String },
    #[error(
        "UpdateAvailabilityStatus association {object}: {target} is replaced by a new version in this submission (XDSMetadataUpdateError)"
    )]
    StatusTargetSuperseded { object: String, target: String },
    #[error(
        "UpdateAvailabilityStatus association {object}: {target} is a {kind}, whose status cannot be updated (XDSMetadataUpdateError)"
    )]
    StatusTargetNotUpdatable {
        object: String,
        target: String,
        kind: &'static str,
    },
    #[error(
        "UpdateAvailabilityStatus association {object}: OriginalStatus {original} but {target} is {current} (XDSMetadataUpdateError)"
    )]
    OriginalStatusMismatch {
        object: String,
        target: String,
        original: String,
        current: String,
    },
    #[error(
        "association {object}: the status of {target} is updated more than once in this submission (XDSMetadataUpdateError)"
    )]
    StatusUpdatedTwice { object: String, target: String },
    #[error(
        "HasMember association {object}: {source_object} -> {target_object} is not a registered Folder to a registered DocumentEntry (XDSMetadataUpdateError)"
    )]
    MembershipEnds {
        object: String,
        source_object: String,
        target_object: String,
    },
    #[error("the update contains no operation (XDSMetadataUpdateError)")]
    NoOperation,
    #[error("{object}: {what} is not supported by this registry (UnsupportedCapabilityException)")]
    Unsupported { object: String, what: &'static str },
}

impl UpdateFinding {
    /// The `RegistryError/@errorCode` this finding becomes.
    pub fn error_code(&self) -> &'static str {
        use UpdateFinding::*;
        match self {
            Submission(f) => f.error_code(),
            VersionMismatch { .. } => error_code::METADATA_VERSION_ERROR,
            PatientIdChanged { .. } => error_code::PATIENT_ID_DOES_NOT_MATCH,
            TargetUnknown { .. } => error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            Unsupported { .. } => error_code::UNSUPPORTED_CAPABILITY_EXCEPTION,
            InitialVersion { .. }
            | SymbolicLid { .. }
            | NoPreviousVersion { .. }
            | InvalidSlot { .. }
            | UnknownLogicalId { .. }
            | UpdatedTwice { .. }
            | PreviousVersionNotApproved { .. }
            | UniqueIdChanged { .. }
            | ObjectTypeChanged { .. }
            | StatusSourceNotSubmissionSet { .. }
            | StatusTargetNotLatest { .. }
            | StatusTargetSuperseded { .. }
            | StatusTargetNotUpdatable { .. }
            | OriginalStatusMismatch { .. }
            | StatusUpdatedTwice { .. }
            | MembershipEnds { .. }
            | NoOperation => error_code::METADATA_UPDATE_ERROR,
        }
    }

    /// The `RegistryError/@location`: the object as the submitter wrote its id.
    pub fn location(&self) -> &str {
        use UpdateFinding::*;
        match self {
            Submission(f) => f.location(),
            NoOperation => "SubmitObjectsRequest",
            InitialVersion { object }
            | SymbolicLid { object, .. }
            | NoPreviousVersion { object }
            | InvalidSlot { object, .. }
            | UnknownLogicalId { object, .. }
            | UpdatedTwice { object, .. }
            | PreviousVersionNotApproved { object, .. }
            | VersionMismatch { object, .. }
            | UniqueIdChanged { object, .. }
            | ObjectTypeChanged { object, .. }
            | PatientIdChanged { object, .. }
            | StatusSourceNotSubmissionSet { object, .. }
            | TargetUnknown { object, .. }
            | StatusTargetNotLatest { object, .. }
            | StatusTargetSuperseded { object, .. }
            | StatusTargetNotUpdatable { object, .. }
            | OriginalStatusMismatch { object, .. }
            | StatusUpdatedTwice { object, .. }
            | MembershipEnds { object, .. }
            | Unsupported { object, .. } => object,
        }
    }
}

impl From<SubmissionError> for UpdateFinding {
    fn from(value: SubmissionError) -> Self {
        UpdateFinding::Submission(value)
    }
}

/// Why an ITI-57 update did not happen. In either case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("update rejected with {} finding(s)", .0.len())]
    Rejected(Vec<UpdateFinding>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UpdateError {
    /// Every finding as a `RegistryError`, or the one internal error.
    pub fn registry_errors(&self) -> Vec<xds_model::message::RegistryError> {
        match self {
            UpdateError::Rejected(findings) => findings
                .iter()
                .map(|f| crate::error::registry_error(f.error_code(), f.to_string(), f.location()))
                .collect(),
            UpdateError::Store(e) => vec![e.registry_error()],
        }
    }
}

/// What a successful update did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Updated {
    /// Every symbolic id of the submission and the entryUUID the registry gave it.
    pub assigned_uuids: BTreeMap<String, String>,
    /// entryUUIDs stored: the submission's objects in order, then propagated associations.
    pub stored: Vec<String>,
    /// Previous versions set Deprecated by a metadata update.
    pub deprecated: Vec<String>,
    /// Registered objects whose status an UpdateAvailabilityStatus changed: (entryUUID, new).
    pub status_changed: Vec<(String, String)>,
    /// Folders whose membership changed (their lastUpdateTime was set).
    pub touched_folders: Vec<String>,
}

/// A new version of a registered DocumentEntry or Folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionUpdate {
    /// Position of the new version in [`UpdatePlan::objects`].
    pub position: usize,
    pub lid: String,
    /// The `PreviousVersion` slot as submitted.
    pub previous_version: String,
    /// `AssociationPropagation` (default yes).
    pub propagate: bool,
}

/// An `UpdateAvailabilityStatus` of a registered object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The association, as submitted.
    pub submitted_id: String,
    pub target: String,
    pub original: String,
    pub new: String,
}

/// A HasMember between a registered Folder and a registered DocumentEntry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedMembership {
    pub submitted_id: String,
    pub folder: String,
    pub document: String,
}

/// The rewritten update and the findings that need no store.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatePlan {
    /// Everything stored as submitted: the SubmissionSet, the new versions, the associations.
    pub objects: Vec<PlannedObject>,
    pub assigned_uuids: BTreeMap<String, String>,
    pub findings: Vec<UpdateFinding>,
    pub versions: Vec<VersionUpdate>,
    pub status_updates: Vec<StatusUpdate>,
    pub memberships: Vec<AddedMembership>,
    /// The registry's time of this update (DTM, 14 digits).
    pub now: String,
}

/// A stored DocumentEntry, Folder, SubmissionSet or Association as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub entry_uuid: String,
    pub kind: ObjectKind,
    pub status: String,
    pub patient_id: Option<String>,
    pub unique_id: Option<String>,
    pub object_type: Option<String>,
    pub version: u64,
    /// No other object of the same logicalId has a higher version.
    pub is_latest: bool,
    /// For associations: type and ends.
    pub association: Option<(String, String, String)>,
}

/// A stored Approved association touching a previous version, with its source's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssociation {
    pub entry_uuid: String,
    pub association_type: String,
    pub source_object: String,
    pub target_object: String,
    pub source_kind: Option<ObjectKind>,
    /// The source's availabilityStatus (a Deprecated Folder gains no new members).
    pub source_status: Option<String>,
}

/// Facts the store gathered inside its write transaction for [`check_against_store`].
#[derive(Debug, Clone, Default)]
pub struct UpdateFacts {
    /// The latest version of each logicalId of [`UpdatePlan::lids`].
    pub latest: HashMap<String, StoredVersion>,
    /// Every id of [`UpdatePlan::referenced_ids`] and of the plan's objects that exists, and
    /// the source of every association among them.
    pub existing: HashMap<String, StoredVersion>,
    /// Approved associations whose source or target is one of the latest versions above.
    pub touching: Vec<StoredAssociation>,
    pub known_patients: HashSet<String>,
}

/// Changes to registered objects that an update causes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateEffects {
    /// Previous versions to set Deprecated.
    pub deprecate: Vec<String>,
    /// Registered objects to give a new status: (entryUUID, status).
    pub status_changes: Vec<(String, String)>,
    /// Associations the registry creates (propagation onto new versions).
    pub new_associations: Vec<PlannedObject>,
    /// Registered Folders whose membership changes (lastUpdateTime becomes `now`).
    pub touched_folders: BTreeSet<String>,
}

fn single_slot(ro: &RegistryObject, name: &str) -> Option<Result<String, Vec<String>>> {
    let s = ro.slot(name)?;
    Some(match s.values.as_slice() {
        [one] => Ok(one.trim().to_owned()),
        other => Err(other.to_vec()),
    })
}

fn is_status_value(value: &str) -> bool {
    value == status::APPROVED || value == status::DEPRECATED
}

fn kind_name(kind: ObjectKind) -> &'static str {
    kind.as_str()
}

/// Sets what the registry owns on a first-version object it creates (SubmissionSet,
/// association): status Approved, lid = entryUUID, version 1.
fn first_version(ro: &mut RegistryObject) {
    ro.lid = Some(ro.id.clone());
    ro.status = Some(status::APPROVED.to_owned());
    ro.version_info = Some(VersionInfo {
        version_name: Some("1".to_owned()),
        comment: ro.version_info.as_ref().and_then(|v| v.comment.clone()),
    });
}

fn planned(object: Identifiable, submitted_id: String) -> Option<PlannedObject> {
    let index = ObjectIndex::of(&object)?;
    Some(PlannedObject {
        submitted_id,
        object,
        index,
    })
}

/// Step 1: rewrite ids, recognise the operations, and record store-free findings.
pub fn plan(submission: &RegistryObjectList, now: &str) -> UpdatePlan {
    let rewritten = submission::rewrite(submission);
    let mut findings: Vec<UpdateFinding> = rewritten
        .findings
        .into_iter()
        .map(UpdateFinding::from)
        .collect();
    let mut objects: Vec<(String, Identifiable, ObjectKind)> = rewritten
        .objects
        .into_iter()
        .filter_map(|(submitted, o)| ObjectKind::of(&o).map(|k| (submitted, o, k)))
        .collect();

    let sets: Vec<usize> = (0..objects.len())
        .filter(|&i| objects[i].2 == ObjectKind::SubmissionSet)
        .collect();
    match sets.len() {
        0 => findings.push(SubmissionError::NoSubmissionSet.into()),
        1 => {}
        count => findings.push(SubmissionError::MultipleSubmissionSets { count }.into()),
    }
    let ss = sets.first().map(|&i| {
        let (submitted, object, _) = &objects[i];
        let index = ObjectIndex::of(object);
        (
            submitted.clone(),
            object.id().to_owned(),
            index.and_then(|ix| ix.patient_id),
        )
    });
    let ss_id = ss.as_ref().map(|(_, id, _)| id.clone()).unwrap_or_default();
    let ss_patient = ss.as_ref().and_then(|(_, _, p)| p.clone());
    if let Some((submitted, _, patient)) = &ss {
        match patient {
            None => findings.push(
                SubmissionError::MissingPatientId {
                    object: submitted.clone(),
                }
                .into(),
            ),
            Some(pid) if !is_wellformed_cpr_patient_id(pid) => findings.push(
                SubmissionError::MalformedPatientId {
                    object: submitted.clone(),
                    patient_id: pid.clone(),
                }
                .into(),
            ),
            Some(_) => {}
        }
    }
    let kinds: HashMap<String, ObjectKind> = objects
        .iter()
        .map(|(_, o, k)| (o.id().to_owned(), *k))
        .collect();

    // The associations: which operation each one is.
    struct Trigger {
        previous_version: Option<String>,
        propagate: bool,
    }
    let mut triggers: HashMap<String, Trigger> = HashMap::new();
    let mut status_updates = Vec::new();
    let mut in_submission_status: HashMap<String, (String, String, String)> = HashMap::new();
    let mut memberships = Vec::new();
    for (submitted_id, object, _) in &objects {
        let Identifiable::Association(a) = object else {
            continue;
        };
        let (source, target) = (a.source_object.as_str(), a.target_object.as_str());
        match a.association_type.as_str() {
            association_type::HAS_MEMBER if source == ss_id => match kinds.get(target) {
                Some(ObjectKind::DocumentEntry | ObjectKind::Folder) => {
                    let previous_version = match single_slot(&a.object, slot::PREVIOUS_VERSION) {
                        None => None,
                        Some(Ok(v)) if v.parse::<u64>().is_ok_and(|n| n >= 1) => Some(v),
                        Some(Ok(v)) => {
                            findings.push(UpdateFinding::InvalidSlot {
                                object: submitted_id.clone(),
                                slot: slot::PREVIOUS_VERSION,
                                value: vec![v],
                            });
                            None
                        }
                        Some(Err(values)) => {
                            findings.push(UpdateFinding::InvalidSlot {
                                object: submitted_id.clone(),
                                slot: slot::PREVIOUS_VERSION,
                                value: values,
                            });
                            None
                        }
                    };
                    let propagate = match single_slot(&a.object, slot::ASSOCIATION_PROPAGATION) {
                        None => true,
                        Some(Ok(v)) if v == "yes" => true,
                        Some(Ok(v)) if v == "no" => false,
                        Some(Ok(v)) => {
                            findings.push(UpdateFinding::InvalidSlot {
                                object: submitted_id.clone(),
                                slot: slot::ASSOCIATION_PROPAGATION,
                                value: vec![v],
                            });
                            true
                        }
                        Some(Err(values)) => {
                            findings.push(UpdateFinding::InvalidSlot {
                                object: submitted_id.clone(),
                                slot: slot::ASSOCIATION_PROPAGATION,
                                value: values,
                            });
                            true
                        }
                    };
                    triggers.insert(
                        target.to_owned(),
                        Trigger {
                            previous_version,
                            propagate,
                        },
                    );
                }
                // The SubmissionSet records the associations it adds.
                Some(ObjectKind::Association) => {}
                _ => findings.push(UpdateFinding::Unsupported {
                    object: submitted_id.clone(),
                    what: "a SubmissionSet HasMember of an object outside the submission",
                }),
            },
            association_type::HAS_MEMBER => {
                if kinds.contains_key(source) || kinds.contains_key(target) {
                    findings.push(UpdateFinding::Unsupported {
                        object: submitted_id.clone(),
                        what: "a HasMember between objects of the update other than from its SubmissionSet",
                    });
                } else {
                    memberships.push(AddedMembership {
                        submitted_id: submitted_id.clone(),
                        folder: source.to_owned(),
                        document: target.to_owned(),
                    });
                }
            }
            association_type::UPDATE_AVAILABILITY_STATUS => {
                if source != ss_id {
                    findings.push(UpdateFinding::StatusSourceNotSubmissionSet {
                        object: submitted_id.clone(),
                        source_object: source.to_owned(),
                    });
                }
                let mut read = |name: &'static str| match single_slot(&a.object, name) {
                    Some(Ok(v)) if is_status_value(&v) => Some(v),
                    other => {
                        findings.push(UpdateFinding::InvalidSlot {
                            object: submitted_id.clone(),
                            slot: name,
                            value: match other {
                                None => Vec::new(),
                                Some(Ok(v)) => vec![v],
                                Some(Err(values)) => values,
                            },
                        });
                        None
                    }
                };
                let original = read(slot::ORIGINAL_STATUS);
                let new = read(slot::NEW_STATUS);
                let (Some(original), Some(new)) = (original, new) else {
                    continue;
                };
                match kinds.get(target) {
                    None => status_updates.push(StatusUpdate {
                        submitted_id: submitted_id.clone(),
                        target: target.to_owned(),
                        original,
                        new,
                    }),
                    Some(ObjectKind::Folder) => findings.push(UpdateFinding::Unsupported {
                        object: submitted_id.clone(),
                        what: "an availabilityStatus update of a Folder",
                    }),
                    Some(ObjectKind::DocumentEntry) => {
                        if in_submission_status
                            .insert(target.to_owned(), (submitted_id.clone(), original, new))
                            .is_some()
                        {
                            findings.push(UpdateFinding::StatusUpdatedTwice {
                                object: submitted_id.clone(),
                                target: target.to_owned(),
                            });
                        }
                    }
                    Some(kind) => findings.push(UpdateFinding::StatusTargetNotUpdatable {
                        object: submitted_id.clone(),
                        target: target.to_owned(),
                        kind: kind_name(*kind),
                    }),
                }
            }
            association_type::REPLACE
            | association_type::APPEND
            | association_type::TRANSFORM
            | association_type::TRANSFORM_AND_REPLACE
            | association_type::SIGNS => findings.push(UpdateFinding::Unsupported {
                object: submitted_id.clone(),
                what: "a document relationship association in an update (use ITI-42)",
            }),
            other => findings.push(
                SubmissionError::UnsupportedAssociationType {
                    object: submitted_id.clone(),
                    association_type: other.to_owned(),
                }
                .into(),
            ),
        }
    }

    // The objects: what the registry sets on each, and the new versions' own rules.
    let mut versions = Vec::new();
    let mut lids_seen = HashSet::new();
    let mut planned_objects = Vec::new();
    for (submitted_id, mut object, kind) in objects.drain(..) {
        let entry_uuid = object.id().to_owned();
        let Some(ro) = registry_object_mut(&mut object) else {
            continue;
        };
        match kind {
            ObjectKind::SubmissionSet | ObjectKind::Association => first_version(ro),
            ObjectKind::DocumentEntry | ObjectKind::Folder => {
                let lid = ro
                    .lid
                    .clone()
                    .filter(|lid| *lid != entry_uuid && *lid != submitted_id);
                let Some(lid) = lid else {
                    findings.push(UpdateFinding::InitialVersion {
                        object: submitted_id.clone(),
                    });
                    continue;
                };
                if !is_uuid_ref(&lid) {
                    findings.push(UpdateFinding::SymbolicLid {
                        object: submitted_id.clone(),
                        lid,
                    });
                    continue;
                }
                if !lids_seen.insert(lid.clone()) {
                    findings.push(UpdateFinding::UpdatedTwice {
                        object: submitted_id.clone(),
                        lid: lid.clone(),
                    });
                }
                let trigger = triggers.get(&entry_uuid);
                let Some(previous_version) = trigger.and_then(|t| t.previous_version.clone())
                else {
                    findings.push(UpdateFinding::NoPreviousVersion {
                        object: submitted_id.clone(),
                    });
                    continue;
                };
                // ITI57-015: a status update of the new version applies after its creation.
                let new_status = match in_submission_status.get(&entry_uuid) {
                    Some((association, original, _)) if original != status::APPROVED => {
                        findings.push(UpdateFinding::OriginalStatusMismatch {
                            object: association.clone(),
                            target: submitted_id.clone(),
                            original: original.clone(),
                            current: status::APPROVED.to_owned(),
                        });
                        status::APPROVED.to_owned()
                    }
                    Some((_, _, new)) => new.clone(),
                    None => status::APPROVED.to_owned(),
                };
                ro.status = Some(new_status);
                // The version is the stored latest + 1, set by `check_against_store`.
                ro.version_info = Some(VersionInfo {
                    version_name: Some(previous_version.clone()),
                    comment: ro.version_info.as_ref().and_then(|v| v.comment.clone()),
                });
                if kind == ObjectKind::Folder {
                    set_slot(ro, index_slot::LAST_UPDATE_TIME, now);
                }
                versions.push(VersionUpdate {
                    position: planned_objects.len(),
                    lid,
                    previous_version,
                    propagate: trigger.is_none_or(|t| t.propagate),
                });
            }
        }
        let Some(p) = planned(object, submitted_id) else {
            continue;
        };
        if matches!(p.index.kind, ObjectKind::DocumentEntry | ObjectKind::Folder) {
            if p.index.unique_id.is_none() {
                findings.push(
                    SubmissionError::MissingUniqueId {
                        object: p.submitted_id.clone(),
                    }
                    .into(),
                );
            }
            if let (Some(expected), Some(pid)) = (&ss_patient, &p.index.patient_id)
                && expected != pid
                && let Some((ss_submitted, _, _)) = &ss
            {
                findings.push(
                    SubmissionError::PatientIdDoesNotMatch {
                        object: p.submitted_id.clone(),
                        patient_id: pid.clone(),
                        other: ss_submitted.clone(),
                        expected: expected.clone(),
                    }
                    .into(),
                );
            }
        }
        planned_objects.push(p);
    }
    if versions.is_empty()
        && status_updates.is_empty()
        && memberships.is_empty()
        && in_submission_status.is_empty()
        && findings.is_empty()
    {
        findings.push(UpdateFinding::NoOperation);
    }
    UpdatePlan {
        objects: planned_objects,
        assigned_uuids: rewritten.assigned_uuids,
        findings,
        versions,
        status_updates,
        memberships,
        now: now.to_owned(),
    }
}

impl UpdatePlan {
    /// The logicalIds the new versions name.
    pub fn lids(&self) -> Vec<String> {
        self.versions.iter().map(|v| v.lid.clone()).collect()
    }

    /// Registered objects the operations name, and the plan's own entryUUIDs (which must not
    /// exist yet).
    pub fn referenced_ids(&self) -> Vec<String> {
        let ids: BTreeSet<String> = self
            .status_updates
            .iter()
            .map(|s| s.target.clone())
            .chain(
                self.memberships
                    .iter()
                    .flat_map(|m| [m.folder.clone(), m.document.clone()]),
            )
            .chain(self.objects.iter().map(|o| o.index.entry_uuid.clone()))
            .collect();
        ids.into_iter().collect()
    }

    /// The SubmissionSet's patient, for the known-patient feed.
    pub fn patient_ids(&self) -> Vec<String> {
        self.objects
            .iter()
            .filter(|o| o.index.kind == ObjectKind::SubmissionSet)
            .filter_map(|o| o.index.patient_id.clone())
            .collect()
    }

    fn submission_set(&self) -> Option<&PlannedObject> {
        self.objects
            .iter()
            .find(|o| o.index.kind == ObjectKind::SubmissionSet)
    }
}

/// A HasMember or relationship association the registry creates (status Approved, version 1).
fn registry_association(kind: &str, source: &str, target: &str) -> Option<PlannedObject> {
    let mut object = RegistryObject {
        id: new_entry_uuid(),
        ..RegistryObject::default()
    };
    first_version(&mut object);
    let object = Identifiable::Association(Association {
        object,
        association_type: kind.to_owned(),
        source_object: source.to_owned(),
        target_object: target.to_owned(),
    });
    let id = object.id().to_owned();
    planned(object, id)
}

/// Step 2: the findings that need the store, the new versions' numbers (written into
/// `plan.objects`), and the effects on registered objects.
pub fn check_against_store(
    plan: &mut UpdatePlan,
    facts: &UpdateFacts,
    options: &RegisterOptions,
) -> (Vec<UpdateFinding>, UpdateEffects) {
    let mut findings: Vec<UpdateFinding> = Vec::new();
    let mut effects = UpdateEffects::default();

    for o in &plan.objects {
        if facts.existing.contains_key(&o.index.entry_uuid) {
            findings.push(
                SubmissionError::EntryUuidExists {
                    object: o.submitted_id.clone(),
                }
                .into(),
            );
        }
    }
    let ss = plan
        .submission_set()
        .map(|s| (s.submitted_id.clone(), s.index.patient_id.clone()));
    if options.patient_policy == PatientPolicy::Known
        && let Some((ss_submitted, Some(pid))) = &ss
        && is_wellformed_cpr_patient_id(pid)
        && !facts.known_patients.contains(pid)
    {
        findings.push(
            SubmissionError::UnknownPatientId {
                object: ss_submitted.clone(),
                patient_id: pid.clone(),
            }
            .into(),
        );
    }
    let check_patient =
        |findings: &mut Vec<UpdateFinding>, object: &str, stored: &StoredVersion| {
            if let (Some((ss_submitted, Some(expected))), Some(pid)) = (&ss, &stored.patient_id)
                && pid != expected
            {
                findings.push(
                    SubmissionError::PatientIdDoesNotMatch {
                        object: object.to_owned(),
                        patient_id: pid.clone(),
                        other: ss_submitted.clone(),
                        expected: expected.clone(),
                    }
                    .into(),
                );
            }
        };

    // New versions.
    let versions = plan.versions.clone();
    for v in &versions {
        let Some(p) = plan.objects.get_mut(v.position) else {
            continue;
        };
        let object = p.submitted_id.clone();
        let kind = p.index.kind;
        let Some(latest) = facts.latest.get(&v.lid).filter(|l| l.kind == kind) else {
            findings.push(UpdateFinding::UnknownLogicalId {
                object,
                lid: v.lid.clone(),
                kind: kind_name(kind),
            });
            continue;
        };
        let before = findings.len();
        if latest.status != status::APPROVED {
            findings.push(UpdateFinding::PreviousVersionNotApproved {
                object: object.clone(),
                lid: v.lid.clone(),
                latest: latest.entry_uuid.clone(),
                status: latest.status.clone(),
            });
        }
        if v.previous_version.parse::<u64>().ok() != Some(latest.version) {
            findings.push(UpdateFinding::VersionMismatch {
                object: object.clone(),
                lid: v.lid.clone(),
                previous_version: v.previous_version.clone(),
                latest_version: latest.version,
            });
        }
        if let (Some(unique_id), Some(stored)) = (&p.index.unique_id, &latest.unique_id)
            && unique_id != stored
        {
            findings.push(UpdateFinding::UniqueIdChanged {
                object: object.clone(),
                unique_id: unique_id.clone(),
                stored: stored.clone(),
            });
        }
        if kind == ObjectKind::DocumentEntry
            && let (Some(object_type), Some(stored)) = (&p.index.object_type, &latest.object_type)
            && object_type != stored
        {
            findings.push(UpdateFinding::ObjectTypeChanged {
                object: object.clone(),
                object_type: object_type.clone(),
                stored: stored.clone(),
            });
        }
        if let (Some(pid), Some(stored)) = (&p.index.patient_id, &latest.patient_id)
            && pid != stored
        {
            findings.push(UpdateFinding::PatientIdChanged {
                object: object.clone(),
                patient_id: pid.clone(),
                stored: stored.clone(),
            });
        }
        if findings.len() > before {
            continue;
        }
        // The new version: latest + 1 (the index is rebuilt from the rewritten object).
        let next = (latest.version + 1).to_string();
        if let Some(ro) = registry_object_mut(&mut p.object) {
            ro.version_info = Some(VersionInfo {
                version_name: Some(next),
                comment: ro.version_info.as_ref().and_then(|v| v.comment.clone()),
            });
        }
        if let Some(index) = ObjectIndex::of(&p.object) {
            p.index = index;
        }
        let new_id = p.index.entry_uuid.clone();
        effects.deprecate.push(latest.entry_uuid.clone());
        if !v.propagate {
            continue;
        }
        // ITI TF-2b 3.57.4.1.3.3.1 Association Propagation: the Approved associations of
        // the previous version are replicated onto the new one.
        let previous = latest.entry_uuid.as_str();
        for a in &facts.touching {
            let copy = match kind {
                ObjectKind::DocumentEntry
                    if a.association_type == association_type::HAS_MEMBER
                        && a.target_object == previous
                        && a.source_kind == Some(ObjectKind::Folder)
                        && a.source_status.as_deref() == Some(status::APPROVED) =>
                {
                    effects.touched_folders.insert(a.source_object.clone());
                    Some((a.source_object.as_str(), new_id.as_str()))
                }
                ObjectKind::DocumentEntry
                    if RELATIONSHIPS.contains(&a.association_type.as_str()) =>
                {
                    if a.source_object == previous {
                        Some((new_id.as_str(), a.target_object.as_str()))
                    } else if a.target_object == previous {
                        Some((a.source_object.as_str(), new_id.as_str()))
                    } else {
                        None
                    }
                }
                ObjectKind::Folder
                    if a.association_type == association_type::HAS_MEMBER
                        && a.source_object == previous =>
                {
                    Some((new_id.as_str(), a.target_object.as_str()))
                }
                _ => None,
            };
            if let Some((source, target)) = copy
                && let Some(association) = registry_association(&a.association_type, source, target)
            {
                effects.new_associations.push(association);
            }
        }
    }

    // Status updates of registered objects.
    let mut targets = HashSet::new();
    for s in &plan.status_updates {
        let object = s.submitted_id.clone();
        if !targets.insert(s.target.clone()) {
            findings.push(UpdateFinding::StatusUpdatedTwice {
                object,
                target: s.target.clone(),
            });
            continue;
        }
        let Some(stored) = facts.existing.get(&s.target) else {
            findings.push(UpdateFinding::TargetUnknown {
                object,
                target: s.target.clone(),
            });
            continue;
        };
        match stored.kind {
            ObjectKind::DocumentEntry => {
                check_patient(&mut findings, &object, stored);
                if effects.deprecate.contains(&s.target) {
                    findings.push(UpdateFinding::StatusTargetSuperseded {
                        object,
                        target: s.target.clone(),
                    });
                    continue;
                }
                if !stored.is_latest {
                    findings.push(UpdateFinding::StatusTargetNotLatest {
                        object,
                        target: s.target.clone(),
                    });
                    continue;
                }
            }
            ObjectKind::Association => {
                if let Some((kind, source, _)) = &stored.association
                    && kind == association_type::HAS_MEMBER
                    && facts.existing.get(source).map(|s| s.kind) == Some(ObjectKind::Folder)
                {
                    effects.touched_folders.insert(source.clone());
                }
            }
            ObjectKind::Folder => {
                findings.push(UpdateFinding::Unsupported {
                    object,
                    what: "an availabilityStatus update of a Folder",
                });
                continue;
            }
            ObjectKind::SubmissionSet => {
                findings.push(UpdateFinding::StatusTargetNotUpdatable {
                    object,
                    target: s.target.clone(),
                    kind: kind_name(stored.kind),
                });
                continue;
            }
        }
        if s.original != stored.status {
            findings.push(UpdateFinding::OriginalStatusMismatch {
                object: s.submitted_id.clone(),
                target: s.target.clone(),
                original: s.original.clone(),
                current: stored.status.clone(),
            });
            continue;
        }
        if s.new != stored.status {
            effects
                .status_changes
                .push((s.target.clone(), s.new.clone()));
        }
    }

    // Memberships added between registered objects.
    for m in &plan.memberships {
        let folder = facts.existing.get(&m.folder);
        let document = facts.existing.get(&m.document);
        for (end, stored) in [(&m.folder, folder), (&m.document, document)] {
            if stored.is_none() {
                findings.push(UpdateFinding::TargetUnknown {
                    object: m.submitted_id.clone(),
                    target: end.clone(),
                });
            }
        }
        let (Some(folder), Some(document)) = (folder, document) else {
            continue;
        };
        if folder.kind != ObjectKind::Folder
            || !folder.is_latest
            || document.kind != ObjectKind::DocumentEntry
        {
            findings.push(UpdateFinding::MembershipEnds {
                object: m.submitted_id.clone(),
                source_object: m.folder.clone(),
                target_object: m.document.clone(),
            });
            continue;
        }
        check_patient(&mut findings, &m.submitted_id, folder);
        check_patient(&mut findings, &m.submitted_id, document);
        effects.touched_folders.insert(m.folder.clone());
    }
    // A folder being replaced by a new version is not touched in place.
    for deprecated in &effects.deprecate {
        effects.touched_folders.remove(deprecated);
    }
    (findings, effects)
}

/// Is this stored DocumentEntry XML marked Offline (`documentAvailability`)? Level-1 stored
/// queries leave such entries out.
pub(crate) fn is_offline(object: &Identifiable) -> bool {
    object
        .registry_object()
        .and_then(|ro| ro.slot(slot::DOCUMENT_AVAILABILITY))
        .and_then(|s| s.values.first())
        .is_some_and(|v| v.trim() == document_availability::OFFLINE)
}

//! ITI-62 Delete Document Set rules, independent of the storage backend.
//!
//! A delete names registry objects by entryUUID (`rim:ObjectRefList`). It is all or nothing
//! (Metadata Update supplement 3.62.4.1.3): every named object must exist
//! (`UnresolvedReferenceException`), and no association that stays may point at an object that
//! goes (`ReferencesExistException`), so a DocumentEntry is deleted together with its
//! HasMember and relationship associations. Deleting a Folder's HasMember association changes
//! its membership, so the Folder's lastUpdateTime is set.
//!
//! Invariant: pure; the store gathers [`DeleteFacts`] in its write transaction, asks
//! [`check_delete`], and deletes only when there is no finding.

use std::collections::{BTreeSet, HashMap};

use xds_model::vocabulary::{association_type, error_code};

use crate::error::StoreError;
use crate::index::ObjectKind;

/// One stored association touching an object named for deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touching {
    pub entry_uuid: String,
    pub association_type: String,
    pub source_object: String,
    pub target_object: String,
}

/// What the store knows about the objects of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteFacts {
    /// The named objects that exist, with their kind.
    pub existing: HashMap<String, ObjectKind>,
    /// Every association whose source or target is a named object.
    pub touching: Vec<Touching>,
    /// Kinds of the sources of the named HasMember associations (to find Folders).
    pub source_kinds: HashMap<String, ObjectKind>,
}

/// One finding against an ITI-62 request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoveError {
    #[error("{object} is not in the registry (UnresolvedReferenceException)")]
    UnresolvedReference { object: String },
    #[error(
        "{object} cannot be deleted: association {association} refers to it and is not deleted with it (ReferencesExistException)"
    )]
    ReferencesExist { object: String, association: String },
}

impl RemoveError {
    pub fn error_code(&self) -> &'static str {
        match self {
            RemoveError::UnresolvedReference { .. } => error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            RemoveError::ReferencesExist { .. } => error_code::REFERENCES_EXIST_EXCEPTION,
        }
    }

    pub fn location(&self) -> &str {
        match self {
            RemoveError::UnresolvedReference { object }
            | RemoveError::ReferencesExist { object, .. } => object,
        }
    }
}

/// Why an ITI-62 delete did not happen. In either case nothing was deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("delete rejected with {} finding(s)", .0.len())]
    Rejected(Vec<RemoveError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeleteError {
    /// Every finding as a `RegistryError`, or the one internal error.
    pub fn registry_errors(&self) -> Vec<xds_model::message::RegistryError> {
        match self {
            DeleteError::Rejected(findings) => findings
                .iter()
                .map(|f| crate::error::registry_error(f.error_code(), f.to_string(), f.location()))
                .collect(),
            DeleteError::Store(e) => vec![e.registry_error()],
        }
    }
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deleted {
    pub deleted: Vec<String>,
    /// Folders whose membership changed (their lastUpdateTime was set).
    pub touched_folders: Vec<String>,
}

/// The findings of a delete, and the Folders it touches.
pub fn check_delete(
    entry_uuids: &BTreeSet<String>,
    facts: &DeleteFacts,
) -> (Vec<RemoveError>, BTreeSet<String>) {
    let mut findings = Vec::new();
    for id in entry_uuids {
        if !facts.existing.contains_key(id) {
            findings.push(RemoveError::UnresolvedReference { object: id.clone() });
        }
    }
    for a in &facts.touching {
        if entry_uuids.contains(&a.entry_uuid) {
            continue;
        }
        for end in [&a.source_object, &a.target_object] {
            if entry_uuids.contains(end) {
                findings.push(RemoveError::ReferencesExist {
                    object: end.clone(),
                    association: a.entry_uuid.clone(),
                });
            }
        }
    }
    let touched = facts
        .touching
        .iter()
        .filter(|a| {
            entry_uuids.contains(&a.entry_uuid)
                && a.association_type == association_type::HAS_MEMBER
                && !entry_uuids.contains(&a.source_object)
                && facts.source_kinds.get(&a.source_object) == Some(&ObjectKind::Folder)
        })
        .map(|a| a.source_object.clone())
        .collect();
    (findings, touched)
}

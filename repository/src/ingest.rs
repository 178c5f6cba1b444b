//! ITI-41 Provide and Register Document Set-b, after the edge has staged the documents.
//!
//! [`Repository::provide_and_register`] takes the submission's metadata and one
//! [`StagedDocument`] per `xdsb:Document` (streamed from an MTOM part or decoded from inline
//! base64, already hashed and fsync'd in `tmp/`) and:
//! 1. checks that every DocumentEntry has a document and every document a DocumentEntry
//!    (`XDSMissingDocument` / `XDSMissingDocumentMetadata`), and that `hash` and `size` slots the
//!    source sent equal what was computed (`XDSRepositoryMetadataError`);
//! 2. sets `hash`, `size` and `repositoryUniqueId` on each DocumentEntry;
//! 3. takes the lock of each document's hash, then **commits the bytes** into their
//!    content-addressed place (rename + directory fsync);
//! 4. **registers** the metadata through the [`Registrar`] (ITI-42 semantics, all or nothing);
//! 5. on Success answers Success; on a rejection removes the files its own commit created (still
//!    under the hash locks, so no concurrent submission of the same bytes can be relying on them)
//!    and passes the registry's errors on unchanged. A store shared by several processes (object
//!    storage) leaves them to the collector instead: the locks do not reach the other processes.
//!
//! Why bytes before metadata: see the crate documentation ("Crash safety").
//!
//! Invariants: nothing is acknowledged before both the bytes and the metadata are durable; a
//! rejected submission leaves no file it created; no file is removed that a DocumentEntry may
//! reference (only definite rejections remove, and only files created by the same request).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use xds_model::message::{RegistryError, SubmitObjectsRequest};
use xds_model::rim::{ExtrinsicObject, Identifiable};
use xds_model::vocabulary::{document_entry, error_code, object_type, severity, slot};

use crate::caller::CallerCard;
use crate::store::{DocumentStore, Sha1Hex, StagedDocument, StoreError, StoredDocument};

/// Registers the metadata of a submission: in-process through the registry store
/// ([`crate::in_process::InProcessRegistry`]) in `--role all`, over ITI-42 SOAP to the registry
/// URL in `--role repository` (with the repository's own system card; `caller`, the source
/// that called ITI-41, is carried along).
#[async_trait]
pub trait Registrar: Send + Sync {
    async fn register(
        &self,
        submission: &SubmitObjectsRequest,
        caller: &CallerCard,
    ) -> Result<(), RegistrationError>;
}

/// Why a registration did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The registry answered Failure: nothing was registered. Its errors go to the source
    /// unchanged.
    #[error("the registry rejected the submission with {} error(s)", .0.len())]
    Rejected(Vec<RegistryError>),
    /// The registry could not be reached at all (no connection): it certainly registered
    /// nothing, so the committed bytes can go.
    #[error("the registry is not available: {detail} (XDSRegistryNotAvailable)")]
    Unavailable { detail: String },
    /// The registry failed, or stopped answering after it got the request, and whether it
    /// registered is not known; the committed bytes are kept in case it did.
    #[error("the registry failed: {detail} (XDSRegistryError)")]
    Failed { detail: String },
}

/// One finding against an ITI-41 submission that the repository makes itself. A refused
/// submission carries all of them and stores nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvideFinding {
    #[error(
        "DocumentEntry {entry_id} (uniqueId {unique_id}) has no xdsb:Document (XDSMissingDocument)"
    )]
    MissingDocument { entry_id: String, unique_id: String },
    #[error(
        "xdsb:Document {document_id} has no DocumentEntry with that id (XDSMissingDocumentMetadata)"
    )]
    MissingDocumentMetadata { document_id: String },
    #[error("xdsb:Document id {document_id} occurs more than once (XDSRepositoryMetadataError)")]
    DuplicateDocument { document_id: String },
    #[error(
        "DocumentEntry {entry_id} (uniqueId {unique_id}) has hash {sent}, but the document's SHA-1 is {computed} (XDSRepositoryMetadataError)"
    )]
    HashMismatch {
        entry_id: String,
        unique_id: String,
        sent: String,
        computed: String,
    },
    #[error(
        "DocumentEntry {entry_id} (uniqueId {unique_id}) has size {sent}, but the document has {computed} bytes (XDSRepositoryMetadataError)"
    )]
    SizeMismatch {
        entry_id: String,
        unique_id: String,
        sent: String,
        computed: u64,
    },
}

impl ProvideFinding {
    pub fn error_code(&self) -> &'static str {
        match self {
            ProvideFinding::MissingDocument { .. } => error_code::MISSING_DOCUMENT,
            ProvideFinding::MissingDocumentMetadata { .. } => error_code::MISSING_DOCUMENT_METADATA,
            ProvideFinding::DuplicateDocument { .. }
            | ProvideFinding::HashMismatch { .. }
            | ProvideFinding::SizeMismatch { .. } => error_code::REPOSITORY_METADATA_ERROR,
        }
    }

    /// The id as the source wrote it, so it can find the object.
    pub fn location(&self) -> &str {
        match self {
            ProvideFinding::MissingDocument { entry_id, .. }
            | ProvideFinding::HashMismatch { entry_id, .. }
            | ProvideFinding::SizeMismatch { entry_id, .. } => entry_id,
            ProvideFinding::MissingDocumentMetadata { document_id }
            | ProvideFinding::DuplicateDocument { document_id } => document_id,
        }
    }

    pub fn registry_error(&self) -> RegistryError {
        error(self.error_code(), self.to_string(), Some(self.location()))
    }
}

/// Why an ITI-41 submission was not stored. In every case nothing was acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum ProvideError {
    /// The repository's own checks refused it; nothing was stored.
    #[error("the submission was refused with {} finding(s)", .0.len())]
    Rejected(Vec<ProvideFinding>),
    /// The registry refused it; its errors are passed on unchanged and the bytes this request
    /// stored were removed.
    #[error("the registry rejected the submission with {} error(s)", .0.len())]
    RegistryRejected(Vec<RegistryError>),
    /// Storing the bytes failed (ours, `XDSRepositoryError`).
    #[error("storing the documents failed: {0}")]
    Store(#[from] StoreError),
    /// The registry failed (`XDSRegistryError`); committed bytes are kept.
    #[error("registering the documents failed: {detail}")]
    Registry { detail: String },
    /// The registry could not be reached (`XDSRegistryNotAvailable`); the bytes this request
    /// stored were removed.
    #[error("the registry is not available: {detail}")]
    RegistryUnavailable { detail: String },
}

impl ProvideError {
    /// Whether the failure is ours (log at error, answer without detail) rather than the
    /// source's.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            ProvideError::Store(_)
                | ProvideError::Registry { .. }
                | ProvideError::RegistryUnavailable { .. }
        )
    }

    /// The `RegistryError`s of the Failure response; internal detail stays out.
    pub fn registry_errors(&self) -> Vec<RegistryError> {
        match self {
            ProvideError::Rejected(findings) => findings
                .iter()
                .map(ProvideFinding::registry_error)
                .collect(),
            ProvideError::RegistryRejected(errors) => errors.clone(),
            ProvideError::Store(StoreError::DocumentTooLarge { limit }) => vec![error(
                error_code::REPOSITORY_OUT_OF_RESOURCES,
                format!("a document is larger than the limit of {limit} bytes"),
                None,
            )],
            ProvideError::Store(_) => vec![error(
                error_code::REPOSITORY_ERROR,
                "the repository could not store the documents".to_owned(),
                None,
            )],
            ProvideError::Registry { .. } => vec![error(
                error_code::REGISTRY_ERROR,
                "the registry could not register the documents".to_owned(),
                None,
            )],
            ProvideError::RegistryUnavailable { .. } => vec![error(
                error_code::REGISTRY_NOT_AVAILABLE,
                "the registry is not available; nothing was stored, the submission can be retried"
                    .to_owned(),
                None,
            )],
        }
    }
}

fn error(code: &str, context: String, location: Option<&str>) -> RegistryError {
    RegistryError {
        error_code: code.to_owned(),
        code_context: context,
        location: location.map(str::to_owned),
        severity: Some(severity::ERROR.to_owned()),
        value: String::new(),
    }
}

/// One stored and registered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedDocument {
    /// The DocumentEntry id as submitted (symbolic or `urn:uuid:`).
    pub entry_id: String,
    pub unique_id: String,
    pub stored: StoredDocument,
}

/// What a successful ITI-41 did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provided {
    pub documents: Vec<ProvidedDocument>,
}

/// The repository: its identity, where bytes live, and how it reaches the registry and other
/// repositories. Built once at start and shared by every request.
pub struct Repository {
    pub repository_unique_id: String,
    pub store: Arc<dyn DocumentStore>,
    pub registrar: Arc<dyn Registrar>,
    pub lookup: Arc<dyn crate::retrieve::MetadataLookup>,
    pub remotes: Arc<dyn crate::retrieve::RemoteRepositories>,
    /// Per-hash locks, held from commit until the registry answered. They make the rollback
    /// of a rejected submission safe: while request A holds a hash, no request B can find A's
    /// freshly committed file, take it as "already stored" and register metadata pointing at
    /// it, only for A to remove it. Single-process by nature, like the local store.
    pub(crate) locks: HashLocks,
}

impl Repository {
    pub fn new(
        repository_unique_id: impl Into<String>,
        store: Arc<dyn DocumentStore>,
        registrar: Arc<dyn Registrar>,
        lookup: Arc<dyn crate::retrieve::MetadataLookup>,
        remotes: Arc<dyn crate::retrieve::RemoteRepositories>,
    ) -> Repository {
        Repository {
            repository_unique_id: repository_unique_id.into(),
            store,
            registrar,
            lookup,
            remotes,
            locks: HashLocks::default(),
        }
    }

    /// ITI-41 with the documents staged: `documents` pairs each `xdsb:Document/@id` with its
    /// bytes; `caller` is the source's card, carried along to the registry. Staged documents
    /// not committed are removed when this returns.
    pub async fn provide_and_register(
        &self,
        submission: &SubmitObjectsRequest,
        documents: Vec<(String, StagedDocument)>,
        caller: &CallerCard,
    ) -> Result<Provided, ProvideError> {
        let (mut submission, matched) = self.prepare(submission, documents)?;
        debug_assert!(
            matched
                .iter()
                .all(|m| entry_mut(&mut submission, &m.entry_id).is_some())
        );

        let hashes: BTreeSet<Sha1Hex> = matched.iter().map(|m| m.staged.sha1().clone()).collect();
        let _guards = self.locks.lock_all(&hashes).await;

        let mut committed: Vec<ProvidedDocument> = Vec::with_capacity(matched.len());
        for m in matched {
            match self.store.commit(m.staged).await {
                Ok(stored) => committed.push(ProvidedDocument {
                    entry_id: m.entry_id,
                    unique_id: m.unique_id,
                    stored,
                }),
                Err(error) => {
                    // Nothing is registered yet, so what this request created is garbage.
                    self.remove_created(&committed).await;
                    return Err(ProvideError::Store(error));
                }
            }
        }

        match self.registrar.register(&submission, caller).await {
            Ok(()) => Ok(Provided {
                documents: committed,
            }),
            Err(RegistrationError::Rejected(errors)) => {
                self.remove_created(&committed).await;
                Err(ProvideError::RegistryRejected(errors))
            }
            Err(RegistrationError::Unavailable { detail }) => {
                // Never delivered, so certainly not registered: like a rejection.
                self.remove_created(&committed).await;
                Err(ProvideError::RegistryUnavailable { detail })
            }
            Err(RegistrationError::Failed { detail }) => {
                // The registry may have committed: keep the bytes (at worst unreferenced
                // garbage for a later collector), never metadata without bytes.
                Err(ProvideError::Registry { detail })
            }
        }
    }

    /// Step 1 and 2: match documents to entries, check hash and size, set the slots.
    fn prepare(
        &self,
        submission: &SubmitObjectsRequest,
        documents: Vec<(String, StagedDocument)>,
    ) -> Result<(SubmitObjectsRequest, Vec<Matched>), ProvideError> {
        let mut findings = Vec::new();
        let mut by_id: BTreeMap<String, StagedDocument> = BTreeMap::new();
        for (id, staged) in documents {
            match by_id.entry(id) {
                std::collections::btree_map::Entry::Occupied(taken) => {
                    findings.push(ProvideFinding::DuplicateDocument {
                        document_id: taken.key().clone(),
                    });
                }
                std::collections::btree_map::Entry::Vacant(free) => {
                    free.insert(staged);
                }
            }
        }
        let mut submission = submission.clone();
        let list = &submission.registry_object_list;
        let entries: Vec<(String, String)> = list
            .objects
            .iter()
            .filter_map(|o| match o {
                Identifiable::ExtrinsicObject(eo) if is_stable_document_entry(eo) => {
                    Some((eo.object.id.clone(), unique_id_of(list, eo)))
                }
                _ => None,
            })
            .collect();

        let mut matched = Vec::with_capacity(entries.len());
        for (entry_id, unique_id) in entries {
            let Some(staged) = by_id.remove(&entry_id) else {
                findings.push(ProvideFinding::MissingDocument {
                    entry_id,
                    unique_id,
                });
                continue;
            };
            let Some(entry) = entry_mut(&mut submission, &entry_id) else {
                continue;
            };
            let computed_hash = staged.sha1().as_str().to_owned();
            let computed_size = staged.size();
            if let Some(sent) = entry.object.slot(slot::HASH).and_then(|s| s.values.first())
                && !sent.eq_ignore_ascii_case(&computed_hash)
            {
                findings.push(ProvideFinding::HashMismatch {
                    entry_id: entry_id.clone(),
                    unique_id: unique_id.clone(),
                    sent: sent.clone(),
                    computed: computed_hash.clone(),
                });
            }
            if let Some(sent) = entry.object.slot(slot::SIZE).and_then(|s| s.values.first())
                && sent.trim().parse::<u64>().ok() != Some(computed_size)
            {
                findings.push(ProvideFinding::SizeMismatch {
                    entry_id: entry_id.clone(),
                    unique_id: unique_id.clone(),
                    sent: sent.clone(),
                    computed: computed_size,
                });
            }
            registry::submission::set_slot(&mut entry.object, slot::HASH, &computed_hash);
            registry::submission::set_slot(
                &mut entry.object,
                slot::SIZE,
                &computed_size.to_string(),
            );
            registry::submission::set_slot(
                &mut entry.object,
                slot::REPOSITORY_UNIQUE_ID,
                &self.repository_unique_id,
            );
            matched.push(Matched {
                entry_id,
                unique_id,
                staged,
            });
        }
        for document_id in by_id.into_keys() {
            findings.push(ProvideFinding::MissingDocumentMetadata { document_id });
        }
        if findings.is_empty() {
            Ok((submission, matched))
        } else {
            // `matched` and the unmatched staged documents drop here, removing their files.
            Err(ProvideError::Rejected(findings))
        }
    }

    async fn remove_created(&self, committed: &[ProvidedDocument]) {
        if !self.store.removes_rejected_commits() {
            // A shared store: another instance may be about to register the same bytes, so
            // they stay for the collector and its grace period (see `crate::object`).
            return;
        }
        for document in committed.iter().filter(|d| d.stored.created) {
            if let Err(error) = self.store.remove(&document.stored.sha1).await {
                // Harmless garbage (immutable, unreferenced); a collector can take it later.
                tracing::error!(%error, sha1 = %document.stored.sha1, "cannot remove an unregistered document");
            }
        }
    }
}

/// A document matched to its DocumentEntry.
struct Matched {
    entry_id: String,
    unique_id: String,
    staged: StagedDocument,
}

/// A DocumentEntry that carries a document: stable (an On-Demand entry has none).
fn is_stable_document_entry(eo: &ExtrinsicObject) -> bool {
    match eo.object.object_type.as_deref() {
        None | Some(object_type::STABLE_DOCUMENT_ENTRY) => true,
        Some(_) => false,
    }
}

fn entry_mut<'a>(
    submission: &'a mut SubmitObjectsRequest,
    entry_id: &str,
) -> Option<&'a mut ExtrinsicObject> {
    submission
        .registry_object_list
        .objects
        .iter_mut()
        .find_map(|o| match o {
            Identifiable::ExtrinsicObject(eo) if eo.object.id == entry_id => Some(eo),
            _ => None,
        })
}

/// The DocumentEntry's uniqueId, nested or standing in the list; empty when it has none (the
/// registry reports that).
fn unique_id_of(list: &xds_model::rim::RegistryObjectList, eo: &ExtrinsicObject) -> String {
    eo.object
        .external_identifiers_by_scheme(document_entry::UNIQUE_ID)
        .next()
        .map(|e| e.value.clone())
        .or_else(|| {
            list.objects.iter().find_map(|o| match o {
                Identifiable::ExternalIdentifier(e)
                    if e.registry_object == eo.object.id
                        && e.identification_scheme == document_entry::UNIQUE_ID =>
                {
                    Some(e.value.clone())
                }
                _ => None,
            })
        })
        .unwrap_or_default()
}

/// Async locks by hash, created on demand and dropped when no one holds or waits for them.
#[derive(Default)]
pub(crate) struct HashLocks {
    locks: Mutex<HashMap<Sha1Hex, Arc<tokio::sync::Mutex<()>>>>,
}

pub(crate) struct HashGuard<'a> {
    owner: &'a HashLocks,
    key: Sha1Hex,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl HashLocks {
    /// Locks every hash, in sorted order so two requests never wait on each other.
    pub(crate) async fn lock_all(&self, keys: &BTreeSet<Sha1Hex>) -> Vec<HashGuard<'_>> {
        let mut guards = Vec::with_capacity(keys.len());
        for key in keys {
            let lock = {
                let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
                map.entry(key.clone()).or_default().clone()
            };
            guards.push(HashGuard {
                owner: self,
                key: key.clone(),
                guard: Some(lock.lock_owned().await),
            });
        }
        guards
    }
}

impl Drop for HashGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.owner.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Only the map holds it: nobody waits, so the entry can go.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.key);
        }
    }
}

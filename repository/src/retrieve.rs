//! ITI-43 Retrieve Document Set: from document requests to opened documents and per-document
//! errors, ready for the edge to stream.
//!
//! For each `DocumentRequest`: our repositoryUniqueId → the DocumentEntry is looked up by
//! uniqueId through [`MetadataLookup`] (the registry holds uniqueId → hash, size, mimeType, so
//! the repository keeps no database of its own) and the file is opened by hash; an unknown
//! document → `XDSDocumentUniqueIdError` for that one. Another repositoryUniqueId →
//! `XDSUnknownRepositoryId` unless [`RemoteRepositories`] knows it (`[[repositories]]`); then
//! each of its documents is looked up too, and those the registry has for that repository are
//! forwarded there in one request, their bytes spooled into temporary files as they arrive and
//! checked against the registered hash and size. A remote that fails or times out costs an
//! `XDSRepositoryError` for each of its documents, never the whole request.
//!
//! Every look-up goes with the caller's card ([`CallerCard`]): in `--role repository` the
//! registry answers it for that caller, so a DocumentEntry the caller may not see (consent) is
//! not returned and neither is its document (`DDSConsentBlocked` when the registry says it
//! withheld it).
//!
//! Status (ITI TF-2b 3.43.4.2.3): every document returned → Success; some → PartialSuccess;
//! none → Failure.
//!
//! Invariants: a document is returned only when the registry returned its DocumentEntry for
//! this caller, and its bytes (local file or remote answer) have the size (and, remote, the
//! hash) its metadata states, checked on the way out, not only when storing; one failing
//! document or repository never fails the others; internal detail stays in the log.

use async_trait::async_trait;
use xds_model::message::{DocumentRequest, RegistryError};
use xds_model::vocabulary::{error_code, response_status, severity};

use crate::caller::CallerCard;
use crate::ingest::Repository;
use crate::store::{OpenDocument, Sha1Hex, StagedDocument, StoreError};

/// Most `DocumentRequest`s in one ITI-43 request. Each returned document holds an open file
/// until it is streamed; 1,000 covers a patient overview many times over and bounds the file
/// descriptors of one request.
pub const DOCUMENT_REQUESTS_MAX: usize = 1_000;

/// What the registry says about one document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocatedDocument {
    pub entry_uuid: String,
    pub unique_id: String,
    pub hash: Option<String>,
    pub size: Option<u64>,
    pub mime_type: Option<String>,
    /// The DocumentEntry's patientId (CX), for the role policy's own-data rule.
    pub patient_id: Option<String>,
    pub repository_unique_id: Option<String>,
}

/// Finds a DocumentEntry by uniqueId: the registry store in `--role all`
/// ([`crate::in_process::InProcessRegistry`], which ignores the card: the edge of the same
/// process applies consent), an ITI-18 GetDocuments to the registry with the caller's card in
/// `--role repository` (the registry applies consent and writes MinLog for that caller).
#[async_trait]
pub trait MetadataLookup: Send + Sync {
    async fn document_entry(
        &self,
        unique_id: &str,
        caller: &CallerCard,
    ) -> Result<Option<LocatedDocument>, LookupError>;
}

/// The look-up failed (ours: `XDSRepositoryError` for the documents concerned), or the
/// registry withheld the entry from this caller.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the registry look-up of uniqueId {unique_id} failed: {detail}")]
    Failed { unique_id: String, detail: String },
    #[error(
        "uniqueId {unique_id} has {count} DocumentEntries with different hashes; the registry is inconsistent"
    )]
    Ambiguous { unique_id: String, count: usize },
    /// The registry's consent filter withheld the entry from this caller (DDSConsentBlocked).
    #[error("the registry withheld the DocumentEntry of uniqueId {unique_id} from this caller")]
    Withheld { unique_id: String },
}

/// Other repositories' documents (ITI-43 forwarding to `[[repositories]]`).
#[async_trait]
pub trait RemoteRepositories: Send + Sync {
    /// Whether `repository_unique_id` is a repository documents can be fetched from.
    fn knows(&self, repository_unique_id: &str) -> bool;

    /// Retrieves the requests addressed to `repository_unique_id` (all of them name it, and
    /// [`RemoteRepositories::knows`] it), with this service's own card and `caller` carried
    /// along.
    async fn retrieve(
        &self,
        repository_unique_id: &str,
        requests: &[DocumentRequest],
        caller: &CallerCard,
    ) -> RemoteAnswer;
}

/// A remote repository's answer, merged into ours.
#[derive(Debug)]
pub enum RemoteAnswer {
    /// Its documents, each already received into a temporary file, and its `RegistryError`s
    /// (passed on unchanged).
    Answered {
        documents: Vec<RemoteDocument>,
        errors: Vec<RegistryError>,
    },
    /// No usable answer (unreachable, timed out, a fault, an unreadable response): an
    /// `XDSRepositoryError` for each document asked for, never a failed request.
    Failed { detail: String },
}

/// One document of a remote answer, spooled into the local store's `tmp/` (hashed and bounded
/// by the document size limit while it arrived), so a large document never sits in memory.
#[derive(Debug)]
pub struct RemoteDocument {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
    pub mime_type: String,
    pub staged: StagedDocument,
}

/// No remote repositories: every foreign repositoryUniqueId is unknown (`--role all` without
/// `[[repositories]]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRemoteRepositories;

#[async_trait]
impl RemoteRepositories for NoRemoteRepositories {
    fn knows(&self, _: &str) -> bool {
        false
    }

    async fn retrieve(&self, _: &str, _: &[DocumentRequest], _: &CallerCard) -> RemoteAnswer {
        RemoteAnswer::Failed {
            detail: "no remote repositories are configured".to_owned(),
        }
    }
}

/// One document to return.
#[derive(Debug)]
pub struct RetrievedDocument {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
    pub mime_type: String,
    /// The DocumentEntry's patientId when known (local documents).
    pub patient_id: Option<String>,
    pub content: RetrievedContent,
}

/// Where a returned document's bytes come from.
#[derive(Debug)]
pub enum RetrievedContent {
    /// A local file, opened; stream it.
    Local {
        sha1: Sha1Hex,
        document: OpenDocument,
    },
    /// A remote repository's document: its temporary file, checked against the registered hash
    /// and size, opened and already unlinked (it disappears when this is dropped); stream it.
    Remote(OpenDocument),
}

/// The result of one ITI-43: documents in request order, then the errors.
#[derive(Debug, Default)]
pub struct Retrieval {
    pub documents: Vec<RetrievedDocument>,
    pub errors: Vec<RegistryError>,
}

impl Retrieval {
    /// The `RegistryResponse/@status`.
    pub fn status(&self) -> &'static str {
        match (self.documents.is_empty(), self.errors.is_empty()) {
            (false, true) => response_status::SUCCESS,
            (false, false) => response_status::PARTIAL_SUCCESS,
            (true, _) => response_status::FAILURE,
        }
    }
}

fn error(code: &str, context: String, location: &str) -> RegistryError {
    RegistryError {
        error_code: code.to_owned(),
        code_context: context,
        location: Some(location.to_owned()),
        severity: Some(severity::ERROR.to_owned()),
        value: String::new(),
    }
}

/// An `XDSRepositoryError` for one document whose cause stays in the log.
fn internal(unique_id: &str, cause: &dyn std::fmt::Display) -> RegistryError {
    tracing::error!(%cause, document = %unique_id, "retrieving a document failed");
    error(
        error_code::REPOSITORY_ERROR,
        format!("the repository could not read document {unique_id}"),
        unique_id,
    )
}

fn withheld(unique_id: &str) -> RegistryError {
    error(
        error_code::DDS_CONSENT_BLOCKED,
        format!("document {unique_id} is withheld by the patient's consent"),
        unique_id,
    )
}

impl Repository {
    /// ITI-43: resolves every request for the caller whose card is `caller`; see the module
    /// documentation.
    pub async fn retrieve(&self, requests: &[DocumentRequest], caller: &CallerCard) -> Retrieval {
        let mut retrieval = Retrieval::default();
        if requests.is_empty() {
            retrieval.errors.push(error(
                error_code::REPOSITORY_ERROR,
                "the request has no DocumentRequest".to_owned(),
                "RetrieveDocumentSetRequest",
            ));
            return retrieval;
        }
        if requests.len() > DOCUMENT_REQUESTS_MAX {
            retrieval.errors.push(error(
                error_code::REPOSITORY_OUT_OF_RESOURCES,
                format!(
                    "the request has {} DocumentRequests; at most {DOCUMENT_REQUESTS_MAX} are served at once",
                    requests.len()
                ),
                "RetrieveDocumentSetRequest",
            ));
            return retrieval;
        }
        // Foreign repositories, grouped so each is asked once, in order of first appearance.
        let mut foreign: Vec<(String, Vec<DocumentRequest>)> = Vec::new();
        for request in requests {
            if request.repository_unique_id == self.repository_unique_id {
                match self.retrieve_local(request, caller).await {
                    Ok(document) => retrieval.documents.push(document),
                    Err(e) => retrieval.errors.push(e),
                }
            } else {
                match foreign
                    .iter_mut()
                    .find(|(id, _)| *id == request.repository_unique_id)
                {
                    Some((_, group)) => group.push(request.clone()),
                    None => {
                        foreign.push((request.repository_unique_id.clone(), vec![request.clone()]))
                    }
                }
            }
        }
        for (repository_unique_id, group) in foreign {
            if self.remotes.knows(&repository_unique_id) {
                self.retrieve_remote(&repository_unique_id, &group, caller, &mut retrieval)
                    .await;
            } else {
                for request in &group {
                    retrieval.errors.push(error(
                        error_code::UNKNOWN_REPOSITORY_ID,
                        format!(
                            "repositoryUniqueId {repository_unique_id} of document {} is not a repository this service knows",
                            request.document_unique_id
                        ),
                        &repository_unique_id,
                    ));
                }
            }
        }
        retrieval
    }

    /// The documents of one known remote repository: looked up here first (only what the
    /// registry returns for this caller is asked for), then fetched in one request.
    async fn retrieve_remote(
        &self,
        repository_unique_id: &str,
        group: &[DocumentRequest],
        caller: &CallerCard,
        retrieval: &mut Retrieval,
    ) {
        let mut wanted: Vec<(&DocumentRequest, LocatedDocument)> = Vec::with_capacity(group.len());
        for request in group {
            let unique_id = &request.document_unique_id;
            match self.lookup.document_entry(unique_id, caller).await {
                Ok(Some(located))
                    if located
                        .repository_unique_id
                        .as_deref()
                        .is_none_or(|r| r == repository_unique_id) =>
                {
                    wanted.push((request, located));
                }
                Ok(_) => retrieval.errors.push(error(
                    error_code::DOCUMENT_UNIQUE_ID_ERROR,
                    format!(
                        "document {unique_id} is not registered in repository {repository_unique_id}"
                    ),
                    unique_id,
                )),
                Err(LookupError::Withheld { .. }) => retrieval.errors.push(withheld(unique_id)),
                Err(e) => retrieval.errors.push(internal(unique_id, &e)),
            }
        }
        if wanted.is_empty() {
            return;
        }
        let forwarded: Vec<DocumentRequest> = wanted.iter().map(|(r, _)| (*r).clone()).collect();
        let (mut documents, errors) = match self
            .remotes
            .retrieve(repository_unique_id, &forwarded, caller)
            .await
        {
            RemoteAnswer::Answered { documents, errors } => (documents, errors),
            RemoteAnswer::Failed { detail } => {
                tracing::error!(repository = %repository_unique_id, %detail, "a remote repository gave no answer");
                for (request, _) in &wanted {
                    let unique_id = &request.document_unique_id;
                    retrieval.errors.push(error(
                        error_code::REPOSITORY_ERROR,
                        format!(
                            "repository {repository_unique_id} did not answer for document {unique_id}; try again later"
                        ),
                        unique_id,
                    ));
                }
                return;
            }
        };
        for (request, located) in wanted {
            let unique_id = &request.document_unique_id;
            let Some(at) = documents
                .iter()
                .position(|d| d.document_unique_id == *unique_id)
            else {
                // The remote's own error for it, if it sent one, is among `errors`.
                if !errors
                    .iter()
                    .any(|e| e.location.as_deref() == Some(unique_id.as_str()))
                {
                    retrieval.errors.push(error(
                        error_code::REPOSITORY_ERROR,
                        format!(
                            "repository {repository_unique_id} returned neither document {unique_id} nor an error for it"
                        ),
                        unique_id,
                    ));
                }
                continue;
            };
            let document = documents.swap_remove(at);
            match verified_remote(&located, document.staged).await {
                Ok(open) => retrieval.documents.push(RetrievedDocument {
                    home_community_id: request.home_community_id.clone(),
                    repository_unique_id: repository_unique_id.to_owned(),
                    document_unique_id: unique_id.clone(),
                    mime_type: located.mime_type.unwrap_or(document.mime_type),
                    patient_id: located.patient_id,
                    content: RetrievedContent::Remote(open),
                }),
                Err(e) => retrieval.errors.push(internal(unique_id, &e)),
            }
        }
        if !documents.is_empty() {
            // Dropping them removes their temporary files.
            tracing::warn!(
                repository = %repository_unique_id,
                count = documents.len(),
                "a remote repository returned documents that were not asked for; dropped"
            );
        }
        retrieval.errors.extend(errors);
    }

    async fn retrieve_local(
        &self,
        request: &DocumentRequest,
        caller: &CallerCard,
    ) -> Result<RetrievedDocument, RegistryError> {
        let unique_id = &request.document_unique_id;
        let unknown = || {
            error(
                error_code::DOCUMENT_UNIQUE_ID_ERROR,
                format!(
                    "document {unique_id} is not in repository {}",
                    self.repository_unique_id
                ),
                unique_id,
            )
        };
        let located = match self.lookup.document_entry(unique_id, caller).await {
            Ok(Some(located)) => located,
            Ok(None) => return Err(unknown()),
            Err(LookupError::Withheld { .. }) => return Err(withheld(unique_id)),
            Err(e) => return Err(internal(unique_id, &e)),
        };
        // Registered for another repository (ITI-42 from a decentral one): not ours to serve.
        if located
            .repository_unique_id
            .as_deref()
            .is_some_and(|r| r != self.repository_unique_id)
        {
            return Err(unknown());
        }
        let sha1 = match located.hash.as_deref().map(Sha1Hex::parse) {
            Some(Ok(sha1)) => sha1,
            Some(Err(e)) => return Err(internal(unique_id, &e)),
            None => return Err(internal(unique_id, &"the DocumentEntry has no hash")),
        };
        let document = match self.store.open(&sha1).await {
            Ok(document) => document,
            Err(e) => return Err(internal(unique_id, &e)),
        };
        if let Some(expected) = located.size
            && expected != document.size
        {
            return Err(internal(
                unique_id,
                &StoreError::SizeMismatch {
                    sha1: sha1.to_string(),
                    expected,
                    actual: document.size,
                },
            ));
        }
        Ok(RetrievedDocument {
            home_community_id: request.home_community_id.clone(),
            repository_unique_id: request.repository_unique_id.clone(),
            document_unique_id: unique_id.clone(),
            mime_type: located
                .mime_type
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            patient_id: located.patient_id,
            content: RetrievedContent::Local { sha1, document },
        })
    }
}

/// A remote document's bytes must be the registered ones: the same SHA-1 and size as its
/// DocumentEntry. Anything else (a damaged file at the remote, a wrong document) is not
/// returned.
async fn verified_remote(
    located: &LocatedDocument,
    staged: StagedDocument,
) -> Result<OpenDocument, RemoteMismatch> {
    let expected = match located.hash.as_deref().map(Sha1Hex::parse) {
        Some(Ok(sha1)) => sha1,
        Some(Err(e)) => return Err(RemoteMismatch::Store(e)),
        None => return Err(RemoteMismatch::NoHash),
    };
    if *staged.sha1() != expected {
        return Err(RemoteMismatch::Hash {
            expected: expected.to_string(),
            actual: staged.sha1().to_string(),
        });
    }
    if let Some(size) = located.size
        && size != staged.size()
    {
        return Err(RemoteMismatch::Size {
            expected: size,
            actual: staged.size(),
        });
    }
    staged.open_unlinked().await.map_err(RemoteMismatch::Store)
}

/// Why a remote document was not returned although the remote sent it.
#[derive(Debug, thiserror::Error)]
enum RemoteMismatch {
    #[error("the DocumentEntry has no hash, so the remote bytes cannot be checked")]
    NoHash,
    #[error("the remote sent bytes with SHA-1 {actual}, but the DocumentEntry says {expected}")]
    Hash { expected: String, actual: String },
    #[error("the remote sent {actual} bytes, but the DocumentEntry says {expected}")]
    Size { expected: u64, actual: u64 },
    #[error(transparent)]
    Store(StoreError),
}

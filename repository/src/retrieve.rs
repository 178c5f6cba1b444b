//! ITI-43 Retrieve Document Set: from document requests to opened documents and per-document
//! errors, ready for the edge to stream.
//!
//! For each `DocumentRequest`: our repositoryUniqueId → the DocumentEntry is looked up by
//! uniqueId through [`MetadataLookup`] (the registry holds uniqueId → hash, size, mimeType, so
//! the repository keeps no database of its own) and the file is opened by hash; an unknown
//! document → `XDSDocumentUniqueIdError` for that one. Another repositoryUniqueId → handed to
//! [`RemoteRepositories`], which answers `XDSUnknownRepositoryId` for repositories it does not
//! know (forwarding to configured decentral repositories plugs in there).
//!
//! Status (ITI TF-2b 3.43.4.2.3): every document returned → Success; some → PartialSuccess;
//! none → Failure.
//!
//! Invariants: a document is returned only when its file exists with the size its metadata
//! states (checked again when opening, not only when storing); one failing document never fails
//! the others; internal detail stays in the log.

use async_trait::async_trait;
use xds_model::message::{DocumentContent, DocumentRequest, DocumentResponse, RegistryError};
use xds_model::vocabulary::{error_code, response_status, severity};

use crate::ingest::Repository;
use crate::store::{OpenDocument, Sha1Hex, StoreError};

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
/// ([`crate::in_process::InProcessRegistry`]), an ITI-18 GetDocuments to the registry in
/// `--role repository` (later).
#[async_trait]
pub trait MetadataLookup: Send + Sync {
    async fn document_entry(&self, unique_id: &str)
    -> Result<Option<LocatedDocument>, LookupError>;
}

/// The look-up failed (ours: `XDSRepositoryError` for the documents concerned).
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the registry look-up of uniqueId {unique_id} failed: {detail}")]
    Failed { unique_id: String, detail: String },
    #[error(
        "uniqueId {unique_id} has {count} DocumentEntries with different hashes; the registry is inconsistent"
    )]
    Ambiguous { unique_id: String, count: usize },
}

/// Other repositories' documents (ITI-43 forwarding).
#[async_trait]
pub trait RemoteRepositories: Send + Sync {
    /// Retrieves the requests addressed to `repository_unique_id` (all of them name it).
    async fn retrieve(
        &self,
        repository_unique_id: &str,
        requests: &[DocumentRequest],
    ) -> RemoteAnswer;
}

/// A remote repository's answer, merged into ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteAnswer {
    /// No repository of that id is configured: `XDSUnknownRepositoryId` for each request.
    UnknownRepository,
    /// Documents (inline bytes) and per-document errors; a timeout or failure of the remote is
    /// an error per requested document, never a failed request.
    Answered {
        documents: Vec<DocumentResponse>,
        errors: Vec<RegistryError>,
    },
}

/// No remote repositories: every foreign repositoryUniqueId is unknown. Forwarding to the
/// configured `[[repositories]]` is not implemented yet (repository issue).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRemoteRepositories;

#[async_trait]
impl RemoteRepositories for NoRemoteRepositories {
    async fn retrieve(&self, _: &str, _: &[DocumentRequest]) -> RemoteAnswer {
        RemoteAnswer::UnknownRepository
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
    /// A remote repository's answer, already in memory.
    Remote(DocumentContent),
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

impl Repository {
    /// ITI-43: resolves every request; see the module documentation.
    pub async fn retrieve(&self, requests: &[DocumentRequest]) -> Retrieval {
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
                match self.retrieve_local(request).await {
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
            match self.remotes.retrieve(&repository_unique_id, &group).await {
                RemoteAnswer::UnknownRepository => {
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
                RemoteAnswer::Answered { documents, errors } => {
                    retrieval
                        .documents
                        .extend(documents.into_iter().map(|d| RetrievedDocument {
                            home_community_id: d.home_community_id,
                            repository_unique_id: d.repository_unique_id,
                            document_unique_id: d.document_unique_id,
                            mime_type: d.mime_type,
                            patient_id: None,
                            content: RetrievedContent::Remote(d.document),
                        }));
                    retrieval.errors.extend(errors);
                }
            }
        }
        retrieval
    }

    async fn retrieve_local(
        &self,
        request: &DocumentRequest,
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
        let internal = |cause: &dyn std::fmt::Display| {
            tracing::error!(%cause, document = %unique_id, "retrieving a document failed");
            error(
                error_code::REPOSITORY_ERROR,
                format!("the repository could not read document {unique_id}"),
                unique_id,
            )
        };
        let located = match self.lookup.document_entry(unique_id).await {
            Ok(Some(located)) => located,
            Ok(None) => return Err(unknown()),
            Err(e) => return Err(internal(&e)),
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
            Some(Err(e)) => return Err(internal(&e)),
            None => return Err(internal(&"the DocumentEntry has no hash")),
        };
        let document = match self.store.open(&sha1).await {
            Ok(document) => document,
            Err(e) => return Err(internal(&e)),
        };
        if let Some(expected) = located.size
            && expected != document.size
        {
            return Err(internal(&StoreError::SizeMismatch {
                sha1: sha1.to_string(),
                expected,
                actual: document.size,
            }));
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

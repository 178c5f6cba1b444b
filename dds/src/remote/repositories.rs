//! ITI-43 forwarding to the repositories of `[[repositories]]` (the national service fetching
//! decentral documents).
//!
//! One request per repository and ITI-43: our system card, the caller as `dds:OriginalCaller`,
//! sent as MTOM so the repository streams its answer. Each document part streams straight into
//! an [`repository::Upload`] of the local store (a hashed temporary file under
//! `DATA/documents/tmp/`, bounded by `document_bytes_max`); the repository crate then checks
//! each against its DocumentEntry and streams it on to our caller. Inline (base64) answers of
//! repositories that do not speak MTOM back are staged the same way.
//!
//! Every failure to get an answer (no connection, the timeout of that repository, a fault, an
//! unreadable or oversized answer) is [`RemoteAnswer::Failed`]: the repository crate turns it
//! into one `XDSRepositoryError` per document asked for, and the caller's other documents are
//! unaffected.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use repository::{CallerCard, DocumentStore, RemoteAnswer, RemoteDocument, RemoteRepositories};
use soap::ContentId;
use xds_model::message::{DocumentContent, DocumentRequest, Message, RetrieveDocumentSetRequest};
use xds_model::vocabulary::action;

use super::{CallError, Outgoing, ResponseLimits, SoapClient, SystemCard, original_caller};
use crate::config::RemoteRepository;
use crate::edge::repository::{ReceivedAttachment, UploadSink};

/// One configured repository.
struct Remote {
    url: String,
    client: SoapClient,
}

/// The repositories of `[[repositories]]`, by repositoryUniqueId.
pub struct ForwardingRepositories {
    remotes: HashMap<String, Remote>,
    system_card: Arc<SystemCard>,
    store: Arc<dyn DocumentStore>,
    limits: ResponseLimits,
}

impl ForwardingRepositories {
    /// A client per repository, each with its own timeout (`timeout_seconds`, else
    /// `default_timeout`).
    pub fn new(
        repositories: &[RemoteRepository],
        default_timeout: std::time::Duration,
        system_card: Arc<SystemCard>,
        store: Arc<dyn DocumentStore>,
        limits: ResponseLimits,
    ) -> Result<ForwardingRepositories, reqwest::Error> {
        let mut remotes = HashMap::with_capacity(repositories.len());
        for repository in repositories {
            remotes.insert(
                repository.unique_id.clone(),
                Remote {
                    url: repository.url.clone(),
                    client: SoapClient::new(repository.timeout(default_timeout))?,
                },
            );
        }
        Ok(ForwardingRepositories {
            remotes,
            system_card,
            store,
            limits,
        })
    }

    async fn call(
        &self,
        remote: &Remote,
        requests: &[DocumentRequest],
        caller: &CallerCard,
    ) -> Result<RemoteAnswer, CallError> {
        let security = self
            .system_card
            .security_header()
            .map_err(|e| CallError::Local {
                url: remote.url.clone(),
                detail: e.to_string(),
            })?;
        let body = RetrieveDocumentSetRequest {
            document_requests: requests.to_vec(),
        }
        .to_xml();
        let mut sink = UploadSink::new(self.store.as_ref());
        let answer = remote
            .client
            .call(
                &remote.url,
                Outgoing {
                    action: action::RETRIEVE,
                    header_blocks: vec![security, original_caller::header_block(caller)],
                    body,
                    mtom: true,
                },
                &self.limits,
                &mut sink,
            )
            .await?;
        let unreadable = |detail: String| CallError::Unreadable {
            url: remote.url.clone(),
            detail,
        };
        let Message::RetrieveDocumentSetResponse(response) = answer.message else {
            return Err(unreadable(
                "ITI-43 was answered with another message".to_owned(),
            ));
        };
        let mut parts: HashMap<ContentId, repository::Upload> = answer
            .attachments
            .into_iter()
            .map(|ReceivedAttachment { content_id, upload }| (content_id, upload))
            .collect();
        let mut documents = Vec::with_capacity(response.document_responses.len());
        for document in response.document_responses {
            let staged = match document.document {
                DocumentContent::Inline(bytes) => {
                    repository::stage_bytes(self.store.as_ref(), &bytes).await
                }
                DocumentContent::Include { href } => {
                    let upload = ContentId::from_cid_url(&href)
                        .ok()
                        .and_then(|id| parts.remove(&id))
                        .ok_or_else(|| {
                            unreadable(format!(
                                "document {} refers to {href}, which is not a part of the answer",
                                document.document_unique_id
                            ))
                        })?;
                    upload.finish().await
                }
            }
            .map_err(|e| unreadable(format!("cannot spool a document: {e}")))?;
            documents.push(RemoteDocument {
                home_community_id: document.home_community_id,
                repository_unique_id: document.repository_unique_id,
                document_unique_id: document.document_unique_id,
                mime_type: document.mime_type,
                staged,
            });
        }
        Ok(RemoteAnswer::Answered {
            documents,
            errors: response
                .registry_response
                .errors
                .map(|l| l.errors)
                .unwrap_or_default(),
        })
    }
}

#[async_trait]
impl RemoteRepositories for ForwardingRepositories {
    fn knows(&self, repository_unique_id: &str) -> bool {
        self.remotes.contains_key(repository_unique_id)
    }

    async fn retrieve(
        &self,
        repository_unique_id: &str,
        requests: &[DocumentRequest],
        caller: &CallerCard,
    ) -> RemoteAnswer {
        let Some(remote) = self.remotes.get(repository_unique_id) else {
            return RemoteAnswer::Failed {
                detail: format!("repository {repository_unique_id} is not configured"),
            };
        };
        match self.call(remote, requests, caller).await {
            Ok(answer) => answer,
            Err(error) => RemoteAnswer::Failed {
                detail: error.to_string(),
            },
        }
    }
}

//! The registry at `--registry-url`, seen from a repository-only process (`--role repository`).
//!
//! - [`Registrar`]: ITI-42 with this repository's system card and the source that called
//!   ITI-41 as `dds:OriginalCaller`. The registry's answer decides: Success registers; Failure
//!   passes the registry's `RegistryError`s on unchanged (the repository then removes the
//!   bytes); no connection at all is [`RegistrationError::Unavailable`] (`XDSRegistryNotAvailable`,
//!   bytes removed); a refusal of our own request (a sender fault: our card not trusted, not
//!   allowed) is a rejection too, nothing having been registered; everything else (a timeout
//!   after sending, a receiver fault, an unreadable answer) leaves the outcome unknown and keeps
//!   the bytes.
//! - [`MetadataLookup`]: ITI-18 GetDocuments by `$XDSDocumentEntryUniqueId` **with the caller's
//!   card**: the registry answers for that caller, applying the citizen's consent filter and
//!   writing MinLog, so an entry it does not return is a document the caller does not get. When
//!   it says it withheld entries (`DDSConsentFiltered`) and returned none, the document is
//!   [`LookupError::Withheld`] (`DDSConsentBlocked` for the caller).

use std::sync::Arc;

use async_trait::async_trait;
use repository::in_process::{locate, quoted};
use repository::{
    CallerCard, LocatedDocument, LookupError, MetadataLookup, Registrar, RegistrationError,
};
use xds_model::message::{
    AdhocQuery, AdhocQueryRequest, Message, RegistryError, ResponseOption, ReturnType,
    SubmitObjectsRequest,
};
use xds_model::rim::Slot;
use xds_model::vocabulary::{action, error_code, response_status, severity, stored_query};

use super::{CallError, Outgoing, ResponseLimits, SoapClient, SystemCard, original_caller};
use crate::edge::transport::MemorySink;

/// `$XDSDocumentEntryUniqueId`.
const UNIQUE_ID_PARAM: &str = "$XDSDocumentEntryUniqueId";

/// The registry over SOAP.
pub struct RemoteRegistry {
    url: String,
    client: SoapClient,
    system_card: Arc<SystemCard>,
    limits: ResponseLimits,
}

impl RemoteRegistry {
    pub fn new(
        url: String,
        client: SoapClient,
        system_card: Arc<SystemCard>,
        limits: ResponseLimits,
    ) -> RemoteRegistry {
        RemoteRegistry {
            url,
            client,
            system_card,
            limits,
        }
    }

    async fn call(&self, request: Outgoing<'_>) -> Result<Message, CallError> {
        self.client
            .call(&self.url, request, &self.limits, &mut MemorySink::default())
            .await
            .map(|answer| answer.message)
    }
}

#[async_trait]
impl Registrar for RemoteRegistry {
    async fn register(
        &self,
        submission: &SubmitObjectsRequest,
        caller: &CallerCard,
    ) -> Result<(), RegistrationError> {
        let security =
            self.system_card
                .security_header()
                .map_err(|e| RegistrationError::Unavailable {
                    // Nothing was sent.
                    detail: e.to_string(),
                })?;
        let answer = self
            .call(Outgoing {
                action: action::REGISTER,
                header_blocks: vec![security, original_caller::header_block(caller)],
                body: submission.to_xml(),
                mtom: false,
            })
            .await;
        let response = match answer {
            Ok(Message::RegistryResponse(response)) => response,
            Ok(_) => {
                return Err(RegistrationError::Failed {
                    detail: format!("{} answered ITI-42 with another message", self.url),
                });
            }
            Err(error @ (CallError::Unreachable { .. } | CallError::Local { .. })) => {
                return Err(RegistrationError::Unavailable {
                    detail: error.to_string(),
                });
            }
            Err(CallError::Fault { fault, .. }) if fault.is_sender() => {
                // Refused before anything was done: nothing registered. Our configuration is
                // at fault (card, trust, policy), not the source's submission.
                tracing::error!(registry = %self.url, reason = %fault.reason, "the registry refused this repository's ITI-42");
                return Err(RegistrationError::Rejected(vec![RegistryError {
                    error_code: error_code::REGISTRY_ERROR.to_owned(),
                    code_context: "the registry refused the repository's registration request"
                        .to_owned(),
                    location: None,
                    severity: Some(severity::ERROR.to_owned()),
                    value: String::new(),
                }]));
            }
            Err(error) => {
                return Err(RegistrationError::Failed {
                    detail: error.to_string(),
                });
            }
        };
        if response.status == response_status::FAILURE {
            Err(RegistrationError::Rejected(
                response.errors.map(|l| l.errors).unwrap_or_default(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl MetadataLookup for RemoteRegistry {
    async fn document_entry(
        &self,
        unique_id: &str,
        caller: &CallerCard,
    ) -> Result<Option<LocatedDocument>, LookupError> {
        let failed = |detail: String| LookupError::Failed {
            unique_id: unique_id.to_owned(),
            detail,
        };
        let mut query = AdhocQuery::default();
        query.object.id = stored_query::GET_DOCUMENTS.to_owned();
        query.object.slots.push(Slot::new(
            UNIQUE_ID_PARAM,
            [format!("({})", quoted(unique_id))],
        ));
        let request = AdhocQueryRequest {
            response_option: ResponseOption {
                return_type: ReturnType::LeafClass,
                return_composed_objects: true,
            },
            adhoc_query: query,
            ..AdhocQueryRequest::default()
        };
        let answer = self
            .call(Outgoing {
                action: action::REGISTRY_STORED_QUERY,
                header_blocks: vec![caller.security_header().to_owned()],
                body: request.to_xml(),
                mtom: false,
            })
            .await;
        let response = match answer {
            Ok(Message::AdhocQueryResponse(response)) => response,
            Ok(_) => {
                return Err(failed(format!(
                    "{} answered ITI-18 with another message",
                    self.url
                )));
            }
            Err(error) => return Err(failed(error.to_string())),
        };
        let errors = response
            .response
            .errors
            .as_ref()
            .map(|l| l.errors.as_slice())
            .unwrap_or_default();
        if response.response.status == response_status::FAILURE {
            let codes: Vec<&str> = errors.iter().map(|e| e.error_code.as_str()).collect();
            return Err(failed(format!("the registry answered Failure ({codes:?})")));
        }
        let located = locate(unique_id, &response.registry_object_list.objects)?;
        if located.is_none()
            && errors
                .iter()
                .any(|e| e.error_code == error_code::DDS_CONSENT_FILTERED)
        {
            return Err(LookupError::Withheld {
                unique_id: unique_id.to_owned(),
            });
        }
        Ok(located)
    }
}

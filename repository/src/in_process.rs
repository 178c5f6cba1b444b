//! The registry in the same process (`--role all`): [`Registrar`], [`MetadataLookup`] and the
//! garbage collector's [`HashReferences`] over a [`RegistryStore`].
//!
//! Registration is ITI-42 through [`RegistryStore::register`] (all or nothing); the look-up is
//! the stored query GetDocuments by `$XDSDocumentEntryUniqueId`, exactly what a remote
//! repository will send over ITI-18, so both roles read the same metadata.
//!
//! Invariant: a registry rejection becomes [`RegistrationError::Rejected`] with the registry's
//! own `RegistryError`s; only a rejection may lead the caller to remove bytes, so an internal
//! store failure (whose outcome the caller cannot see) is [`RegistrationError::Failed`].

use std::sync::Arc;

use async_trait::async_trait;
use registry::StoredQueryRequest;
use registry::query::{ReturnType, param};
use registry::{QueryError, QueryResponse, RegisterError, RegisterOptions, RegistryStore};
use xds_model::message::SubmitObjectsRequest;
use xds_model::rim::Identifiable;
use xds_model::vocabulary::{status, stored_query};
use xds_model::xds::DocumentEntry;

use crate::caller::CallerCard;
use crate::gc::{HashReferences, ReferenceError};
use crate::ingest::{Registrar, RegistrationError};
use crate::retrieve::{LocatedDocument, LookupError, MetadataLookup};
use crate::store::Sha1Hex;

/// The registry store of this process.
#[derive(Clone)]
pub struct InProcessRegistry {
    store: Arc<dyn RegistryStore>,
    options: RegisterOptions,
}

impl InProcessRegistry {
    pub fn new(store: Arc<dyn RegistryStore>, options: RegisterOptions) -> InProcessRegistry {
        InProcessRegistry { store, options }
    }
}

#[async_trait]
impl Registrar for InProcessRegistry {
    /// The caller's card is not needed: the edge of this process authorised the caller.
    async fn register(
        &self,
        submission: &SubmitObjectsRequest,
        _caller: &CallerCard,
    ) -> Result<(), RegistrationError> {
        match self
            .store
            .register(&submission.registry_object_list, self.options)
            .await
        {
            Ok(_) => Ok(()),
            Err(rejected @ RegisterError::Rejected(_)) => {
                Err(RegistrationError::Rejected(rejected.registry_errors()))
            }
            Err(RegisterError::Store(error)) => Err(RegistrationError::Failed {
                detail: error.to_string(),
            }),
        }
    }
}

/// An ITI-18 string value: in single quotes, a quote doubled.
pub fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[async_trait]
impl MetadataLookup for InProcessRegistry {
    /// Reads the store directly: consent for the caller is applied by the edge of this
    /// process, which sees every returned document's patient.
    async fn document_entry(
        &self,
        unique_id: &str,
        _caller: &CallerCard,
    ) -> Result<Option<LocatedDocument>, LookupError> {
        let request = StoredQueryRequest::new(stored_query::GET_DOCUMENTS, ReturnType::LeafClass)
            .param(param::DE_UNIQUE_ID, &[&format!("({})", quoted(unique_id))]);
        let failed = |e: &dyn std::fmt::Display| LookupError::Failed {
            unique_id: unique_id.to_owned(),
            detail: e.to_string(),
        };
        let objects = match self.store.query(&request).await {
            Ok(QueryResponse::LeafClass(objects)) => objects,
            Ok(QueryResponse::ObjectRefs(_)) => {
                return Err(failed(&"ObjectRefs for a LeafClass query"));
            }
            Err(QueryError::InvalidParamValue { .. }) => return Ok(None),
            Err(e) => return Err(failed(&e)),
        };
        locate(unique_id, &objects)
    }
}

#[async_trait]
impl HashReferences for InProcessRegistry {
    async fn is_referenced(&self, sha1: &Sha1Hex) -> Result<bool, ReferenceError> {
        self.store
            .hash_referenced(sha1.as_str())
            .await
            .map_err(|e| ReferenceError {
                sha1: sha1.to_string(),
                detail: e.to_string(),
            })
    }
}

/// The document a GetDocuments answer (LeafClass) names for `unique_id`: shared by the
/// in-process look-up and the one over ITI-18, so both roles choose alike.
pub fn locate(
    unique_id: &str,
    objects: &[Identifiable],
) -> Result<Option<LocatedDocument>, LookupError> {
    let mut entries: Vec<DocumentEntry> = Vec::new();
    for object in objects {
        if let Identifiable::ExtrinsicObject(eo) = object {
            let entry = DocumentEntry::from_rim(eo).map_err(|e| LookupError::Failed {
                unique_id: unique_id.to_owned(),
                detail: e.to_string(),
            })?;
            // A registry answers only what was asked; anything else is not this document.
            if entry.unique_id.as_ref().map(|u| u.value.as_str()) == Some(unique_id) {
                entries.push(entry);
            }
        }
    }
    // The same uniqueId may be registered more than once only with the identical hash
    // (ITI-42 idempotent re-submission); prefer an Approved entry.
    if let Some(first) = entries.first()
        && entries.iter().any(|e| e.hash != first.hash)
    {
        return Err(LookupError::Ambiguous {
            unique_id: unique_id.to_owned(),
            count: entries.len(),
        });
    }
    let chosen = entries
        .iter()
        .position(|e| e.availability_status.as_deref() == Some(status::APPROVED))
        .unwrap_or(0);
    Ok(entries.into_iter().nth(chosen).map(|e| LocatedDocument {
        entry_uuid: e.entry_uuid.clone(),
        unique_id: unique_id.to_owned(),
        size: e.size_bytes(),
        hash: e.hash,
        mime_type: e.mime_type,
        patient_id: e.patient_id.map(|p| p.value),
        repository_unique_id: e.repository_unique_id,
    }))
}

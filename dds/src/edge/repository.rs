//! `POST /xds/repository`: ITI-41 Provide and Register and ITI-43 Retrieve over SOAP.
//!
//! Flow of one request: frame the body, streaming every MTOM attachment straight into a
//! [`repository::Upload`] (a hashed temporary file; never the whole document in memory) → parse
//! the envelope → pick the transaction from the action → verify the ID card → parse the body →
//! authorise (Register for the SubmissionSet's patient; Retrieve for each retrieved document's
//! patient) → call the repository → answer. An ITI-43 answer to an MTOM request is streamed:
//! the root part, then each document's part headers and its file, chunk by chunk.
//!
//! Invariants: a request over `repository_body_bytes_max`, or with a document over
//! `document_bytes_max`, is answered HTTP 413 and leaves nothing behind (its uploads remove their
//! temporary files when dropped); metadata problems are answered the ebRS way (status Failure
//! with one `RegistryError` each); only transport, envelope and identity problems are faults.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, BoxStream, StreamExt};
use identity::Operation;
use repository::{DocumentStore, Retrieval, RetrievedContent, StagedDocument, StoreError, Upload};
use soap::{
    ContentId, EnvelopeLimits, EnvelopeOptions, FaultCode, MultipartLimits, ResponseHeaders,
};
use tokio::io::AsyncReadExt;
use xds_model::message::DocumentRequest;
use xds_model::message::{
    DocumentContent, DocumentResponse, Message, ProvideAndRegisterDocumentSetRequest,
    RegistryError, RegistryResponse, RetrieveDocumentSetResponse,
};
use xds_model::rim::{ExtrinsicObject, Identifiable};
use xds_model::vocabulary::{
    action, document_entry, error_code, response_status, severity, stored_query,
};

use super::access_log;
use super::auth::Attempt;
use super::consent_filter::{ConsentGate, cpr_of};
use super::registry::{
    findings_as_errors, log_refusal, log_write, submission_patient_cpr,
    submitted_document_unique_ids,
};
use super::respond::{
    error_list, fault_response, fault_response_with_status, internal_fault, new_message_id,
    soap_response,
};
use super::transport::{AttachmentSink, TransportError, read_soap_message};
use crate::app::App;
use crate::config::Role;

/// Applies the role policy to retrieving each patient's documents; a refusal concerning a
/// named patient is logged in their MinLog, and answered.
async fn authorize_retrieval(
    app: &App,
    caller: &identity::Caller,
    patients: &BTreeSet<Option<String>>,
    attempt: Attempt<'_>,
    relates_to: Option<&str>,
) -> Result<(), Response> {
    for patient in patients {
        if let Err(response) = app
            .door
            .authorize(caller, Operation::Retrieve, patient.as_deref(), attempt)
            .await
        {
            return Err(log_refusal(
                app,
                caller,
                minlog::AccessAction::Retrieve,
                patient.clone(),
                response,
                relates_to,
            )
            .await);
        }
    }
    Ok(())
}

/// Logs an ITI-41 as a registration (see `log_write`) and answers it.
async fn answer_logged(
    app: &App,
    caller: &identity::Caller,
    concerned: access_log::DocumentsByPatient,
    response: RegistryResponse,
    relates_to: Option<&str>,
    respond: impl FnOnce(String) -> Response,
) -> Response {
    match log_write(
        app,
        caller,
        minlog::AccessAction::Register,
        concerned,
        &response,
        relates_to,
    )
    .await
    {
        Ok(()) => respond(response.to_xml()),
        Err(fault) => fault,
    }
}

/// An ITI-43 request after the consent check, before any document is read.
struct Screened {
    /// The requests that may be served, in request order.
    allowed: Vec<DocumentRequest>,
    /// One error per request refused here: withheld by consent (`DDSConsentBlocked`) or
    /// unknown to the registry (`XDSDocumentUniqueIdError`).
    errors: Vec<RegistryError>,
    /// The patient (CPR) of every requested document the registry knows, by uniqueId.
    patient_of: HashMap<String, String>,
    /// Requests withheld by consent.
    withheld: usize,
    override_reason: Option<String>,
}

impl Screened {
    /// A request the repository refuses as a whole (empty, too many documents).
    fn unscreened(requests: &[DocumentRequest]) -> Screened {
        Screened {
            allowed: requests.to_vec(),
            errors: Vec::new(),
            patient_of: HashMap::new(),
            withheld: 0,
            override_reason: None,
        }
    }
}

/// Decides every requested document against its patient's consent, from the DocumentEntry in
/// the registry (every version of that uniqueId: one withheld version withholds the document).
/// A document the registry does not know is refused here, also for a remote repository: what
/// the registry cannot vouch for is never fetched (fails closed).
async fn screen_retrieval(
    app: &App,
    caller: &identity::Caller,
    override_: Option<&soap::ConsentOverride>,
    requests: &[DocumentRequest],
) -> Result<Screened, Response> {
    let mut entries: HashMap<String, Vec<ExtrinsicObject>> = HashMap::new();
    let mut patient_ids: BTreeSet<String> = BTreeSet::new();
    for request in requests {
        let unique_id = &request.document_unique_id;
        if !entries_screened(app, request) || entries.contains_key(unique_id) {
            continue;
        }
        let query = registry::StoredQueryRequest::new(
            stored_query::GET_DOCUMENTS,
            registry::ReturnType::LeafClass,
        )
        .param(
            "$XDSDocumentEntryUniqueId",
            &[&format!("('{}')", unique_id.replace('\'', "''"))],
        );
        let result = match app.registry.query_result(&query).await {
            Ok(result) => result,
            Err(error) => return Err(internal_fault(&error, None)),
        };
        patient_ids.extend(result.patient_ids());
        let found = match result.into_response() {
            Ok(registry::QueryResponse::LeafClass(objects)) => objects
                .into_iter()
                .filter_map(|o| match o {
                    Identifiable::ExtrinsicObject(entry) => Some(entry),
                    _ => None,
                })
                .collect(),
            Ok(registry::QueryResponse::ObjectRefs(_)) => Vec::new(),
            Err(error) => return Err(internal_fault(&error, None)),
        };
        entries.insert(unique_id.clone(), found);
    }
    let gate = ConsentGate::load(app, caller, override_, patient_ids.iter().cloned())
        .await
        .map_err(|e| internal_fault(&e, None))?;
    let mut screened = Screened {
        allowed: Vec::new(),
        errors: Vec::new(),
        patient_of: HashMap::new(),
        withheld: 0,
        override_reason: gate.override_reason().map(str::to_owned),
    };
    for request in requests {
        if !entries_screened(app, request) {
            screened.allowed.push(request.clone());
            continue;
        }
        let unique_id = &request.document_unique_id;
        let versions = entries
            .get(unique_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(first) = versions.first() else {
            screened.errors.push(retrieve_error(
                error_code::DOCUMENT_UNIQUE_ID_ERROR,
                format!("document {unique_id} is not registered in this registry"),
                unique_id,
            ));
            continue;
        };
        if let Some(cpr) = first
            .object
            .external_identifiers_by_scheme(document_entry::PATIENT_ID)
            .next()
            .and_then(|p| cpr_of(&p.value))
        {
            screened.patient_of.insert(unique_id.clone(), cpr);
        }
        if versions.iter().all(|entry| gate.decide(entry).is_visible()) {
            screened.allowed.push(request.clone());
        } else {
            screened.withheld += 1;
            screened.errors.push(retrieve_error(
                error_code::DDS_CONSENT_BLOCKED,
                format!(
                    "document {unique_id} is withheld by the citizen's consent (opt-out or blocks); a health professional may lift blocks in an acute situation with a ConsentOverride header stating the reason"
                ),
                unique_id,
            ));
        }
    }
    Ok(screened)
}

/// Whether a request names a repository this service serves or forwards to. Requests for any
/// other repository are left to the repository, which answers `XDSUnknownRepositoryId`
/// without reading anything; every request that could return bytes is screened.
fn entries_screened(app: &App, request: &DocumentRequest) -> bool {
    let repository = request.repository_unique_id.as_str();
    repository == app.config.repository_unique_id
        || app
            .config
            .repositories
            .iter()
            .any(|r| r.unique_id == repository)
}

fn retrieve_error(code: &str, context: String, location: &str) -> RegistryError {
    RegistryError {
        error_code: code.to_owned(),
        code_context: context,
        location: Some(location.to_owned()),
        severity: Some(severity::ERROR.to_owned()),
        value: String::new(),
    }
}

/// Bytes read from a document file per response chunk: large enough for few syscalls and
/// blocking-pool round trips (tokio reads files on the blocking pool), small enough that many
/// concurrent retrievals stay within memory. `dds bench` measured a 100 MB ITI-43 over loopback
/// at about 500 MB/s with 64 KiB chunks and about 730 MB/s with 256 KiB.
pub const RETRIEVE_CHUNK_BYTES: usize = 256 * 1024;

/// The request actions this endpoint serves.
const SERVED_ACTIONS: &[&str] = &[action::PROVIDE_AND_REGISTER, action::RETRIEVE];

/// The transactions this endpoint serves, by request action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RepositoryTransaction {
    ProvideAndRegister,
    Retrieve,
}

impl RepositoryTransaction {
    fn from_action(request_action: &str) -> Option<Self> {
        match request_action {
            action::PROVIDE_AND_REGISTER => Some(RepositoryTransaction::ProvideAndRegister),
            action::RETRIEVE => Some(RepositoryTransaction::Retrieve),
            _ => None,
        }
    }

    fn response_action(self) -> &'static str {
        match self {
            RepositoryTransaction::ProvideAndRegister => action::PROVIDE_AND_REGISTER_RESPONSE,
            RepositoryTransaction::Retrieve => action::RETRIEVE_RESPONSE,
        }
    }
}

/// One MTOM attachment received into a temporary file, not yet fsync'd.
pub struct ReceivedAttachment {
    pub content_id: ContentId,
    pub upload: Upload,
}

/// Streams each MTOM attachment into an [`Upload`] as its bytes arrive.
pub struct UploadSink<'s> {
    store: &'s dyn DocumentStore,
    current: Option<ReceivedAttachment>,
    /// Set when a document passed the size limit, so the handler answers 413 instead of the
    /// receiver fault a storage failure gets (the sink can only return a `TransportError`).
    too_large: Option<u64>,
}

impl<'s> UploadSink<'s> {
    pub fn new(store: &'s dyn DocumentStore) -> UploadSink<'s> {
        UploadSink {
            store,
            current: None,
            too_large: None,
        }
    }

    fn store_error(&mut self, error: StoreError) -> TransportError {
        if let StoreError::DocumentTooLarge { limit } = error {
            self.too_large = Some(limit);
        }
        TransportError::Sink(error.to_string())
    }
}

impl AttachmentSink for UploadSink<'_> {
    type Attachment = ReceivedAttachment;

    fn start(
        &mut self,
        content_id: ContentId,
        _content_type: Option<String>,
    ) -> Result<(), TransportError> {
        let upload = self.store.begin_upload().map_err(|e| self.store_error(e))?;
        self.current = Some(ReceivedAttachment { content_id, upload });
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let written = match &mut self.current {
            Some(attachment) => attachment.upload.write(bytes),
            None => return Err(TransportError::Sink("data before part start".to_owned())),
        };
        written.map_err(|e| self.store_error(e))
    }

    fn finish(&mut self) -> Result<ReceivedAttachment, TransportError> {
        self.current
            .take()
            .ok_or_else(|| TransportError::Sink("part end without part start".to_owned()))
    }
}

pub async fn handle(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let config = &app.config;
    let multipart_limits = MultipartLimits {
        // The upload enforces the document limit itself, with a 413; the reader's own bound
        // only has to stay out of its way.
        attachment_bytes_max: config.document_bytes_max.saturating_add(1),
        parts_max: config.multipart_parts_max,
        ..MultipartLimits::default()
    };
    let mut sink = UploadSink::new(app.repository.store.as_ref());
    let framed = read_soap_message(
        content_type,
        body,
        config.repository_body_bytes_max,
        multipart_limits,
        &mut sink,
    )
    .await;
    let message = match framed {
        Ok(message) => message,
        Err(error) => {
            let reason = error.to_string();
            let response = transport_fault(&error, sink.too_large);
            return app
                .door
                .record_unauthenticated(peer, None, "soap:Sender", &reason, response)
                .await;
        }
    };
    let body_text_bytes_max = usize::try_from(config.document_bytes_max / 2 * 3)
        .unwrap_or(usize::MAX)
        .max(soap::limits::BODY_TEXT_BYTES_MAX);
    let options = EnvelopeOptions {
        limits: EnvelopeLimits {
            envelope_bytes_max: usize::try_from(config.repository_body_bytes_max)
                .unwrap_or(usize::MAX),
            body_text_bytes_max,
            ..EnvelopeLimits::default()
        },
        ..EnvelopeOptions::default()
    };
    let admitted = match crate::edge::admit(
        &app,
        peer,
        &message.envelope,
        message.content_type_action.as_deref(),
        &options,
        SERVED_ACTIONS,
        "repository",
    )
    .await
    {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let Some(transaction) = RepositoryTransaction::from_action(&admitted.action) else {
        return internal_fault(&"admit let an unserved action through", None);
    };
    let request_action = admitted.action.as_str();
    let relates_to = admitted.relates_to.as_deref();
    let caller = admitted.caller;
    let card = admitted.card;
    let body = admitted.body;
    let admitted_override = admitted.consent_override;
    let attempt = || Attempt {
        peer,
        transaction: request_action,
        card: None,
        relates_to,
    };
    let mtom = message.mtom;
    let respond = |body: String| {
        soap_response(
            transaction.response_action(),
            relates_to,
            body.as_bytes(),
            mtom,
        )
    };
    match (transaction, body) {
        (
            RepositoryTransaction::ProvideAndRegister,
            Message::ProvideAndRegisterDocumentSetRequest(request),
        ) => {
            let patient =
                submission_patient_cpr(&request.submit_objects_request.registry_object_list);
            if let Err(response) = app
                .door
                .authorize(&caller, Operation::Register, patient.as_deref(), attempt())
                .await
            {
                return log_refusal(
                    &app,
                    &caller,
                    minlog::AccessAction::Register,
                    patient,
                    response,
                    relates_to,
                )
                .await;
            }
            let mut concerned = access_log::DocumentsByPatient::new();
            if let Some(patient) = &patient {
                concerned.insert(
                    patient.clone(),
                    submitted_document_unique_ids(
                        &request.submit_objects_request.registry_object_list,
                    ),
                );
            }
            let report = xds_validate::validate_provide_and_register(
                &request.submit_objects_request.registry_object_list,
                &request
                    .documents
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>(),
                &app.validation,
            );
            let mut errors = findings_as_errors(&report);
            if report.rejects() {
                let response = failure(errors);
                return answer_logged(&app, &caller, concerned, response, relates_to, respond)
                    .await;
            }
            let staged = match stage(&app, &request, message.attachments).await {
                Ok(staged) => staged,
                Err(Staging::Fault(reason)) => {
                    return fault_response(FaultCode::Sender, None, &reason, relates_to);
                }
                Err(Staging::TooLarge(limit)) => return too_large(limit, relates_to),
                Err(Staging::Internal(error)) => return internal_fault(&error, relates_to),
            };
            match app
                .repository
                .provide_and_register(&request.submit_objects_request, staged, &card)
                .await
            {
                Ok(provided) => {
                    tracing::debug!(documents = provided.documents.len(), "ITI-41 stored");
                    let response = RegistryResponse {
                        status: response_status::SUCCESS.to_owned(),
                        errors: error_list(errors),
                        ..RegistryResponse::default()
                    };
                    answer_logged(&app, &caller, concerned, response, relates_to, respond).await
                }
                Err(error) => {
                    if error.is_internal() {
                        tracing::error!(%error, "ITI-41 failed");
                    } else {
                        tracing::debug!(%error, "ITI-41 refused");
                    }
                    errors.extend(error.registry_errors());
                    let response = failure(errors);
                    answer_logged(&app, &caller, concerned, response, relates_to, respond).await
                }
            }
        }
        (RepositoryTransaction::Retrieve, Message::RetrieveDocumentSetRequest(request)) => {
            let requests = &request.document_requests;
            // A repository-only service has no consent directives: its registry applies them
            // to the look-up it makes with the caller's own card (`remote::registry`).
            let screened = if app.config.role == Role::Repository
                || requests.is_empty()
                || requests.len() > repository::DOCUMENT_REQUESTS_MAX
            {
                // Otherwise the repository answers the request-level error; nothing is read.
                Screened::unscreened(requests)
            } else {
                match screen_retrieval(&app, &caller, admitted_override.as_ref(), requests).await {
                    Ok(screened) => screened,
                    Err(response) => return response,
                }
            };
            let mut patients: BTreeSet<Option<String>> =
                screened.patient_of.values().cloned().map(Some).collect();
            if patients.is_empty() {
                // Nothing found yet: still the role must allow retrieving at all (a citizen is
                // checked against their own number).
                patients.insert(caller.cpr().map(str::to_owned));
            }
            if let Err(response) =
                authorize_retrieval(&app, &caller, &patients, attempt(), relates_to).await
            {
                return response;
            }
            let mut retrieval = if screened.allowed.is_empty() {
                Retrieval::default()
            } else {
                app.repository.retrieve(&screened.allowed, &card).await
            };
            // Patients learnt only from the answer (a repository-only service's look-ups) are
            // authorised before any byte leaves.
            let mut patient_of = screened.patient_of;
            let mut late: BTreeSet<Option<String>> = BTreeSet::new();
            for document in &retrieval.documents {
                if let Some(cpr) = document.patient_id.as_deref().and_then(cpr_of)
                    && !patient_of.contains_key(&document.document_unique_id)
                {
                    if !patients.contains(&Some(cpr.clone())) {
                        late.insert(Some(cpr.clone()));
                    }
                    patient_of.insert(document.document_unique_id.clone(), cpr);
                }
            }
            if let Err(response) =
                authorize_retrieval(&app, &caller, &late, attempt(), relates_to).await
            {
                return response;
            }
            // Refusals of the screening first: they concern requests the repository never saw.
            let repository_errors = std::mem::replace(&mut retrieval.errors, screened.errors);
            retrieval.errors.extend(repository_errors);
            let mut accessed = access_log::DocumentsByPatient::new();
            for patient in patient_of.values() {
                accessed.entry(patient.clone()).or_default();
            }
            for document in &retrieval.documents {
                if let Some(cpr) = patient_of.get(&document.document_unique_id) {
                    accessed
                        .entry(cpr.clone())
                        .or_default()
                        .push(document.document_unique_id.clone());
                }
            }
            let access = access_log::Access {
                outcome: if screened.withheld > 0 {
                    minlog::AccessOutcome::Filtered
                } else {
                    minlog::AccessOutcome::Allowed
                },
                override_reason: screened.override_reason.as_deref(),
                ..access_log::Access::new(&caller, minlog::AccessAction::Retrieve, accessed)
            };
            if let Err(response) = access_log::record(&app, access, relates_to).await {
                return response;
            }
            if mtom {
                streamed_retrieve_response(retrieval, relates_to)
            } else {
                match inline_retrieve_response(retrieval).await {
                    Ok(response) => respond(response.to_xml()),
                    Err(error) => internal_fault(&error, relates_to),
                }
            }
        }
        (transaction, _) => fault_response(
            FaultCode::Sender,
            None,
            &format!(
                "The SOAP body does not match the action {request_action:?} ({transaction:?} expects its own request element)."
            ),
            relates_to,
        ),
    }
}

enum Staging {
    Fault(String),
    TooLarge(u64),
    Internal(StoreError),
}

impl From<StoreError> for Staging {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::DocumentTooLarge { limit } => Staging::TooLarge(limit),
            other => Staging::Internal(other),
        }
    }
}

/// Pairs each `xdsb:Document` with its staged bytes: inline content is written out like an
/// attachment, an `xop:Include` takes the MIME part it names. Parts nobody refers to are
/// dropped (their temporary files go with them).
async fn stage(
    app: &App,
    request: &ProvideAndRegisterDocumentSetRequest,
    attachments: Vec<ReceivedAttachment>,
) -> Result<Vec<(String, StagedDocument)>, Staging> {
    let mut parts: HashMap<ContentId, Upload> = attachments
        .into_iter()
        .map(|a| (a.content_id, a.upload))
        .collect();
    let mut staged = Vec::with_capacity(request.documents.len());
    for document in &request.documents {
        let bytes = match &document.content {
            DocumentContent::Inline(bytes) => {
                repository::stage_bytes(app.repository.store.as_ref(), bytes).await?
            }
            DocumentContent::Include { href } => {
                let content_id = ContentId::from_cid_url(href).map_err(|e| {
                    Staging::Fault(format!(
                        "xdsb:Document {}: xop:Include href {href:?} is not a cid: reference ({e})",
                        document.id
                    ))
                })?;
                let upload = parts.remove(&content_id).ok_or_else(|| {
                    Staging::Fault(format!(
                        "xdsb:Document {}: xop:Include refers to {href}, but no MIME part of the message has that Content-ID (or another document already used it)",
                        document.id
                    ))
                })?;
                upload.finish().await?
            }
        };
        staged.push((document.id.clone(), bytes));
    }
    Ok(staged)
}

/// ITI-43 answered as MTOM: the envelope names each document by `cid:`, and the body streams
/// the files after it without ever holding one whole.
fn streamed_retrieve_response(retrieval: Retrieval, relates_to: Option<&str>) -> Response {
    let message_id = new_message_id();
    let writer = match soap::MtomWriter::from_id(&message_id) {
        Ok(writer) => writer,
        Err(error) => return internal_fault(&error, relates_to),
    };
    let status = retrieval.status();
    let mut document_responses = Vec::with_capacity(retrieval.documents.len());
    let mut parts: Vec<BoxStream<'static, std::io::Result<Bytes>>> = Vec::new();
    for (index, document) in retrieval.documents.into_iter().enumerate() {
        let content_id = match ContentId::new(&format!("doc{index}.{}@dds", uuid::Uuid::new_v4())) {
            Ok(id) => id,
            Err(error) => return internal_fault(&error, relates_to),
        };
        let head = match writer.attachment_head(&content_id, &document.mime_type) {
            Ok(head) => head,
            Err(error) => return internal_fault(&error, relates_to),
        };
        parts.push(stream::once(async move { Ok(Bytes::from(head)) }).boxed());
        match document.content {
            RetrievedContent::Local { document: file, .. } | RetrievedContent::Remote(file) => {
                parts.push(chunks(file.reader).boxed());
            }
        }
        document_responses.push(DocumentResponse {
            home_community_id: document.home_community_id,
            repository_unique_id: document.repository_unique_id,
            document_unique_id: document.document_unique_id,
            new_repository_unique_id: None,
            new_document_unique_id: None,
            mime_type: document.mime_type,
            document: DocumentContent::Include {
                href: content_id.to_cid_url(),
            },
        });
    }
    let body = RetrieveDocumentSetResponse {
        registry_response: RegistryResponse {
            status: status.to_owned(),
            errors: error_list(retrieval.errors),
            ..RegistryResponse::default()
        },
        document_responses,
    }
    .to_xml();
    let envelope = soap::writer::write_envelope(
        &ResponseHeaders {
            action: action::RETRIEVE_RESPONSE,
            message_id: &message_id,
            relates_to,
        },
        body.as_bytes(),
    );
    let (content_type, head) = match writer
        .content_type(action::RETRIEVE_RESPONSE)
        .and_then(|ct| Ok((ct, writer.head(&envelope)?)))
    {
        Ok(framing) => framing,
        Err(error) => return internal_fault(&error, relates_to),
    };
    let content_type = match HeaderValue::from_str(&content_type) {
        Ok(value) => value,
        Err(error) => return internal_fault(&error, relates_to),
    };
    let tail = writer.tail();
    let all = stream::once(async move { Ok(Bytes::from(head)) })
        .chain(stream::iter(parts).flatten())
        .chain(stream::once(async move { Ok(Bytes::from(tail)) }));
    let mut response = (StatusCode::OK, Body::from_stream(all)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
        .extensions_mut()
        .insert(crate::metrics::TransactionOutcome {
            transaction: "ITI-43",
            failed: status == response_status::FAILURE,
        });
    response
}

/// A file as a stream of chunks of at most [`RETRIEVE_CHUNK_BYTES`].
fn chunks(
    reader: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buffer = vec![0u8; RETRIEVE_CHUNK_BYTES];
        match reader.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), Some(reader)))
            }
            Err(error) => {
                // The client sees a cut-off body, which is all HTTP can say mid-stream.
                tracing::error!(%error, "reading a document while streaming it failed");
                Some((Err(error), None))
            }
        }
    })
}

/// ITI-43 answered inline (the request was plain SOAP): documents are base64 in the envelope,
/// so each is read whole; bounded by the document size limit.
async fn inline_retrieve_response(
    retrieval: Retrieval,
) -> Result<RetrieveDocumentSetResponse, std::io::Error> {
    let status = retrieval.status();
    let mut document_responses = Vec::with_capacity(retrieval.documents.len());
    for document in retrieval.documents {
        let content = match document.content {
            RetrievedContent::Local {
                document: mut file, ..
            }
            | RetrievedContent::Remote(mut file) => {
                let mut bytes = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0));
                file.reader.read_to_end(&mut bytes).await?;
                DocumentContent::Inline(bytes)
            }
        };
        document_responses.push(DocumentResponse {
            home_community_id: document.home_community_id,
            repository_unique_id: document.repository_unique_id,
            document_unique_id: document.document_unique_id,
            new_repository_unique_id: None,
            new_document_unique_id: None,
            mime_type: document.mime_type,
            document: content,
        });
    }
    Ok(RetrieveDocumentSetResponse {
        registry_response: RegistryResponse {
            status: status.to_owned(),
            errors: error_list(retrieval.errors),
            ..RegistryResponse::default()
        },
        document_responses,
    })
}

fn failure(errors: Vec<RegistryError>) -> RegistryResponse {
    RegistryResponse {
        status: response_status::FAILURE.to_owned(),
        errors: error_list(errors),
        ..RegistryResponse::default()
    }
}

fn too_large(limit: u64, relates_to: Option<&str>) -> Response {
    fault_response_with_status(
        FaultCode::Sender,
        None,
        &format!("A document exceeds the limit of {limit} bytes; nothing was stored."),
        relates_to,
        Some(StatusCode::PAYLOAD_TOO_LARGE),
    )
}

/// Transport problems: 413 for an oversized body or document or too many parts, 400 for what
/// the sender got wrong, 500 for a storage failure of ours.
fn transport_fault(error: &TransportError, document_too_large: Option<u64>) -> Response {
    match (error, document_too_large) {
        (TransportError::Sink(_), Some(limit)) => too_large(limit, None),
        (
            TransportError::BodyTooLarge { .. }
            | TransportError::Multipart(soap::MultipartError::TooManyParts { .. }),
            _,
        ) => fault_response_with_status(
            FaultCode::Sender,
            None,
            &error.to_string(),
            None,
            Some(StatusCode::PAYLOAD_TOO_LARGE),
        ),
        (TransportError::Sink(_), None) => internal_fault(error, None),
        _ => fault_response(FaultCode::Sender, None, &error.to_string(), None),
    }
}

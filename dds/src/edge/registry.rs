//! `POST /xds/registry`: ITI-18, ITI-42, ITI-51, ITI-57 and ITI-62 over SOAP.
//!
//! Flow of one request: frame the body → parse the envelope → pick the transaction from the
//! action → verify the ID card → parse and validate the body → authorise the operation for the
//! patient concerned → call the registry → answer. Metadata problems are answered in the ebRS
//! way (a response with status Failure and one `RegistryError` per finding); only transport,
//! envelope and identity problems become SOAP faults.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use identity::Operation;
use minlog::{AccessAction, AccessOutcome};
use registry::{RegisterOptions, StoredQueryRequest};
use soap::{EnvelopeOptions, FaultCode, MultipartLimits};
use xds_model::message::{
    AdhocQueryRequest, AdhocQueryResponse, Message, RegistryError, RegistryResponse,
    RemoveObjectsRequest, SubmitObjectsRequest,
};
use xds_model::rim::RegistryObjectList;
use xds_model::vocabulary::{action, error_code, response_status, severity, stored_query};
use xds_validate::{Report, Severity, Transaction};

use super::access_log;
use super::auth::Attempt;
use super::consent_filter::{ConsentGate, cpr_of};
use super::respond::{
    error_list, fault_response, fault_response_with_status, internal_fault, registry_error,
    soap_response,
};
use super::text_search::{self, TextRanking};
use super::transport::{MemorySink, TransportError, read_soap_message};
use crate::app::App;

/// The request actions this endpoint serves.
const SERVED_ACTIONS: &[&str] = &[
    action::REGISTRY_STORED_QUERY,
    action::MULTI_PATIENT_QUERY,
    action::REGISTER,
    action::UPDATE,
    action::DELETE,
];

/// The transactions this endpoint serves, by request action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegistryTransaction {
    StoredQuery,
    MultiPatientQuery,
    Register,
    Update,
    Delete,
}

impl RegistryTransaction {
    fn from_action(request_action: &str) -> Option<Self> {
        Some(match request_action {
            action::REGISTRY_STORED_QUERY => RegistryTransaction::StoredQuery,
            action::MULTI_PATIENT_QUERY => RegistryTransaction::MultiPatientQuery,
            action::REGISTER => RegistryTransaction::Register,
            action::UPDATE => RegistryTransaction::Update,
            action::DELETE => RegistryTransaction::Delete,
            _ => return None,
        })
    }

    fn response_action(self) -> &'static str {
        match self {
            RegistryTransaction::StoredQuery => action::REGISTRY_STORED_QUERY_RESPONSE,
            RegistryTransaction::MultiPatientQuery => action::MULTI_PATIENT_QUERY_RESPONSE,
            RegistryTransaction::Register => action::REGISTER_RESPONSE,
            RegistryTransaction::Update => action::UPDATE_RESPONSE,
            RegistryTransaction::Delete => action::DELETE_RESPONSE,
        }
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
    let message = match read_soap_message(
        content_type,
        body,
        app.config.registry_body_bytes_max,
        MultipartLimits::default(),
        &mut MemorySink::default(),
    )
    .await
    {
        Ok(message) => message,
        Err(error) => {
            let reason = error.to_string();
            return app
                .door
                .record_unauthenticated(peer, None, "soap:Sender", &reason, transport_fault(&error))
                .await;
        }
    };
    let admitted = match crate::edge::admit(
        &app,
        peer,
        &message.envelope,
        message.content_type_action.as_deref(),
        &EnvelopeOptions::default(),
        SERVED_ACTIONS,
        "registry",
    )
    .await
    {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let Some(transaction) = RegistryTransaction::from_action(&admitted.action) else {
        return internal_fault(&"admit let an unserved action through", None);
    };
    let request_action = admitted.action.as_str();
    let relates_to = admitted.relates_to.as_deref();
    let caller = admitted.caller;
    let body = admitted.body;
    let admitted_override = admitted.consent_override;
    let admitted_original = admitted.original_caller;
    let attempt = || Attempt {
        peer,
        transaction: request_action,
        card: None,
        relates_to,
    };
    if !message.attachments.is_empty() {
        return fault_response(
            FaultCode::Sender,
            None,
            &format!(
                "Registry transactions carry no documents, but the request has {} MIME attachment(s); send documents to the repository (ITI-41).",
                message.attachments.len()
            ),
            relates_to,
        );
    }
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
            RegistryTransaction::StoredQuery | RegistryTransaction::MultiPatientQuery,
            Message::AdhocQueryRequest(request),
        ) => {
            let operation = if transaction == RegistryTransaction::MultiPatientQuery {
                Operation::MultiPatientQuery
            } else {
                Operation::Query
            };
            let patient = query_patient_cpr(&request);
            if let Err(response) = app
                .door
                .authorize(&caller, operation, patient.as_deref(), attempt())
                .await
            {
                return log_refusal(
                    &app,
                    &caller,
                    AccessAction::Query,
                    patient,
                    response,
                    relates_to,
                )
                .await;
            }
            let answered = match stored_query(&app, &request).await {
                Ok(QueryOutcome::Answered(answered)) => answered,
                Ok(QueryOutcome::Refused(response)) => {
                    let answer = respond(response.to_xml());
                    return log_refusal(
                        &app,
                        &caller,
                        AccessAction::Query,
                        patient,
                        answer,
                        relates_to,
                    )
                    .await;
                }
                Err(error) => return internal_fault(&error, relates_to),
            };
            match consent_filtered_answer(
                &app,
                &caller,
                admitted_override.as_ref(),
                patient.as_deref(),
                answered,
                relates_to,
            )
            .await
            {
                Ok(response) => respond(response.to_xml()),
                Err(response) => response,
            }
        }
        (
            RegistryTransaction::Register | RegistryTransaction::Update,
            Message::SubmitObjectsRequest(request),
        ) => {
            let (operation, action, validation) = if transaction == RegistryTransaction::Update {
                (Operation::Update, AccessAction::Update, Transaction::Iti57)
            } else {
                (
                    Operation::Register,
                    AccessAction::Register,
                    Transaction::Iti42,
                )
            };
            let list = &request.registry_object_list;
            let patient = submission_patient_cpr(list);
            if let Err(response) = app
                .door
                .authorize(&caller, operation, patient.as_deref(), attempt())
                .await
            {
                return log_refusal(&app, &caller, action, patient, response, relates_to).await;
            }
            let response = match submit(&app, &request, validation).await {
                Ok(response) => response,
                Err(error) => return internal_fault(&error, relates_to),
            };
            let mut documents = access_log::DocumentsByPatient::new();
            if let Some(patient) = patient {
                documents.insert(patient, submitted_document_unique_ids(list));
            }
            // A repository registering for a source: the source is who registered.
            let actor = admitted_original.as_ref().unwrap_or(&caller);
            if let Err(fault) =
                log_write(&app, actor, action, documents, &response, relates_to).await
            {
                return fault;
            }
            respond(response.to_xml())
        }
        (RegistryTransaction::Delete, Message::RemoveObjectsRequest(request)) => {
            if let Err(response) = app
                .door
                .authorize(&caller, Operation::Delete, None, attempt())
                .await
            {
                return response;
            }
            let ids: Vec<String> = request
                .object_refs
                .iter()
                .flatten()
                .map(|r| r.id.clone())
                .collect();
            // Read before the delete: afterwards the objects, and so their patients, are gone.
            let concerned = match app.registry.objects_by_ids(&ids).await {
                Ok(objects) => deleted_documents_by_patient(&objects),
                Err(error) => return internal_fault(&error, relates_to),
            };
            let response = match delete(&app, &request).await {
                Ok(response) => response,
                Err(error) => return internal_fault(&error, relates_to),
            };
            if let Err(fault) = log_write(
                &app,
                &caller,
                AccessAction::Delete,
                concerned,
                &response,
                relates_to,
            )
            .await
            {
                return fault;
            }
            respond(response.to_xml())
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

/// What a stored query came to before consent filtering.
pub(super) enum QueryOutcome {
    Answered(Answered),
    /// A Failure response (bad parameters, too many results, another patient's objects).
    Refused(AdhocQueryResponse),
}

/// A stored query's objects before consent filtering, with what goes into the answer.
pub(super) struct Answered {
    pub result: registry::QueryResult,
    /// Validation warnings to answer with.
    pub warnings: Vec<RegistryError>,
    /// A full-text query's ranking, applied after the consent filter.
    pub ranking: Option<TextRanking>,
}

impl QueryOutcome {
    /// A Failure response with these errors.
    pub(super) fn refused(errors: Vec<RegistryError>) -> QueryOutcome {
        QueryOutcome::Refused(AdhocQueryResponse {
            response: failure(errors),
            ..AdhocQueryResponse::default()
        })
    }
}

/// ITI-18 / ITI-51: validate the parameters and run the stored query (the full-text one on
/// the search index, the others on the registry store).
async fn stored_query(
    app: &App,
    request: &AdhocQueryRequest,
) -> Result<QueryOutcome, Box<dyn std::error::Error + Send + Sync>> {
    let report = xds_validate::validate_adhoc_query_request(request, &app.validation);
    if report.rejects() {
        return Ok(QueryOutcome::refused(findings_as_errors(&report)));
    }
    let warnings = findings_as_errors(&report);
    if request.adhoc_query.object.id == stored_query::FIND_DOCUMENTS_BY_TEXT {
        return Ok(text_search::find(app, request, warnings).await?);
    }
    let query = StoredQueryRequest::from_adhoc_query_request(request);
    match app.registry.query_result(&query).await {
        Ok(result) => Ok(QueryOutcome::Answered(Answered {
            result,
            warnings,
            ranking: None,
        })),
        Err(registry::QueryError::Store(error)) => Err(error.into()),
        Err(error) => {
            let mut errors = warnings;
            errors.push(error.registry_error());
            Ok(QueryOutcome::refused(errors))
        }
    }
}

/// Applies the citizen's consent to a stored query's objects, logs the access (MinLog and,
/// for a health professional, the BRS follow-up) and builds the response. When anything was
/// withheld the response carries the `DDSConsentFiltered` warning and MinLog the outcome
/// `filtered`. Fails closed: if the directives cannot be read or the log cannot be written,
/// the caller gets a receiver fault and no data.
async fn consent_filtered_answer(
    app: &App,
    caller: &identity::Caller,
    override_: Option<&soap::ConsentOverride>,
    queried_patient: Option<&str>,
    answered: Answered,
    relates_to: Option<&str>,
) -> Result<AdhocQueryResponse, Response> {
    let Answered {
        result,
        mut warnings,
        mut ranking,
    } = answered;
    let reach = registry::reach(app.registry.as_ref(), result)
        .await
        .map_err(|e| internal_fault(&e, relates_to))?;
    let mut patients = reach.patient_ids();
    if let Some(ranking) = &ranking {
        // The searched patient's directives decide the warning below, even for an empty answer.
        patients.insert(ranking.patient_id().to_owned());
    }
    let gate = ConsentGate::load(app, caller, override_, patients.iter().cloned())
        .await
        .map_err(|e| internal_fault(&e, relates_to))?;
    // Skipped only when it provably withholds nothing: an answer that reveals no patient yet is
    // not empty (associations whose ends are gone) still goes through the filter.
    let (result, withheld) = if reach.is_empty()
        || (!patients.is_empty() && gate.withholds_nothing(&patients))
    {
        (reach.into_result(), 0)
    } else {
        let visible = |entry: &registry::EntryFacts<'_>| gate.decide_indexed(entry).is_visible();
        match registry::restrict(app.registry.as_ref(), reach, &visible).await {
            Ok(restricted) => (restricted.result, restricted.withheld_objects),
            Err(error) => return Err(internal_fault(&error, relates_to)),
        }
    };
    // A full-text answer is ranked (and its snippets made) only now, from what is visible.
    let result = match ranking.as_mut() {
        Some(ranking) => ranking
            .arrange(result)
            .map_err(|e| internal_fault(&e, relates_to))?,
        None => result,
    };
    let mut accessed = access_log::DocumentsByPatient::new();
    if let Some(cpr) = queried_patient {
        accessed.entry(cpr.to_owned()).or_default();
    }
    for document in result.documents() {
        if let Some(cpr) = cpr_of(&document.patient_id) {
            accessed.entry(cpr).or_default().push(document.unique_id);
        }
    }
    // For a full-text answer, whether something was withheld would tell that a withheld
    // document contains the searched words (to the caller, and to a doctor reading a delegate's
    // log): it counts as filtered whenever the citizen's directives could withhold anything
    // from this caller, whatever the words.
    let warn = match &ranking {
        Some(_) => !gate.withholds_nothing(&patients),
        None => withheld > 0,
    };
    let access = access_log::Access {
        outcome: if warn {
            AccessOutcome::Filtered
        } else {
            AccessOutcome::Allowed
        },
        override_reason: gate.override_reason(),
        ..access_log::Access::new(caller, AccessAction::Query, accessed)
    };
    access_log::record(app, access, relates_to).await?;
    if warn {
        let context = if ranking.is_some() {
            "The citizen's consent (opt-out or blocks) may withhold documents from this search; whether any of them matched is not shown. A health professional may lift blocks in an acute situation with a ConsentOverride header stating the reason; the override is logged and shown to the citizen."
        } else {
            "Data were withheld from this result by the citizen's consent (opt-out or blocks). A health professional may lift blocks in an acute situation with a ConsentOverride header stating the reason; the override is logged and shown to the citizen."
        };
        warnings.push(RegistryError {
            error_code: error_code::DDS_CONSENT_FILTERED.to_owned(),
            code_context: context.to_owned(),
            location: None,
            severity: Some(severity::WARNING.to_owned()),
            value: String::new(),
        });
    }
    let mut response = AdhocQueryResponse {
        response: RegistryResponse {
            status: response_status::SUCCESS.to_owned(),
            errors: error_list(warnings),
            ..RegistryResponse::default()
        },
        ..AdhocQueryResponse::default()
    };
    match &ranking {
        // A full-text answer adds snippets to its entries: they are read back into the model.
        Some(ranking) => {
            let objects = result
                .into_response()
                .map_err(|e| internal_fault(&e, relates_to))?;
            response.registry_object_list = objects.into_registry_object_list();
            ranking.decorate(&mut response.registry_object_list);
        }
        None => result
            .answer_into(&mut response)
            .map_err(|e| internal_fault(&e, relates_to))?,
    }
    Ok(response)
}

/// Logs a registration, update or delete once it is answered: `allowed` if it was written,
/// `rejected` if the registry refused it. Logged after the write (the outcome is known only
/// then); if the log cannot be written the caller gets a receiver fault instead of the answer.
pub(super) async fn log_write(
    app: &App,
    caller: &identity::Caller,
    action: AccessAction,
    documents: access_log::DocumentsByPatient,
    response: &RegistryResponse,
    relates_to: Option<&str>,
) -> Result<(), Response> {
    if documents.is_empty() {
        return Ok(());
    }
    let outcome = if response.status == response_status::FAILURE {
        AccessOutcome::Rejected
    } else {
        AccessOutcome::Allowed
    };
    let access = access_log::Access {
        outcome,
        ..access_log::Access::new(caller, action, documents)
    };
    access_log::record(app, access, relates_to).await
}

/// The uniqueIds of the DocumentEntries a submission carries.
pub(super) fn submitted_document_unique_ids(list: &RegistryObjectList) -> Vec<String> {
    use xds_model::vocabulary::document_entry;
    list.objects
        .iter()
        .filter_map(|object| match object {
            xds_model::rim::Identifiable::ExtrinsicObject(entry) => entry
                .object
                .external_identifiers_by_scheme(document_entry::UNIQUE_ID)
                .next()
                .map(|u| u.value.clone()),
            _ => None,
        })
        .collect()
}

/// The DocumentEntries (uniqueIds) among objects about to be deleted, by patient CPR; a
/// patient whose SubmissionSets or Folders only are deleted appears with no documents.
fn deleted_documents_by_patient(
    objects: &[registry::ResultObject],
) -> access_log::DocumentsByPatient {
    let mut concerned = access_log::DocumentsByPatient::new();
    for object in objects {
        let Some(cpr) = object.patient_id.as_deref().and_then(cpr_of) else {
            continue;
        };
        let documents = concerned.entry(cpr).or_default();
        if object.kind == registry::index::ObjectKind::DocumentEntry {
            documents.push(
                object
                    .unique_id
                    .clone()
                    .unwrap_or_else(|| object.entry_uuid.clone()),
            );
        }
    }
    concerned
}

/// Logs a refused access to a named patient in MinLog (outcome `rejected`) and returns the
/// refusal; the patient sees the attempt in their log.
pub(super) async fn log_refusal(
    app: &App,
    caller: &identity::Caller,
    action: AccessAction,
    patient: Option<String>,
    refusal: Response,
    relates_to: Option<&str>,
) -> Response {
    let Some(patient) = patient else {
        return refusal;
    };
    match access_log::record(
        app,
        access_log::Access::rejected(caller, action, &patient),
        relates_to,
    )
    .await
    {
        Ok(()) => refusal,
        Err(response) => response,
    }
}

/// ITI-42 (register) or ITI-57 (update): validate, write all-or-nothing, answer.
async fn submit(
    app: &App,
    request: &SubmitObjectsRequest,
    transaction: Transaction,
) -> Result<RegistryResponse, registry::StoreError> {
    let list = &request.registry_object_list;
    let report = xds_validate::validate_submission(list, transaction, &app.validation);
    let errors = findings_as_errors(&report);
    if report.rejects() {
        return Ok(failure(errors));
    }
    let options = RegisterOptions {
        patient_policy: app.patient_policy,
    };
    let written = if transaction == Transaction::Iti57 {
        app.registry
            .update(list, options)
            .await
            .map(drop)
            .map_err(|e| match e {
                registry::UpdateError::Store(error) => Err(error),
                refused => Ok(refused.registry_errors()),
            })
    } else {
        app.registry
            .register(list, options)
            .await
            .map(drop)
            .map_err(|e| match e {
                registry::RegisterError::Store(error) => Err(error),
                refused => Ok(refused.registry_errors()),
            })
    };
    notify_search(app, &written);
    answer(errors, written)
}

/// Wakes the search index after a write, so it applies the change at once rather than at its
/// next poll (searches catch up before they run in any case).
fn notify_search<E>(app: &App, written: &Result<(), E>) {
    if written.is_ok()
        && let Some(search) = &app.search
    {
        search.notify();
    }
}

/// ITI-62: validate, delete all-or-nothing, answer.
async fn delete(
    app: &App,
    request: &RemoveObjectsRequest,
) -> Result<RegistryResponse, registry::StoreError> {
    let refs = request.object_refs.clone().unwrap_or_default();
    let as_list = RegistryObjectList {
        objects: refs
            .iter()
            .cloned()
            .map(xds_model::rim::Identifiable::ObjectRef)
            .collect(),
    };
    let report = xds_validate::validate_submission(&as_list, Transaction::Iti62, &app.validation);
    let mut errors = findings_as_errors(&report);
    if request.adhoc_query.is_some() || request.deletion_scope.is_some() {
        errors.push(registry_error(
            error_code::UNSUPPORTED_CAPABILITY_EXCEPTION,
            "ITI-62 here deletes the objects listed in rim:ObjectRefList only; AdhocQuery and deletionScope are not supported.",
            None,
        ));
        return Ok(failure(errors));
    }
    if report.rejects() {
        return Ok(failure(errors));
    }
    let ids: Vec<String> = refs.into_iter().map(|r| r.id).collect();
    let written = app
        .registry
        .delete(&ids)
        .await
        .map(drop)
        .map_err(|e| match e {
            registry::DeleteError::Store(error) => Err(error),
            refused => Ok(refused.registry_errors()),
        });
    notify_search(app, &written);
    answer(errors, written)
}

/// The response to a registry write: Success carrying the validation warnings, Failure with
/// the warnings and the registry's refusals, or the internal error for a receiver fault.
/// `written` is `Err(Ok(refusals))` when the registry refused, `Err(Err(e))` when it failed.
fn answer(
    mut errors: Vec<RegistryError>,
    written: Result<(), Result<Vec<RegistryError>, registry::StoreError>>,
) -> Result<RegistryResponse, registry::StoreError> {
    match written {
        Ok(()) => Ok(RegistryResponse {
            status: response_status::SUCCESS.to_owned(),
            errors: error_list(errors),
            ..RegistryResponse::default()
        }),
        Err(Ok(refusals)) => {
            errors.extend(refusals);
            Ok(failure(errors))
        }
        Err(Err(error)) => Err(error),
    }
}

fn failure(errors: Vec<RegistryError>) -> RegistryResponse {
    RegistryResponse {
        status: response_status::FAILURE.to_owned(),
        errors: error_list(errors),
        ..RegistryResponse::default()
    }
}

/// Findings at `warning` or `reject` become RegistryErrors; `log` findings are logged only.
pub fn findings_as_errors(report: &Report) -> Vec<RegistryError> {
    let mut errors = Vec::new();
    for finding in &report.findings {
        let severity_urn = match finding.severity {
            Severity::Reject => severity::ERROR,
            Severity::Warning => severity::WARNING,
            Severity::Log | Severity::Off => {
                tracing::info!(rule = finding.rule_id, location = %finding.location(), "{}", finding.message);
                continue;
            }
        };
        errors.push(RegistryError {
            error_code: finding.error_code.to_owned(),
            code_context: format!("[{}] {}", finding.rule_id, finding.message),
            location: Some(finding.location()),
            severity: Some(severity_urn.to_owned()),
            value: String::new(),
        });
    }
    errors
}

/// The CPR of the patient a single-patient stored query is about, when it names one in the
/// Danish assigning authority.
fn query_patient_cpr(request: &AdhocQueryRequest) -> Option<String> {
    const PATIENT_PARAMETERS: [&str; 4] = [
        "$XDSDocumentEntryPatientId",
        "$XDSSubmissionSetPatientId",
        "$XDSFolderPatientId",
        "$patientId",
    ];
    PATIENT_PARAMETERS.iter().find_map(|name| {
        let values = request.adhoc_query.parameter(name)?.ok()?;
        let [value] = values.as_slice() else {
            return None;
        };
        let text = value.scalars().first()?.as_str()?;
        cpr_of(text)
    })
}

/// The CPR of the SubmissionSet's patient, for the policy's own-data rule.
pub(super) fn submission_patient_cpr(list: &RegistryObjectList) -> Option<String> {
    use xds_model::vocabulary::submission_set;
    list.objects.iter().find_map(|object| {
        let registry_object = object.registry_object()?;
        let patient = registry_object
            .external_identifiers_by_scheme(submission_set::PATIENT_ID)
            .next()?;
        cpr_of(&patient.value)
    })
}

/// Transport problems: 413 for an oversized body, 400 for everything the sender got wrong.
fn transport_fault(error: &TransportError) -> Response {
    match error {
        TransportError::BodyTooLarge { .. } => fault_response_with_status(
            FaultCode::Sender,
            None,
            &error.to_string(),
            None,
            Some(StatusCode::PAYLOAD_TOO_LARGE),
        ),
        TransportError::Sink(_) => internal_fault(error, None),
        _ => fault_response(FaultCode::Sender, None, &error.to_string(), None),
    }
}

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
use registry::{RegisterOptions, StoredQueryRequest};
use soap::{EnvelopeOptions, FaultCode, MultipartLimits};
use xds_model::message::{
    AdhocQueryRequest, AdhocQueryResponse, Message, RegistryError, RegistryResponse,
    RemoveObjectsRequest, SubmitObjectsRequest,
};
use xds_model::rim::RegistryObjectList;
use xds_model::vocabulary::{action, dk, error_code, response_status, severity};
use xds_validate::{Report, Severity, Transaction};

use super::access_log;
use super::auth::Attempt;
use super::respond::{
    error_list, fault_response, fault_response_with_status, internal_fault, registry_error,
    soap_response,
};
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
                return response;
            }
            let response = match stored_query(&app, &request).await {
                Ok(response) => response,
                Err(error) => return internal_fault(&error, relates_to),
            };
            if response.response.status != response_status::FAILURE {
                let accessed = documents_by_patient(&response, patient.as_deref());
                if let Err(response) = access_log::record(
                    &app,
                    &caller,
                    minlog::AccessAction::Query,
                    accessed,
                    relates_to,
                )
                .await
                {
                    return response;
                }
            }
            respond(response.to_xml())
        }
        (RegistryTransaction::Register, Message::SubmitObjectsRequest(request)) => {
            let patient = submission_patient_cpr(&request.registry_object_list);
            if let Err(response) = app
                .door
                .authorize(&caller, Operation::Register, patient.as_deref(), attempt())
                .await
            {
                return response;
            }
            match submit(&app, &request, Transaction::Iti42).await {
                Ok(response) => respond(response.to_xml()),
                Err(error) => internal_fault(&error, relates_to),
            }
        }
        (RegistryTransaction::Update, Message::SubmitObjectsRequest(request)) => {
            let patient = submission_patient_cpr(&request.registry_object_list);
            if let Err(response) = app
                .door
                .authorize(&caller, Operation::Update, patient.as_deref(), attempt())
                .await
            {
                return response;
            }
            match submit(&app, &request, Transaction::Iti57).await {
                Ok(response) => respond(response.to_xml()),
                Err(error) => internal_fault(&error, relates_to),
            }
        }
        (RegistryTransaction::Delete, Message::RemoveObjectsRequest(request)) => {
            if let Err(response) = app
                .door
                .authorize(&caller, Operation::Delete, None, attempt())
                .await
            {
                return response;
            }
            match delete(&app, &request).await {
                Ok(response) => respond(response.to_xml()),
                Err(error) => internal_fault(&error, relates_to),
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

/// ITI-18 / ITI-51: validate the parameters, run the stored query, answer.
async fn stored_query(
    app: &App,
    request: &AdhocQueryRequest,
) -> Result<AdhocQueryResponse, registry::StoreError> {
    let report = xds_validate::validate_adhoc_query_request(request, &app.validation);
    if report.rejects() {
        return Ok(AdhocQueryResponse {
            response: failure(findings_as_errors(&report)),
            ..AdhocQueryResponse::default()
        });
    }
    let warnings = findings_as_errors(&report);
    let query = StoredQueryRequest::from_adhoc_query_request(request);
    match app.registry.query(&query).await {
        Ok(result) => Ok(AdhocQueryResponse {
            response: RegistryResponse {
                status: response_status::SUCCESS.to_owned(),
                errors: error_list(warnings),
                ..RegistryResponse::default()
            },
            registry_object_list: result.into_registry_object_list(),
            ..AdhocQueryResponse::default()
        }),
        Err(registry::QueryError::Store(error)) => Err(error),
        Err(error) => {
            let mut errors = warnings;
            errors.push(error.registry_error());
            Ok(AdhocQueryResponse {
                response: failure(errors),
                ..AdhocQueryResponse::default()
            })
        }
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
    answer(errors, written)
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

/// The DocumentEntries a query answer reveals, by patient CPR, plus the patient the query
/// named (so a query that found nothing is still logged for that patient).
fn documents_by_patient(
    response: &AdhocQueryResponse,
    queried: Option<&str>,
) -> access_log::DocumentsByPatient {
    use xds_model::vocabulary::document_entry;
    let mut accessed = access_log::DocumentsByPatient::new();
    if let Some(cpr) = queried {
        accessed.entry(cpr.to_owned()).or_default();
    }
    for object in &response.registry_object_list.objects {
        let xds_model::rim::Identifiable::ExtrinsicObject(entry) = object else {
            continue;
        };
        let Some(cpr) = entry
            .object
            .external_identifiers_by_scheme(document_entry::PATIENT_ID)
            .next()
            .and_then(|p| cpr_of(&p.value))
        else {
            continue;
        };
        let unique_id = entry
            .object
            .external_identifiers_by_scheme(document_entry::UNIQUE_ID)
            .next()
            .map(|u| u.value.clone())
            .unwrap_or_else(|| entry.object.id.clone());
        accessed.entry(cpr).or_default().push(unique_id);
    }
    accessed
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
fn submission_patient_cpr(list: &RegistryObjectList) -> Option<String> {
    use xds_model::vocabulary::submission_set;
    list.objects.iter().find_map(|object| {
        let registry_object = object.registry_object()?;
        let patient = registry_object
            .external_identifiers_by_scheme(submission_set::PATIENT_ID)
            .next()?;
        cpr_of(&patient.value)
    })
}

fn cpr_of(cx: &str) -> Option<String> {
    let patient = xds_model::xds::parse_cx(cx).ok()?;
    (patient.assigning_authority == dk::CPR_OID).then_some(patient.id)
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

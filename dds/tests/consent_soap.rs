//! The citizen's consent over SOAP: each rule of DOMAIN.md ("The citizen's rights") applied to
//! ITI-18 and ITI-43 on a real server, and, as a property, that for random directives, callers
//! and overrides no withheld document is revealed by any stored query, either return type, or a
//! retrieval — while every document the rules allow is returned.
//!
//! The data: patient 2512489996's SubmissionSet with a Folder and three documents
//! (`samples/iti-41/pnr-folder-three-docs.xml`), Document02 rewritten as authored at another
//! organisation, so that the organisation rules have something to tell apart:
//!
//! | document | authoring SOR | service start (else creation) |
//! |---|---|---|
//! | 1 | A | 2027-01-12 08:30 |
//! | 2 | B | 2027-01-12 07:45 |
//! | 3 | A | (creation) 2026-12-01 09:50 |
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use consent::{Accessor, BlockId, ConsentOptions, Directives, DocumentFacts, OptOut, Override};
use identity::{CardRequest, Role};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::{TestServer, base64_encode, sample, with_card};
use time::OffsetDateTime;
use time::macros::datetime;
use xds_model::message::{Message, RegistryResponse, RetrieveDocumentSetResponse};
use xds_model::rim::Identifiable;
use xds_model::vocabulary::stored_query;

const PATIENT: &str = "2512489996";
const PATIENT_CX: &str = "2512489996^^^&amp;1.2.208.176.1.2&amp;ISO";
const SOR_A: &str = "320721000016002";
const SOR_B: &str = "328081000016004";
/// An organisation that authored none of the documents.
const SOR_C: &str = "470581000016009";
const DOCTOR_A: &str = "0804569723";
const DOCTOR_C: &str = "1502799995";
const SECRETARY_C: &str = "2103815554";
const REPOSITORY: &str = dds::config::REPOSITORY_UNIQUE_ID_DEFAULT;
const UNIQUE_IDS: [&str; 3] = [
    "2.25.335118424317461607342625769023891058594",
    "2.25.237746997273973435338505600127400704114",
    "2.25.82556701471489789407805219707158300227",
];
const SUBMISSION_SET_UNIQUE_ID: &str = "2.25.112464239352994551776225475836715977012";
const FOLDER_UNIQUE_ID: &str = "2.25.205721502357984036567136143313937660956";
const FILTERED: &str = "DDSConsentFiltered";
const BLOCKED: &str = "DDSConsentBlocked";

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    DoctorA,
    DoctorC,
    /// A secretary at C acting on behalf of doctor C.
    SecretaryForC,
    Citizen,
    System,
}

impl Who {
    fn card(self, server: &TestServer) -> String {
        let professional = |role, cpr: &str, sor: &str, on_behalf_of: Option<&str>| {
            let mut request = CardRequest::new(role);
            request.cpr = Some(cpr.to_owned());
            request.org_sor = Some(sor.to_owned());
            request.on_behalf_of = on_behalf_of.map(str::to_owned);
            server.sts.issue(&request).unwrap()
        };
        match self {
            Who::DoctorA => professional(Role::Doctor, DOCTOR_A, SOR_A, None),
            Who::DoctorC => professional(Role::Doctor, DOCTOR_C, SOR_C, None),
            Who::SecretaryForC => professional(Role::Secretary, SECRETARY_C, SOR_C, Some(DOCTOR_C)),
            Who::Citizen => server.card(Role::Citizen, Some(PATIENT)),
            Who::System => server.card(Role::System, None),
        }
    }

    fn accessor(self) -> Accessor {
        let professional =
            |cpr: &str, sor: &str, on_behalf_of: Option<&str>| Accessor::HealthProfessional {
                cpr: cpr.to_owned(),
                organisation_sor: Some(sor.to_owned()),
                on_behalf_of: on_behalf_of.map(str::to_owned),
            };
        match self {
            Who::DoctorA => professional(DOCTOR_A, SOR_A, None),
            Who::DoctorC => professional(DOCTOR_C, SOR_C, None),
            Who::SecretaryForC => professional(SECRETARY_C, SOR_C, Some(DOCTOR_C)),
            Who::Citizen => Accessor::Citizen {
                cpr: PATIENT.to_owned(),
            },
            Who::System => Accessor::System {
                organisation_sor: None,
                organisation_cvr: Some("33257872".to_owned()),
            },
        }
    }
}

/// The facts of the three documents as the table in the module docs says.
fn facts() -> [DocumentFacts; 3] {
    let document = |sor: &str, service_start, creation_time| DocumentFacts {
        patient_cpr: PATIENT.to_owned(),
        author_institution_sors: vec![sor.to_owned()],
        service_start,
        creation_time,
    };
    [
        document(
            SOR_A,
            Some(datetime!(2027-01-12 08:30 UTC)),
            Some(datetime!(2026-12-01 09:42 UTC)),
        ),
        document(
            SOR_B,
            Some(datetime!(2027-01-12 07:45 UTC)),
            Some(datetime!(2026-12-01 09:44 UTC)),
        ),
        document(SOR_A, None, Some(datetime!(2026-12-01 09:50 UTC))),
    ]
}

/// The submission: the sample with Document02 authored at organisation B.
fn submission() -> String {
    let xml = sample("iti-41/pnr-folder-three-docs.xml");
    let start = xml.find(r#"id="Document02""#).unwrap();
    let end = start + xml[start..].find("</rim:ExtrinsicObject>").unwrap();
    let document = xml[start..end].replace(SOR_A, SOR_B);
    assert_ne!(document, xml[start..end], "Document02 names organisation A");
    format!("{}{}{}", &xml[..start], document, &xml[end..])
}

/// A server holding the three documents; returns it with the documents' entryUUIDs and the
/// SubmissionSet's and Folder's.
async fn server_with_documents(flags: dds::config::ServeFlags) -> (TestServer, Stored) {
    let server = TestServer::start_with(flags).await;
    let system = server.card(Role::System, None);
    let (status, body) = server
        .post("/xds/repository", with_card(&submission(), &system))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ResponseStatusType:Success"), "{body}");
    let all = query(&server, Who::Citizen, &get_all("LeafClass"), None).await;
    let mut stored = Stored::default();
    for object in &all.objects {
        match object {
            Identifiable::ExtrinsicObject(entry) => {
                let view = xds_model::xds::DocumentEntry::from_rim(entry).unwrap();
                let unique_id = view.unique_id.unwrap().value;
                let index = UNIQUE_IDS.iter().position(|u| *u == unique_id).unwrap();
                stored.documents[index] = entry.object.id.clone();
            }
            Identifiable::RegistryPackage(package) => {
                if object_text(object).contains(SUBMISSION_SET_UNIQUE_ID) {
                    stored.submission_set = package.object.id.clone();
                } else {
                    stored.folder = package.object.id.clone();
                }
            }
            _ => {}
        }
    }
    assert!(stored.documents.iter().all(|d| !d.is_empty()), "{stored:?}");
    assert!(!stored.submission_set.is_empty() && !stored.folder.is_empty());
    (server, stored)
}

#[derive(Debug, Default, Clone)]
struct Stored {
    documents: [String; 3],
    submission_set: String,
    folder: String,
}

fn object_text(object: &Identifiable) -> String {
    object.to_xml()
}

/// A stored query's decoded answer.
#[derive(Debug)]
struct Answer {
    status: String,
    error_codes: Vec<String>,
    objects: Vec<Identifiable>,
}

impl Answer {
    fn ids(&self) -> BTreeSet<String> {
        self.objects.iter().map(|o| o.id().to_owned()).collect()
    }

    fn document_unique_ids(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter_map(|o| match o {
                Identifiable::ExtrinsicObject(entry) => {
                    xds_model::xds::DocumentEntry::from_rim(entry)
                        .ok()?
                        .unique_id
                        .map(|u| u.value)
                }
                _ => None,
            })
            .collect()
    }

    fn filtered(&self) -> bool {
        self.error_codes.iter().any(|c| c == FILTERED)
    }
}

fn override_header(reason: &str) -> String {
    format!(
        r#"<dds:ConsentOverride xmlns:dds="urn:dds:2026"><dds:Reason>{reason}</dds:Reason></dds:ConsentOverride>"#
    )
}

fn envelope(action: &str, body: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>{action}</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID></soap:Header>
<soap:Body>{body}</soap:Body></soap:Envelope>"#,
        uuid::Uuid::new_v4()
    )
}

fn stored_query(query_id: &str, return_type: &str, slots: &[(&str, String)]) -> String {
    let mut slot_xml = String::new();
    for (name, value) in slots {
        slot_xml.push_str(&format!(
            r#"<rim:Slot name="{name}"><rim:ValueList><rim:Value>{value}</rim:Value></rim:ValueList></rim:Slot>"#
        ));
    }
    envelope(
        "urn:ihe:iti:2007:RegistryStoredQuery",
        &format!(
            r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnComposedObjects="true" returnType="{return_type}"/><rim:AdhocQuery id="{query_id}">{slot_xml}</rim:AdhocQuery></query:AdhocQueryRequest>"#
        ),
    )
}

const APPROVED: &str = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";

fn find_documents(return_type: &str) -> String {
    stored_query(
        stored_query::FIND_DOCUMENTS,
        return_type,
        &[
            ("$XDSDocumentEntryPatientId", format!("'{PATIENT_CX}'")),
            ("$XDSDocumentEntryStatus", APPROVED.to_owned()),
        ],
    )
}

fn get_all(return_type: &str) -> String {
    stored_query(
        stored_query::GET_ALL,
        return_type,
        &[
            ("$patientId", format!("'{PATIENT_CX}'")),
            ("$XDSDocumentEntryStatus", APPROVED.to_owned()),
            ("$XDSSubmissionSetStatus", APPROVED.to_owned()),
            ("$XDSFolderStatus", APPROVED.to_owned()),
        ],
    )
}

fn quoted_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    format!("({})", quoted.join(","))
}

/// Every stored query that can reach the patient's documents, SubmissionSet or Folder.
fn every_query(stored: &Stored, return_type: &str) -> Vec<(&'static str, String)> {
    let documents: Vec<&str> = stored.documents.iter().map(String::as_str).collect();
    vec![
        ("FindDocuments", find_documents(return_type)),
        ("GetAll", get_all(return_type)),
        (
            "FindSubmissionSets",
            stored_query(
                stored_query::FIND_SUBMISSION_SETS,
                return_type,
                &[
                    ("$XDSSubmissionSetPatientId", format!("'{PATIENT_CX}'")),
                    ("$XDSSubmissionSetStatus", APPROVED.to_owned()),
                ],
            ),
        ),
        (
            "FindFolders",
            stored_query(
                stored_query::FIND_FOLDERS,
                return_type,
                &[
                    ("$XDSFolderPatientId", format!("'{PATIENT_CX}'")),
                    ("$XDSFolderStatus", APPROVED.to_owned()),
                ],
            ),
        ),
        (
            "GetDocuments",
            stored_query(
                stored_query::GET_DOCUMENTS,
                return_type,
                &[("$XDSDocumentEntryUniqueId", quoted_list(&UNIQUE_IDS))],
            ),
        ),
        (
            "GetAssociations",
            stored_query(
                stored_query::GET_ASSOCIATIONS,
                return_type,
                &[("$uuid", quoted_list(&documents))],
            ),
        ),
        (
            "GetDocumentsAndAssociations",
            stored_query(
                stored_query::GET_DOCUMENTS_AND_ASSOCIATIONS,
                return_type,
                &[("$XDSDocumentEntryEntryUUID", quoted_list(&documents))],
            ),
        ),
        (
            "GetSubmissionSets",
            stored_query(
                stored_query::GET_SUBMISSION_SETS,
                return_type,
                &[("$uuid", quoted_list(&documents))],
            ),
        ),
        (
            "GetSubmissionSetAndContents",
            stored_query(
                stored_query::GET_SUBMISSION_SET_AND_CONTENTS,
                return_type,
                &[(
                    "$XDSSubmissionSetUniqueId",
                    format!("'{SUBMISSION_SET_UNIQUE_ID}'"),
                )],
            ),
        ),
        (
            "GetFolderAndContents",
            stored_query(
                stored_query::GET_FOLDER_AND_CONTENTS,
                return_type,
                &[("$XDSFolderUniqueId", format!("'{FOLDER_UNIQUE_ID}'"))],
            ),
        ),
        (
            "GetFolders",
            stored_query(
                stored_query::GET_FOLDERS,
                return_type,
                &[("$XDSFolderUniqueId", format!("('{FOLDER_UNIQUE_ID}')"))],
            ),
        ),
        (
            "GetFoldersForDocument",
            stored_query(
                stored_query::GET_FOLDERS_FOR_DOCUMENT,
                return_type,
                &[("$XDSDocumentEntryUniqueId", format!("'{}'", UNIQUE_IDS[0]))],
            ),
        ),
    ]
}

/// Sends `envelope` as `who` (with a ConsentOverride when `override_reason` is given) and
/// decodes the answer.
async fn query(
    server: &TestServer,
    who: Who,
    envelope: &str,
    override_reason: Option<&str>,
) -> Answer {
    let mut message = with_card(envelope, &who.card(server));
    if let Some(reason) = override_reason {
        message = message.replacen(
            "<soap:Header>",
            &format!("<soap:Header>{}", override_header(reason)),
            1,
        );
    }
    let (status, body) = server.post("/xds/registry", message).await;
    assert_eq!(status, 200, "{body}");
    let (response, objects) = match decode_body(&body) {
        Message::AdhocQueryResponse(r) => (r.response, r.registry_object_list.objects),
        other => panic!("not a query response: {other:?}"),
    };
    Answer {
        status: response.status.clone(),
        error_codes: error_codes(&response),
        objects,
    }
}

fn decode_body(body: &str) -> Message {
    let envelope = soap::parse_envelope(body.as_bytes(), &soap::EnvelopeOptions::default())
        .unwrap_or_else(|e| panic!("{e}: {body}"));
    let inherited: Vec<(Option<&str>, &str)> = envelope
        .body
        .namespaces
        .iter()
        .map(|b| (b.prefix.as_deref(), b.uri.as_str()))
        .collect();
    xds_model::message::parse_message_in_scope(
        envelope.body.bytes(),
        &inherited,
        xds_model::limits::XmlLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn error_codes(response: &RegistryResponse) -> Vec<String> {
    response
        .errors
        .iter()
        .flat_map(|l| l.errors.iter().map(|e| e.error_code.clone()))
        .collect()
}

/// An ITI-43 of the given documents (plain SOAP, inline answer).
async fn retrieve(
    server: &TestServer,
    who: Who,
    unique_ids: &[&str],
    override_reason: Option<&str>,
) -> RetrieveDocumentSetResponse {
    let mut requests = String::new();
    for unique_id in unique_ids {
        requests.push_str(&format!(
            "<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPOSITORY}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{unique_id}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>"
        ));
    }
    let request = envelope(
        "urn:ihe:iti:2007:RetrieveDocumentSet",
        &format!(
            r#"<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">{requests}</xdsb:RetrieveDocumentSetRequest>"#
        ),
    );
    let mut message = with_card(&request, &who.card(server));
    if let Some(reason) = override_reason {
        message = message.replacen(
            "<soap:Header>",
            &format!("<soap:Header>{}", override_header(reason)),
            1,
        );
    }
    let (status, body) = server.post("/xds/repository", message).await;
    assert_eq!(status, 200, "{body}");
    match decode_body(&body) {
        Message::RetrieveDocumentSetResponse(response) => response,
        other => panic!("not a retrieve response: {other:?}"),
    }
}

fn retrieved(response: &RetrieveDocumentSetResponse) -> BTreeSet<String> {
    response
        .document_responses
        .iter()
        .map(|d| d.document_unique_id.clone())
        .collect()
}

fn blocked_locations(response: &RetrieveDocumentSetResponse) -> BTreeSet<String> {
    response
        .registry_response
        .errors
        .iter()
        .flat_map(|l| l.errors.iter())
        .filter(|e| e.error_code == BLOCKED)
        .filter_map(|e| e.location.clone())
        .collect()
}

/// The consent JSON API, as an administrator.
async fn consent_call(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let card = server.card(Role::Admin, Some("0101700013"));
    let url = format!("{}/consent/v1/patients/{PATIENT}{path}", server.base);
    let request = match method {
        "GET" => server.http.get(url),
        "PUT" => server.http.put(url),
        "POST" => server.http.post(url),
        "DELETE" => server.http.delete(url),
        other => panic!("{other}"),
    }
    .header(
        "authorization",
        format!("SAML {}", base64_encode(card.as_bytes())),
    );
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn add_block(server: &TestServer, block: Value) -> String {
    let (status, body) = consent_call(server, "POST", "/blocks", Some(block)).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn opt_out(server: &TestServer) {
    let (status, body) = consent_call(server, "PUT", "/opt-out", None).await;
    assert!(
        status == 200 || status == 201 || status == 204,
        "{status} {body}"
    );
}

/// The patient's MinLog, newest first, as the citizen reads it.
async fn minlog(server: &TestServer) -> Vec<Value> {
    let card = server.card(Role::Citizen, Some(PATIENT));
    let response = server
        .http
        .get(format!(
            "{}/minlog/v1/patients/{PATIENT}/entries?limit=100",
            server.base
        ))
        .header(
            "authorization",
            format!("SAML {}", base64_encode(card.as_bytes())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

fn ids(indexes: &[usize]) -> BTreeSet<String> {
    indexes.iter().map(|i| UNIQUE_IDS[*i].to_owned()).collect()
}

#[tokio::test]
async fn opt_out_hides_documents_from_everyone_outside_the_authoring_organisation() {
    let (server, _) = server_with_documents(Default::default()).await;
    let before = query(&server, Who::DoctorC, &find_documents("LeafClass"), None).await;
    assert_eq!(before.document_unique_ids(), ids(&[0, 1, 2]));
    assert!(!before.filtered(), "{before:?}");

    opt_out(&server).await;
    let outside = query(&server, Who::DoctorC, &find_documents("LeafClass"), None).await;
    assert!(outside.objects.is_empty(), "{outside:?}");
    assert!(outside.filtered(), "{outside:?}");
    assert_eq!(
        outside.status,
        "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
    );
    let inside = query(&server, Who::DoctorA, &find_documents("LeafClass"), None).await;
    assert_eq!(inside.document_unique_ids(), ids(&[0, 2]), "only A's own");
    assert!(inside.filtered());
    let citizen = query(&server, Who::Citizen, &find_documents("LeafClass"), None).await;
    assert_eq!(citizen.document_unique_ids(), ids(&[0, 1, 2]));
    assert!(!citizen.filtered());

    // An override does not lift an opt-out (INTERFACE.md), but is logged.
    let urgent = query(
        &server,
        Who::DoctorC,
        &find_documents("LeafClass"),
        Some("Akut indlæggelse"),
    )
    .await;
    assert!(urgent.objects.is_empty(), "{urgent:?}");
    let log = minlog(&server).await;
    assert_eq!(log[0]["override"]["reason"], "Akut indlæggelse", "{log:?}");
    assert_eq!(log[0]["outcome"], "filtered");
    assert_eq!(log[0]["documents"], json!([]));
    let retrieval = retrieve(&server, Who::DoctorC, &UNIQUE_IDS, None).await;
    assert!(retrieval.document_responses.is_empty());
    assert_eq!(blocked_locations(&retrieval), ids(&[0, 1, 2]));
    assert_eq!(
        retrieval.registry_response.status,
        "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
    );
}

#[tokio::test]
async fn override_lifts_an_opt_out_only_when_the_config_allows_it() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[consent]\noverride_lifts_opt_out = true\n").unwrap();
    let (server, _) = server_with_documents(dds::config::ServeFlags {
        config: Some(config.path().to_owned()),
        ..Default::default()
    })
    .await;
    opt_out(&server).await;
    let plain = query(&server, Who::DoctorC, &find_documents("LeafClass"), None).await;
    assert!(plain.objects.is_empty());
    let urgent = query(
        &server,
        Who::DoctorC,
        &find_documents("LeafClass"),
        Some("Bevidstløs"),
    )
    .await;
    assert_eq!(urgent.document_unique_ids(), ids(&[0, 1, 2]));
    assert!(!urgent.filtered());
    // A system cannot override: there is no person to answer for it.
    let system = query(
        &server,
        Who::System,
        &find_documents("LeafClass"),
        Some("Batch"),
    )
    .await;
    assert!(system.objects.is_empty());
}

#[tokio::test]
async fn a_professional_block_hides_everything_from_that_professional_and_their_delegates() {
    let (server, _) = server_with_documents(Default::default()).await;
    add_block(
        &server,
        json!({"kind": "professional", "professional_cpr": DOCTOR_C}),
    )
    .await;
    for who in [Who::DoctorC, Who::SecretaryForC] {
        let answer = query(&server, who, &get_all("LeafClass"), None).await;
        assert!(answer.objects.is_empty(), "{who:?}: {answer:?}");
        assert!(answer.filtered());
        let retrieval = retrieve(&server, who, &UNIQUE_IDS[..1], None).await;
        assert!(retrieval.document_responses.is_empty());
        assert_eq!(blocked_locations(&retrieval), ids(&[0]));
    }
    let other = query(&server, Who::DoctorA, &find_documents("LeafClass"), None).await;
    assert_eq!(other.document_unique_ids(), ids(&[0, 1, 2]));
    assert!(!other.filtered());

    // Værdispring: the block is lifted, the access logged with its reason, followed up.
    let urgent = query(
        &server,
        Who::DoctorC,
        &find_documents("LeafClass"),
        Some("Akut: bevidstløs patient"),
    )
    .await;
    assert_eq!(urgent.document_unique_ids(), ids(&[0, 1, 2]));
    let retrieval = retrieve(
        &server,
        Who::DoctorC,
        &UNIQUE_IDS,
        Some("Akut: bevidstløs patient"),
    )
    .await;
    assert_eq!(retrieved(&retrieval), ids(&[0, 1, 2]));
    let log = minlog(&server).await;
    for entry in &log[..2] {
        assert_eq!(
            entry["override"]["reason"], "Akut: bevidstløs patient",
            "{log:?}"
        );
        assert_eq!(entry["outcome"], "allowed");
        assert_eq!(entry["documents"].as_array().unwrap().len(), 3);
    }
    assert_eq!(log[0]["action"], "retrieve");
    assert_eq!(log[1]["action"], "query");
    // The refused retrievals are in the log too, as filtered, with nothing returned.
    assert!(
        log.iter().any(|e| e["action"] == "retrieve"
            && e["outcome"] == "filtered"
            && e["documents"] == json!([])),
        "{log:?}"
    );
}

#[tokio::test]
async fn the_danish_hsuid_override_header_lifts_blocks_too() {
    let (server, _) = server_with_documents(Default::default()).await;
    add_block(
        &server,
        json!({"kind": "professional", "professional_cpr": DOCTOR_C}),
    )
    .await;
    let hsuid = r#"<hsuid:HsuidHeader xmlns:hsuid="http://www.nsi.dk/hsuid/2016/08/hsuid-1.1.xsd" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion ID="HSUID"><saml:AttributeStatement ID="HSUIDdata"><saml:Attribute Name="nsi:ConsentOverride"><saml:AttributeValue>true</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></hsuid:HsuidHeader>"#;
    let message = with_card(&find_documents("LeafClass"), &Who::DoctorC.card(&server)).replacen(
        "<soap:Header>",
        &format!("<soap:Header>{hsuid}"),
        1,
    );
    let (status, body) = server.post("/xds/registry", message).await;
    assert_eq!(status, 200, "{body}");
    for unique_id in UNIQUE_IDS {
        assert!(body.contains(unique_id), "{body}");
    }
    let log = minlog(&server).await;
    assert_eq!(
        log[0]["override"]["reason"],
        soap::consent::HSUID_OVERRIDE_REASON,
        "{log:?}"
    );

    // A malformed override is refused, never silently ignored.
    let broken = with_card(&find_documents("LeafClass"), &Who::DoctorC.card(&server)).replacen(
        "<soap:Header>",
        &format!("<soap:Header>{}", override_header("  ")),
        1,
    );
    let (status, body) = server.post("/xds/registry", broken).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("consent override"), "{body}");
}

#[tokio::test]
async fn an_organisation_block_hides_documents_authored_there_from_everyone_outside_it() {
    let (server, stored) = server_with_documents(Default::default()).await;
    add_block(&server, json!({"kind": "organisation", "sor": SOR_A})).await;
    let outside = query(&server, Who::DoctorC, &find_documents("LeafClass"), None).await;
    assert_eq!(outside.document_unique_ids(), ids(&[1]));
    assert!(outside.filtered());
    let inside = query(&server, Who::DoctorA, &find_documents("LeafClass"), None).await;
    assert_eq!(inside.document_unique_ids(), ids(&[0, 1, 2]));
    assert!(!inside.filtered());

    // The folder and the SubmissionSet stay visible through document 2, with only its
    // memberships.
    let contents = query(&server, Who::DoctorC, &get_all("LeafClass"), None).await;
    let shown = contents.ids();
    assert!(shown.contains(&stored.submission_set) && shown.contains(&stored.folder));
    assert!(!shown.contains(&stored.documents[0]) && !shown.contains(&stored.documents[2]));
    for object in &contents.objects {
        if let Identifiable::Association(association) = object {
            for end in [&association.source_object, &association.target_object] {
                assert!(
                    !stored.documents[0].eq(end) && !stored.documents[2].eq(end),
                    "association {} reveals a withheld document",
                    association.object.id
                );
            }
        }
    }
}

#[tokio::test]
async fn a_period_block_hides_documents_by_service_start_else_creation_time() {
    let (server, _) = server_with_documents(Default::default()).await;
    add_block(
        &server,
        json!({"kind": "period", "from": "2026-12-01", "to": "2026-12-31"}),
    )
    .await;
    let answer = query(&server, Who::DoctorC, &find_documents("LeafClass"), None).await;
    assert_eq!(answer.document_unique_ids(), ids(&[0, 1]));
    assert!(answer.filtered());

    // ITI-43 of one allowed and one withheld document: PartialSuccess, the allowed one's bytes.
    let retrieval = retrieve(&server, Who::DoctorC, &[UNIQUE_IDS[0], UNIQUE_IDS[2]], None).await;
    assert_eq!(
        retrieval.registry_response.status,
        "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
    );
    assert_eq!(retrieved(&retrieval), ids(&[0]));
    assert_eq!(blocked_locations(&retrieval), ids(&[2]));
    let log = minlog(&server).await;
    assert_eq!(log[0]["action"], "retrieve");
    assert_eq!(log[0]["outcome"], "filtered");
    assert_eq!(log[0]["documents"], json!([UNIQUE_IDS[0]]));
}

#[tokio::test]
async fn directives_take_effect_on_the_next_request_and_expired_blocks_none() {
    let (server, _) = server_with_documents(Default::default()).await;
    add_block(
        &server,
        json!({"kind": "professional", "professional_cpr": DOCTOR_C, "valid_from": "2020-01-01", "valid_to": "2020-12-31"}),
    )
    .await;
    let expired = query(&server, Who::DoctorC, &find_documents("LeafClass"), None).await;
    assert_eq!(expired.document_unique_ids(), ids(&[0, 1, 2]));

    let id = add_block(
        &server,
        json!({"kind": "professional", "professional_cpr": DOCTOR_C}),
    )
    .await;
    let blocked = query(&server, Who::DoctorC, &find_documents("ObjectRef"), None).await;
    assert!(blocked.objects.is_empty(), "{blocked:?}");
    let (status, _) = consent_call(&server, "DELETE", &format!("/blocks/{id}"), None).await;
    assert_eq!(status, 204);
    let lifted = query(&server, Who::DoctorC, &find_documents("ObjectRef"), None).await;
    assert_eq!(lifted.objects.len(), 3, "{lifted:?}");
}

/// One random situation of the property test.
#[derive(Debug, Clone)]
struct Situation {
    opt_out: bool,
    blocks: Vec<Value>,
    who: Who,
    override_reason: Option<&'static str>,
}

fn situations() -> impl Strategy<Value = Situation> {
    let block = prop_oneof![
        prop::sample::select(vec![DOCTOR_A, DOCTOR_C])
            .prop_map(|cpr| json!({"kind": "professional", "professional_cpr": cpr})),
        prop::sample::select(vec![SOR_A, SOR_B, SOR_C])
            .prop_map(|sor| json!({"kind": "organisation", "sor": sor})),
        prop::sample::select(vec![
            ("2026-12-01", "2026-12-01"),
            ("2026-11-01", "2026-12-31"),
            ("2027-01-12", "2027-01-12"),
            ("2027-01-13", "2027-12-31"),
            ("2020-01-01", "2030-12-31"),
        ])
        .prop_map(|(from, to)| json!({"kind": "period", "from": from, "to": to})),
    ];
    let validity = prop::sample::select(vec![
        None,
        Some(("2020-01-01", "2020-12-31")),
        Some(("2020-01-01", "2099-12-31")),
    ]);
    let blocks = prop::collection::vec((block, validity), 0..3).prop_map(|blocks| {
        blocks
            .into_iter()
            .map(|(mut block, validity)| {
                if let Some((from, to)) = validity {
                    block["valid_from"] = json!(from);
                    block["valid_to"] = json!(to);
                }
                block
            })
            .collect()
    });
    let who = prop::sample::select(vec![
        Who::DoctorA,
        Who::DoctorC,
        Who::SecretaryForC,
        Who::Citizen,
        Who::System,
    ]);
    let override_reason = prop::sample::select(vec![None, Some("Akut")]);
    (any::<bool>(), blocks, who, override_reason).prop_map(
        |(opt_out, blocks, who, override_reason)| Situation {
            opt_out,
            blocks,
            who,
            override_reason,
        },
    )
}

/// The shared server of the property test (starting one per case would dominate its time).
struct Shared {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    stored: Stored,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (server, stored) = runtime.block_on(server_with_documents(Default::default()));
        Shared {
            runtime,
            server,
            stored,
        }
    })
}

/// Sets exactly these directives; returns them as the decision sees them.
async fn set_directives(server: &TestServer, situation: &Situation) -> Directives {
    let (_, current) = consent_call(server, "GET", "", None).await;
    for block in current["blocks"].as_array().unwrap() {
        let id = block["id"].as_str().unwrap();
        let (status, _) = consent_call(server, "DELETE", &format!("/blocks/{id}"), None).await;
        assert_eq!(status, 204);
    }
    consent_call(server, "DELETE", "/opt-out", None).await;
    if situation.opt_out {
        opt_out(server).await;
    }
    let mut blocks = Vec::new();
    for block in &situation.blocks {
        let id = add_block(server, block.clone()).await;
        blocks.push(
            consent::parse_block(&block.to_string())
                .unwrap()
                .with_id(BlockId(id)),
        );
    }
    Directives {
        opt_out: situation.opt_out.then(|| OptOut {
            since: OffsetDateTime::now_utc(),
        }),
        blocks,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    /// No withheld document is revealed by any stored query (either return type) or by a
    /// retrieval, and every allowed one is returned; the warning and the MinLog outcome say
    /// exactly when something was withheld.
    #[test]
    fn no_withheld_document_is_revealed_by_any_query_or_retrieval(situation in situations()) {
        let Shared { runtime, server, stored } = shared();
        runtime.block_on(async {
            let directives = set_directives(server, &situation).await;
            let override_ = situation.override_reason.map(|r| Override { reason: r.to_owned() });
            let visible: Vec<bool> = facts()
                .iter()
                .map(|facts| {
                    consent::decide(
                        &situation.who.accessor(),
                        PATIENT,
                        facts,
                        &directives,
                        override_.as_ref(),
                        OffsetDateTime::now_utc(),
                        &ConsentOptions::default(),
                    )
                    .is_visible()
                })
                .collect();
            let allowed: BTreeSet<String> =
                (0..3).filter(|i| visible[*i]).map(|i| UNIQUE_IDS[i].to_owned()).collect();
            let allowed_uuids: BTreeSet<&String> =
                (0..3).filter(|i| visible[*i]).map(|i| &stored.documents[i]).collect();
            let withheld_uuids: BTreeSet<&String> =
                (0..3).filter(|i| !visible[*i]).map(|i| &stored.documents[i]).collect();
            let any_visible = !allowed.is_empty();
            let context = format!("{situation:?} visible {visible:?}");

            for return_type in ["LeafClass", "ObjectRef"] {
                for (name, envelope) in every_query(stored, return_type) {
                    // A citizen may only run queries that name their own patient id (the role
                    // policy refuses the others before the registry is asked).
                    if situation.who == Who::Citizen && !envelope.contains(PATIENT_CX) {
                        continue;
                    }
                    let answer = query(server, situation.who, &envelope, situation.override_reason).await;
                    let shown = answer.ids();
                    let context = format!("{name} {return_type} {context}: {answer:?}");
                    for uuid in &withheld_uuids {
                        assert!(!shown.contains(*uuid), "withheld document revealed: {context}");
                    }
                    for container in [&stored.submission_set, &stored.folder] {
                        if !any_visible {
                            assert!(!shown.contains(container), "container of withheld documents revealed: {context}");
                        }
                    }
                    for object in &answer.objects {
                        if let Identifiable::Association(association) = object {
                            for end in [&association.source_object, &association.target_object] {
                                assert!(!withheld_uuids.contains(end), "association reveals a withheld document: {context}");
                            }
                        }
                    }
                    if name == "FindDocuments" || name == "GetDocuments" {
                        let documents: BTreeSet<&String> = shown.iter().filter(|id| stored.documents.contains(id)).collect();
                        assert_eq!(documents, allowed_uuids, "allowed documents missing: {context}");
                    }
                    if name == "FindDocuments" {
                        assert_eq!(answer.filtered(), !withheld_uuids.is_empty(), "warning: {context}");
                    }
                }
            }

            let retrieval = retrieve(server, situation.who, &UNIQUE_IDS, situation.override_reason).await;
            assert_eq!(retrieved(&retrieval), allowed, "ITI-43 {context}");
            let withheld: BTreeSet<String> =
                (0..3).filter(|i| !visible[*i]).map(|i| UNIQUE_IDS[i].to_owned()).collect();
            assert_eq!(blocked_locations(&retrieval), withheld, "ITI-43 {context}");
            let log = minlog(server).await;
            let expected_outcome = if withheld.is_empty() { "allowed" } else { "filtered" };
            assert_eq!(log[0]["action"], "retrieve", "{context}");
            assert_eq!(log[0]["outcome"], expected_outcome, "{context}");
            let logged: BTreeSet<String> = log[0]["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(logged, allowed, "{context}");
        });
    }
}

#[test]
fn the_document_table_matches_the_submission() {
    // The oracle's facts come from the module docs' table; check them against the metadata
    // actually submitted, so a change of the sample cannot silently weaken the property.
    let xml = submission();
    let mut seen = BTreeMap::new();
    for (index, id) in ["Document01", "Document02", "Document03"]
        .iter()
        .enumerate()
    {
        let start = xml.find(&format!(r#"id="{id}""#)).unwrap();
        let end = start + xml[start..].find("</rim:ExtrinsicObject>").unwrap();
        let entry = &xml[start..end];
        let facts = &facts()[index];
        assert!(entry.contains(&facts.author_institution_sors[0]), "{id}");
        let service = entry.contains("serviceStartTime");
        assert_eq!(service, facts.service_start.is_some(), "{id}");
        seen.insert(*id, service);
    }
    assert_eq!(seen.len(), 3);
}

//! MinLog completeness: a seeded random run of N accesses of every kind — registrations
//! (ITI-41, ITI-42), queries by professionals, citizens and systems (ITI-18), retrievals
//! (ITI-43), status updates (ITI-57) and deletes (ITI-62) — against the real binary, restarted
//! halfway, with the BRS receiver down until the end. Afterwards each patient's log holds
//! exactly one record per access that concerned them, and exactly the follow-ups the rules
//! order (a health professional's query or retrieval that returned documents) reach the
//! receiver, none lost (duplicates only as at-least-once allows, told apart by `event_id`).
//! Waits poll for a condition; nothing here measures time.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use identity::{CardRequest, DevSts, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use support::served::Served;
use support::{TestDatabase, base64_encode, sample, with_card};
use xds_model::message::Message;
use xds_model::rim::Identifiable;

const JENS: &str = "0101700013";
const KAREN: &str = "0201919990";
const DOCTOR: &str = "0804569723";
const NURSE: &str = "1502799995";
const REPOSITORY: &str = dds::config::REPOSITORY_UNIQUE_ID_DEFAULT;
const ACCESSES: usize = 36;
const WAIT_MAX: Duration = Duration::from_secs(120);
/// `pnr-single-apd.xml` (Jens) and `register-apd.xml` (Karen): the uniqueIds replaced by
/// fresh ones on every submission.
const PNR_DOCUMENT_UID: &str = "2.25.297860445735985469057769323429578268365";
const REGISTER_DOCUMENT_UID: &str = "2.25.273056530776893406633330744903243996367";
const SUBMISSION_SET_UNIQUE_ID_SCHEME: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";

struct Client {
    base: String,
    sts: DevSts,
    http: reqwest::Client,
}

impl Client {
    fn of(served: &Served, data: &Path) -> Client {
        Client {
            base: served.base.clone(),
            sts: DevSts::open_or_create(data).unwrap(),
            http: dds::http_client::builder().build().unwrap(),
        }
    }

    fn card(&self, role: Role, cpr: Option<&str>) -> String {
        let mut request = CardRequest::new(role);
        if role == Role::System {
            request.org_cvr = Some("33257872".into());
            request.it_system = Some("EPJ Test".into());
        } else {
            request.cpr = cpr.map(str::to_owned);
            request.org_sor = (role != Role::Citizen).then(|| "328081000016004".to_owned());
        }
        self.sts.issue(&request).unwrap()
    }

    /// Sends a SOAP request; the answer must be Success.
    async fn soap(&self, path: &str, envelope: &str, role: Role, cpr: Option<&str>) -> Message {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/soap+xml; charset=UTF-8")
            .body(with_card(envelope, &self.card(role, cpr)))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("ResponseStatusType:Success"), "{body}");
        decode_body(&body)
    }

    /// Every MinLog record of `cpr`, read as the citizen, page by page.
    async fn log(&self, cpr: &str) -> Vec<Value> {
        let card = self.card(Role::Citizen, Some(cpr));
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/minlog/v1/patients/{cpr}/entries?limit=50", self.base);
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let response = self
                .http
                .get(url)
                .header(
                    "authorization",
                    format!("SAML {}", base64_encode(card.as_bytes())),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let page: Value = response.json().await.unwrap();
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    async fn pending_followups(&self) -> usize {
        let card = self.card(Role::Admin, Some(JENS));
        let response = self
            .http
            .get(format!(
                "{}/admin/v1/outbox?state=pending&limit=500",
                self.base
            ))
            .header(
                "authorization",
                format!("SAML {}", base64_encode(card.as_bytes())),
            )
            .send()
            .await
            .unwrap();
        let page: Value = response.json().await.unwrap();
        page["items"].as_array().unwrap().len()
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

fn query(patient: &str, query_id: &str, return_type: &str) -> String {
    let patient_slot = if query_id == xds_model::vocabulary::stored_query::GET_ALL {
        "$patientId"
    } else {
        "$XDSDocumentEntryPatientId"
    };
    let approved = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";
    let extra = if patient_slot == "$patientId" {
        format!(
            r#"<rim:Slot name="$XDSSubmissionSetStatus"><rim:ValueList><rim:Value>{approved}</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="$XDSFolderStatus"><rim:ValueList><rim:Value>{approved}</rim:Value></rim:ValueList></rim:Slot>"#
        )
    } else {
        String::new()
    };
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID></soap:Header>
<soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
<query:ResponseOption returnComposedObjects="true" returnType="{return_type}"/>
<rim:AdhocQuery id="{query_id}">
<rim:Slot name="{patient_slot}"><rim:ValueList><rim:Value>'{patient}^^^&amp;1.2.208.176.1.2&amp;ISO'</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>{approved}</rim:Value></rim:ValueList></rim:Slot>{extra}
</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>"#,
        uuid::Uuid::new_v4()
    )
}

fn retrieve(unique_id: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID></soap:Header>
<soap:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPOSITORY}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{unique_id}</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest></soap:Body></soap:Envelope>"#,
        uuid::Uuid::new_v4()
    )
}

fn fresh_unique_id(rng: &mut StdRng) -> String {
    format!("2.25.{}", rng.random::<u64>())
}

/// The value of the ExternalIdentifier with `scheme` in `xml`.
fn identifier(xml: &str, scheme: &str) -> String {
    let at = xml
        .find(&format!(r#"identificationScheme="{scheme}""#))
        .unwrap();
    let value = at + xml[at..].find(r#"value=""#).unwrap() + r#"value=""#.len();
    xml[value..value + xml[value..].find('"').unwrap()].to_owned()
}

/// A submission with fresh document and SubmissionSet uniqueIds.
fn with_fresh_unique_ids(xml: &str, document_uid: &str, rng: &mut StdRng) -> (String, String) {
    let new_document = fresh_unique_id(rng);
    let old_set = identifier(xml, SUBMISSION_SET_UNIQUE_ID_SCHEME);
    let xml = xml
        .replace(document_uid, &new_document)
        .replace(&old_set, &fresh_unique_id(rng));
    (xml, new_document)
}

/// The ITI-57 sample deprecating `target` (a DocumentEntry entryUUID): every other id in it
/// fresh, so it can be sent many times.
fn deprecate(target: &str, rng: &mut StdRng) -> String {
    let xml = sample("iti-57/update-availability-status.xml");
    let sample_target = "urn:uuid:728c4dc6-820e-523c-94f8-e98c32b1ef67";
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut rest = xml.as_str();
    while let Some(at) = rest.find("urn:uuid:") {
        let id = &rest[at..at + "urn:uuid:".len() + 36];
        ids.insert(id.to_owned());
        rest = &rest[at + id.len()..];
    }
    let mut out = xml.clone();
    for id in ids {
        let is_vocabulary = !xml.contains(&format!(r#"id="{id}""#)) && id != sample_target;
        if is_vocabulary {
            continue; // classification schemes and the like stay as they are
        }
        let replacement = if id == sample_target {
            target.to_owned()
        } else {
            format!("urn:uuid:{}", uuid::Uuid::from_u128(rng.random()))
        };
        out = out.replace(&id, &replacement);
    }
    let old_set = identifier(&out, SUBMISSION_SET_UNIQUE_ID_SCHEME);
    out.replace(&old_set, &fresh_unique_id(rng))
}

fn delete(entry_uuids: &[String]) -> String {
    let refs: String = entry_uuids
        .iter()
        .map(|id| format!(r#"<rim:ObjectRef id="{id}"/>"#))
        .collect();
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2010:DeleteDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID></soap:Header>
<soap:Body><lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:ObjectRefList>{refs}</rim:ObjectRefList></lcm:RemoveObjectsRequest></soap:Body></soap:Envelope>"#,
        uuid::Uuid::new_v4()
    )
}

/// (entryUUID, uniqueId) of the DocumentEntries of a query answer.
fn entries(message: &Message) -> Vec<(String, String)> {
    let Message::AdhocQueryResponse(response) = message else {
        panic!("not a query answer: {message:?}");
    };
    response
        .registry_object_list
        .objects
        .iter()
        .filter_map(|o| match o {
            Identifiable::ExtrinsicObject(entry) => Some((
                entry.object.id.clone(),
                xds_model::xds::DocumentEntry::from_rim(entry)
                    .ok()?
                    .unique_id?
                    .value,
            )),
            _ => None,
        })
        .collect()
}

/// What the run expects: records per patient, follow-ups in all.
#[derive(Default)]
struct Expected {
    records: BTreeMap<&'static str, usize>,
    followups: usize,
}

impl Expected {
    fn access(&mut self, patient: &'static str, followup: bool) {
        *self.records.entry(patient).or_default() += 1;
        if followup {
            self.followups += 1;
        }
    }
}

async fn receive(State(seen): State<Arc<Mutex<Vec<Value>>>>, body: String) -> StatusCode {
    seen.lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());
    StatusCode::OK
}

fn reserve_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// One random access; updates what is expected.
async fn one_access(
    client: &Client,
    rng: &mut StdRng,
    expected: &mut Expected,
    jens_documents: &mut Vec<String>,
) {
    use xds_model::vocabulary::stored_query::{FIND_DOCUMENTS, GET_ALL};
    match rng.random_range(0..8) {
        0 => {
            let (xml, uid) =
                with_fresh_unique_ids(&sample("iti-41/pnr-single-apd.xml"), PNR_DOCUMENT_UID, rng);
            client
                .soap("/xds/repository", &xml, Role::System, None)
                .await;
            jens_documents.push(uid);
            expected.access(JENS, false);
        }
        1 => {
            let (xml, _) = with_fresh_unique_ids(
                &sample("iti-42/register-apd.xml"),
                REGISTER_DOCUMENT_UID,
                rng,
            );
            client.soap("/xds/registry", &xml, Role::System, None).await;
            expected.access(KAREN, false);
        }
        2 => {
            let answer = client
                .soap(
                    "/xds/registry",
                    &query(JENS, FIND_DOCUMENTS, "LeafClass"),
                    Role::Doctor,
                    Some(DOCTOR),
                )
                .await;
            expected.access(JENS, !entries(&answer).is_empty());
        }
        3 => {
            client
                .soap(
                    "/xds/registry",
                    &query(JENS, FIND_DOCUMENTS, "ObjectRef"),
                    Role::Citizen,
                    Some(JENS),
                )
                .await;
            expected.access(JENS, false);
        }
        4 => {
            let answer = client
                .soap(
                    "/xds/registry",
                    &query(KAREN, FIND_DOCUMENTS, "ObjectRef"),
                    Role::System,
                    None,
                )
                .await;
            drop(answer);
            expected.access(KAREN, false);
        }
        5 if !jens_documents.is_empty() => {
            let uid = jens_documents[rng.random_range(0..jens_documents.len())].clone();
            client
                .soap("/xds/repository", &retrieve(&uid), Role::Nurse, Some(NURSE))
                .await;
            expected.access(JENS, true);
        }
        6 if !jens_documents.is_empty() => {
            // Find the entryUUID (a citizen's query: logged too), then deprecate it.
            let answer = client
                .soap(
                    "/xds/registry",
                    &query(JENS, FIND_DOCUMENTS, "LeafClass"),
                    Role::Citizen,
                    Some(JENS),
                )
                .await;
            expected.access(JENS, false);
            let index = rng.random_range(0..jens_documents.len());
            let uid = jens_documents.remove(index);
            let (entry_uuid, _) = entries(&answer)
                .into_iter()
                .find(|(_, u)| *u == uid)
                .unwrap();
            client
                .soap(
                    "/xds/registry",
                    &deprecate(&entry_uuid, rng),
                    Role::System,
                    None,
                )
                .await;
            expected.access(JENS, false);
        }
        7 => {
            // Everything of Karen's, found by her own query (logged), then deleted.
            let answer = client
                .soap(
                    "/xds/registry",
                    &query(KAREN, GET_ALL, "ObjectRef"),
                    Role::Citizen,
                    Some(KAREN),
                )
                .await;
            expected.access(KAREN, false);
            let Message::AdhocQueryResponse(response) = answer else {
                panic!("not a query answer");
            };
            let ids: Vec<String> = response
                .registry_object_list
                .objects
                .iter()
                .map(|o| o.id().to_owned())
                .collect();
            if !ids.is_empty() {
                client
                    .soap("/xds/registry", &delete(&ids), Role::System, None)
                    .await;
                expected.access(KAREN, false);
            }
        }
        _ => {
            // A doctor's query that finds nothing of Karen's yet or finds something: both
            // are accesses; a follow-up only when documents came back.
            let answer = client
                .soap(
                    "/xds/registry",
                    &query(KAREN, FIND_DOCUMENTS, "LeafClass"),
                    Role::Doctor,
                    Some(DOCTOR),
                )
                .await;
            expected.access(KAREN, !entries(&answer).is_empty());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_is_logged_once_and_every_followup_arrives() {
    let data = tempfile::tempdir().unwrap();
    let brs_addr = reserve_address();
    let brs_url = format!("http://{brs_addr}/brs");
    let database = TestDatabase::new().await;
    let args = database.serve_args(&["--brs-url", brs_url.as_str()]);
    let mut rng = StdRng::seed_from_u64(20261125);
    let mut expected = Expected::default();
    let mut jens_documents = Vec::new();

    let mut served = Served::start_with_args(data.path(), &args);
    let client = Client::of(&served, data.path());
    for _ in 0..ACCESSES / 2 {
        one_access(&client, &mut rng, &mut expected, &mut jens_documents).await;
    }
    // Restart while follow-ups wait for the receiver that is down.
    assert!(served.terminate().success(), "SIGTERM exits 0");
    let served = Served::start_with_args(data.path(), &args);
    let client = Client::of(&served, data.path());
    for _ in ACCESSES / 2..ACCESSES {
        one_access(&client, &mut rng, &mut expected, &mut jens_documents).await;
    }

    let mut actions = BTreeSet::new();
    for (patient, count) in &expected.records {
        let log = client.log(patient).await;
        assert_eq!(log.len(), *count, "records of {patient}: {log:#?}");
        actions.extend(log.iter().map(|e| e["action"].as_str().unwrap().to_owned()));
    }
    assert_eq!(
        actions,
        ["delete", "query", "register", "retrieve", "update"]
            .map(str::to_owned)
            .into(),
        "the seeded run covers every kind of access"
    );
    let total: usize = expected.records.values().sum();
    assert!(total >= ACCESSES, "every access concerned a patient");
    assert!(expected.followups > 0, "the run ordered follow-ups");

    // The receiver comes up: every follow-up arrives, none lost.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = loop {
        if let Ok(listener) = tokio::net::TcpListener::bind(brs_addr).await {
            break listener;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let app = axum::Router::new()
        .route("/brs", axum::routing::post(receive))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    while client.pending_followups().await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered: BTreeSet<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        delivered.len(),
        expected.followups,
        "distinct follow-ups delivered"
    );
}

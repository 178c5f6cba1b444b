//! Two real services talking SOAP to each other: a national service (`--role all`) that knows a
//! decentral repository (`--role repository`, registering with the national registry) through
//! `[[repositories]]`. ITI-41 at the repository registers over ITI-42; ITI-43 at the national
//! service is forwarded to the repository; failures of the other side become per-document
//! errors or `XDSRegistryNotAvailable`, never lost or half-stored documents. Plus the route
//! split per role, the part-count limit and the start-up garbage collection.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dds::config::{Role as ServiceRole, ServeFlags};
use identity::Role;
use sha1::{Digest, Sha1};
use soap::{ContentId, ContentType, Event, MultipartLimits, MultipartReader};
use support::{TestServer, sample, with_card};
use xds_model::message::{DocumentContent, RegistryError, RetrieveDocumentSetResponse};

/// The national service's own repository (the development default).
const NATIONAL_ID: &str = "1.2.208.176.43210.8.10.11";
/// The decentral repository.
const DECENTRAL_ID: &str = "1.2.208.176.43210.8.20.11";
const UNKNOWN_REPOSITORY_ID: &str = "1.2.208.176.43210.8.99";
/// The document of `iti-41/pnr-single-apd.xml`.
const EKKO_UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const EKKO_SUBMISSION_SET_UNIQUE_ID: &str = "2.25.243302165721734177445832697440015941117";
/// The same document stored at the national service under another uniqueId.
const LOCAL_UNIQUE_ID: &str = "2.25.1000000000000000000000000000000000001";
const DOCTOR_CPR: &str = "0804569723";

const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
const PARTIAL: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
const SOAP: &str = "application/soap+xml; charset=UTF-8";

fn bind() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

fn url(listener: &std::net::TcpListener, path: &str) -> String {
    format!("http://{}{path}", listener.local_addr().unwrap())
}

/// A port nothing listens on.
fn closed_port_url(path: &str) -> String {
    let listener = bind();
    let url = url(&listener, path);
    drop(listener);
    url
}

/// The national service and the decentral repository, each trusting the other's development
/// STS. `national_toml` and `decentral_toml` are extra config lines.
async fn national_and_decentral(
    national_toml: &str,
    decentral_toml: &str,
) -> (TestServer, TestServer) {
    let (national_data, decentral_data) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    identity::DevSts::open_or_create(national_data.path()).unwrap();
    identity::DevSts::open_or_create(decentral_data.path()).unwrap();
    let (national_listener, decentral_listener) = (bind(), bind());
    let national_config = format!(
        "trusted_sts_certs = [{decentral_cert:?}]\n{national_toml}\n\
         [[repositories]]\nunique_id = \"{DECENTRAL_ID}\"\nurl = \"{decentral_url}\"\n",
        decentral_cert = decentral_data.path().join(identity::STS_CERT_FILE),
        decentral_url = url(&decentral_listener, "/xds/repository"),
    );
    let decentral_config = format!(
        "role = \"repository\"\nrepository_unique_id = \"{DECENTRAL_ID}\"\n\
         registry_url = \"{registry_url}\"\ntrusted_sts_certs = [{national_cert:?}]\n\
         [system_card]\ncvr = \"25450442\"\nit_system = \"Decentral repository\"\n{decentral_toml}\n",
        registry_url = url(&national_listener, "/xds/registry"),
        national_cert = national_data.path().join(identity::STS_CERT_FILE),
    );
    let national = TestServer::start_on(
        national_data,
        national_listener,
        &national_config,
        ServeFlags::default(),
    )
    .await;
    let decentral = TestServer::start_on(
        decentral_data,
        decentral_listener,
        &decentral_config,
        ServeFlags::default(),
    )
    .await;
    (national, decentral)
}

fn sample_bytes(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples")
            .join(path),
    )
    .unwrap()
}

fn ekko_bytes() -> Vec<u8> {
    sample_bytes("documents/apd-0101700013-ekkokardiografi.xml")
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

async fn post(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let response = server
        .http
        .post(format!("{}{path}", server.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// ITI-41 of the sample (plain SOAP) with a system card of the server's own STS, the XML edited
/// by `edit`; answers the HTTP status and the body.
async fn provide(server: &TestServer, edit: impl FnOnce(String) -> String) -> (u16, String) {
    let envelope = with_card(
        &edit(sample("iti-41/pnr-single-apd.xml")),
        &server.card(Role::System, None),
    );
    let (status, _, body) = post(server, "/xds/repository", SOAP, envelope.into_bytes()).await;
    (status, String::from_utf8(body).unwrap())
}

/// The sample under another document and SubmissionSet uniqueId.
fn as_local_copy(xml: String) -> String {
    xml.replace(EKKO_UNIQUE_ID, LOCAL_UNIQUE_ID).replace(
        EKKO_SUBMISSION_SET_UNIQUE_ID,
        "2.25.1000000000000000000000000000000000002",
    )
}

fn retrieve_envelope(requests: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (repository, document) in requests {
        body.push_str(&format!(
            "<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{repository}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{document}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>"
        ));
    }
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:0b0c5f3e-1111-4222-8333-944455556666</wsa:MessageID></soap:Header>
<soap:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">{body}</xdsb:RetrieveDocumentSetRequest></soap:Body></soap:Envelope>"#
    )
}

fn retrieve_response(root: &str) -> RetrieveDocumentSetResponse {
    let start = root
        .find("<xdsb:RetrieveDocumentSetResponse")
        .unwrap_or_else(|| panic!("{root}"));
    let end_tag = "</xdsb:RetrieveDocumentSetResponse>";
    let end = root.find(end_tag).unwrap() + end_tag.len();
    RetrieveDocumentSetResponse::parse(&root.as_bytes()[start..end]).unwrap()
}

fn split_mtom(content_type: &str, body: &[u8]) -> (String, Vec<(ContentId, Vec<u8>)>) {
    let ContentType::Multipart(related) = ContentType::parse(content_type).unwrap() else {
        panic!("not multipart: {content_type}");
    };
    let mut reader = MultipartReader::new(
        &related.boundary,
        related.start.clone(),
        MultipartLimits::default(),
    )
    .unwrap();
    let (mut root, mut parts) = (Vec::new(), Vec::<(ContentId, Vec<u8>)>::new());
    let mut in_root = false;
    let mut feed = reader.feed(body);
    while let Some(event) = feed.next_event().unwrap() {
        match event {
            Event::PartStart(start) => {
                in_root = start.is_root;
                if !in_root {
                    parts.push((start.headers.content_id.unwrap(), Vec::new()));
                }
            }
            Event::PartData(bytes) if in_root => root.extend_from_slice(bytes),
            Event::PartData(bytes) => parts.last_mut().unwrap().1.extend_from_slice(bytes),
            Event::PartEnd | Event::End => {}
        }
    }
    reader.finish().unwrap();
    (String::from_utf8(root).unwrap(), parts)
}

/// ITI-43 as plain SOAP (inline answer) and as MTOM (streamed answer), which must agree;
/// answers the response and each returned document's bytes.
async fn retrieve(
    server: &TestServer,
    card: &str,
    requests: &[(&str, &str)],
) -> (RetrieveDocumentSetResponse, Vec<Vec<u8>>) {
    let envelope = with_card(&retrieve_envelope(requests), card);
    let (status, _, body) = post(
        server,
        "/xds/repository",
        SOAP,
        envelope.clone().into_bytes(),
    )
    .await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{body}");
    let inline = retrieve_response(&body);
    let inline_bytes: Vec<Vec<u8>> = inline
        .document_responses
        .iter()
        .map(|d| match &d.document {
            DocumentContent::Inline(bytes) => bytes.clone(),
            other => panic!("inline expected: {other:?}"),
        })
        .collect();

    let writer = soap::MtomWriter::from_id("remote-test").unwrap();
    let content_type = writer
        .content_type("urn:ihe:iti:2007:RetrieveDocumentSet")
        .unwrap();
    let mut mtom_body = writer.head(envelope.as_bytes()).unwrap();
    mtom_body.extend(writer.tail());
    let (status, response_type, body) =
        post(server, "/xds/repository", &content_type, mtom_body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (root, parts) = split_mtom(&response_type, &body);
    let streamed = retrieve_response(&root);
    let streamed_bytes: Vec<Vec<u8>> = streamed
        .document_responses
        .iter()
        .map(|d| match &d.document {
            DocumentContent::Include { href } => {
                let id = ContentId::from_cid_url(href).unwrap();
                parts.iter().find(|(c, _)| *c == id).unwrap().1.clone()
            }
            other => panic!("xop:Include expected: {other:?}"),
        })
        .collect();
    assert_eq!(streamed.registry_response, inline.registry_response);
    assert_eq!(
        streamed_bytes, inline_bytes,
        "MTOM and inline answers agree"
    );
    (inline, inline_bytes)
}

fn errors(response: &RetrieveDocumentSetResponse) -> Vec<RegistryError> {
    response
        .registry_response
        .errors
        .iter()
        .flat_map(|l| l.errors.iter().cloned())
        .collect()
}

fn codes(response: &RetrieveDocumentSetResponse) -> Vec<String> {
    errors(response).into_iter().map(|e| e.error_code).collect()
}

/// The `rs:RegistryError`s of a RegistryResponse envelope.
fn registry_errors(envelope: &str) -> Vec<RegistryError> {
    let start = envelope
        .find("<rs:RegistryResponse")
        .unwrap_or_else(|| panic!("{envelope}"));
    let end_tag = "</rs:RegistryResponse>";
    let end = envelope
        .find(end_tag)
        .map(|e| e + end_tag.len())
        .unwrap_or_else(|| {
            // A response without errors closes itself.
            envelope[start..].find("/>").unwrap() + start + 2
        });
    xds_model::message::RegistryResponse::parse(&envelope.as_bytes()[start..end])
        .unwrap()
        .errors
        .map(|l| l.errors)
        .unwrap_or_default()
}

/// Every file under `DATA/documents/sha1`, and the number under `tmp`.
fn stored(data: &Path) -> (Vec<PathBuf>, usize) {
    let mut files = Vec::new();
    let mut dirs = vec![data.join("documents/sha1")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let tmp = std::fs::read_dir(data.join("documents/tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    (files, tmp)
}

/// The patient's MinLog entries at `server`, read with the patient's own card.
async fn minlog(server: &TestServer, cpr: &str) -> Vec<serde_json::Value> {
    let card = server.card(Role::Citizen, Some(cpr));
    let response = server
        .http
        .get(format!(
            "{}/minlog/v1/patients/{cpr}/entries?limit=100",
            server.base
        ))
        .header(
            "authorization",
            format!("SAML {}", support::base64_encode(card.as_bytes())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page: serde_json::Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Waits (generously) until nothing accepts connections at `base` any more.
async fn wait_until_closed(base: &str) {
    let addr = base.trim_start_matches("http://").to_owned();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} still accepts connections");
}

#[tokio::test]
async fn the_national_service_forwards_retrieval_to_the_decentral_repository() {
    let (national, decentral) = national_and_decentral("", "").await;

    // ITI-41 at the decentral repository: stored there, registered at the national registry.
    let (status, body) = provide(&decentral, |x| x).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(SUCCESS), "{body}");
    let (decentral_files, decentral_tmp) = stored(decentral.data_dir());
    assert_eq!(decentral_files.len(), 1);
    assert_eq!(decentral_tmp, 0);
    assert!(
        stored(national.data_dir()).0.is_empty(),
        "the bytes stay decentral"
    );
    // The registry's MinLog names the source that registered (its card travelled along in
    // dds:OriginalCaller), not the repository that forwarded the registration.
    let registrations: Vec<serde_json::Value> = minlog(&national, "0101700013")
        .await
        .into_iter()
        .filter(|e| e["action"] == "register")
        .collect();
    assert_eq!(registrations.len(), 1, "{registrations:?}");
    assert_eq!(
        registrations[0]["user"]["organisation"]["cvr"], "33257872",
        "{registrations:?}"
    );

    // ITI-43 at the national service naming the decentral repository: forwarded, same bytes.
    let doctor = national.card(Role::Doctor, Some(DOCTOR_CPR));
    let (response, bytes) = retrieve(&national, &doctor, &[(DECENTRAL_ID, EKKO_UNIQUE_ID)]).await;
    assert_eq!(
        response.registry_response.status,
        SUCCESS,
        "{:?}",
        errors(&response)
    );
    assert_eq!(
        response.document_responses[0].repository_unique_id,
        DECENTRAL_ID
    );
    assert_eq!(response.document_responses[0].mime_type, "text/xml");
    assert_eq!(sha1_hex(&bytes[0]), sha1_hex(&ekko_bytes()));
    assert_eq!(bytes[0], ekko_bytes());
    assert_eq!(
        stored(national.data_dir()).1,
        0,
        "spooled remote documents are gone"
    );

    // The same doctor at the decentral repository directly: it asks the national registry with
    // the doctor's card.
    let (response, bytes) = retrieve(&decentral, &doctor, &[(DECENTRAL_ID, EKKO_UNIQUE_ID)]).await;
    assert_eq!(
        response.registry_response.status,
        SUCCESS,
        "{:?}",
        errors(&response)
    );
    assert_eq!(bytes, vec![ekko_bytes()]);
    // The registry saw the doctor, not the repository: its MinLog has the doctor's look-ups.
    let doctor_queries = minlog(&national, "0101700013")
        .await
        .into_iter()
        .filter(|e| e["action"] == "query" && e["user"]["role"] == "doctor")
        .count();
    assert!(
        doctor_queries >= 1,
        "the look-up went with the doctor's card"
    );

    // A document of the national service's own, then a mixed request.
    let (status, body) = provide(&national, as_local_copy).await;
    assert!(status == 200 && body.contains(SUCCESS), "{body}");
    let (response, bytes) = retrieve(
        &national,
        &doctor,
        &[
            (NATIONAL_ID, LOCAL_UNIQUE_ID),
            (DECENTRAL_ID, EKKO_UNIQUE_ID),
            (DECENTRAL_ID, "2.25.42"),
            (UNKNOWN_REPOSITORY_ID, "2.25.43"),
        ],
    )
    .await;
    assert_eq!(response.registry_response.status, PARTIAL);
    assert_eq!(
        codes(&response),
        ["XDSDocumentUniqueIdError", "XDSUnknownRepositoryId"]
    );
    assert_eq!(errors(&response)[0].location.as_deref(), Some("2.25.42"));
    let returned: Vec<(&str, &str)> = response
        .document_responses
        .iter()
        .map(|d| {
            (
                d.repository_unique_id.as_str(),
                d.document_unique_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        returned,
        [
            (NATIONAL_ID, LOCAL_UNIQUE_ID),
            (DECENTRAL_ID, EKKO_UNIQUE_ID)
        ]
    );
    assert_eq!(bytes, vec![ekko_bytes(), ekko_bytes()]);

    // Only an unknown repository: XDSUnknownRepositoryId, Failure, still HTTP 200.
    let (response, _) = retrieve(&national, &doctor, &[(UNKNOWN_REPOSITORY_ID, "2.25.43")]).await;
    assert_eq!(response.registry_response.status, FAILURE);
    assert_eq!(codes(&response), ["XDSUnknownRepositoryId"]);

    // Damage at the decentral repository (same size, other bytes): the national service checks
    // the registered hash and does not pass the bytes on.
    let file = &decentral_files[0];
    let mut damaged = std::fs::read(file).unwrap();
    damaged[0] ^= 0x01;
    std::fs::write(file, &damaged).unwrap();
    let (response, bytes) = retrieve(&national, &doctor, &[(DECENTRAL_ID, EKKO_UNIQUE_ID)]).await;
    assert_eq!(response.registry_response.status, FAILURE);
    assert_eq!(codes(&response), ["XDSRepositoryError"]);
    assert!(bytes.is_empty());
    std::fs::write(file, ekko_bytes()).unwrap();

    // The decentral repository stops: its documents get an error each, the rest is served.
    let decentral_base = decentral.base.clone();
    drop(decentral);
    wait_until_closed(&decentral_base).await;
    let (response, bytes) = retrieve(
        &national,
        &doctor,
        &[
            (NATIONAL_ID, LOCAL_UNIQUE_ID),
            (DECENTRAL_ID, EKKO_UNIQUE_ID),
        ],
    )
    .await;
    assert_eq!(response.registry_response.status, PARTIAL);
    assert_eq!(codes(&response), ["XDSRepositoryError"]);
    assert_eq!(
        errors(&response)[0].location.as_deref(),
        Some(EKKO_UNIQUE_ID)
    );
    assert_eq!(bytes, vec![ekko_bytes()]);
    let (response, _) = retrieve(&national, &doctor, &[(DECENTRAL_ID, EKKO_UNIQUE_ID)]).await;
    assert_eq!(response.registry_response.status, FAILURE);
    assert_eq!(codes(&response), ["XDSRepositoryError"]);
}

#[tokio::test]
async fn a_silent_repository_costs_a_per_document_error_after_its_timeout() {
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/xds/repository", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            connections.push(connection);
        }
    });
    let silent_id = "1.2.208.176.43210.8.30.11";
    let data = tempfile::tempdir().unwrap();
    let national = TestServer::start_on(
        data,
        bind(),
        &format!(
            "remote_timeout_seconds = 600\n[[repositories]]\nunique_id = \"{silent_id}\"\nurl = \"{silent_url}\"\ntimeout_seconds = 1\n"
        ),
        ServeFlags::default(),
    )
    .await;
    // The silent repository's document is registered (ITI-42 straight to the registry).
    let register = sample("iti-42/register-apd.xml").replace(
        "<rim:Value>1.2.208.176.43210.8.10.11</rim:Value>",
        &format!("<rim:Value>{silent_id}</rim:Value>"),
    );
    let (status, _, body) = post(
        &national,
        "/xds/registry",
        SOAP,
        with_card(&register, &national.card(Role::System, None)).into_bytes(),
    )
    .await;
    let body = String::from_utf8(body).unwrap();
    assert!(status == 200 && body.contains(SUCCESS), "{body}");

    let doctor = national.card(Role::Doctor, Some(DOCTOR_CPR));
    let started = std::time::Instant::now();
    let (response, bytes) = tokio::time::timeout(
        Duration::from_secs(60),
        retrieve(
            &national,
            &doctor,
            &[(silent_id, "2.25.273056530776893406633330744903243996367")],
        ),
    )
    .await
    .expect("the per-repository timeout ends the wait");
    assert_eq!(response.registry_response.status, FAILURE);
    assert_eq!(codes(&response), ["XDSRepositoryError"]);
    assert!(bytes.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the repository's own timeout applies, not the service-wide one"
    );
    held.abort();
}

#[tokio::test]
async fn registry_failure_is_passed_on_unchanged_and_nothing_is_stored() {
    let (national, decentral) = national_and_decentral("patient_policy = \"known\"", "").await;
    let (status, body) = provide(&decentral, |x| x).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(FAILURE), "{body}");
    let from_decentral = registry_errors(&body);
    assert!(!from_decentral.is_empty(), "{body}");
    assert!(
        from_decentral
            .iter()
            .all(|e| e.error_code == "XDSUnknownPatientId"),
        "{body}"
    );
    // Exactly what the registry answers for the same submission.
    let (status, body) = provide(&national, |x| x).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(registry_errors(&body), from_decentral);
    let (files, tmp) = stored(decentral.data_dir());
    assert!(files.is_empty(), "{files:?}");
    assert_eq!(tmp, 0);
}

#[tokio::test]
async fn unreachable_registry_is_registry_not_available_and_nothing_is_stored() {
    let data = tempfile::tempdir().unwrap();
    let decentral = TestServer::start_on(
        data,
        bind(),
        &format!(
            "role = \"repository\"\nrepository_unique_id = \"{DECENTRAL_ID}\"\nregistry_url = \"{}\"\n",
            closed_port_url("/xds/registry")
        ),
        ServeFlags::default(),
    )
    .await;
    let (status, body) = provide(&decentral, |x| x).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(FAILURE), "{body}");
    let errors = registry_errors(&body);
    assert_eq!(
        errors
            .iter()
            .map(|e| e.error_code.as_str())
            .collect::<Vec<_>>(),
        ["XDSRegistryNotAvailable"]
    );
    let (files, tmp) = stored(decentral.data_dir());
    assert!(files.is_empty(), "{files:?}");
    assert_eq!(tmp, 0);
}

#[tokio::test]
async fn each_role_serves_only_its_routes() {
    async fn status(server: &TestServer, method: reqwest::Method, path: &str) -> u16 {
        server
            .http
            .request(method, format!("{}{path}", server.base))
            .header("content-type", SOAP)
            .body("")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
    use reqwest::Method;
    let registry = TestServer::start_with(ServeFlags {
        role: Some(ServiceRole::Registry),
        ..ServeFlags::default()
    })
    .await;
    let repository = TestServer::start_with(ServeFlags {
        role: Some(ServiceRole::Repository),
        registry_url: Some(format!("{}/xds/registry", registry.base)),
        ..ServeFlags::default()
    })
    .await;
    let all = TestServer::start().await;

    for server in [&registry, &repository, &all] {
        assert_eq!(status(server, Method::GET, "/healthz").await, 200);
        assert_eq!(status(server, Method::GET, "/no/such/route").await, 404);
    }
    // The SOAP endpoints answer a fault for the empty body when they are there.
    assert_eq!(status(&registry, Method::POST, "/xds/registry").await, 400);
    assert_eq!(
        status(&registry, Method::POST, "/xds/repository").await,
        404
    );
    assert_eq!(
        status(&repository, Method::POST, "/xds/repository").await,
        400
    );
    assert_eq!(
        status(&repository, Method::POST, "/xds/registry").await,
        404
    );
    assert_eq!(status(&all, Method::POST, "/xds/registry").await, 400);
    assert_eq!(status(&all, Method::POST, "/xds/repository").await, 400);
    // The JSON APIs belong to the registry side.
    for path in [
        "/consent/v1/patients/0101700013",
        "/minlog/v1/patients/0101700013/entries",
        "/admin/v1/rejected",
    ] {
        assert_eq!(status(&repository, Method::GET, path).await, 404, "{path}");
        assert_ne!(status(&registry, Method::GET, path).await, 404, "{path}");
    }
}

#[tokio::test]
async fn too_many_mime_parts_is_413_and_stores_nothing() {
    let server = TestServer::start_with(ServeFlags {
        multipart_parts_max: Some(1),
        ..ServeFlags::default()
    })
    .await;
    let content_type = sample("iti-41/pnr-single-apd-mtom.content-type");
    let body = sample_bytes("iti-41/pnr-single-apd-mtom.multipart");
    let marker = b"<soap:Header>";
    let at = body
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap()
        + marker.len();
    let header = identity::security_header(
        &server.card(Role::System, None),
        time::OffsetDateTime::now_utc(),
    );
    let body = [&body[..at], header.as_bytes(), &body[at..]].concat();
    let (status, _, answer) = post(&server, "/xds/repository", content_type.trim(), body).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&answer));
    let (files, tmp) = stored(server.data_dir());
    assert!(files.is_empty());
    assert_eq!(tmp, 0);
}

#[tokio::test]
async fn start_removes_old_unreferenced_document_files() {
    let data = tempfile::tempdir().unwrap();
    let place = |bytes: &[u8], age: Duration| {
        let sha1 = sha1_hex(bytes);
        let path = data
            .path()
            .join("documents/sha1")
            .join(&sha1[0..2])
            .join(&sha1[2..4])
            .join(&sha1);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - age)
            .unwrap();
        path
    };
    let old = place(
        b"left behind by a crash long ago",
        Duration::from_secs(7200),
    );
    let young = place(b"a registration may still be running", Duration::ZERO);
    let server = TestServer::start_on(
        data,
        bind(),
        "gc_grace_seconds = 3600\n",
        ServeFlags::default(),
    )
    .await;
    for _ in 0..200 {
        if !old.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!old.exists(), "the old unreferenced file is collected");
    assert!(young.exists(), "a file within the grace period is kept");
    // (Referenced files are kept however old: repository/tests/flows.rs.)
    drop(server);
}

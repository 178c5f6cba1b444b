//! The repository endpoint over a real socket: ITI-41 (inline and MTOM) then ITI-43 (inline and
//! streamed MTOM) with signed ID cards; the negative cases; idempotent re-submission.

use std::path::{Path, PathBuf};

use dds::config::{Config, ServeFlags};
use dds::serve::Server;
use identity::{CardRequest, DevSts, Role};
use sha1::{Digest, Sha1};
use soap::{ContentId, ContentType, Event, MultipartLimits, MultipartReader};
use time::OffsetDateTime;
use xds_model::message::{DocumentContent, RetrieveDocumentSetResponse};

const REPOSITORY_UNIQUE_ID: &str = "1.2.208.176.43210.8.10.11";
const EKKO_UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const EKKO_PATIENT: &str = "0101700013";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
const PARTIAL: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
const SUBMISSION_SET_UNIQUE_ID: &str = "2.25.243302165721734177445832697440015941117";

struct TestServer {
    data: tempfile::TempDir,
    base: String,
    sts: DevSts,
    http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    async fn start() -> TestServer {
        Self::start_with("").await
    }

    /// With extra `dds.toml` lines.
    async fn start_with(config_toml: &str) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let config_path = data.path().join("dds.toml");
        std::fs::write(&config_path, config_toml).unwrap();
        let config = Config::load(ServeFlags {
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.path().to_owned()),
            config: Some(config_path),
            ..ServeFlags::default()
        })
        .unwrap();
        let server = Server::start(config).await.unwrap();
        let base = format!("http://{}", server.local_addr());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve_until(async {
            let _ = stop.await;
        }));
        let sts = DevSts::open_or_create(data.path()).unwrap();
        TestServer {
            data,
            base,
            sts,
            http: dds::http_client::builder().build().unwrap(),
            shutdown: Some(shutdown),
        }
    }

    fn card(&self, role: Role, cpr: Option<&str>) -> String {
        let mut request = CardRequest::new(role);
        match role {
            Role::System => {
                request.org_cvr = Some("33257872".into());
                request.it_system = Some("EPJ Test".into());
            }
            _ => {
                request.cpr = cpr.map(str::to_owned);
                request.org_sor = Some("328081000016004".into());
            }
        }
        self.sts.issue(&request).unwrap()
    }

    /// POSTs to /xds/repository; answers status, Content-Type and body bytes.
    async fn post(&self, content_type: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
        let response = self
            .http
            .post(format!("{}/xds/repository", self.base))
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

    async fn post_soap(&self, envelope: String) -> (u16, String) {
        let (status, _, body) = self.post(SOAP, envelope.into_bytes()).await;
        (status, String::from_utf8(body).unwrap())
    }

    /// The system card's ITI-41 of a sample (plain SOAP), optionally with the XML edited.
    async fn provide_inline(&self, edit: impl FnOnce(String) -> String) -> (u16, String) {
        let system = self.card(Role::System, None);
        let envelope = edit(sample_text("iti-41/pnr-single-apd.xml"));
        self.post_soap(with_card(&envelope, &system)).await
    }

    /// Every file under `DATA/documents/sha1`.
    fn stored_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut dirs = vec![self.data.path().join("documents/sha1")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }

    fn tmp_files(&self) -> usize {
        std::fs::read_dir(self.data.path().join("documents/tmp"))
            .unwrap()
            .count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

const SOAP: &str = "application/soap+xml; charset=UTF-8";

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn sample_text(path: &str) -> String {
    std::fs::read_to_string(samples().join(path)).unwrap()
}

fn sample_bytes(path: &str) -> Vec<u8> {
    std::fs::read(samples().join(path)).unwrap()
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

fn with_card(envelope: &str, card: &str) -> String {
    let header = identity::security_header(card, OffsetDateTime::now_utc());
    envelope.replacen("<soap:Header>", &format!("<soap:Header>{header}"), 1)
}

/// The card goes into the MTOM root part, found as bytes (the attachments are binary).
fn with_card_bytes(body: &[u8], card: &str) -> Vec<u8> {
    let marker = b"<soap:Header>";
    let at = body
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap()
        + marker.len();
    let header = identity::security_header(card, OffsetDateTime::now_utc());
    [&body[..at], header.as_bytes(), &body[at..]].concat()
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

/// Parses the `xdsb:RetrieveDocumentSetResponse` out of a response envelope.
fn retrieve_response(root: &str) -> RetrieveDocumentSetResponse {
    let start = root.find("<xdsb:RetrieveDocumentSetResponse").unwrap();
    let end_tag = "</xdsb:RetrieveDocumentSetResponse>";
    let end = root.find(end_tag).unwrap() + end_tag.len();
    RetrieveDocumentSetResponse::parse(&root.as_bytes()[start..end]).unwrap()
}

/// Splits an MTOM response into its root and its attachments by Content-ID.
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

/// ITI-43 as plain SOAP (inline answer) and as MTOM (streamed answer); both must agree. Answers
/// the response and, per returned document, its bytes.
async fn retrieve(
    server: &TestServer,
    card: &str,
    requests: &[(&str, &str)],
) -> (RetrieveDocumentSetResponse, Vec<Vec<u8>>) {
    let envelope = with_card(&retrieve_envelope(requests), card);
    let (status, body) = server.post_soap(envelope.clone()).await;
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

    let writer = soap::MtomWriter::from_id("retrieve-test").unwrap();
    let content_type = writer
        .content_type("urn:ihe:iti:2007:RetrieveDocumentSet")
        .unwrap();
    let mut mtom_body = writer.head(envelope.as_bytes()).unwrap();
    mtom_body.extend(writer.tail());
    let (status, response_type, body) = server.post(&content_type, mtom_body).await;
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

fn codes(response: &RetrieveDocumentSetResponse) -> Vec<String> {
    response
        .registry_response
        .errors
        .iter()
        .flat_map(|l| l.errors.iter().map(|e| e.error_code.clone()))
        .collect()
}

#[tokio::test]
async fn inline_submission_is_retrieved_byte_for_byte() {
    let server = TestServer::start().await;
    let (status, body) = server.provide_inline(|x| x).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(SUCCESS), "{body}");
    assert!(
        body.contains("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"),
        "{body}"
    );

    let expected = sample_bytes("documents/apd-0101700013-ekkokardiografi.xml");
    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let (response, bytes) =
        retrieve(&server, &doctor, &[(REPOSITORY_UNIQUE_ID, EKKO_UNIQUE_ID)]).await;
    assert_eq!(response.registry_response.status, SUCCESS);
    assert_eq!(response.document_responses[0].mime_type, "text/xml");
    assert_eq!(bytes, vec![expected.clone()]);
    assert_eq!(sha1_hex(&bytes[0]), sha1_hex(&expected));
    assert_eq!(server.stored_files().len(), 1);
    assert_eq!(server.tmp_files(), 0);

    // The patient may read their own document; another citizen may not.
    let own = server.card(Role::Citizen, Some(EKKO_PATIENT));
    let (response, _) = retrieve(&server, &own, &[(REPOSITORY_UNIQUE_ID, EKKO_UNIQUE_ID)]).await;
    assert_eq!(response.registry_response.status, SUCCESS);
    let other = server.card(Role::Citizen, Some("0201919990"));
    let (status, body) = server
        .post_soap(with_card(
            &retrieve_envelope(&[(REPOSITORY_UNIQUE_ID, EKKO_UNIQUE_ID)]),
            &other,
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("wsse:FailedAuthentication"), "{body}");
}

#[tokio::test]
async fn mtom_submission_is_streamed_in_and_out() {
    let server = TestServer::start().await;
    let system = server.card(Role::System, None);
    let content_type = sample_text("iti-41/pnr-single-apd-mtom.content-type");
    let body = with_card_bytes(
        &sample_bytes("iti-41/pnr-single-apd-mtom.multipart"),
        &system,
    );
    let (status, response_type, body) = server.post(content_type.trim(), body).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        response_type.starts_with("multipart/related"),
        "{response_type}"
    );
    assert!(body.contains(SUCCESS), "{body}");

    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let (_, bytes) = retrieve(&server, &doctor, &[(REPOSITORY_UNIQUE_ID, EKKO_UNIQUE_ID)]).await;
    let expected = sample_bytes("documents/apd-0101700013-ekkokardiografi.xml");
    assert_eq!(sha1_hex(&bytes[0]), sha1_hex(&expected));
    assert_eq!(bytes[0], expected);
}

#[tokio::test]
async fn unknown_document_fails_and_mixed_is_partial_success() {
    let server = TestServer::start().await;
    let (status, body) = server.provide_inline(|x| x).await;
    assert_eq!(status, 200, "{body}");
    let doctor = server.card(Role::Doctor, Some("0804569723"));

    let (response, bytes) = retrieve(&server, &doctor, &[(REPOSITORY_UNIQUE_ID, "2.25.42")]).await;
    assert_eq!(response.registry_response.status, FAILURE);
    assert_eq!(codes(&response), ["XDSDocumentUniqueIdError"]);
    assert!(bytes.is_empty());

    let (response, bytes) = retrieve(
        &server,
        &doctor,
        &[
            (REPOSITORY_UNIQUE_ID, EKKO_UNIQUE_ID),
            (REPOSITORY_UNIQUE_ID, "2.25.42"),
            ("1.2.208.176.43210.8.99", "2.25.43"),
        ],
    )
    .await;
    assert_eq!(response.registry_response.status, PARTIAL);
    assert_eq!(
        codes(&response),
        ["XDSDocumentUniqueIdError", "XDSUnknownRepositoryId"]
    );
    assert_eq!(bytes.len(), 1);
}

#[tokio::test]
async fn hash_mismatch_is_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let wrong = "<rim:Slot name=\"hash\"><rim:ValueList><rim:Value>da39a3ee5e6b4b0d3255bfef95601890afd80709</rim:Value></rim:ValueList></rim:Slot>";
    let (status, body) = server
        .provide_inline(|x| {
            x.replacen(
                "<rim:Slot name=\"creationTime\">",
                &format!("{wrong}<rim:Slot name=\"creationTime\">"),
                1,
            )
        })
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(FAILURE), "{body}");
    assert!(body.contains("XDSRepositoryMetadataError"), "{body}");
    assert!(server.stored_files().is_empty());
    assert_eq!(server.tmp_files(), 0);
    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let (response, _) = retrieve(&server, &doctor, &[(REPOSITORY_UNIQUE_ID, EKKO_UNIQUE_ID)]).await;
    assert_eq!(codes(&response), ["XDSDocumentUniqueIdError"]);
}

#[tokio::test]
async fn same_document_twice_succeeds_with_one_file() {
    let server = TestServer::start().await;
    let (status, body) = server.provide_inline(|x| x).await;
    assert!(status == 200 && body.contains(SUCCESS), "{body}");
    // The same document in a new submission (a retry after a lost answer sends a new
    // SubmissionSet uniqueId).
    let (status, body) = server
        .provide_inline(|x| x.replace(SUBMISSION_SET_UNIQUE_ID, "2.25.1001"))
        .await;
    assert!(status == 200 && body.contains(SUCCESS), "{body}");
    assert_eq!(server.stored_files().len(), 1);
    assert_eq!(server.tmp_files(), 0);

    // The same document uniqueId with other bytes: XDSNonIdenticalHash, and no file for them.
    let (status, body) = server
        .provide_inline(|x| {
            let start = x.find("<xdsb:Document id=\"Document01\">").unwrap()
                + "<xdsb:Document id=\"Document01\">".len();
            let end = x[start..].find("</xdsb:Document>").unwrap() + start;
            format!("{}PENsaW5pY2FsRG9jdW1lbnQvPg=={}", &x[..start], &x[end..])
                .replace(SUBMISSION_SET_UNIQUE_ID, "2.25.1002")
        })
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("XDSNonIdenticalHash"), "{body}");
    assert_eq!(server.stored_files().len(), 1);
}

#[tokio::test]
async fn oversized_document_is_refused_with_413_and_leaves_nothing() {
    let server = TestServer::start_with("document_bytes_max = 1000\n").await;
    let system = server.card(Role::System, None);
    let content_type = sample_text("iti-41/pnr-single-apd-mtom.content-type");
    let body = with_card_bytes(
        &sample_bytes("iti-41/pnr-single-apd-mtom.multipart"),
        &system,
    );
    let (status, _, body) = server.post(content_type.trim(), body).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let (status, body) = server.provide_inline(|x| x).await;
    assert_eq!(status, 413, "{body}");
    assert!(server.stored_files().is_empty());
    assert_eq!(server.tmp_files(), 0);
}

#[tokio::test]
async fn request_without_card_is_refused() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post_soap(sample_text("iti-41/pnr-single-apd.xml"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("wsse:InvalidSecurity"), "{body}");
    assert!(server.stored_files().is_empty());
}

//! Crash safety of ITI-41 against the real binary: concurrent submissions, `kill -9` at a
//! random moment (seeded), restart on the same data dir, then check that every acknowledged
//! document is retrievable byte for byte, that no registered DocumentEntry points at missing
//! bytes, and that no orphaned upload is left in `DATA/documents/tmp/`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use identity::{CardRequest, DevSts, Role};
use support::served::Served;
use time::OffsetDateTime;
use xds_model::message::{DocumentContent, RetrieveDocumentSetResponse};

const REPOSITORY_UNIQUE_ID: &str = "1.2.208.176.43210.8.10.11";
const EKKO_UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const SUBMISSION_SET_UNIQUE_ID: &str = "2.25.243302165721734177445832697440015941117";
const PATIENT: &str = "0101700013";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const SOAP: &str = "application/soap+xml; charset=UTF-8";

const ITERATIONS: u64 = 8;
/// Fewer with object storage: each iteration uploads over HTTP, and the local run already
/// covers the ordering; these check that the bucket keeps the same promises.
const ITERATIONS_OBJECT_STORE: u64 = 4;
const CLIENTS: u64 = 4;
/// Per client and iteration, so that the registry stays small and the test bounded.
const SUBMISSIONS_MAX: u64 = 60;
const SEED: u64 = 0x5eed_d0c5_1234_abcd;

/// xorshift64*: enough randomness for kill delays without a new crate.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn card(sts: &DevSts, role: Role) -> String {
    let mut request = CardRequest::new(role);
    match role {
        Role::System => {
            request.org_cvr = Some("33257872".into());
            request.it_system = Some("EPJ Test".into());
        }
        _ => {
            request.cpr = Some("0804569723".into());
            request.org_sor = Some("328081000016004".into());
        }
    }
    sts.issue(&request).unwrap()
}

fn with_card(envelope: &str, card: &str) -> String {
    let header = identity::security_header(card, OffsetDateTime::now_utc());
    envelope.replacen("<soap:Header>", &format!("<soap:Header>{header}"), 1)
}

/// Submission `n`: the sample ITI-41 with its own document uniqueId, SubmissionSet uniqueId,
/// MessageID and document bytes. Answers (document uniqueId, document bytes, envelope).
fn submission(template: &str, document: &[u8], n: u64) -> (String, Vec<u8>, String) {
    let unique_id = format!("2.25.{}", 7_000_000_000 + n);
    let bytes = [document, format!("<!-- crash test {n} -->\n").as_bytes()].concat();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let open = "<xdsb:Document id=\"Document01\">";
    let start = template.find(open).unwrap() + open.len();
    let end = template[start..].find("</xdsb:Document>").unwrap() + start;
    let envelope = format!("{}{encoded}{}", &template[..start], &template[end..])
        .replace(EKKO_UNIQUE_ID, &unique_id)
        .replace(
            SUBMISSION_SET_UNIQUE_ID,
            &format!("2.25.{}", 8_000_000_000 + n),
        )
        .replace(
            "urn:uuid:3ad7c6d0-8847-5b27-acc1-c8466c12dec4",
            &format!("urn:uuid:3ad7c6d0-8847-4b27-acc1-{n:012}"),
        );
    (unique_id, bytes, envelope)
}

async fn post(http: &reqwest::Client, url: &str, body: String) -> reqwest::Result<(u16, String)> {
    let response = http
        .post(url)
        .header("content-type", SOAP)
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

fn find_documents() -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action><wsa:MessageID>urn:uuid:8a6e5f4c-1111-4222-8333-944455556666</wsa:MessageID></soap:Header>
<soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
<rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">
<rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'{PATIENT}^^^&amp;1.2.208.176.1.2&amp;ISO'</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved','urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated')</rim:Value></rim:ValueList></rim:Slot>
</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>"#
    )
}

/// The DocumentEntry uniqueIds in a LeafClass query response.
fn document_unique_ids(body: &str) -> Vec<String> {
    const SCHEME: &str = "identificationScheme=\"urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab\"";
    let mut ids = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(SCHEME) {
        let tag_start = rest[..at].rfind('<').unwrap();
        let tag_end = at + rest[at..].find('>').unwrap();
        let tag = &rest[tag_start..tag_end];
        let value = tag.find(" value=\"").unwrap() + " value=\"".len();
        let value_end = value + tag[value..].find('"').unwrap();
        ids.push(tag[value..value_end].to_owned());
        rest = &rest[tag_end..];
    }
    ids
}

fn retrieve_envelope(documents: &[String]) -> String {
    let mut body = String::new();
    for document in documents {
        body.push_str(&format!(
            "<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPOSITORY_UNIQUE_ID}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{document}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>"
        ));
    }
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:0b0c5f3e-1111-4222-8333-944455556666</wsa:MessageID></soap:Header>
<soap:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">{body}</xdsb:RetrieveDocumentSetRequest></soap:Body></soap:Envelope>"#
    )
}

/// ITI-43 (inline answer) of these documents, in chunks; answers uniqueId → bytes and panics on
/// any error in the response.
async fn retrieve_all(
    http: &reqwest::Client,
    base: &str,
    card: &str,
    documents: &[String],
) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    for chunk in documents.chunks(200) {
        let (status, body) = post(
            http,
            &format!("{base}/xds/repository"),
            with_card(&retrieve_envelope(chunk), card),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let start = body.find("<xdsb:RetrieveDocumentSetResponse").unwrap();
        let end_tag = "</xdsb:RetrieveDocumentSetResponse>";
        let end = body.find(end_tag).unwrap() + end_tag.len();
        let response = RetrieveDocumentSetResponse::parse(&body.as_bytes()[start..end]).unwrap();
        assert_eq!(
            response.registry_response.status, SUCCESS,
            "a registered document cannot be retrieved: {:?}",
            response.registry_response.errors
        );
        for document in response.document_responses {
            let DocumentContent::Inline(bytes) = document.document else {
                panic!("inline expected");
            };
            found.insert(document.document_unique_id, bytes);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_during_submissions_loses_nothing_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    kill_loop(data.path(), ITERATIONS).await;
}

/// The same with the documents in a bucket of an S3 API server (in this process, so it
/// survives the kills): a kill between upload and registration leaves an object nothing
/// references, never metadata without its object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_with_documents_in_object_storage_loses_nothing_acknowledged() {
    let s3 = support::s3::S3Server::start().await;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("dds.toml"), s3.object_store_toml("crash")).unwrap();
    kill_loop(data.path(), ITERATIONS_OBJECT_STORE).await;
    let local = walk(&data.path().join("documents/sha1"));
    assert!(local.is_empty(), "documents went to the bucket: {local:?}");
    assert!(!walk(&s3.root.path().join(support::s3::BUCKET).join("crash")).is_empty());
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(dir) else {
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
    files
}

/// `iterations` times: concurrent submissions, kill -9 at a seeded random moment, restart on
/// `data` (with its `dds.toml`), then the checks of the module documentation.
async fn kill_loop(data: &Path, iterations: u64) {
    let template = std::fs::read_to_string(samples().join("iti-41/pnr-single-apd.xml")).unwrap();
    let document =
        std::fs::read(samples().join("documents/apd-0101700013-ekkokardiografi.xml")).unwrap();
    let http = dds::http_client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut prng = Prng(SEED);
    // Every document ever acknowledged, with its bytes.
    let mut acknowledged: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut server = Served::start(data);
    // The server created the development STS on its first start.
    let sts = DevSts::open_or_create(data).unwrap();
    let system = card(&sts, Role::System);

    for iteration in 0..iterations {
        let kill_after = Duration::from_millis(20 + prng.next() % 400);
        let acked = Arc::new(Mutex::new(Vec::<(String, Vec<u8>)>::new()));
        let refused = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut clients = Vec::new();
        for client in 0..CLIENTS {
            let (http, url) = (http.clone(), format!("{}/xds/repository", server.base));
            let (template, document, system) = (template.clone(), document.clone(), system.clone());
            let (acked, refused) = (acked.clone(), refused.clone());
            clients.push(tokio::spawn(async move {
                for k in 0..SUBMISSIONS_MAX {
                    let n = (iteration * CLIENTS + client) * 1_000 + k;
                    let (unique_id, bytes, envelope) = submission(&template, &document, n);
                    match post(&http, &url, with_card(&envelope, &system)).await {
                        Ok((200, body)) if body.contains(SUCCESS) => {
                            acked.lock().unwrap().push((unique_id, bytes));
                        }
                        Ok((status, body)) => {
                            refused.lock().unwrap().push(format!("{status}: {body}"));
                        }
                        // The server was killed under this request (or before it).
                        Err(_) => break,
                    }
                }
            }));
        }
        tokio::time::sleep(kill_after).await;
        server.kill();
        for client in clients {
            client.await.unwrap();
        }
        let tmp_before = std::fs::read_dir(data.join("documents/tmp"))
            .map(|dir| dir.count())
            .unwrap_or(0);
        let refused = refused.lock().unwrap().clone();
        assert!(
            refused.is_empty(),
            "a submission was refused while the server was up: {refused:?}"
        );
        let acked = acked.lock().unwrap().clone();
        let acked_now = acked.len();
        acknowledged.extend(acked);

        server = Served::start(data);
        let tmp = std::fs::read_dir(data.join("documents/tmp"))
            .map(|dir| dir.count())
            .unwrap_or(0);
        assert_eq!(tmp, 0, "orphaned uploads are collected at start");

        let doctor = card(&sts, Role::Doctor);
        // Every acknowledged document, byte for byte.
        let wanted: Vec<String> = acknowledged.keys().cloned().collect();
        let retrieved = retrieve_all(&http, &server.base, &doctor, &wanted).await;
        for (unique_id, bytes) in &acknowledged {
            assert_eq!(
                retrieved.get(unique_id),
                Some(bytes),
                "acknowledged document {unique_id} lost or changed"
            );
        }
        // Every registered DocumentEntry has its bytes.
        let (status, body) = post(
            &http,
            &format!("{}/xds/registry", server.base),
            with_card(&find_documents(), &doctor),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(SUCCESS), "{body}");
        let registered = document_unique_ids(&body);
        let found = retrieve_all(&http, &server.base, &doctor, &registered).await;
        assert_eq!(found.len(), registered.len());
        assert!(registered.len() >= acknowledged.len());
        println!(
            "iteration {iteration}: killed after {} ms; acknowledged {acked_now} (total {}), \
             registered {}, retrieved {}, tmp files at kill {tmp_before}, after restart {tmp}",
            kill_after.as_millis(),
            acknowledged.len(),
            registered.len(),
            found.len()
        );
    }
    println!(
        "{iterations} kill -9 iterations: {} acknowledged documents, all retrievable",
        acknowledged.len()
    );
    server.kill();
}

//! `dds serve` with `[object_store]`: documents in a bucket of a real S3 API server (s3s-fs, in
//! this process, on an ephemeral port), ITI-41 and ITI-43 over SOAP, and the collection of
//! objects no DocumentEntry references (a rejected submission's upload, a crash between upload
//! and registration) once they are older than the grace period.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use dds::config::{Config, ServeFlags};
use dds::serve::Server;
use identity::{CardRequest, DevSts, Role};
use repository::DocumentStore;
use sha1::{Digest, Sha1};
use time::OffsetDateTime;
use xds_model::message::{DocumentContent, RetrieveDocumentSetResponse};

mod support;

use support::s3;

const PREFIX: &str = "region-h";
const REPOSITORY_UNIQUE_ID: &str = "1.2.208.176.43210.8.10.11";
const EKKO_UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const SUBMISSION_SET_UNIQUE_ID: &str = "2.25.243302165721734177445832697440015941117";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
const SOAP: &str = "application/soap+xml; charset=UTF-8";
const HOUR: Duration = Duration::from_secs(3600);

/// The `[object_store]` table for `server`, and the collector's grace.
fn config_toml(server: &s3::S3Server) -> String {
    format!(
        "gc_grace_seconds = 3600\n\n{}",
        server.object_store_toml(PREFIX)
    )
}

/// A `dds serve` in process on `data` (whose `dds.toml` says where the bucket is); stops when
/// dropped.
struct Dds {
    base: String,
    sts: DevSts,
    http: reqwest::Client,
    config: Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<()>>,
}

impl Dds {
    async fn start(data: &Path, toml: &str) -> Dds {
        let config_path = data.join("dds.toml");
        std::fs::write(&config_path, toml).unwrap();
        let config = Config::load(ServeFlags {
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.to_owned()),
            config: Some(config_path),
            ..ServeFlags::default()
        })
        .unwrap();
        let server = Server::start(config.clone()).await.unwrap();
        let base = format!("http://{}", server.local_addr());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let stopped = tokio::spawn(async move {
            let _ = server
                .serve_until(async {
                    let _ = stop.await;
                })
                .await;
        });
        Dds {
            base,
            sts: DevSts::open_or_create(data).unwrap(),
            http: dds::http_client::builder().build().unwrap(),
            config,
            shutdown: Some(shutdown),
            stopped: Some(stopped),
        }
    }

    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            stopped.await.unwrap();
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

    async fn post(&self, envelope: String) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}/xds/repository", self.base))
            .header("content-type", SOAP)
            .body(envelope)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The system's ITI-41 of the sample, optionally edited.
    async fn provide(&self, edit: impl FnOnce(String) -> String) -> String {
        let envelope = edit(sample_text("iti-41/pnr-single-apd.xml"));
        let (status, body) = self
            .post(with_card(&envelope, &self.card(Role::System, None)))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A doctor's ITI-43 of the sample document (inline answer).
    async fn retrieve(&self) -> RetrieveDocumentSetResponse {
        let envelope = format!(
            r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:0b0c5f3e-1111-4222-8333-944455556666</wsa:MessageID></soap:Header>
<soap:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPOSITORY_UNIQUE_ID}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{EKKO_UNIQUE_ID}</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest></soap:Body></soap:Envelope>"#
        );
        let doctor = self.card(Role::Doctor, Some("0804569723"));
        let (status, body) = self.post(with_card(&envelope, &doctor)).await;
        assert_eq!(status, 200, "{body}");
        let start = body.find("<xdsb:RetrieveDocumentSetResponse").unwrap();
        let end_tag = "</xdsb:RetrieveDocumentSetResponse>";
        let end = body.find(end_tag).unwrap() + end_tag.len();
        RetrieveDocumentSetResponse::parse(&body.as_bytes()[start..end]).unwrap()
    }
}

impl Drop for Dds {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn sample_text(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples")
            .join(path),
    )
    .unwrap()
}

fn sample_document() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples/documents/apd-0101700013-ekkokardiografi.xml"),
    )
    .unwrap()
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

fn with_card(envelope: &str, card: &str) -> String {
    let header = identity::security_header(card, OffsetDateTime::now_utc());
    envelope.replacen("<soap:Header>", &format!("<soap:Header>{header}"), 1)
}

/// Every object under the prefix, by name (the SHA-1).
fn objects(server: &s3::S3Server) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![server.root.path().join(s3::BUCKET).join(PREFIX)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

fn object_file(server: &s3::S3Server, sha1: &str) -> PathBuf {
    server
        .root
        .path()
        .join(s3::BUCKET)
        .join(PREFIX)
        .join("sha1")
        .join(&sha1[0..2])
        .join(&sha1[2..4])
        .join(sha1)
}

fn age(server: &s3::S3Server, sha1: &str, by: Duration) {
    std::fs::File::options()
        .write(true)
        .open(object_file(server, sha1))
        .unwrap()
        .set_modified(SystemTime::now() - by)
        .unwrap();
}

/// Files under `DATA/documents/sha1` (none: committed documents live in the bucket).
fn local_documents(data: &Path) -> usize {
    let mut count = 0;
    let mut dirs = vec![data.join("documents/sha1")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                count += 1;
            }
        }
    }
    count
}

#[tokio::test]
async fn iti41_then_iti43_round_trips_the_exact_bytes_through_the_bucket() {
    let s3 = s3::S3Server::start().await;
    let data = tempfile::tempdir().unwrap();
    let dds = Dds::start(data.path(), &config_toml(&s3)).await;
    let body = dds.provide(|x| x).await;
    assert!(body.contains(SUCCESS), "{body}");

    let expected = sample_document();
    assert_eq!(objects(&s3), [sha1_hex(&expected)]);
    assert_eq!(
        std::fs::read(object_file(&s3, &sha1_hex(&expected))).unwrap(),
        expected
    );
    assert_eq!(local_documents(data.path()), 0);
    assert_eq!(
        std::fs::read_dir(data.path().join("documents/tmp"))
            .unwrap()
            .count(),
        0,
        "nothing left in staging"
    );

    let response = dds.retrieve().await;
    assert_eq!(response.registry_response.status, SUCCESS);
    let DocumentContent::Inline(bytes) = &response.document_responses[0].document else {
        panic!("inline answer expected");
    };
    assert_eq!(*bytes, expected);

    // A retry (new SubmissionSet uniqueId, same document): Success, one object.
    let body = dds
        .provide(|x| x.replace(SUBMISSION_SET_UNIQUE_ID, "2.25.1001"))
        .await;
    assert!(body.contains(SUCCESS), "{body}");
    assert_eq!(objects(&s3), [sha1_hex(&expected)]);
}

#[tokio::test]
async fn a_bucket_that_refuses_the_credentials_stops_the_start() {
    let s3 = s3::S3Server::start().await;
    let data = tempfile::tempdir().unwrap();
    let toml = config_toml(&s3).replace(s3::SECRET_ACCESS_KEY, "wrong-secret");
    let config_path = data.path().join("dds.toml");
    std::fs::write(&config_path, toml).unwrap();
    let config = Config::load(ServeFlags {
        listen: Some("127.0.0.1:0".into()),
        data: Some(data.path().to_owned()),
        config: Some(config_path),
        ..ServeFlags::default()
    })
    .unwrap();
    let Err(error) = Server::start(config).await else {
        panic!("the service started without a usable bucket");
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("cannot open the object storage s3://dds-documents/region-h"),
        "{message}"
    );
    assert!(!message.contains("wrong-secret"), "{message}");
}

#[tokio::test]
async fn invalid_metadata_uploads_nothing() {
    let s3 = s3::S3Server::start().await;
    let data = tempfile::tempdir().unwrap();
    let dds = Dds::start(data.path(), &config_toml(&s3)).await;
    // No patientId on the DocumentEntry: refused by validation, before any byte is committed.
    let body = dds
        .provide(|_| sample_text("invalid/iti41-missing-patientid.xml"))
        .await;
    assert!(body.contains("XDSRegistryMetadataError"), "{body}");
    assert!(body.contains(FAILURE), "{body}");
    assert!(objects(&s3).is_empty());
    assert_eq!(dds.retrieve().await.registry_response.status, FAILURE);
}

#[tokio::test]
async fn unreferenced_objects_are_collected_after_the_grace_and_referenced_ones_kept() {
    let s3 = s3::S3Server::start().await;
    let data = tempfile::tempdir().unwrap();
    let dds = Dds::start(data.path(), &config_toml(&s3)).await;
    let body = dds.provide(|x| x).await;
    assert!(body.contains(SUCCESS), "{body}");
    let registered = sha1_hex(&sample_document());

    // A registration the registry refuses after the bytes went up: the same document uniqueId
    // with other bytes (XDSNonIdenticalHash). The upload stays, referenced by nothing.
    let body = dds
        .provide(|x| {
            let open = "<xdsb:Document id=\"Document01\">";
            let start = x.find(open).unwrap() + open.len();
            let end = x[start..].find("</xdsb:Document>").unwrap() + start;
            format!("{}PENsaW5pY2FsRG9jdW1lbnQvPg=={}", &x[..start], &x[end..])
                .replace(SUBMISSION_SET_UNIQUE_ID, "2.25.1002")
        })
        .await;
    assert!(body.contains("XDSNonIdenticalHash"), "{body}");
    let rejected = sha1_hex(b"<ClinicalDocument/>");

    // A crash between upload and registration: bytes committed, never registered.
    let store = repository::ObjectDocumentStore::open_s3(
        dds.config.object_store.as_ref().unwrap(),
        data.path(),
        1024,
    )
    .await
    .unwrap();
    let staged = repository::stage_bytes(&store, b"crashed before registering")
        .await
        .unwrap();
    let crashed = store.commit(staged).await.unwrap().sha1.to_string();
    let mut all = vec![registered.clone(), rejected.clone(), crashed.clone()];
    all.sort();
    assert_eq!(objects(&s3), all);
    dds.stop().await;

    // A restart within the grace collects nothing.
    let dds = Dds::start(data.path(), &config_toml(&s3)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(objects(&s3), all);
    dds.stop().await;

    // Past the grace, the next start collects the two orphans and keeps the registered one.
    for sha1 in &all {
        age(&s3, sha1, 2 * HOUR);
    }
    let dds = Dds::start(data.path(), &config_toml(&s3)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while objects(&s3).len() > 1 {
        assert!(
            Instant::now() < deadline,
            "not collected: {:?}",
            objects(&s3)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(objects(&s3), [registered]);
    let response = dds.retrieve().await;
    assert_eq!(response.registry_response.status, SUCCESS);
    let DocumentContent::Inline(bytes) = &response.document_responses[0].document else {
        panic!("inline answer expected");
    };
    assert_eq!(*bytes, sample_document());
}

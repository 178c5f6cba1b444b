//! [`ObjectDocumentStore`] against a real S3 API: an s3s-fs server in this process on an
//! ephemeral port, spoken to over HTTP with signed requests. Its objects are files under a
//! temporary directory, whose modification times are the objects' Last-Modified, so a test can
//! age an object by setting its file's time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use registry::{RegisterOptions, RegistryStore, SqliteRegistryStore, StoreConfig};
use repository::store::SHA1_DIR;
use repository::{
    CallerCard, DocumentStore, HashReferences, InProcessRegistry, NoRemoteRepositories,
    ObjectDocumentStore, ProvideError, ReferenceError, Registrar, RegistrationError, Repository,
    RetrievedContent, S3Settings, Secret, Sha1Hex, StoreError,
};
use sha1::Digest;
use tokio::io::AsyncReadExt;
use xds_model::message::{
    DocumentContent, DocumentRequest, ProvideAndRegisterDocumentSetRequest, SubmitObjectsRequest,
};
use xds_model::vocabulary::response_status;

mod s3 {
    //! The in-process S3 server.
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder as ConnBuilder;
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;

    pub const BUCKET: &str = "dds-documents";
    pub const ACCESS_KEY_ID: &str = "dds-test";
    pub const SECRET_ACCESS_KEY: &str = "dds-test-secret";

    pub struct S3Server {
        pub root: tempfile::TempDir,
        pub endpoint: String,
        task: tokio::task::JoinHandle<()>,
    }

    impl S3Server {
        pub async fn start() -> S3Server {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir(root.path().join(BUCKET)).unwrap();
            let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
            let service = builder.build();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let endpoint = format!("http://{}", listener.local_addr().unwrap());
            let task = tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let service = service.clone();
                    tokio::spawn(async move {
                        let _ = ConnBuilder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(socket), service)
                            .await;
                    });
                }
            });
            S3Server {
                root,
                endpoint,
                task,
            }
        }
    }

    impl Drop for S3Server {
        fn drop(&mut self) {
            self.task.abort();
        }
    }
}

use s3::S3Server;

const ABC_SHA1: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";
const PREFIX: &str = "region-h/documents";
const REPOSITORY_UNIQUE_ID: &str = "1.2.208.176.43210.8.10.11";
const SAMPLE_DOCUMENT_UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const HOUR: Duration = Duration::from_secs(3600);

struct Fixture {
    server: S3Server,
    data: tempfile::TempDir,
    store: ObjectDocumentStore,
}

impl Fixture {
    async fn start(document_bytes_max: u64) -> Fixture {
        let server = S3Server::start().await;
        let data = tempfile::tempdir().unwrap();
        let mut settings = S3Settings::from_url(&format!("s3://{}/{PREFIX}/", s3::BUCKET)).unwrap();
        settings.endpoint = Some(server.endpoint.clone());
        settings.access_key_id = Some(s3::ACCESS_KEY_ID.to_owned());
        settings.secret_access_key = Some(Secret::new(s3::SECRET_ACCESS_KEY));
        settings.allow_http = true;
        let store = ObjectDocumentStore::open_s3(&settings, data.path(), document_bytes_max)
            .await
            .unwrap();
        Fixture {
            server,
            data,
            store,
        }
    }

    /// The repository over this store and the real SQLite registry of the data directory, with
    /// the in-process registrar wrapped by `wrap` (crash simulations).
    async fn repository(
        &self,
        wrap: impl FnOnce(Arc<dyn Registrar>) -> Arc<dyn Registrar>,
    ) -> (Repository, InProcessRegistry) {
        let registry: Arc<dyn RegistryStore> = Arc::new(
            SqliteRegistryStore::open(
                &self.data.path().join("registry.sqlite"),
                StoreConfig::default(),
            )
            .await
            .unwrap(),
        );
        let in_process = Arc::new(InProcessRegistry::new(
            registry.clone(),
            RegisterOptions::default(),
        ));
        let repository = Repository::new(
            REPOSITORY_UNIQUE_ID,
            Arc::new(self.store.clone()),
            wrap(in_process.clone()),
            in_process,
            Arc::new(NoRemoteRepositories),
        );
        (
            repository,
            InProcessRegistry::new(registry, RegisterOptions::default()),
        )
    }

    /// ITI-41 of a request with inline documents, staged like the edge stages them.
    async fn provide(
        &self,
        repository: &Repository,
        request: &ProvideAndRegisterDocumentSetRequest,
    ) -> Result<repository::Provided, ProvideError> {
        let mut staged = Vec::new();
        for document in &request.documents {
            let DocumentContent::Inline(bytes) = &document.content else {
                panic!("inline samples only");
            };
            staged.push((document.id.clone(), self.stage(bytes).await));
        }
        repository
            .provide_and_register(&request.submit_objects_request, staged, &card())
            .await
    }

    /// Every object in the bucket under the prefix.
    fn objects(&self) -> Vec<String> {
        let mut files = Vec::new();
        let mut dirs = vec![self.server.root.path().join(s3::BUCKET).join(PREFIX)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
        }
        files.sort();
        files
    }

    /// The object's file in the server's directory.
    fn object_file(&self, sha1: &str) -> PathBuf {
        self.server
            .root
            .path()
            .join(s3::BUCKET)
            .join(PREFIX)
            .join(SHA1_DIR)
            .join(&sha1[0..2])
            .join(&sha1[2..4])
            .join(sha1)
    }

    fn age(&self, sha1: &str, by: Duration) {
        std::fs::File::options()
            .write(true)
            .open(self.object_file(sha1))
            .unwrap()
            .set_modified(SystemTime::now() - by)
            .unwrap();
    }

    fn tmp_count(&self) -> usize {
        std::fs::read_dir(self.store.tmp_dir()).unwrap().count()
    }

    async fn stage(&self, bytes: &[u8]) -> repository::StagedDocument {
        repository::stage_bytes(&self.store, bytes).await.unwrap()
    }

    async fn read(&self, sha1: &Sha1Hex) -> Vec<u8> {
        let mut open = self.store.open(sha1).await.unwrap();
        let mut bytes = Vec::new();
        open.reader.read_to_end(&mut bytes).await.unwrap();
        assert_eq!(open.size, bytes.len() as u64);
        bytes
    }
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(sha1::Sha1::digest(bytes))
}

#[tokio::test]
async fn commit_uploads_under_the_hash_and_reads_back() {
    let f = Fixture::start(1024).await;
    let staged = f.stage(b"abc").await;
    assert_eq!(staged.sha1().as_str(), ABC_SHA1);
    let stored = f.store.commit(staged).await.unwrap();
    assert!(stored.created);
    assert_eq!(stored.size, 3);
    assert_eq!(std::fs::read(f.object_file(ABC_SHA1)).unwrap(), b"abc");
    assert_eq!(f.tmp_count(), 0, "the staged file is gone once uploaded");
    assert!(f.store.exists(&stored.sha1).await.unwrap());
    assert_eq!(f.read(&stored.sha1).await, b"abc");
}

#[tokio::test]
async fn second_commit_of_the_same_bytes_is_idempotent_and_refreshes_last_modified() {
    let f = Fixture::start(1024).await;
    let first = f.store.commit(f.stage(b"abc").await).await.unwrap();
    assert!(first.created);
    f.age(ABC_SHA1, Duration::from_secs(7200));
    let before = f.store.last_committed(&first.sha1).await.unwrap().unwrap();
    assert!(before < SystemTime::now() - Duration::from_secs(3600));

    let second = f.store.commit(f.stage(b"abc").await).await.unwrap();
    assert!(!second.created, "the same bytes were already stored");
    assert_eq!(second.sha1, first.sha1);
    let after = f.store.last_committed(&first.sha1).await.unwrap().unwrap();
    assert!(
        after > SystemTime::now() - Duration::from_secs(600),
        "a re-commit makes the object young for the collector: {after:?}"
    );
    assert_eq!(f.read(&first.sha1).await, b"abc");
    let shard = f.store.committed_in_shard(0xa9).await.unwrap();
    assert_eq!(shard.len(), 1, "one object for both commits: {shard:?}");
    assert_eq!(f.tmp_count(), 0);
}

#[tokio::test]
async fn large_document_goes_up_in_parts_and_streams_back() {
    // Three parts and a bit: the multipart path, with more parts than may be in flight.
    let size = 3 * repository::object::PART_BYTES + 12_345;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let f = Fixture::start(size as u64).await;
    let stored = f.store.commit(f.stage(&bytes).await).await.unwrap();
    assert_eq!(stored.size, size as u64);
    assert_eq!(stored.sha1.as_str(), sha1_hex(&bytes));
    assert_eq!(
        std::fs::read(f.object_file(stored.sha1.as_str())).unwrap(),
        bytes
    );

    // Streamed back in small reads: the reader never needs the whole document.
    let mut open = f.store.open(&stored.sha1).await.unwrap();
    assert_eq!(open.size, size as u64);
    let mut hasher = sha1::Sha1::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = open.reader.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        total += n;
    }
    assert_eq!(total, size);
    assert_eq!(hex::encode(hasher.finalize()), stored.sha1.as_str());
}

#[tokio::test]
async fn missing_object_is_not_found_and_a_damaged_one_fails_the_read() {
    let f = Fixture::start(1024).await;
    let sha1 = Sha1Hex::parse(ABC_SHA1).unwrap();
    assert!(matches!(
        f.store.open(&sha1).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(!f.store.exists(&sha1).await.unwrap());
    assert_eq!(f.store.last_committed(&sha1).await.unwrap(), None);
    f.store.remove(&sha1).await.unwrap();

    // Bytes changed in the bucket (same length): the read fails at the end instead of passing
    // them off as the document.
    f.store.commit(f.stage(b"abc").await).await.unwrap();
    std::fs::write(f.object_file(ABC_SHA1), b"abd").unwrap();
    let mut open = f.store.open(&sha1).await.unwrap();
    let mut bytes = Vec::new();
    let err = open.reader.read_to_end(&mut bytes).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
}

#[tokio::test]
async fn too_large_upload_is_refused_and_orphans_are_local() {
    let f = Fixture::start(4).await;
    let mut upload = f.store.begin_upload().unwrap();
    upload.write(b"abcd").unwrap();
    assert!(matches!(
        upload.write(b"e").unwrap_err(),
        StoreError::DocumentTooLarge { limit: 4 }
    ));
    drop(upload);
    // A crash while staging leaves a local file, collected at the next start.
    let mut upload = f.store.begin_upload().unwrap();
    upload.write(b"ab").unwrap();
    std::mem::forget(upload);
    assert_eq!(f.store.collect_orphans().unwrap(), 1);
    assert_eq!(f.tmp_count(), 0);
}

#[tokio::test]
async fn foreign_keys_are_left_alone_by_the_listing() {
    let f = Fixture::start(1024).await;
    f.store.commit(f.stage(b"abc").await).await.unwrap();
    let dir = f.object_file(ABC_SHA1);
    let dir = dir.parent().unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a document").unwrap();
    // A hash, but not in its place (it belongs under b9/99).
    std::fs::write(
        dir.join("b9993e364706816aba3e25717850c26c9cd0d89d"),
        b"misplaced",
    )
    .unwrap();
    let listed = f.store.committed_in_shard(0xa9).await.unwrap();
    assert_eq!(
        listed.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>(),
        [ABC_SHA1]
    );
}

fn samples() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

/// The ITI-41 body of a sample envelope.
fn sample_request(name: &str) -> ProvideAndRegisterDocumentSetRequest {
    let text = std::fs::read_to_string(samples().join(name)).unwrap();
    let start = text
        .find("<xdsb:ProvideAndRegisterDocumentSetRequest")
        .unwrap();
    let end_tag = "</xdsb:ProvideAndRegisterDocumentSetRequest>";
    let end = text.find(end_tag).unwrap() + end_tag.len();
    ProvideAndRegisterDocumentSetRequest::parse(&text.as_bytes()[start..end]).unwrap()
}

fn sample_document() -> Vec<u8> {
    std::fs::read(samples().join("documents/apd-0101700013-ekkokardiografi.xml")).unwrap()
}

/// The card the in-process registry never reads (the edge authorised the caller).
fn card() -> CallerCard {
    CallerCard::new("<wsse:Security/>")
}

async fn retrieve_sample(repository: &Repository) -> (String, Vec<u8>) {
    let request = DocumentRequest {
        home_community_id: None,
        repository_unique_id: REPOSITORY_UNIQUE_ID.to_owned(),
        document_unique_id: SAMPLE_DOCUMENT_UNIQUE_ID.to_owned(),
    };
    let retrieval = repository.retrieve(&[request], &card()).await;
    let status = retrieval.status().to_owned();
    let mut bytes = Vec::new();
    for document in retrieval.documents {
        let RetrievedContent::Local { mut document, .. } = document.content else {
            panic!("local document expected");
        };
        document.reader.read_to_end(&mut bytes).await.unwrap();
    }
    (status, bytes)
}

#[tokio::test]
async fn provide_and_register_then_retrieve_through_the_bucket() {
    let f = Fixture::start(1024 * 1024).await;
    let (repository, _) = f.repository(|r| r).await;
    let provided = f
        .provide(&repository, &sample_request("iti-41/pnr-single-apd.xml"))
        .await
        .unwrap();
    let expected = sample_document();
    assert_eq!(
        provided.documents[0].stored.sha1.as_str(),
        sha1_hex(&expected)
    );
    assert_eq!(f.objects(), [sha1_hex(&expected)]);
    assert_eq!(f.tmp_count(), 0);
    let (status, bytes) = retrieve_sample(&repository).await;
    assert_eq!(status, response_status::SUCCESS);
    assert_eq!(bytes, expected);

    // A retry of the same document (a new SubmissionSet): Success, still one object.
    let mut retry = sample_request("iti-41/pnr-single-apd.xml");
    for object in &mut retry.submit_objects_request.registry_object_list.objects {
        if let xds_model::rim::Identifiable::RegistryPackage(package) = object {
            for e in &mut package.object.external_identifiers {
                if e.identification_scheme == xds_model::vocabulary::submission_set::UNIQUE_ID {
                    e.value = "2.25.1001".to_owned();
                }
            }
        }
    }
    f.provide(&repository, &retry).await.unwrap();
    assert_eq!(f.objects(), [sha1_hex(&expected)]);
}

#[tokio::test]
async fn a_rejected_submission_leaves_its_upload_to_the_collector() {
    let f = Fixture::start(1024 * 1024).await;
    let (repository, references) = f.repository(|r| r).await;
    f.provide(&repository, &sample_request("iti-41/pnr-single-apd.xml"))
        .await
        .unwrap();
    // The same document uniqueId with other bytes: the registry refuses (XDSNonIdenticalHash)
    // after the new bytes were uploaded.
    let mut other = sample_request("iti-41/pnr-single-apd.xml");
    other.documents[0].content = DocumentContent::Inline(b"<other/>".to_vec());
    let refused = f.provide(&repository, &other).await.unwrap_err();
    assert!(
        matches!(refused, ProvideError::RegistryRejected(_)),
        "{refused}"
    );
    let orphan = sha1_hex(b"<other/>");
    assert!(
        f.objects().contains(&orphan),
        "a shared bucket keeps the upload for the collector"
    );

    // Within the grace it stays; after it the collector removes it, and only it.
    let collected = repository
        .collect_unreferenced(&references, HOUR)
        .await
        .unwrap();
    assert_eq!(
        (collected.examined, collected.removed),
        (2, 0),
        "{collected:?}"
    );
    f.age(&orphan, 2 * HOUR);
    f.age(&sha1_hex(&sample_document()), 2 * HOUR);
    let collected = repository
        .collect_unreferenced(&references, HOUR)
        .await
        .unwrap();
    assert_eq!(
        (collected.examined, collected.referenced, collected.removed),
        (2, 1, 1),
        "{collected:?}"
    );
    assert_eq!(f.objects(), [sha1_hex(&sample_document())]);
    let (status, bytes) = retrieve_sample(&repository).await;
    assert_eq!(status, response_status::SUCCESS);
    assert_eq!(bytes, sample_document());
}

/// Never answers: the registry call hangs, and the test drops the whole flow (a crash).
struct Hang;

#[async_trait]
impl Registrar for Hang {
    async fn register(
        &self,
        _: &SubmitObjectsRequest,
        _: &CallerCard,
    ) -> Result<(), RegistrationError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_crash_between_upload_and_registration_leaves_an_object_the_collector_removes() {
    let f = Fixture::start(1024 * 1024).await;
    let (crashing, _) = f.repository(|_| Arc::new(Hang)).await;
    let request = sample_request("iti-41/pnr-single-apd.xml");
    let crashed =
        tokio::time::timeout(Duration::from_millis(500), f.provide(&crashing, &request)).await;
    assert!(
        crashed.is_err(),
        "the flow must still be in the registry call"
    );
    drop(crashing);
    let orphan = sha1_hex(&sample_document());
    assert_eq!(
        f.objects(),
        std::slice::from_ref(&orphan),
        "uploaded, not registered"
    );

    // Restart: local orphans go at once, the object after the grace.
    assert_eq!(f.store.collect_orphans().unwrap(), 0);
    let (repository, references) = f.repository(|r| r).await;
    let (status, _) = retrieve_sample(&repository).await;
    assert_eq!(status, response_status::FAILURE, "nothing registered");
    assert_eq!(
        repository
            .collect_unreferenced(&references, HOUR)
            .await
            .unwrap()
            .young,
        1
    );
    f.age(&orphan, 2 * HOUR);
    let collected = repository
        .collect_unreferenced(&references, HOUR)
        .await
        .unwrap();
    assert_eq!(collected.removed, 1, "{collected:?}");
    assert!(f.objects().is_empty());
}

#[tokio::test]
async fn a_commit_since_the_listing_keeps_the_object() {
    // Another instance re-commits an old orphan between the collector's listing and its
    // removal: the collector reads Last-Modified again and keeps the object.
    let f = Fixture::start(1024).await;
    let stored = f.store.commit(f.stage(b"abc").await).await.unwrap();
    f.age(ABC_SHA1, 2 * HOUR);

    /// The real reference check, with another instance's commit of the bytes just before it.
    struct RecommittedMeanwhile(ObjectDocumentStore, InProcessRegistry);
    #[async_trait]
    impl HashReferences for RecommittedMeanwhile {
        async fn is_referenced(&self, sha1: &Sha1Hex) -> Result<bool, ReferenceError> {
            let staged = repository::stage_bytes(&self.0, b"abc").await.unwrap();
            self.0.commit(staged).await.unwrap();
            self.1.is_referenced(sha1).await
        }
    }
    let (repository, references) = f.repository(|r| r).await;
    let collected = repository
        .collect_unreferenced(&RecommittedMeanwhile(f.store.clone(), references), HOUR)
        .await
        .unwrap();
    assert_eq!(
        (collected.young, collected.removed),
        (1, 0),
        "{collected:?}"
    );
    assert!(f.store.exists(&stored.sha1).await.unwrap());
}

#[tokio::test]
async fn a_wrong_secret_or_bucket_stops_the_open() {
    let server = S3Server::start().await;
    let data = tempfile::tempdir().unwrap();
    for (bucket, secret) in [
        (s3::BUCKET, "not-the-secret"),
        ("no-such-bucket", s3::SECRET_ACCESS_KEY),
    ] {
        let mut settings = S3Settings::from_url(&format!("s3://{bucket}/{PREFIX}")).unwrap();
        settings.endpoint = Some(server.endpoint.clone());
        settings.access_key_id = Some(s3::ACCESS_KEY_ID.to_owned());
        settings.secret_access_key = Some(Secret::new(secret));
        settings.allow_http = true;
        let err = ObjectDocumentStore::open_s3(&settings, data.path(), 1024)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Object { .. }), "{bucket}: {err}");
        assert!(!err.to_string().contains(secret), "{err}");
    }
}

#[tokio::test]
async fn settings_come_from_an_s3_url() {
    let settings = S3Settings::from_url("s3://dds-documents/region-h/docs/").unwrap();
    assert_eq!(settings.bucket, "dds-documents");
    assert_eq!(settings.prefix, "region-h/docs");
    assert_eq!(settings.url(), "s3://dds-documents/region-h/docs");
    assert_eq!(
        S3Settings::from_url("s3://dds-documents").unwrap().prefix,
        ""
    );
    for bad in [
        "http://bucket/x",
        "s3://Bucket",
        "s3://b",
        "s3://bucket/a//b",
        "s3://bucket/a/../b",
    ] {
        assert!(S3Settings::from_url(bad).is_err(), "{bad}");
    }
    let mut with_secret = S3Settings::from_url("s3://dds-documents").unwrap();
    with_secret.secret_access_key = Some(Secret::new("hunter2"));
    assert!(!format!("{with_secret:?}").contains("hunter2"));
}

//! Documents on S3-compatible object storage (AWS S3, MinIO, Ceph RGW, …) behind the
//! [`DocumentStore`] trait, through the `object_store` crate.
//!
//! Staging stays local: an upload streams into `DATA/documents/tmp/` exactly as with
//! [`LocalDocumentStore`], because the object key is the SHA-1 of the bytes, known only once
//! they have all arrived. [`DocumentStore::commit`] then uploads the staged file to
//! `<prefix>/sha1/ab/cd/<sha1>` (one PUT up to [`PART_BYTES`], a multipart upload of
//! [`PART_BYTES`] parts above, at most [`PARTS_IN_FLIGHT`] at a time) and removes the staged
//! file; only then does the ingest register the metadata (see the crate documentation, "Crash
//! safety").
//!
//! Invariants:
//! - An object is written only under the SHA-1 of its bytes: the staged file is hashed again
//!   while it is uploaded, and a single PUT is not sent, a multipart upload not completed,
//!   unless that hash is the key's. Identical documents share one object and writing it again
//!   writes the same bytes.
//! - A commit of bytes that are already stored uploads them again anyway: that refreshes the
//!   object's Last-Modified, which the garbage collector's grace period goes by (S3 cannot
//!   touch an object otherwise; a copy onto itself is refused unless metadata changes). So a
//!   leftover object that is about to be registered again is young for the collector of every
//!   instance, not only of the one holding the hash lock.
//! - A rejected submission does not remove what it uploaded
//!   ([`DocumentStore::removes_rejected_commits`] is false): the bucket may be shared by
//!   several instances, and another one may have uploaded the same bytes at the same moment
//!   and be about to register them; neither can tell that it came second. The collector
//!   removes such objects after the grace period.
//! - Retrieval streams the object in the chunks the HTTP client yields (bounded memory), and
//!   the reader fails instead of ending cleanly when the bytes that arrived are not the
//!   object's size or SHA-1: a document damaged in the bucket or in transit is never passed
//!   off as complete.
//!
//! Memory: one commit holds at most `PARTS_IN_FLIGHT + 1` parts of [`PART_BYTES`].

use std::fmt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use crate::store::{
    DocumentStore, LocalDocumentStore, OpenDocument, Sha1Hex, StagedDocument, StoreError,
    StoredDocument, Upload,
};

/// Size of one part of a multipart upload, and the largest document sent with one PUT. S3
/// wants parts of at least 5 MiB (except the last) and at most 10,000 of them; 8 MiB parts
/// cover documents up to 78 GiB, far above `document_bytes_max`.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one multipart upload sent at the same time: two keep the connection busy while the
/// next part is read from disk, and bound one commit's memory.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Default region: what S3-compatible servers that ignore regions expect to be signed with.
pub const REGION_DEFAULT: &str = "us-east-1";

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// For flags and environment variables.
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Secret, Self::Err> {
        Ok(Secret::new(value))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Where the documents live: `s3://bucket/prefix` on an S3-compatible server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// The server (`https://s3.example.net`, `http://127.0.0.1:9000`); `None`: AWS S3 itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// With neither key, object_store's default chain applies (instance metadata, web identity).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Allow an `http://` endpoint (local test servers); off by default.
    pub allow_http: bool,
    /// How long the server may stay silent while a request or an answer streams, and for
    /// connecting; also how long one operation is retried (with back-off) on server errors and
    /// lost connections. There is no overall timeout: a large document streams to a slow
    /// caller for as long as it keeps reading.
    pub timeout: Duration,
}

/// Why `s3://…` settings are not usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    #[error("`{url}` is not an object storage URL of the form s3://bucket/prefix: {reason}")]
    Url { url: String, reason: &'static str },
    #[error("cannot build the S3 client: {0}")]
    Client(#[from] object_store::Error),
}

impl S3Settings {
    /// Splits `s3://bucket/optional/prefix` into bucket and prefix; the other fields get their
    /// defaults.
    pub fn from_url(url: &str) -> Result<S3Settings, SettingsError> {
        let fail = |reason| SettingsError::Url {
            url: url.to_owned(),
            reason,
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| fail("not s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules, loosely: what cannot be a bucket is refused here rather
        // than by the server at the first upload.
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(fail(
                "the bucket name must be 3 to 63 lower-case letters, digits, `-` or `.`",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && ObjectPath::parse(prefix).is_err() {
            return Err(fail(
                "the prefix must be `/`-separated names without empty, `.` or `..` parts",
            ));
        }
        Ok(S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: None,
            region: REGION_DEFAULT.to_owned(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            timeout: Duration::from_secs(30),
        })
    }

    /// `s3://bucket/prefix`, for the start-up banner (no credentials in it).
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// The S3 client. HTTPS goes through reqwest with rustls and the ring provider, installed
    /// here as the process-wide one unless one is already (reqwest would panic without).
    pub fn build(&self) -> Result<Arc<dyn ObjectStore>, SettingsError> {
        // Err only means a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let options = ClientOptions::new()
            .with_allow_http(self.allow_http)
            .with_timeout_disabled()
            .with_connect_timeout(self.timeout)
            .with_read_timeout(self.timeout);
        // object_store's default keeps retrying for three minutes; a caller waits on this.
        let retry = RetryConfig {
            retry_timeout: self.timeout,
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_allow_http(self.allow_http)
            .with_client_options(options)
            .with_retry(retry);
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(id) = &self.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &self.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose());
        }
        Ok(Arc::new(builder.build()?))
    }
}

/// Documents as objects `<prefix>/sha1/ab/cd/<sha1>`, staged in `DATA/documents/tmp/`.
#[derive(Debug, Clone)]
pub struct ObjectDocumentStore {
    objects: Arc<dyn ObjectStore>,
    /// Key prefix; the empty path for the bucket's root.
    prefix: ObjectPath,
    /// Uploads in progress and staged documents; its `sha1/` directory stays empty.
    staging: LocalDocumentStore,
}

impl ObjectDocumentStore {
    /// A store over `objects` under `prefix` (already validated, e.g. by
    /// [`S3Settings::from_url`]), staging in `data/documents/tmp/`.
    pub fn open(
        objects: Arc<dyn ObjectStore>,
        prefix: &str,
        data: &Path,
        document_bytes_max: u64,
    ) -> Result<ObjectDocumentStore, StoreError> {
        let prefix = if prefix.is_empty() {
            ObjectPath::default()
        } else {
            ObjectPath::parse(prefix)
                .map_err(|e| object_error("use the key prefix", prefix, e.into()))?
        };
        Ok(ObjectDocumentStore {
            objects,
            prefix,
            staging: LocalDocumentStore::open(data, document_bytes_max)?,
        })
    }

    /// Opens the store the settings name and lists its documents' prefix once, so that a
    /// wrong endpoint, bucket, credential or a missing list permission (the collector needs
    /// it) stops the start instead of failing the first ITI-41.
    pub async fn open_s3(
        settings: &S3Settings,
        data: &Path,
        document_bytes_max: u64,
    ) -> Result<ObjectDocumentStore, StoreError> {
        let objects = settings.build().map_err(|e| StoreError::Task {
            detail: e.to_string(),
        })?;
        let store = ObjectDocumentStore::open(objects, &settings.prefix, data, document_bytes_max)?;
        let documents = store.prefix.clone().join(crate::store::SHA1_DIR);
        store
            .objects
            .list_with_delimiter(Some(&documents))
            .await
            .map_err(|e| object_error("list", documents.as_ref(), e))?;
        Ok(store)
    }

    /// `<prefix>/sha1/ab/cd/<sha1>`, the same layout as the local files.
    pub fn key_of(&self, sha1: &Sha1Hex) -> ObjectPath {
        let h = sha1.as_str();
        self.prefix
            .clone()
            .join(crate::store::SHA1_DIR)
            .join(&h[0..2])
            .join(&h[2..4])
            .join(h)
    }

    /// The directory of uploads in progress.
    pub fn tmp_dir(&self) -> &Path {
        self.staging.tmp_dir()
    }

    /// The object's metadata (size, Last-Modified), `None` when there is none.
    async fn head(&self, sha1: &Sha1Hex) -> Result<Option<object_store::ObjectMeta>, StoreError> {
        let key = self.key_of(sha1);
        match self.objects.head(&key).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object_error("look for", key.as_ref(), e)),
        }
    }

    /// Sends the staged file at `from` to `key`, checking on the way that its bytes still
    /// hash to `sha1`.
    async fn upload(
        &self,
        from: &Path,
        key: &ObjectPath,
        sha1: &Sha1Hex,
        size: u64,
    ) -> Result<(), StoreError> {
        let mut file = tokio::fs::File::open(from)
            .await
            .map_err(io_error("open the staged document", from))?;
        let mut hasher = Sha1::new();
        let first = read_part(&mut file, from).await?;
        hasher.update(&first);
        if (first.len() as u64) == size {
            // The whole document fits one part: one PUT, sent only once its hash is checked.
            expect_bytes(from, sha1, size, hasher, first.len() as u64, &mut file).await?;
            self.objects
                .put(key, PutPayload::from(first))
                .await
                .map_err(|e| object_error("upload", key.as_ref(), e))?;
            return Ok(());
        }
        let multipart = self
            .objects
            .put_multipart(key)
            .await
            .map_err(|e| object_error("start the multipart upload of", key.as_ref(), e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(multipart, PART_BYTES);
        let mut sent = first.len() as u64;
        writer.put(Bytes::from(first));
        let outcome: Result<(), StoreError> = async {
            loop {
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| object_error("upload a part of", key.as_ref(), e))?;
                let part = read_part(&mut file, from).await?;
                if part.is_empty() {
                    break;
                }
                hasher.update(&part);
                sent += part.len() as u64;
                if sent > size {
                    break;
                }
                writer.put(Bytes::from(part));
            }
            expect_bytes(from, sha1, size, hasher, sent, &mut file).await
        }
        .await;
        match outcome {
            Ok(()) => writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|e| object_error("complete the multipart upload of", key.as_ref(), e)),
            Err(error) => {
                // Never completed, so no object holds these bytes; the parts are dropped.
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, key = %key, "cannot abort a multipart upload");
                }
                Err(error)
            }
        }
    }
}

/// Reads up to one part from the staged file: fewer bytes only at its end.
async fn read_part(file: &mut tokio::fs::File, path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut part = Vec::with_capacity(PART_BYTES);
    (&mut *file)
        .take(PART_BYTES as u64)
        .read_to_end(&mut part)
        .await
        .map_err(io_error("read the staged document", path))?;
    Ok(part)
}

/// The staged file must still be the bytes its upload hashed: same size, same SHA-1, nothing
/// after. Anything else is local damage and nothing is stored under the key.
async fn expect_bytes(
    path: &Path,
    sha1: &Sha1Hex,
    size: u64,
    hasher: Sha1,
    read: u64,
    file: &mut tokio::fs::File,
) -> Result<(), StoreError> {
    let mut probe = [0u8; 1];
    let more = file
        .read(&mut probe)
        .await
        .map_err(io_error("read the staged document", path))?;
    let actual = Sha1Hex::parse(&hex::encode(hasher.finalize()))?;
    if read != size || more != 0 || actual != *sha1 {
        return Err(StoreError::Task {
            detail: format!(
                "the staged document {} changed on disk before its upload (expected {size} bytes with SHA-1 {sha1})",
                path.display()
            ),
        });
    }
    Ok(())
}

#[async_trait]
impl DocumentStore for ObjectDocumentStore {
    fn begin_upload(&self) -> Result<Upload, StoreError> {
        self.staging.begin_upload()
    }

    async fn commit(&self, mut staged: StagedDocument) -> Result<StoredDocument, StoreError> {
        let Some(from) = staged.take_path() else {
            return Err(StoreError::Task {
                detail: "staged document committed twice".to_owned(),
            });
        };
        // From here this commit owns the staged file and removes it however it ends.
        let _staged_file = RemoveOnDrop(from.clone());
        let sha1 = staged.sha1().clone();
        let size = staged.size();
        let key = self.key_of(&sha1);
        let existed = match self.head(&sha1).await? {
            Some(meta) if meta.size == size => true,
            Some(meta) => {
                // Like the local store: the verified bytes replace damage, and count as new.
                tracing::error!(
                    key = %key,
                    expected = size,
                    actual = meta.size,
                    "stored object has the wrong size; replacing it with verified bytes"
                );
                false
            }
            None => false,
        };
        self.upload(&from, &key, &sha1, size).await?;
        Ok(StoredDocument {
            sha1,
            size,
            created: !existed,
        })
    }

    async fn discard(&self, staged: StagedDocument) -> Result<(), StoreError> {
        self.staging.discard(staged).await
    }

    async fn remove(&self, sha1: &Sha1Hex) -> Result<(), StoreError> {
        let key = self.key_of(sha1);
        match self.objects.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(object_error("delete", key.as_ref(), e)),
        }
    }

    async fn open(&self, sha1: &Sha1Hex) -> Result<OpenDocument, StoreError> {
        let key = self.key_of(sha1);
        let got = match self.objects.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StoreError::NotFound {
                    sha1: sha1.to_string(),
                });
            }
            Err(e) => return Err(object_error("download", key.as_ref(), e)),
        };
        let size = got.meta.size;
        let stream = got.into_stream().map_err(std::io::Error::other).boxed();
        Ok(OpenDocument {
            size,
            reader: Box::new(VerifyingReader {
                inner: tokio_util::io::StreamReader::new(stream),
                hasher: Sha1::new(),
                read: 0,
                size,
                sha1: sha1.clone(),
                verified: false,
            }),
        })
    }

    async fn exists(&self, sha1: &Sha1Hex) -> Result<bool, StoreError> {
        Ok(self.head(sha1).await?.is_some())
    }

    fn collect_orphans(&self) -> Result<usize, StoreError> {
        self.staging.collect_orphans()
    }

    async fn committed_in_shard(
        &self,
        shard: u8,
    ) -> Result<Vec<(Sha1Hex, SystemTime)>, StoreError> {
        let dir = self
            .prefix
            .clone()
            .join(crate::store::SHA1_DIR)
            .join(format!("{shard:02x}"));
        let mut listing = self.objects.list(Some(&dir));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| object_error("list", dir.as_ref(), e))?;
            // Only keys that are hashes in their place are documents; anything else in the
            // bucket is not ours to judge (nor to delete).
            let sha1 = meta
                .location
                .filename()
                .and_then(|name| Sha1Hex::parse(name).ok())
                .filter(|h| self.key_of(h) == meta.location);
            match sha1 {
                Some(sha1) => found.push((sha1, SystemTime::from(meta.last_modified))),
                None => {
                    tracing::warn!(key = %meta.location, "not a document object; left alone");
                }
            }
        }
        Ok(found)
    }

    async fn last_committed(&self, sha1: &Sha1Hex) -> Result<Option<SystemTime>, StoreError> {
        Ok(self
            .head(sha1)
            .await?
            .map(|meta| SystemTime::from(meta.last_modified)))
    }

    fn removes_rejected_commits(&self) -> bool {
        false
    }
}

/// Removes a staged file when the commit that took it over ends, successfully or not.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.0)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, path = %self.0.display(), "cannot remove a staged document");
        }
    }
}

/// Streams an object and fails the read that would end it unless exactly `size` bytes with
/// SHA-1 `sha1` came: a short, long or damaged object is an error, never a clean end.
struct VerifyingReader<R> {
    inner: R,
    hasher: Sha1,
    read: u64,
    size: u64,
    sha1: Sha1Hex,
    /// The end was reached and checked; later reads answer the end again.
    verified: bool,
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifyingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // No room means no read, not the end: nothing to check.
        if self.verified || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let this = &mut *self;
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        if new.is_empty() {
            let digest = hex::encode(std::mem::take(&mut this.hasher).finalize());
            if this.read != this.size || digest != this.sha1.as_str() {
                return Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "object {} gave {} bytes with SHA-1 {digest}, expected {} bytes",
                        this.sha1, this.read, this.size
                    ),
                )));
            }
            this.verified = true;
            return Poll::Ready(Ok(()));
        }
        this.read += new.len() as u64;
        if this.read > this.size {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("object {} is longer than {} bytes", this.sha1, this.size),
            )));
        }
        this.hasher.update(new);
        Poll::Ready(Ok(()))
    }
}

fn object_error(operation: &'static str, key: &str, source: object_store::Error) -> StoreError {
    StoreError::Object {
        operation,
        key: key.to_owned(),
        source: Box::new(source),
    }
}

fn io_error<'p>(
    operation: &'static str,
    path: &'p Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'p {
    move |source| StoreError::Io {
        operation,
        path: path.to_owned(),
        source,
    }
}

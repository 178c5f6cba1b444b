//! Content-addressed document storage behind the [`DocumentStore`] trait.
//!
//! Every document travels the same way: [`DocumentStore::begin_upload`] opens an [`Upload`], a
//! temporary file under `DATA/documents/tmp/` that computes SHA-1 and size while the bytes stream
//! in (bounded by the maximum document size); [`Upload::finish`] fsyncs it and yields a
//! [`StagedDocument`]; [`DocumentStore::commit`] renames it to its content-addressed place
//! `DATA/documents/sha1/ab/cd/<sha1>` and fsyncs the directory, or
//! [`DocumentStore::discard`] drops it.
//!
//! [`LocalDocumentStore`] is the local-files implementation;
//! [`crate::object::ObjectDocumentStore`] keeps committed documents on S3-compatible object
//! storage behind the same trait (staging stays local: the hash must be known before the
//! object key is).
//!
//! Invariants:
//! - A file under `sha1/` holds exactly the bytes whose SHA-1 is its name: it only ever gets
//!   there by an atomic rename of a fully written, fsync'd, hashed temporary file, and it is
//!   never written in place. So files are immutable and two uploads of the same bytes share one.
//! - Everything under `tmp/` is unacknowledged work in progress: [`DocumentStore::collect_orphans`]
//!   may delete all of it at start, before the service accepts requests.
//! - Hashes that name files are validated [`Sha1Hex`] values, so no input can reach a path
//!   outside `sha1/`.
//! - An [`Upload`] or [`StagedDocument`] dropped without being committed removes its temporary
//!   file (best effort; a crash leaves it to [`DocumentStore::collect_orphans`]).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use sha1::{Digest, Sha1};

/// Directory under the data directory that holds every document file.
pub const DOCUMENTS_DIR: &str = "documents";
/// Under [`DOCUMENTS_DIR`]: uploads in progress and staged documents.
pub const TMP_DIR: &str = "tmp";
/// Under [`DOCUMENTS_DIR`]: committed documents, `sha1/ab/cd/<sha1>`.
pub const SHA1_DIR: &str = "sha1";
/// Suffix of temporary files, so an operator can tell them apart.
const TMP_SUFFIX: &str = ".part";
/// Write buffer of one upload: MTOM chunks arrive in pieces of a few KiB; 64 KiB turns them
/// into few large writes while bounding the memory of one upload.
pub const UPLOAD_BUFFER_BYTES: usize = 64 * 1024;

/// Why a storage operation failed. Apart from [`StoreError::DocumentTooLarge`] (the sender's
/// fault, HTTP 413) and [`StoreError::InvalidSha1`] (bad metadata), these are internal failures
/// that become `XDSRepositoryError` with their detail kept in the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("the document is larger than the limit of {limit} bytes (HTTP 413)")]
    DocumentTooLarge { limit: u64 },
    #[error(
        "`{value}` is not a SHA-1 hash of 40 hexadecimal characters (XDSRepositoryMetadataError)"
    )]
    InvalidSha1 { value: String },
    #[error("document {sha1} is not in the store (XDSRepositoryError)")]
    NotFound { sha1: String },
    #[error(
        "stored document {sha1} has {actual} bytes but its metadata says {expected} (XDSRepositoryError)"
    )]
    SizeMismatch {
        sha1: String,
        expected: u64,
        actual: u64,
    },
    #[error("cannot {operation} {path}: {source} (XDSRepositoryError)")]
    Io {
        operation: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("a storage task failed: {detail} (XDSRepositoryError)")]
    Task { detail: String },
    /// The object storage failed (see [`crate::object`]).
    #[error("cannot {operation} object {key}: {source} (XDSRepositoryError)")]
    Object {
        operation: &'static str,
        key: String,
        source: Box<object_store::Error>,
    },
}

fn io_error<'p>(
    operation: &'static str,
    path: &'p Path,
) -> impl FnOnce(io::Error) -> StoreError + 'p {
    move |source| StoreError::Io {
        operation,
        path: path.to_owned(),
        source,
    }
}

/// A SHA-1 as XDS writes it in the `hash` slot: 40 hexadecimal characters, kept lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha1Hex(String);

impl Sha1Hex {
    /// Checks and normalises a hash from metadata (any case accepted, stored lower-case).
    pub fn parse(value: &str) -> Result<Sha1Hex, StoreError> {
        if value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha1Hex(value.to_ascii_lowercase()))
        } else {
            Err(StoreError::InvalidSha1 {
                value: value.to_owned(),
            })
        }
    }

    fn from_digest(digest: &[u8]) -> Sha1Hex {
        Sha1Hex(hex::encode(digest))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha1Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One document being received: a temporary file plus the running SHA-1 and size.
///
/// `write` is synchronous because the MTOM reader hands bytes over from a synchronous sink; the
/// writes land in a buffer and the page cache. The one slow step, the fsync, happens in
/// [`Upload::finish`] on the blocking pool.
pub struct Upload {
    /// `None` once handed over to `finish`.
    file: Option<BufWriter<File>>,
    path: PathBuf,
    hasher: Sha1,
    size: u64,
    /// See [`LocalDocumentStore::open`]'s `document_bytes_max`.
    limit: u64,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Upload {
    /// Appends bytes, refusing them (and everything after) once the document would pass the
    /// limit.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let len = bytes.len() as u64;
        if self.size.saturating_add(len) > self.limit {
            return Err(StoreError::DocumentTooLarge { limit: self.limit });
        }
        let Some(file) = self.file.as_mut() else {
            return Err(StoreError::Task {
                detail: "write after finish".to_owned(),
            });
        };
        file.write_all(bytes)
            .map_err(io_error("write the temporary file", &self.path))?;
        self.hasher.update(bytes);
        self.size += len;
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes and fsyncs the file (on the blocking pool) and yields the staged document.
    pub async fn finish(mut self) -> Result<StagedDocument, StoreError> {
        let Some(file) = self.file.take() else {
            return Err(StoreError::Task {
                detail: "upload finished twice".to_owned(),
            });
        };
        let path = self.path.clone();
        let hasher = std::mem::take(&mut self.hasher);
        let size = self.size;
        // From here the StagedDocument (or the error path below) owns the file's removal.
        let staged = StagedDocument {
            sha1: Sha1Hex::from_digest(&hasher.finalize()),
            size,
            path: Some(path.clone()),
        };
        let synced = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            let file = file.into_inner().map_err(|e| StoreError::Io {
                operation: "flush the temporary file",
                path: path.clone(),
                source: e.into_error(),
            })?;
            file.sync_all()
                .map_err(io_error("fsync the temporary file", &path))
        })
        .await
        .map_err(|e| StoreError::Task {
            detail: e.to_string(),
        })?;
        // On error `staged` drops here and removes the file.
        synced.map(|()| staged)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A fully received, fsync'd document in `tmp/`, hashed and measured, not yet committed.
#[derive(Debug)]
pub struct StagedDocument {
    sha1: Sha1Hex,
    size: u64,
    /// `None` once committed or discarded; otherwise dropping removes the file.
    path: Option<PathBuf>,
}

impl StagedDocument {
    pub fn sha1(&self) -> &Sha1Hex {
        &self.sha1
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The temporary file (for diagnostics and tests).
    pub fn temp_path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(crate) fn take_path(&mut self) -> Option<PathBuf> {
        self.path.take()
    }

    /// Opens the temporary file for reading and removes its name: the open handle keeps the
    /// bytes readable until it is dropped, and nothing is left behind however the reader ends
    /// (a forwarded ITI-43 streams remote documents out of such files).
    pub async fn open_unlinked(mut self) -> Result<OpenDocument, StoreError> {
        let Some(path) = self.take_path() else {
            return Err(StoreError::Task {
                detail: "staged document opened after it was committed".to_owned(),
            });
        };
        let opened = tokio::fs::File::open(&path)
            .await
            .map_err(io_error("open the temporary file", &path));
        // Unlinked either way; an error here only leaves a file for `collect_orphans`.
        if let Err(error) = tokio::fs::remove_file(&path).await {
            tracing::warn!(%error, path = %path.display(), "cannot remove a temporary file");
        }
        Ok(OpenDocument {
            size: self.size,
            reader: Box::new(opened?),
        })
    }
}

impl Drop for StagedDocument {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// A document in its content-addressed place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub sha1: Sha1Hex,
    pub size: u64,
    /// Whether this commit put the file there (false: the same bytes were already stored).
    pub created: bool,
}

/// A stored document opened for streaming.
pub struct OpenDocument {
    pub size: u64,
    pub reader: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
}

impl fmt::Debug for OpenDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenDocument")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Where document bytes live.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Starts receiving one document into a temporary file.
    fn begin_upload(&self) -> Result<Upload, StoreError>;

    /// Moves a staged document into its content-addressed place, durably; idempotent when the
    /// same bytes are already stored.
    async fn commit(&self, staged: StagedDocument) -> Result<StoredDocument, StoreError>;

    /// Drops a staged document.
    async fn discard(&self, staged: StagedDocument) -> Result<(), StoreError>;

    /// Removes a committed document. Only the ITI-41 rollback calls it, for a file its own
    /// commit created and while it holds that hash's lock (see [`crate::ingest`]).
    async fn remove(&self, sha1: &Sha1Hex) -> Result<(), StoreError>;

    /// Opens a committed document for streaming.
    async fn open(&self, sha1: &Sha1Hex) -> Result<OpenDocument, StoreError>;

    async fn exists(&self, sha1: &Sha1Hex) -> Result<bool, StoreError>;

    /// Deletes every leftover temporary file and answers how many there were. Call it at
    /// start only, before any upload begins: it cannot tell a leftover from a live upload.
    fn collect_orphans(&self) -> Result<usize, StoreError>;

    /// The committed documents whose hash begins with the byte `shard`, each with the time it
    /// was last committed (its modification time). The garbage collector walks the store one
    /// shard at a time, so a listing holds about 1/256 of it.
    async fn committed_in_shard(&self, shard: u8)
    -> Result<Vec<(Sha1Hex, SystemTime)>, StoreError>;

    /// When the document was last committed, `None` if it is not stored. The collector asks
    /// again right before it removes a document, because a commit in another process (a
    /// bucket shared by several instances) cannot be seen through this process's hash locks.
    async fn last_committed(&self, sha1: &Sha1Hex) -> Result<Option<SystemTime>, StoreError>;

    /// Whether a submission the registry definitely refused removes the documents its own
    /// commit created, at once. True where only this process commits (local files, under the
    /// hash locks); false where other processes may commit the same bytes concurrently and
    /// cannot be told apart (a shared bucket), which leaves such documents to the collector.
    fn removes_rejected_commits(&self) -> bool {
        true
    }
}

/// Documents as files under `DATA/documents/`.
#[derive(Debug, Clone)]
pub struct LocalDocumentStore {
    tmp: PathBuf,
    sha1: PathBuf,
    /// Largest document accepted, in bytes (config `document_bytes_max`).
    document_bytes_max: u64,
}

impl LocalDocumentStore {
    /// Opens (creating) `data/documents/{tmp,sha1}`.
    pub fn open(data: &Path, document_bytes_max: u64) -> Result<LocalDocumentStore, StoreError> {
        let root = data.join(DOCUMENTS_DIR);
        let tmp = root.join(TMP_DIR);
        let sha1 = root.join(SHA1_DIR);
        create_dir_all_synced(&tmp)?;
        create_dir_all_synced(&sha1)?;
        Ok(LocalDocumentStore {
            tmp,
            sha1,
            document_bytes_max,
        })
    }

    /// `sha1/ab/cd/<sha1>`: two levels of 256 directories keep each directory small.
    pub fn path_of(&self, sha1: &Sha1Hex) -> PathBuf {
        let h = sha1.as_str();
        self.sha1.join(&h[0..2]).join(&h[2..4]).join(h)
    }

    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }
}

#[async_trait]
impl DocumentStore for LocalDocumentStore {
    fn begin_upload(&self) -> Result<Upload, StoreError> {
        let path = self
            .tmp
            .join(format!("{}{TMP_SUFFIX}", uuid::Uuid::new_v4()));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error("create the temporary file", &path))?;
        Ok(Upload {
            file: Some(BufWriter::with_capacity(UPLOAD_BUFFER_BYTES, file)),
            path,
            hasher: Sha1::new(),
            size: 0,
            limit: self.document_bytes_max,
        })
    }

    async fn commit(&self, mut staged: StagedDocument) -> Result<StoredDocument, StoreError> {
        let Some(from) = staged.take_path() else {
            return Err(StoreError::Task {
                detail: "staged document committed twice".to_owned(),
            });
        };
        let to = self.path_of(&staged.sha1);
        let sha1 = staged.sha1.clone();
        let size = staged.size;
        blocking(move || {
            commit_file(&from, &to, size).map(|created| StoredDocument {
                sha1,
                size,
                created,
            })
        })
        .await
    }

    async fn discard(&self, mut staged: StagedDocument) -> Result<(), StoreError> {
        match staged.take_path() {
            Some(path) => {
                blocking(move || match fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io_error("remove the temporary file", &path)(e)),
                })
                .await
            }
            None => Ok(()),
        }
    }

    async fn remove(&self, sha1: &Sha1Hex) -> Result<(), StoreError> {
        let path = self.path_of(sha1);
        blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_error("remove the document", &path)(e)),
            }
            match path.parent() {
                Some(dir) => sync_dir(dir),
                None => Ok(()),
            }
        })
        .await
    }

    async fn open(&self, sha1: &Sha1Hex) -> Result<OpenDocument, StoreError> {
        let path = self.path_of(sha1);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    sha1: sha1.to_string(),
                });
            }
            Err(e) => return Err(io_error("open the document", &path)(e)),
        };
        let size = file
            .metadata()
            .await
            .map_err(io_error("stat the document", &path))?
            .len();
        Ok(OpenDocument {
            size,
            reader: Box::new(file),
        })
    }

    async fn exists(&self, sha1: &Sha1Hex) -> Result<bool, StoreError> {
        let path = self.path_of(sha1);
        tokio::fs::try_exists(&path)
            .await
            .map_err(io_error("look for the document", &path))
    }

    fn collect_orphans(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        let entries = fs::read_dir(&self.tmp).map_err(io_error("list", &self.tmp))?;
        for entry in entries {
            let entry = entry.map_err(io_error("list", &self.tmp))?;
            let path = entry.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(io_error("remove the orphaned temporary file", &path))?;
            count += 1;
        }
        if count > 0 {
            sync_dir(&self.tmp)?;
        }
        Ok(count)
    }

    async fn committed_in_shard(
        &self,
        shard: u8,
    ) -> Result<Vec<(Sha1Hex, SystemTime)>, StoreError> {
        let root = self.sha1.join(format!("{shard:02x}"));
        blocking(move || {
            let mut found = Vec::new();
            let level = match fs::read_dir(&root) {
                Ok(level) => level,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
                Err(e) => return Err(io_error("list", &root)(e)),
            };
            for dir in level {
                let dir = dir.map_err(io_error("list", &root))?.path();
                if !dir.is_dir() {
                    continue;
                }
                for file in fs::read_dir(&dir).map_err(io_error("list", &dir))? {
                    let file = file.map_err(io_error("list", &dir))?;
                    let path = file.path();
                    // Only names that are hashes are documents; anything else is not ours
                    // to judge (nor to delete).
                    let Some(sha1) = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| Sha1Hex::parse(n).ok())
                        .filter(|h| path == root.join(&h.as_str()[2..4]).join(h.as_str()))
                    else {
                        tracing::warn!(path = %path.display(), "not a document file; left alone");
                        continue;
                    };
                    let modified = file
                        .metadata()
                        .and_then(|m| m.modified())
                        .map_err(io_error("stat the document", &path))?;
                    found.push((sha1, modified));
                }
            }
            Ok(found)
        })
        .await
    }

    async fn last_committed(&self, sha1: &Sha1Hex) -> Result<Option<SystemTime>, StoreError> {
        let path = self.path_of(sha1);
        match tokio::fs::metadata(&path).await {
            Ok(meta) => meta
                .modified()
                .map(Some)
                .map_err(io_error("stat the document", &path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("stat the document", &path)(e)),
        }
    }
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| StoreError::Task {
            detail: e.to_string(),
        })?
}

/// Renames `from` to `to` and makes the new name durable; answers whether `to` is new. When a
/// file of the right size is already there (content addressing: the same bytes), `from` is
/// dropped instead. One of another size can only be damage, and the verified bytes replace it.
fn commit_file(from: &Path, to: &Path, size: u64) -> Result<bool, StoreError> {
    let dir = to.parent().ok_or_else(|| StoreError::Task {
        detail: format!("{} has no parent directory", to.display()),
    })?;
    create_dir_all_synced(dir)?;
    match fs::metadata(to) {
        Ok(existing) if existing.len() == size => {
            fs::remove_file(from).map_err(io_error("remove the temporary file", from))?;
            // The file may be an unreferenced leftover about to be registered again: a fresh
            // modification time keeps the garbage collector's grace period (which goes by it)
            // away from it until the registration that reuses it is long over, also for a
            // `dds gc` in another process, which cannot see this one's hash locks.
            File::options()
                .write(true)
                .open(to)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()))
                .map_err(io_error("touch the document", to))?;
            return Ok(false);
        }
        Ok(existing) => {
            tracing::error!(
                path = %to.display(),
                expected = size,
                actual = existing.len(),
                "stored document has the wrong size; replacing it with verified bytes"
            );
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("stat the document", to)(e)),
    }
    fs::rename(from, to).map_err(io_error("move the document into place", to))?;
    sync_dir(dir)?;
    Ok(true)
}

/// `fs::create_dir_all`, fsyncing the parent of every directory it creates so the new names
/// survive a crash.
fn create_dir_all_synced(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all_synced(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io_error("create the directory", dir)(e)),
    }
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("fsync the directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    const ABC_SHA1: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";

    fn store(limit: u64) -> (tempfile::TempDir, LocalDocumentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDocumentStore::open(dir.path(), limit).unwrap();
        (dir, store)
    }

    fn tmp_count(store: &LocalDocumentStore) -> usize {
        fs::read_dir(store.tmp_dir()).unwrap().count()
    }

    #[tokio::test]
    async fn upload_hashes_incrementally_and_commit_places_by_hash() {
        let (_dir, store) = store(1024);
        let mut upload = store.begin_upload().unwrap();
        upload.write(b"a").unwrap();
        upload.write(b"bc").unwrap();
        let staged = upload.finish().await.unwrap();
        assert_eq!(staged.sha1().as_str(), ABC_SHA1);
        assert_eq!(staged.size(), 3);
        assert!(staged.temp_path().unwrap().starts_with(store.tmp_dir()));
        let stored = store.commit(staged).await.unwrap();
        assert!(stored.created);
        let path = store.path_of(&stored.sha1);
        assert!(path.ends_with(format!("sha1/a9/99/{ABC_SHA1}")));
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        assert_eq!(tmp_count(&store), 0);

        let mut open = store.open(&stored.sha1).await.unwrap();
        assert_eq!(open.size, 3);
        let mut bytes = Vec::new();
        open.reader.read_to_end(&mut bytes).await.unwrap();
        assert_eq!(bytes, b"abc");
    }

    #[tokio::test]
    async fn second_commit_of_same_bytes_is_idempotent() {
        let (_dir, store) = store(1024);
        for created in [true, false] {
            let mut upload = store.begin_upload().unwrap();
            upload.write(b"abc").unwrap();
            let stored = store.commit(upload.finish().await.unwrap()).await.unwrap();
            assert_eq!(stored.created, created);
        }
        assert_eq!(tmp_count(&store), 0);
        let dir = store.path_of(&Sha1Hex::parse(ABC_SHA1).unwrap());
        assert_eq!(fs::read_dir(dir.parent().unwrap()).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn too_large_document_is_refused_at_the_limit() {
        let (_dir, store) = store(4);
        let mut upload = store.begin_upload().unwrap();
        upload.write(b"abcd").unwrap();
        let err = upload.write(b"e").unwrap_err();
        assert!(
            matches!(err, StoreError::DocumentTooLarge { limit: 4 }),
            "{err}"
        );
        drop(upload);
        assert_eq!(tmp_count(&store), 0, "a dropped upload removes its file");
    }

    #[tokio::test]
    async fn discard_and_drop_remove_staged_files() {
        let (_dir, store) = store(1024);
        let mut upload = store.begin_upload().unwrap();
        upload.write(b"abc").unwrap();
        let staged = upload.finish().await.unwrap();
        store.discard(staged).await.unwrap();
        let mut upload = store.begin_upload().unwrap();
        upload.write(b"abc").unwrap();
        drop(upload.finish().await.unwrap());
        assert_eq!(tmp_count(&store), 0);
        assert!(
            !store
                .exists(&Sha1Hex::parse(ABC_SHA1).unwrap())
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn orphans_left_by_a_crash_are_collected() {
        let (dir, store) = store(1024);
        let mut upload = store.begin_upload().unwrap();
        upload.write(b"abc").unwrap();
        // A crash: neither Drop runs.
        std::mem::forget(upload.finish().await.unwrap());
        let mut upload = store.begin_upload().unwrap();
        upload.write(b"half").unwrap();
        std::mem::forget(upload);
        let reopened = LocalDocumentStore::open(dir.path(), 1024).unwrap();
        assert_eq!(reopened.collect_orphans().unwrap(), 2);
        assert_eq!(reopened.collect_orphans().unwrap(), 0);
    }

    #[tokio::test]
    async fn missing_document_and_bad_hashes_are_typed_errors() {
        let (_dir, store) = store(1024);
        let sha1 = Sha1Hex::parse(&ABC_SHA1.to_uppercase()).unwrap();
        assert_eq!(sha1.as_str(), ABC_SHA1);
        assert!(matches!(
            store.open(&sha1).await.unwrap_err(),
            StoreError::NotFound { .. }
        ));
        for bad in ["", "../../etc/passwd", &"g".repeat(40), &"a".repeat(41)] {
            assert!(matches!(
                Sha1Hex::parse(bad),
                Err(StoreError::InvalidSha1 { .. })
            ));
        }
    }
}

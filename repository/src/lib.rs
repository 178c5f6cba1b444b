//! The XDS.b document repository: crash-safe ITI-41 ingest and ITI-43 retrieval over
//! content-addressed storage. No HTTP, no SOAP: the edge in `dds` frames requests, streams
//! document bytes into [`store::Upload`]s and streams retrieved files back out.
//!
//! - [`store`]: the [`DocumentStore`] trait and [`LocalDocumentStore`] (`DATA/documents/`):
//!   uploads hashed while they stream into `tmp/`, committed by rename to `sha1/ab/cd/<sha1>`.
//! - [`ingest`]: ITI-41 ([`Repository::provide_and_register`]) and the [`Registrar`] trait.
//! - [`retrieve`]: ITI-43 ([`Repository::retrieve`]), the [`MetadataLookup`] and
//!   [`RemoteRepositories`] traits.
//! - [`in_process`]: `Registrar` and `MetadataLookup` over the registry store of this process
//!   (`--role all`). The repository keeps no database: uniqueId → (hash, size, mimeType) is the
//!   DocumentEntry's metadata in the registry. The SOAP implementations (`--role repository`,
//!   forwarding to `[[repositories]]`) live in `dds`, which owns HTTP and SOAP.
//! - [`object`]: [`ObjectDocumentStore`], committed documents on S3-compatible object storage
//!   (`<prefix>/sha1/ab/cd/<sha1>`), staged locally like the files store.
//! - [`caller`]: the caller's card ([`CallerCard`]), passed on to the registry and to other
//!   repositories so that they decide (consent, MinLog) for the real caller.
//! - [`gc`]: removal of committed files that no DocumentEntry references.
//!
//! # Crash safety
//!
//! The order of one ITI-41 is:
//! 1. bytes stream into `tmp/`, hashed; the file is fsync'd;
//! 2. hash and size are checked against what the source sent, and set in the metadata;
//! 3. the file is **renamed into its content-addressed place** and the directory fsync'd;
//! 4. the metadata is **registered** (one registry transaction);
//! 5. Success is answered.
//!
//! Bytes go into place *before* the metadata is registered. The other order (register, then
//! rename) has a window in which a crash leaves committed metadata pointing at a file still in
//! `tmp/` — which the start-up collection then deletes: a registered document without bytes.
//! In our order a crash between 3 and 4 leaves only a file that no metadata references. That
//! is harmless: content-addressed files are immutable and named by their bytes, so a retry of
//! the same document reuses it and nothing can read it by mistake. Hence:
//! - *metadata never points at missing bytes*: metadata is written only after its bytes are
//!   durable in place, and a file is removed only when the registry definitely rejected the
//!   submission and this same request created the file, under that hash's lock;
//! - *nothing acknowledged is lost*: Success is answered only after both fsync'd rename and
//!   registry commit.
//!
//! A crash before 3 leaves a file in `tmp/`: [`DocumentStore::collect_orphans`] deletes it at
//! the next start. A crash after 4 but before 5 leaves a registered, stored, unacknowledged
//! document; the source retries, and the registry accepts the same document uniqueId with the
//! identical hash while content addressing keeps one copy.
//!
//! Left for the garbage collector ([`gc`]): files under `sha1/` that no DocumentEntry
//! references, left by a crash between 3 and 4 or by a registry failure whose outcome was
//! unknown (those are kept on purpose). It skips files committed within a grace period and
//! decides each file under its hash lock, as the ITI-41 rollback does.
//!
//! Invariant: a document is acknowledged only after its bytes are durable and its metadata is
//! registered; metadata never points at missing bytes.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod caller;
pub mod gc;
pub mod in_process;
pub mod ingest;
pub mod object;
pub mod retrieve;
pub mod store;

pub use caller::CallerCard;
pub use gc::{CollectError, Collected, GC_GRACE_DEFAULT, HashReferences, ReferenceError};
pub use in_process::InProcessRegistry;
pub use ingest::{
    ProvideError, ProvideFinding, Provided, ProvidedDocument, Registrar, RegistrationError,
    Repository,
};
pub use object::{ObjectDocumentStore, S3Settings, Secret, SettingsError};
pub use retrieve::{
    DOCUMENT_REQUESTS_MAX, LocatedDocument, LookupError, MetadataLookup, NoRemoteRepositories,
    RemoteAnswer, RemoteDocument, RemoteRepositories, Retrieval, RetrievedContent,
    RetrievedDocument,
};
pub use store::{
    DocumentStore, LocalDocumentStore, OpenDocument, Sha1Hex, StagedDocument, StoreError,
    StoredDocument, Upload,
};

/// Stages a document that arrived inline (base64 in the envelope, already decoded by the
/// parser) exactly like a streamed one, so both take the same path from here on.
pub async fn stage_bytes(
    store: &dyn DocumentStore,
    bytes: &[u8],
) -> Result<StagedDocument, StoreError> {
    let mut upload = store.begin_upload()?;
    for chunk in bytes.chunks(store::UPLOAD_BUFFER_BYTES) {
        upload.write(chunk)?;
    }
    upload.finish().await
}

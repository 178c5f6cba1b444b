//! Keeping the index in step with the registry, crash-consistently.
//!
//! The registry appends one row per DocumentEntry it writes to its change log
//! ([`registry::change`]), numbered in commit order. The [`Indexer`] applies the changes after
//! its watermark in batches: for each changed entry it reads the entry's current state from
//! the registry (present: index it; gone: remove it) and commits the batch to the index with
//! the batch's last seq as the commit payload ([`SearchIndex::apply`]). Index and watermark
//! therefore move together; after a crash the index is as of its last commit, and the changes
//! after it are applied again (applying one twice is harmless, the state is re-read).
//!
//! An index that was never built, or whose watermark is beyond the change log (the registry
//! was restored from an older backup, or replaced), is rebuilt from every DocumentEntry.
//!
//! Who applies: a background task ([`Indexer::spawn`]), woken after every registry write this
//! process makes and by a poll (writes of other instances sharing a PostgreSQL registry), and
//! every search before it runs ([`Indexer::catch_up_within`]), so that a search sees every
//! write committed before it started unless the index is far behind (a rebuild).
//!
//! Invariant: appliers are serialised (one async mutex), and only they write the index.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use registry::RegistryStore;
use registry::index::ObjectKind;
use xds_model::rim::Identifiable;
use xds_model::xds::DocumentEntry;

use crate::error::SearchError;
use crate::extract;
use crate::index::{IndexOp, IndexedEntry, SearchIndex};

/// Changes applied per index commit. A commit syncs files (milliseconds); batching keeps a
/// burst of registrations from costing one commit each, and bounds the memory of one batch
/// (each entry's document text is at most `extract::TEXT_BYTES_MAX`).
pub const CHANGES_BATCH_MAX: usize = 256;

/// DocumentEntries read per page while rebuilding.
pub const REBUILD_PAGE_MAX: usize = 500;

/// Largest document whose bytes are read for its text; larger ones are indexed by metadata.
pub const DOCUMENT_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// How often the background task looks at the change log without being woken (writes of
/// other instances on a shared PostgreSQL registry).
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Pause after a failed round of the background task before the next one.
pub const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// The bytes of documents this process's repository holds, for their text.
#[async_trait]
pub trait DocumentSource: Send + Sync {
    /// The document's bytes if this process holds the document of `repository_unique_id`
    /// with this SHA-1 `hash` and it is at most `bytes_max` long; `None` otherwise (not ours,
    /// missing, too large, unreadable: the entry is then indexed by its metadata).
    async fn bytes(
        &self,
        repository_unique_id: &str,
        hash: &str,
        bytes_max: u64,
    ) -> Option<Vec<u8>>;
}

/// No documents at all (a registry-only service): entries are indexed by metadata.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDocuments;

#[async_trait]
impl DocumentSource for NoDocuments {
    async fn bytes(&self, _: &str, _: &str, _: u64) -> Option<Vec<u8>> {
        None
    }
}

/// How far the index is behind the registry.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lag {
    /// Changes committed in the registry and not yet in the index (all of them while the
    /// index has never been built).
    pub changes: u64,
    /// Age of the oldest of them, in seconds (0 when none).
    pub seconds: f64,
}

/// Applies the registry's change log to the index; see the module documentation.
pub struct Indexer {
    index: SearchIndex,
    registry: Arc<dyn RegistryStore>,
    documents: Arc<dyn DocumentSource>,
    /// Held by whoever applies changes (or rebuilds), so that batches and their watermarks
    /// are committed in order and a rebuild's uncommitted pages are never committed by
    /// someone else.
    applier: tokio::sync::Mutex<()>,
    /// The watermark of the last commit, for readers that must not wait for the applier;
    /// -1 while the index has never been built.
    applied: AtomicI64,
    /// Wakes the background task (after a write of this process).
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

impl Indexer {
    pub fn new(
        index: SearchIndex,
        registry: Arc<dyn RegistryStore>,
        documents: Arc<dyn DocumentSource>,
    ) -> Result<Arc<Indexer>, SearchError> {
        let applied = index.watermark()?.unwrap_or(-1);
        Ok(Arc::new(Indexer {
            index,
            registry,
            documents,
            applier: tokio::sync::Mutex::new(()),
            applied: AtomicI64::new(applied),
            wake: tokio::sync::Notify::new(),
        }))
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// The change-log seq the index includes; `None` while it has never been built.
    pub fn applied_seq(&self) -> Option<i64> {
        let applied = self.applied.load(Ordering::Acquire);
        (applied >= 0).then_some(applied)
    }

    /// Tells the background task that the registry changed.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// How far behind the registry the index is.
    pub async fn lag(&self) -> Result<Lag, SearchError> {
        let after = self.applied_seq().unwrap_or(0);
        let backlog = self.registry.change_backlog(after).await?;
        let mut changes = backlog.pending;
        if self.applied_seq().is_none() {
            // Never built: everything is behind, whatever the change log holds.
            changes = changes.max(1);
        }
        let seconds = backlog
            .oldest_changed_at_ms
            .map(|oldest| {
                let age = registry::change::unix_millis().saturating_sub(oldest);
                age.max(0) as f64 / 1000.0
            })
            .unwrap_or(0.0);
        Ok(Lag { changes, seconds })
    }

    /// Applies every change committed so far (rebuilding first when needed); answers how
    /// many were applied (entries indexed, for a rebuild).
    pub async fn catch_up(&self) -> Result<u64, SearchError> {
        let _applier = self.applier.lock().await;
        self.catch_up_locked().await
    }

    /// Like [`Indexer::catch_up`], but gives up waiting for another applier after `wait` (a
    /// rebuild in progress): answers whether the index is now in step.
    pub async fn catch_up_within(&self, wait: Duration) -> Result<bool, SearchError> {
        let Ok(_applier) = tokio::time::timeout(wait, self.applier.lock()).await else {
            return Ok(false);
        };
        self.catch_up_locked().await?;
        Ok(true)
    }

    /// Drops the index's contents and indexes every DocumentEntry again.
    pub async fn rebuild(&self) -> Result<u64, SearchError> {
        let _applier = self.applier.lock().await;
        self.rebuild_locked().await
    }

    async fn catch_up_locked(&self) -> Result<u64, SearchError> {
        // Counts only what is after the watermark (an index range): cheap enough for every
        // search to ask.
        let backlog = self
            .registry
            .change_backlog(self.applied_seq().unwrap_or(0))
            .await?;
        let applied = match self.applied_seq() {
            Some(applied) if applied <= backlog.last_seq => {
                if backlog.pending == 0 {
                    return Ok(0);
                }
                applied
            }
            Some(applied) => {
                tracing::warn!(
                    applied,
                    last = backlog.last_seq,
                    "the search index is ahead of the registry's change log (a restored or replaced registry); rebuilding it"
                );
                return self.rebuild_locked().await;
            }
            None => return self.rebuild_locked().await,
        };
        let mut after = applied;
        let mut total = 0u64;
        loop {
            let changes = self
                .registry
                .changes_after(after, CHANGES_BATCH_MAX)
                .await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(total);
            };
            let mut ids: Vec<String> = changes.into_iter().map(|c| c.entry_uuid).collect();
            ids.sort();
            ids.dedup();
            let objects = self.registry.objects_by_ids(&ids).await?;
            let mut ops = Vec::with_capacity(ids.len());
            for id in &ids {
                match objects.iter().find(|o| &o.entry_uuid == id) {
                    Some(object) if object.kind == ObjectKind::DocumentEntry => {
                        match self.indexed(object).await {
                            Some(entry) => ops.push(IndexOp::Upsert(entry)),
                            None => ops.push(IndexOp::Remove(id.clone())),
                        }
                    }
                    Some(_) => {}
                    None => ops.push(IndexOp::Remove(id.clone())),
                }
            }
            total += ops.len() as u64;
            self.commit(ops, last, false).await?;
            after = last;
        }
    }

    async fn rebuild_locked(&self) -> Result<u64, SearchError> {
        // Read before the scan: a change committed during the scan is after this seq and is
        // applied (again) by the next catch-up.
        let watermark = self.registry.change_backlog(0).await?.last_seq;
        let started = std::time::Instant::now();
        let mut after = 0i64;
        let mut total = 0u64;
        let mut first = true;
        loop {
            let page = self
                .registry
                .document_entries_after(after, REBUILD_PAGE_MAX)
                .await?;
            let Some(last) = page.last().map(|(seq, _)| *seq) else {
                break;
            };
            let mut ops = Vec::with_capacity(page.len());
            for (_, object) in &page {
                if let Some(entry) = self.indexed(object).await {
                    ops.push(IndexOp::Upsert(entry));
                }
            }
            total += ops.len() as u64;
            self.stage(ops, first).await?;
            first = false;
            after = last;
        }
        // An empty registry still clears the index.
        self.commit(Vec::new(), watermark, first).await?;
        tracing::info!(
            entries = total,
            watermark,
            seconds = started.elapsed().as_secs_f64(),
            "search index rebuilt"
        );
        Ok(total)
    }

    /// Writes `ops` without committing (a rebuild's pages); see [`SearchIndex::stage`].
    async fn stage(&self, ops: Vec<IndexOp>, replace_all: bool) -> Result<(), SearchError> {
        self.blocking(move |index| index.stage(ops, replace_all))
            .await
    }

    async fn commit(
        &self,
        ops: Vec<IndexOp>,
        watermark: i64,
        replace_all: bool,
    ) -> Result<(), SearchError> {
        self.blocking(move |index| index.apply(ops, watermark, replace_all))
            .await?;
        self.applied.store(watermark, Ordering::Release);
        Ok(())
    }

    /// Runs index work off the async threads (commits sync files). `block_in_place` keeps the
    /// borrow of the index; on a current-thread runtime (tests) the work runs inline.
    async fn blocking<T>(
        &self,
        work: impl FnOnce(&SearchIndex) -> Result<T, SearchError>,
    ) -> Result<T, SearchError> {
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| work(&self.index))
            }
            _ => work(&self.index),
        }
    }

    /// What the index holds of a stored DocumentEntry; `None` if its XML is not one.
    async fn indexed(&self, object: &registry::ResultObject) -> Option<IndexedEntry> {
        let entry = match xds_model::codec::parse_identifiable(object.xml.as_bytes()) {
            Ok(Identifiable::ExtrinsicObject(eo)) => DocumentEntry::from_rim(&eo).ok()?,
            _ => {
                tracing::warn!(entry_uuid = %object.entry_uuid, "a stored DocumentEntry does not read back; not indexed");
                return None;
            }
        };
        let mut indexed = crate::entry::indexed_entry(&entry, object.patient_id.as_deref());
        if let (Some(repository), Some(hash), Some(mime)) =
            (&entry.repository_unique_id, &entry.hash, &entry.mime_type)
            && let Some(bytes) = self
                .documents
                .bytes(repository, hash, DOCUMENT_BYTES_MAX)
                .await
            && let Some(text) = extract::document_text(mime, &bytes)
        {
            indexed.body = text;
        }
        Some(indexed)
    }

    /// Starts the background task: catches up at once (the service is ready meanwhile;
    /// searches wait for it at most a moment), then whenever woken or polled.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let indexer = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match indexer.catch_up().await {
                    Ok(_) => {
                        let _ = tokio::time::timeout(POLL_INTERVAL, indexer.wake.notified()).await;
                    }
                    Err(error) => {
                        tracing::error!(%error, "the search index could not apply the registry's changes; retrying");
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                }
            }
        })
    }
}

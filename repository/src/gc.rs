//! Garbage collection of content-addressed files that no DocumentEntry references.
//!
//! Such files are left by a crash between committing the bytes and registering them, and by a
//! registration whose outcome was unknown (see the crate documentation, "Crash safety"). They
//! are harmless but take space. [`Repository::collect_unreferenced`] walks `sha1/` one shard at
//! a time and removes each file that
//! 1. was last committed longer than the grace period ago (a commit of the same bytes touches
//!    the file, so "last committed" covers reuse too), and
//! 2. no DocumentEntry of the registry names by hash ([`HashReferences`]), asked **while
//!    holding that hash's lock**, the same lock an ITI-41 holds from its commit until the
//!    registry answered.
//!
//! Invariant: a file a DocumentEntry names is never removed. Under the hash lock no ITI-41 of
//! this process is between commit and registration for that hash, so "not referenced now"
//! stays true until the removal is done; a submission that comes later finds no file and
//! commits its own. The grace period is a second fence for what the lock cannot see (a
//! registry that might still commit a registration whose answer was lost). That is also why
//! there is no `dds gc` command: another process cannot take this process's hash locks.
//!
//! A store shared by several processes (object storage, [`crate::object`]) is also committed
//! to by processes whose locks this one cannot take. There every commit rewrites the object,
//! refreshing its last-modified time, and the collector reads that time again after the
//! reference check, right before it removes: a document committed again since the listing is
//! young and kept. What remains is a window of one round trip between that read and the
//! removal in which another instance's re-commit and registration could both fall; the object
//! would then be gone under fresh metadata. FIXME: close it with a conditional delete
//! (If-Unmodified-Since) once S3-compatible servers broadly support one; until then prefer to
//! let one instance collect.
//!
//! Only a process with the registry in it can collect (`--role all`): the stored queries of
//! ITI-18 cannot ask "is this hash referenced", so `--role repository` keeps its files.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::ingest::Repository;
use crate::store::{Sha1Hex, StoreError};

/// Default grace period: far longer than any registration takes (they are bounded by the
/// registry's own timeouts of seconds), short enough that space comes back the same day.
pub const GC_GRACE_DEFAULT: Duration = Duration::from_secs(60 * 60);

/// Answers whether a DocumentEntry names a hash.
#[async_trait]
pub trait HashReferences: Send + Sync {
    async fn is_referenced(&self, sha1: &Sha1Hex) -> Result<bool, ReferenceError>;
}

/// The registry could not answer; the file is kept.
#[derive(Debug, thiserror::Error)]
#[error("cannot tell whether a DocumentEntry references {sha1}: {detail}")]
pub struct ReferenceError {
    pub sha1: String,
    pub detail: String,
}

/// What one collection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    /// Files looked at.
    pub examined: usize,
    /// Files within the grace period, kept without asking.
    pub young: usize,
    /// Files a DocumentEntry references, kept.
    pub referenced: usize,
    /// Files removed.
    pub removed: usize,
}

/// Why a collection stopped. Files already removed stay removed; every one of them was
/// unreferenced.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

impl Repository {
    /// Removes committed files that no DocumentEntry references and that were last committed
    /// more than `grace` ago; see the module documentation.
    pub async fn collect_unreferenced(
        &self,
        references: &dyn HashReferences,
        grace: Duration,
    ) -> Result<Collected, CollectError> {
        let cutoff = SystemTime::now()
            .checked_sub(grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut collected = Collected::default();
        for shard in 0..=u8::MAX {
            for (sha1, listed_modified) in self.store.committed_in_shard(shard).await? {
                collected.examined += 1;
                if listed_modified > cutoff {
                    collected.young += 1;
                    continue;
                }
                let _guard = self.locks.lock_all(&BTreeSet::from([sha1.clone()])).await;
                if references.is_referenced(&sha1).await? {
                    collected.referenced += 1;
                    continue;
                }
                // Another process sharing the store (several instances on one bucket) may have
                // committed these bytes again since the listing, unseen by our locks, and be
                // about to register them: its commit made the document young again.
                match self.store.last_committed(&sha1).await? {
                    None => continue,
                    Some(modified) if modified > cutoff => {
                        collected.young += 1;
                        continue;
                    }
                    Some(_) => {}
                }
                self.store.remove(&sha1).await?;
                collected.removed += 1;
                tracing::info!(%sha1, "removed a document file no DocumentEntry references");
            }
        }
        Ok(collected)
    }
}

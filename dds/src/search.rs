//! The full-text index of this process: where it lives, which documents' text it can read,
//! and `dds reindex`.
//!
//! The index is in `DATA/search/` (one per instance, also when several instances share a
//! PostgreSQL registry: each follows the shared change log). A service with the registry role
//! opens it and keeps it in step in the background ([`search::Indexer`]); the repository-only
//! role has no registry and no index. Document text is read only for documents this process's
//! own repository holds (`--role all`), by their hash from its document store (local files or
//! the `[object_store]` bucket).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use repository::{DocumentStore, Sha1Hex};
use tokio::io::AsyncReadExt;

use crate::config::{Config, Role};

/// The index directory inside the data directory.
pub const SEARCH_DIR: &str = "search";

/// Where the index of this data directory lives.
pub fn index_dir(data: &Path) -> PathBuf {
    data.join(SEARCH_DIR)
}

/// The documents of this process's repository, read for their text.
pub struct RepositoryDocuments {
    repository_unique_id: String,
    store: Arc<dyn DocumentStore>,
}

#[async_trait]
impl search::DocumentSource for RepositoryDocuments {
    async fn bytes(
        &self,
        repository_unique_id: &str,
        hash: &str,
        bytes_max: u64,
    ) -> Option<Vec<u8>> {
        if repository_unique_id != self.repository_unique_id {
            return None;
        }
        let sha1 = Sha1Hex::parse(hash).ok()?;
        let document = match self.store.open(&sha1).await {
            Ok(document) => document,
            Err(error) => {
                tracing::debug!(%error, hash, "no text indexed for a document this repository cannot open");
                return None;
            }
        };
        if document.size > bytes_max {
            return None;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(document.size).unwrap_or(0));
        let mut reader = document.reader.take(bytes_max);
        match reader.read_to_end(&mut bytes).await {
            Ok(_) => Some(bytes),
            Err(error) => {
                tracing::warn!(%error, hash, "cannot read a document for the search index");
                None
            }
        }
    }
}

/// The document source for this configuration: the repository's documents with `--role all`,
/// none otherwise.
pub async fn document_source(config: &Config) -> anyhow::Result<Arc<dyn search::DocumentSource>> {
    Ok(match config.role {
        Role::All => Arc::new(RepositoryDocuments {
            repository_unique_id: config.repository_unique_id.clone(),
            store: crate::app::open_document_store(config)
                .await
                .context("cannot open the document store for the search index")?,
        }),
        _ => Arc::new(search::NoDocuments),
    })
}

/// Opens the index of the data directory for `registry`. Fails when another process (a
/// running service, or `dds reindex`) has it open for writing.
pub async fn open_indexer(
    config: &Config,
    registry: Arc<dyn registry::RegistryStore>,
) -> anyhow::Result<Arc<search::Indexer>> {
    let dir = index_dir(&config.data);
    let index = search::SearchIndex::open(&dir).with_context(|| {
        format!(
            "cannot open the search index in {} (is another dds process using this data directory?)",
            dir.display()
        )
    })?;
    Ok(search::Indexer::new(
        index,
        registry,
        document_source(config).await?,
    )?)
}

/// Options of `dds reindex`.
#[derive(Debug, clap::Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    pub serve: crate::config::ServeFlags,
}

/// `dds reindex`: rebuilds the data directory's search index from the registry (the service
/// must be stopped: it holds the index open).
pub fn reindex(args: ReindexArgs) -> i32 {
    crate::cli::run_command("reindex", async move {
        let config = Config::load(args.serve)?;
        let registry = crate::app::open_registry_store(&config).await?;
        let indexer = open_indexer(&config, registry).await?;
        let started = std::time::Instant::now();
        let entries = indexer.rebuild().await?;
        println!(
            "indexed {entries} DocumentEntries in {:.1} s into {} (up to change {})",
            started.elapsed().as_secs_f64(),
            index_dir(&config.data).display(),
            indexer.applied_seq().unwrap_or(0)
        );
        Ok(crate::cli::EXIT_OK)
    })
}

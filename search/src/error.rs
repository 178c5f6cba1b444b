//! Errors of the full-text index.

use std::path::PathBuf;

/// What went wrong with the index. All of these are internal failures to the caller of a
/// search (a receiver fault); none is caused by the query text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    #[error("cannot open the search index directory {path}: {detail}")]
    Directory { path: PathBuf, detail: String },
    #[error(
        "the search index was built with another schema; remove its directory or run `dds reindex`"
    )]
    SchemaChanged,
    #[error("the search index's commit payload {payload:?} is not a change-log seq")]
    Payload { payload: String },
    #[error("the search index writer was poisoned by a panic")]
    Poisoned,
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index: reading the registry: {0}")]
    Registry(#[from] registry::StoreError),
    #[error("search index: reading the registry: {0}")]
    Query(#[from] registry::QueryError),
    #[error("search index: a background task failed: {0}")]
    Task(String),
}

//! The indexer against a real (SQLite) registry: what it does with an index that was never
//! built, and with one that is ahead of the registry's change log (a registry restored from an
//! older backup). Registration, update, delete and crash cases run through the service in
//! `dds/tests/search*.rs`.

use std::sync::Arc;

use registry::{RegistryStore, SqliteRegistryStore, StoreConfig};
use search::{IndexOp, IndexedEntry, Indexer, NoDocuments, SearchIndex};

async fn empty_registry(dir: &std::path::Path) -> Arc<dyn RegistryStore> {
    Arc::new(
        SqliteRegistryStore::open(&dir.join("registry.sqlite"), StoreConfig::default())
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn a_new_index_is_built_and_one_ahead_of_the_log_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let registry = empty_registry(dir.path()).await;

    // Never built: the first catch-up builds it (from an empty registry: empty, at seq 0).
    let indexer = Indexer::new(
        SearchIndex::open(&dir.path().join("fresh")).unwrap(),
        registry.clone(),
        Arc::new(NoDocuments),
    )
    .unwrap();
    assert_eq!(indexer.applied_seq(), None);
    assert_eq!(
        indexer.lag().await.unwrap().changes,
        1,
        "never built counts as behind"
    );
    indexer.catch_up().await.unwrap();
    assert_eq!(indexer.applied_seq(), Some(0));
    assert_eq!(indexer.lag().await.unwrap().changes, 0);

    // An index that claims changes the registry never had is dropped and rebuilt.
    let stale = SearchIndex::open(&dir.path().join("stale")).unwrap();
    stale
        .apply(
            vec![IndexOp::Upsert(IndexedEntry {
                entry_uuid: "urn:uuid:gone".into(),
                patient_id: "p".into(),
                status: "s".into(),
                title: "hjertet".into(),
                ..IndexedEntry::default()
            })],
            42,
            false,
        )
        .unwrap();
    let indexer = Indexer::new(stale, registry, Arc::new(NoDocuments)).unwrap();
    assert_eq!(indexer.applied_seq(), Some(42));
    indexer.catch_up().await.unwrap();
    assert_eq!(indexer.applied_seq(), Some(0));
    assert_eq!(indexer.index().num_docs(), 0);
    assert_eq!(indexer.index().watermark().unwrap(), Some(0));
}

#[tokio::test]
async fn the_index_directory_is_taken_by_one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = SearchIndex::open(dir.path()).unwrap();
    assert!(SearchIndex::open(dir.path()).is_err());
    drop(first);
    assert!(SearchIndex::open(dir.path()).is_ok());
}

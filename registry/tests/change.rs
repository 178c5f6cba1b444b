//! The change log (`registry_change`): one row per DocumentEntry a committed write touched, in
//! commit order, on both backends (SQLite file, or PostgreSQL: see common).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use registry::RegistryStore;
use xds_model::vocabulary::error_code;

fn changed_ids(changes: &[registry::Change]) -> Vec<String> {
    changes.iter().map(|c| c.entry_uuid.clone()).collect()
}

#[tokio::test]
async fn registrations_and_deletes_log_their_document_entries_only() {
    let f = fixture().await;
    let (d1, d2) = (Doc::new("D1"), Doc::new("D2"));
    let r = check_registered(&f.store, &submission(PATIENT, &[&d1, &d2], vec![])).await;
    let id = |s: &str| r.assigned_uuids[s].clone();
    let changes = f.store.changes_after(0, 100).await.unwrap();
    let mut expected = vec![id("D1"), id("D2")];
    expected.sort();
    assert_eq!(
        changed_ids(&changes),
        expected,
        "the SubmissionSet and associations are not logged"
    );
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(changes.iter().all(|c| c.changed_at_ms > 1_700_000_000_000));
    let first = changes[1].seq;

    // A rejected registration logs nothing (table_row_counts covers registry_change).
    let mut mismatched = Doc::new("D3");
    mismatched.patient = OTHER_PATIENT.to_owned();
    check_rejected(
        &f.store,
        &submission(PATIENT, &[&mismatched], vec![]),
        &[error_code::PATIENT_ID_DOES_NOT_MATCH],
    )
    .await;
    assert!(f.store.changes_after(first, 100).await.unwrap().is_empty());

    f.store.delete(&[id("ss-hm-1"), id("D2")]).await.unwrap();
    let after_delete = f.store.changes_after(first, 100).await.unwrap();
    assert_eq!(changed_ids(&after_delete), [id("D2")]);
    let backlog = f.store.change_backlog(0).await.unwrap();
    assert_eq!(backlog.pending, 3);
    assert_eq!(backlog.last_seq, after_delete[0].seq);
    assert_eq!(backlog.oldest_changed_at_ms, Some(changes[0].changed_at_ms));
    let caught_up = f.store.change_backlog(backlog.last_seq).await.unwrap();
    assert_eq!(
        (caught_up.pending, caught_up.oldest_changed_at_ms),
        (0, None)
    );

    // What a rebuild reads: the DocumentEntries still stored, page by page.
    let page = f.store.document_entries_after(0, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].1.entry_uuid, id("D1"));
    assert!(
        f.store
            .document_entries_after(page[0].0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A reader that follows the log while writers commit concurrently never skips a change: a
/// seq it has passed is never committed later (on PostgreSQL the advisory lock at the end of
/// each write is what makes seq order commit order).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_following_the_log_during_concurrent_writes_misses_nothing() {
    let f = fixture().await;
    let store: Arc<dyn RegistryStore> = match f.store.clone() {
        TestStore::Sqlite(s) => Arc::new(s),
        TestStore::Postgres(s) => Arc::new(s),
    };
    const WRITERS: usize = 6;
    const REGISTRATIONS: usize = 5;
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen = BTreeSet::new();
            let mut after = 0;
            loop {
                let finished = done.load(Ordering::Acquire);
                for change in store.changes_after(after, 1000).await.unwrap() {
                    after = change.seq;
                    seen.insert(change.entry_uuid);
                }
                if finished {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for r in 0..REGISTRATIONS {
                let doc = Doc::new(&format!("D{w}x{r}"));
                let registered = store
                    .register(&submission(PATIENT, &[&doc], vec![]), any_patient())
                    .await
                    .unwrap();
                ids.push(registered.assigned_uuids[&doc.id].clone());
            }
            ids
        }));
    }
    let mut written = BTreeSet::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    done.store(true, Ordering::Release);
    let seen = reader.await.unwrap();
    assert_eq!(seen, written);
}

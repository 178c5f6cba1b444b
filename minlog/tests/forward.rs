//! MinLog forwarding with several processes on one store (three handles with pools of their
//! own, as instances on one PostgreSQL database have): one forwarder at a time holds the
//! cursor, every record arrives exactly once and in record order, and when the holder stops
//! another takes over. Runs on SQLite and, with `DDS_TEST_DATABASE_URL`, on PostgreSQL.
//! Waits poll for a condition; nothing here measures time.

mod common;

use common::{Backing, backings};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use minlog::{
    AccessAction, AccessOutcome, AccessRecord, AuditStore, ForwardConfig, MinlogForwarder,
};

const WAIT_MAX: Duration = Duration::from_secs(60);

type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

async fn receive(State(seen): State<Seen>, body: String) -> StatusCode {
    seen.lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());
    StatusCode::OK
}

async fn start_receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/minlog", axum::routing::post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/minlog"), seen)
}

fn record(n: usize) -> AccessRecord {
    AccessRecord {
        time: minlog::now_rfc3339().unwrap(),
        patient_cpr: "0101700013".into(),
        user_cpr: Some("0804569723".into()),
        user_name: Some(format!("access {n}")),
        user_role: "doctor".into(),
        organisation_sor: None,
        organisation_cvr: None,
        organisation_name: None,
        it_system: None,
        on_behalf_of: None,
        action: AccessAction::Query,
        documents: vec![],
        override_reason: None,
        outcome: AccessOutcome::Allowed,
    }
}

async fn wait_for(seen: &Seen, count: usize) {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    while seen.lock().unwrap().len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {count} records"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_forwarder_at_a_time_and_another_takes_over_when_it_stops() {
    for backing in backings().await {
        one_forwarder_at_a_time_on(&backing).await;
    }
}

async fn one_forwarder_at_a_time_on(backing: &Backing) {
    let (url, seen) = start_receiver().await;
    let stores = [
        backing.open().await,
        backing.open().await,
        backing.open().await,
    ];
    let config = ForwardConfig {
        poll_interval: Duration::from_millis(50),
        ..ForwardConfig::new(&url, 3)
    };
    let mut next = 0;
    let mut commit = async |stores: &[AuditStore], count: usize| {
        for _ in 0..count {
            stores[next % stores.len()]
                .record_access(&record(next), false)
                .await
                .unwrap();
            next += 1;
        }
    };
    let first = MinlogForwarder::spawn(stores[0].clone(), config.clone()).unwrap();
    commit(&stores, 5).await;
    wait_for(&seen, 5).await;
    // Two more start while the first holds the cursor: they wait.
    let second = MinlogForwarder::spawn(stores[1].clone(), config.clone()).unwrap();
    let third = MinlogForwarder::spawn(stores[2].clone(), config.clone()).unwrap();
    commit(&stores, 10).await;
    wait_for(&seen, 15).await;
    // The holder stops (releasing the cursor); one of the others carries on.
    first.stop().await;
    commit(&stores, 10).await;
    wait_for(&seen, 25).await;
    // Records committed at once through all three: ids are taken in one order and committed
    // in another, and none may be passed over.
    let burst: Vec<_> = (25..85)
        .map(|n| {
            let store = stores[n % stores.len()].clone();
            tokio::spawn(async move { store.record_access(&record(n), false).await.unwrap() })
        })
        .collect();
    for task in burst {
        task.await.unwrap();
    }
    wait_for(&seen, 85).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    second.stop().await;
    third.stop().await;

    let seen = seen.lock().unwrap().clone();
    let names: Vec<String> = seen
        .iter()
        .map(|r| r["user"]["name"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..25).map(|n| format!("access {n}")).collect();
    assert_eq!(names[..25], expected, "one after another: in commit order");
    let mut all = names.clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 85, "each record exactly once");
    assert_eq!(names.len(), 85, "each record exactly once");
    let ids: Vec<i64> = seen
        .iter()
        .map(|r| {
            let event_id = r["event_id"].as_str().unwrap();
            event_id.rsplit(':').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in record order: {ids:?}"
    );
    let state = stores[0].forward_state().await.unwrap();
    assert_eq!(state.behind, 0);
}

/// PostgreSQL only (SQLite has one writer, which commits ids in order): a record whose
/// transaction took its id first but commits last is not passed over. Another instance's
/// record_access is played by a transaction held open here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_committed_late_with_a_smaller_id_is_not_passed_over() {
    use sqlx::Connection;
    let Some(url) = std::env::var("DDS_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        println!("SKIPPED: DDS_TEST_DATABASE_URL names no PostgreSQL database");
        return;
    };
    let schema = registry::postgres::ScratchSchema::create(&url)
        .await
        .unwrap();
    let store = AuditStore::open_postgres(schema.url()).await.unwrap();
    let (forward_url, seen) = start_receiver().await;
    let forwarder = MinlogForwarder::spawn(
        store.clone(),
        ForwardConfig {
            poll_interval: Duration::from_millis(50),
            ..ForwardConfig::new(&forward_url, 3)
        },
    )
    .unwrap();

    // As record_access does it: the transaction id first, then the row (and its id).
    let mut other = sqlx::PgConnection::connect(schema.url()).await.unwrap();
    let mut slow = other.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *slow)
        .await
        .unwrap();
    let early: i64 = sqlx::query_scalar(
        "INSERT INTO access_record (time, patient_cpr, user_name, user_role, action, documents, \
         outcome) VALUES ($1, '0101700013', 'early', 'doctor', 'query', '[]', 'allowed') \
         RETURNING id",
    )
    .bind(minlog::now_rfc3339().unwrap())
    .fetch_one(&mut *slow)
    .await
    .unwrap();
    let mut later = record(1);
    later.user_name = Some("later".into());
    let recorded = store.record_access(&later, false).await.unwrap();
    assert!(recorded.record_id > early);

    // The later record is committed, the earlier one not yet: nothing may be sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "sent past an uncommitted record"
    );
    slow.commit().await.unwrap();
    wait_for(&seen, 2).await;
    forwarder.stop().await;
    let names: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r["user"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["early", "later"]);
    store.close().await;
}

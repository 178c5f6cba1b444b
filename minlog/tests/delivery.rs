//! The outbox worker against a real BRS receiver over HTTP on 127.0.0.1: order per patient,
//! retries, dead-lettering, resuming after a restart, the wake-up on commit and the flush.
//! Waits are generous polls for a condition; nothing here measures time.

mod common;

use common::{Backing, backings};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use minlog::{
    AccessAction, AccessOutcome, AccessRecord, AuditStore, DeliveryConfig, FollowupState,
    OutboxWorker,
};

const PATIENTS: [&str; 3] = ["0101700013", "0201919990", "2512489996"];
const WAIT_MAX: Duration = Duration::from_secs(60);

/// One request the receiver saw, with the status it answered.
#[derive(Debug, Clone)]
struct Seen {
    event_id: String,
    patient_cpr: String,
    status: u16,
}

type Plan = dyn Fn(usize, &str) -> u16 + Send + Sync;
/// What the receiver's handler shares: every request seen, and the answer plan.
type ReceiverState = (Arc<Mutex<Vec<Seen>>>, Arc<Plan>);

#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    /// A BRS stand-in that answers request number `n` (from 0) for `event_id` with
    /// `plan(n, event_id)`.
    async fn start(plan: impl Fn(usize, &str) -> u16 + Send + Sync + 'static) -> Receiver {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let plan: Arc<Plan> = Arc::new(plan);
        let app = axum::Router::new()
            .route("/followups", axum::routing::post(receive))
            .with_state((seen.clone(), plan));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url: format!("http://{addr}/followups"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| (200..300).contains(&s.status))
            .collect()
    }
}

async fn receive(State((seen, plan)): State<ReceiverState>, body: String) -> StatusCode {
    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
    let event_id = payload["event_id"].as_str().unwrap().to_owned();
    let mut seen = seen.lock().unwrap();
    let status = plan(seen.len(), &event_id);
    seen.push(Seen {
        event_id,
        patient_cpr: payload["patient_cpr"].as_str().unwrap().to_owned(),
        status,
    });
    StatusCode::from_u16(status).unwrap()
}

fn access(patient: &str) -> AccessRecord {
    AccessRecord {
        time: minlog::now_rfc3339().unwrap(),
        patient_cpr: patient.into(),
        user_cpr: Some("0804569723".into()),
        user_name: Some("Ida Engel".into()),
        user_role: "doctor".into(),
        organisation_sor: Some("328081000016004".into()),
        organisation_cvr: None,
        organisation_name: Some("Rigshospitalet".into()),
        it_system: None,
        on_behalf_of: None,
        action: AccessAction::Retrieve,
        documents: vec!["2.25.297860445735985469057769323429578268365".into()],
        override_reason: None,
        outcome: AccessOutcome::Allowed,
    }
}

async fn order(store: &AuditStore, patient: &str) -> String {
    store
        .record_access(&access(patient), true)
        .await
        .unwrap()
        .followup_event_id
        .unwrap()
}

fn config(receiver: &Receiver) -> DeliveryConfig {
    DeliveryConfig::new(&receiver.url)
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pending(store: &AuditStore) -> u64 {
    store.outbox_depth().await.unwrap().pending
}

/// Every request for a patient's follow-up came after all of that patient's earlier
/// follow-ups were answered 2xx.
fn assert_in_order_per_patient(committed: &[(String, String)], seen: &[Seen]) {
    let patients: std::collections::BTreeSet<&str> =
        committed.iter().map(|(p, _)| p.as_str()).collect();
    for patient in patients {
        let sequence: Vec<&str> = committed
            .iter()
            .filter(|(p, _)| p == patient)
            .map(|(_, id)| id.as_str())
            .collect();
        let mut settled = 0;
        for request in seen.iter().filter(|s| s.patient_cpr == patient) {
            let index = sequence
                .iter()
                .position(|id| *id == request.event_id)
                .unwrap();
            assert!(
                index <= settled,
                "{patient}: follow-up {index} was sent before follow-up {settled} settled"
            );
            if index == settled && (200..300).contains(&request.status) {
                settled += 1;
            }
        }
        assert_eq!(settled, sequence.len(), "{patient}: all delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_arrive_in_order_per_patient_through_failures() {
    for backing in backings().await {
        follow_ups_arrive_in_order_per_patient_through_failures_on(&backing).await;
    }
}

async fn follow_ups_arrive_in_order_per_patient_through_failures_on(backing: &Backing) {
    // Every third request fails, so retries interleave with other patients' deliveries.
    let receiver = Receiver::start(|n, _| if n % 3 == 1 { 500 } else { 200 }).await;
    let store = backing.open().await;
    let mut committed = Vec::new();
    let mut worker = None;
    for round in 0..4 {
        // Half of them exist before the worker starts, half arrive while it runs.
        if round == 2 {
            worker = Some(OutboxWorker::spawn(store.clone(), config(&receiver)).unwrap());
        }
        for patient in PATIENTS {
            committed.push((patient.to_owned(), order(&store, patient).await));
        }
    }
    assert!(worker.is_some());
    wait_until("all delivered", || async { pending(&store).await == 0 }).await;
    assert_in_order_per_patient(&committed, &receiver.seen());
    assert!(receiver.seen().iter().any(|s| s.status == 500));
    let delivered = store
        .list_followups(Some(FollowupState::Delivered), 100, None)
        .await
        .unwrap();
    assert_eq!(delivered.items.len(), committed.len());
}

/// More patients than the worker has requests in flight, several follow-ups each, some
/// committed while it runs, and a receiver that fails now and then: the answers are settled
/// in batches, and still every follow-up arrives in order per patient, and none is sent
/// again once it was answered 2xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_patients_follow_ups_arrive_in_order_through_batched_settles() {
    for backing in backings().await {
        many_patients_follow_ups_arrive_in_order_on(&backing).await;
    }
}

async fn many_patients_follow_ups_arrive_in_order_on(backing: &Backing) {
    let receiver = Receiver::start(|n, _| if n % 7 == 3 { 503 } else { 204 }).await;
    let store = backing.open().await;
    let patients: Vec<String> = (0..150u64)
        .map(|n| format!("{:010}", 1_000_000_000 + n))
        .collect();
    let mut committed = Vec::new();
    let mut worker = None;
    for round in 0..4 {
        if round == 2 {
            worker = Some(OutboxWorker::spawn(store.clone(), config(&receiver)).unwrap());
        }
        // Commits of many patients at once, as under load (grouped by the committer).
        let orders: Vec<_> = patients
            .iter()
            .map(|patient| {
                let store = store.clone();
                let patient = patient.clone();
                tokio::spawn(async move {
                    let event_id = order(&store, &patient).await;
                    (patient, event_id)
                })
            })
            .collect();
        for ordered in orders {
            committed.push(ordered.await.unwrap());
        }
    }
    assert!(worker.is_some());
    wait_until("all delivered", || async { pending(&store).await == 0 }).await;
    let seen = receiver.seen();
    assert_in_order_per_patient(&committed, &seen);
    assert!(seen.iter().any(|s| s.status == 503));
    let mut delivered: Vec<String> = receiver
        .delivered()
        .into_iter()
        .map(|s| s.event_id)
        .collect();
    delivered.sort();
    let answered_2xx = delivered.len();
    delivered.dedup();
    assert_eq!(answered_2xx, delivered.len(), "a 2xx answer was sent again");
    assert_eq!(delivered.len(), committed.len());
}

#[tokio::test]
async fn a_receiver_that_fails_first_then_recovers_gets_the_follow_up() {
    for backing in backings().await {
        a_receiver_that_fails_first_then_recovers_gets_the_follow_up_on(&backing).await;
    }
}

async fn a_receiver_that_fails_first_then_recovers_gets_the_follow_up_on(backing: &Backing) {
    let receiver = Receiver::start(|n, _| if n < 2 { 500 } else { 204 }).await;
    let store = backing.open().await;
    let event_id = order(&store, PATIENTS[0]).await;
    let _worker = OutboxWorker::spawn(store.clone(), config(&receiver)).unwrap();
    wait_until("delivered", || async { pending(&store).await == 0 }).await;
    let followup = &store.followups(10).await.unwrap()[0];
    assert_eq!(followup.event_id, event_id);
    assert_eq!(followup.state, FollowupState::Delivered);
    assert_eq!(followup.attempts, 3);
    assert!(
        followup.last_error.as_deref().unwrap().contains("500"),
        "{followup:?}"
    );
    let statuses: Vec<u16> = receiver.seen().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [500, 500, 204]);
    assert_eq!(receiver.seen()[2].event_id, event_id);
}

#[tokio::test]
async fn spent_attempts_dead_letter_and_let_the_patients_next_follow_up_through() {
    for backing in backings().await {
        spent_attempts_dead_letter_and_let_the_patients_next_follow_up_through_on(&backing).await;
    }
}

async fn spent_attempts_dead_letter_and_let_the_patients_next_follow_up_through_on(
    backing: &Backing,
) {
    let receiver = Receiver::start(|_, _| 500).await;
    let store = backing.open().await;
    let first = order(&store, PATIENTS[0]).await;
    let second = order(&store, PATIENTS[0]).await;
    let _worker = OutboxWorker::spawn(
        store.clone(),
        DeliveryConfig {
            attempts_max: 2,
            ..config(&receiver)
        },
    )
    .unwrap();
    wait_until("both dead", || async {
        store.outbox_depth().await.unwrap().dead == 2
    })
    .await;
    let seen: Vec<String> = receiver.seen().into_iter().map(|s| s.event_id).collect();
    assert_eq!(seen, [first.clone(), first, second.clone(), second]);
    let dead = store
        .list_followups(Some(FollowupState::Dead), 10, None)
        .await
        .unwrap();
    assert!(dead.items.iter().all(|f| f.attempts == 2
        && f.last_error.as_deref() == Some("BRS answered HTTP 500 Internal Server Error")));
    assert_eq!(pending(&store).await, 0);
}

#[tokio::test]
async fn a_new_store_resumes_what_the_last_one_left_including_abandoned_claims() {
    for backing in backings().await {
        a_new_store_resumes_what_the_last_one_left_including_abandoned_claims_on(&backing).await;
    }
}

async fn a_new_store_resumes_what_the_last_one_left_including_abandoned_claims_on(
    backing: &Backing,
) {
    let receiver = Receiver::start(|_, _| 200).await;
    let mut committed = Vec::new();
    {
        let store = backing.open().await;
        for patient in PATIENTS {
            committed.push(order(&store, patient).await);
        }
        // A process that claimed one and died before settling it.
        let now = time::OffsetDateTime::now_utc();
        let claimed = store
            .claim_due_followups(now, now + Duration::from_secs(1), 1)
            .await
            .unwrap();
        assert_eq!(claimed[0].event_id, committed[0]);
    }
    let store = backing.open().await;
    assert_eq!(pending(&store).await, 3);
    let _worker = OutboxWorker::spawn(store.clone(), config(&receiver)).unwrap();
    wait_until("all delivered", || async { pending(&store).await == 0 }).await;
    let mut delivered: Vec<String> = receiver
        .delivered()
        .into_iter()
        .map(|s| s.event_id)
        .collect();
    delivered.sort();
    committed.sort();
    assert_eq!(delivered, committed);
}

#[tokio::test]
async fn a_commit_wakes_the_idle_worker() {
    for backing in backings().await {
        a_commit_wakes_the_idle_worker_on(&backing).await;
    }
}

async fn a_commit_wakes_the_idle_worker_on(backing: &Backing) {
    let receiver = Receiver::start(|_, _| 200).await;
    let store = backing.open().await;
    // Without the wake-up, this worker would not look again for an hour (past WAIT_MAX).
    let _worker = OutboxWorker::spawn(
        store.clone(),
        DeliveryConfig {
            poll_interval: Duration::from_secs(3600),
            ..config(&receiver)
        },
    )
    .unwrap();
    for patient in PATIENTS {
        // Let the worker reach its idle wait before the next commit.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let event_id = order(&store, patient).await;
        wait_until("delivered after the wake-up", || async {
            receiver.delivered().iter().any(|s| s.event_id == event_id)
        })
        .await;
    }
}

#[tokio::test]
async fn flush_delivers_what_is_due_and_returns_when_the_receiver_is_down() {
    for backing in backings().await {
        flush_delivers_what_is_due_and_returns_when_the_receiver_is_down_on(&backing).await;
    }
}

async fn flush_delivers_what_is_due_and_returns_when_the_receiver_is_down_on(backing: &Backing) {
    let receiver = Receiver::start(|_, _| 200).await;
    let store = backing.open().await;
    let worker = OutboxWorker::spawn(
        store.clone(),
        DeliveryConfig {
            poll_interval: Duration::from_secs(3600),
            ..config(&receiver)
        },
    )
    .unwrap();
    for patient in PATIENTS {
        order(&store, patient).await;
        order(&store, patient).await;
    }
    let report = worker.flush(tokio::time::Instant::now() + WAIT_MAX).await;
    assert!(report.finished_in_time);
    assert_eq!(report.depth.unwrap().pending, 0, "flushed before returning");
    assert_eq!(receiver.delivered().len(), 6);

    // Nobody listens here: the flush tries each patient's head once and gives up in time.
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/followups", listener.local_addr().unwrap())
    };
    let worker = OutboxWorker::spawn(store.clone(), DeliveryConfig::new(unreachable)).unwrap();
    for patient in PATIENTS {
        order(&store, patient).await;
    }
    let report = worker.flush(tokio::time::Instant::now() + WAIT_MAX).await;
    assert!(report.finished_in_time);
    assert_eq!(report.depth.unwrap().pending, 3);
    let waiting = store.list_followups(None, 10, None).await.unwrap();
    assert!(
        waiting.items.iter().all(|f| f.attempts == 1
            && f.last_error
                .as_deref()
                .is_some_and(|e| e.contains("error sending request"))),
        "{waiting:?}"
    );
}

/// Several processes' workers on one store (three handles with pools of their own, as three
/// instances on one PostgreSQL database have): together they deliver every follow-up exactly
/// once, in order per patient, while follow-ups keep being committed through all three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_of_several_processes_share_the_outbox_without_double_delivery() {
    for backing in backings().await {
        workers_of_several_processes_share_the_outbox_on(&backing).await;
    }
}

async fn workers_of_several_processes_share_the_outbox_on(backing: &Backing) {
    let receiver = Receiver::start(|_, _| 200).await;
    let stores = [
        backing.open().await,
        backing.open().await,
        backing.open().await,
    ];
    let _workers: Vec<OutboxWorker> = stores
        .iter()
        .map(|store| {
            OutboxWorker::spawn(
                store.clone(),
                DeliveryConfig {
                    // Only their own commits and this poll wake them: claims meet often.
                    poll_interval: Duration::from_millis(50),
                    ..config(&receiver)
                },
            )
            .unwrap()
        })
        .collect();
    let mut committed = Vec::new();
    for round in 0..12 {
        for (i, patient) in PATIENTS.iter().enumerate() {
            let store = &stores[(round + i) % stores.len()];
            committed.push((patient.to_string(), order(store, patient).await));
        }
    }
    wait_until("all delivered", || async { pending(&stores[0]).await == 0 }).await;
    let seen = receiver.seen();
    assert_eq!(seen.len(), committed.len(), "each follow-up exactly once");
    let distinct: std::collections::BTreeSet<&str> =
        seen.iter().map(|s| s.event_id.as_str()).collect();
    assert_eq!(distinct.len(), committed.len());
    assert_in_order_per_patient(&committed, &seen);
}

//! Forwarding MinLog records to an external MinLog endpoint: every record arrives, in record
//! order, after the endpoint was down and the server restarted; a record the endpoint keeps
//! refusing is given up after the configured attempts and the ones after it still arrive.
//! Waits poll for a condition; nothing here measures time.
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use identity::{DevSts, Role};
use serde_json::Value;
use support::served::Served;
use support::{TestDatabase, issue_card, sample, with_card};

const WAIT_MAX: Duration = Duration::from_secs(120);

async fn receive(
    State((seen, status)): State<(Arc<Mutex<Vec<Value>>>, u16)>,
    body: String,
) -> StatusCode {
    seen.lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());
    StatusCode::from_u16(status).unwrap()
}

async fn receiver(addr: SocketAddr, status: u16) -> Arc<Mutex<Vec<Value>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = loop {
        if let Ok(listener) = tokio::net::TcpListener::bind(addr).await {
            break listener;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let app = axum::Router::new()
        .route("/minlog", axum::routing::post(receive))
        .with_state((seen.clone(), status));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    seen
}

fn reserve_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A registration and two queries: three records of Jens.
async fn three_accesses(base: &str, data: &Path) {
    let sts = DevSts::open_or_create(data).unwrap();
    let http = dds::http_client::builder().build().unwrap();
    let post = |path: &str, envelope: String| {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/soap+xml; charset=UTF-8")
            .body(envelope)
            .send()
    };
    let system = issue_card(&sts, Role::System, None);
    let response = post(
        "/xds/repository",
        with_card(&sample("iti-41/pnr-single-apd.xml"), &system),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let doctor = issue_card(&sts, Role::Doctor, Some("0804569723"));
    let query = sample("iti-18/find-documents-leafclass.xml").replace("2512489996", "0101700013");
    for _ in 0..2 {
        let response = post("/xds/registry", with_card(&query, &doctor))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
}

async fn wait_for(seen: &Arc<Mutex<Vec<Value>>>, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    loop {
        let now = seen.lock().unwrap().clone();
        if now.len() >= count {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} arrived: {now:#?}",
            now.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_arrives_in_order_after_an_outage_and_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let addr = reserve_address();
    let url = format!("http://{addr}/minlog");
    let database = TestDatabase::new().await;
    let args = database.serve_args(&["--minlog-forward-url", url.as_str()]);
    let mut served = Served::start_with_args(data.path(), &args);
    three_accesses(&served.base, data.path()).await;
    assert!(served.terminate().success());
    let served = Served::start_with_args(data.path(), &args);
    three_accesses(&served.base, data.path()).await;

    let seen = receiver(addr, 200).await;
    let arrived = wait_for(&seen, 6).await;
    let mut distinct: Vec<&Value> = Vec::new();
    for record in &arrived {
        if !distinct.iter().any(|r| r["event_id"] == record["event_id"]) {
            distinct.push(record);
        }
    }
    assert_eq!(distinct.len(), 6, "{arrived:#?}");
    let ids: Vec<u64> = distinct
        .iter()
        .map(|r| {
            r["event_id"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in record order: {ids:?}"
    );
    let actions: Vec<&str> = distinct
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["register", "query", "query", "register", "query", "query"]
    );
    assert_eq!(distinct[1]["user"]["cpr"], "0804569723");
    assert_eq!(distinct[1]["patient_cpr"], "0101700013");
    assert_eq!(distinct[0]["outcome"], "allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_endpoint_keeps_refusing_is_given_up_and_the_rest_follow() {
    let data = tempfile::tempdir().unwrap();
    let addr = reserve_address();
    let seen = receiver(addr, 500).await;
    let url = format!("http://{addr}/minlog");
    let database = TestDatabase::new().await;
    let served = Served::start_with_args(
        data.path(),
        &database.serve_args(&[
            "--minlog-forward-url",
            url.as_str(),
            "--brs-attempts-max",
            "2",
        ]),
    );
    three_accesses(&served.base, data.path()).await;
    // Two attempts per record, each given up, in order.
    let arrived = wait_for(&seen, 6).await;
    let ids: Vec<&str> = arrived
        .iter()
        .map(|r| r["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[2], ids[3]);
    assert_eq!(ids[4], ids[5]);
    assert!(ids[1] != ids[2] && ids[3] != ids[4], "{ids:?}");
}

//! Treatment-relation follow-ups end to end: the real `dds` binary with `--brs-url`, a BRS
//! receiver started here, health professionals querying and retrieving. The receiver is down
//! while the follow-ups are ordered and while the server restarts; once it is up, every
//! follow-up arrives, in order per patient, and the admin API shows the outbox drain. With
//! a receiver that always fails, follow-ups are dead-lettered after the configured attempts.
//! Waits poll for a condition (generously); nothing here measures time.

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
use support::{TestDatabase, base64_encode, issue_card, sample, with_card};

const DOCTOR: &str = "0804569723";
const ADMIN: &str = "0101700013";
const JENS: &str = "0101700013";
const PATIENTS: [&str; 3] = [JENS, "0201919990", "2512489996"];
const JENS_DOCUMENT: &str = "2.25.297860445735985469057769323429578268365";
const REPOSITORY: &str = "1.2.208.176.43210.8.10.11";
const WAIT_MAX: Duration = Duration::from_secs(90);

fn find_documents(patient_cpr: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action><wsa:MessageID>urn:uuid:8a6e5f4c-1111-4222-8333-944455556668</wsa:MessageID></soap:Header>
<soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
<rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">
<rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'{patient_cpr}^^^&amp;1.2.208.176.1.2&amp;ISO'</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot>
</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>"#
    )
}

fn retrieve(unique_id: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:0b0c5f3e-1111-4222-8333-944455556668</wsa:MessageID></soap:Header>
<soap:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPOSITORY}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{unique_id}</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest></soap:Body></soap:Envelope>"#
    )
}

/// The running `dds serve` child, seen from its clients.
struct Client {
    base: String,
    sts: DevSts,
    http: reqwest::Client,
}

impl Client {
    fn of(served: &Served, data: &Path) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client {
            base: served.base.clone(),
            sts: DevSts::open_or_create(data).unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn soap(&self, path: &str, envelope: &str, role: Role, cpr: Option<&str>) -> String {
        let card = issue_card(&self.sts, role, cpr);
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/soap+xml; charset=UTF-8")
            .body(with_card(envelope, &card))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("ResponseStatusType:Success"), "{body}");
        body
    }

    async fn register_samples(&self) {
        self.soap(
            "/xds/repository",
            &sample("iti-41/pnr-single-apd.xml"),
            Role::System,
            None,
        )
        .await;
        self.soap(
            "/xds/registry",
            &sample("iti-42/register-apd.xml"),
            Role::System,
            None,
        )
        .await;
        self.soap(
            "/xds/repository",
            &sample("iti-41/pnr-folder-three-docs.xml"),
            Role::System,
            None,
        )
        .await;
    }

    /// A doctor's query that returns the patient's documents (so it orders a follow-up).
    async fn doctor_queries(&self, patient: &str) {
        let body = self
            .soap(
                "/xds/registry",
                &find_documents(patient),
                Role::Doctor,
                Some(DOCTOR),
            )
            .await;
        assert!(body.contains("<rim:ExtrinsicObject"), "{body}");
    }

    async fn get_outbox(&self, role: Role, query: &str) -> (u16, Value) {
        let card = issue_card(&self.sts, role, Some(ADMIN));
        let response = self
            .http
            .get(format!("{}/admin/v1/outbox{query}", self.base))
            .header(
                "authorization",
                format!("SAML {}", base64_encode(card.as_bytes())),
            )
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Every follow-up the admin API lists with `query` (`?state=…` or empty), page by page.
    async fn outbox(&self, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let separator = if query.is_empty() { "?" } else { "&" };
            let mut page_query = format!("{query}{separator}limit=3");
            if let Some(cursor) = &cursor {
                page_query.push_str(&format!("&cursor={cursor}"));
            }
            let (status, page) = self.get_outbox(Role::Admin, &page_query).await;
            assert_eq!(status, 200, "{page}");
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }
}

/// A BRS stand-in: records every request's JSON and answers `status`.
async fn receive(
    State((seen, status)): State<(Arc<Mutex<Vec<Value>>>, u16)>,
    body: String,
) -> StatusCode {
    seen.lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());
    StatusCode::from_u16(status).unwrap()
}

async fn serve_receiver(listener: tokio::net::TcpListener, status: u16) -> Arc<Mutex<Vec<Value>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/brs/followups", axum::routing::post(receive))
        .with_state((seen.clone(), status));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    seen
}

/// An address where nothing listens yet (connections are refused) and the receiver can be
/// started later.
fn reserve_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn bind_again(addr: SocketAddr) -> tokio::net::TcpListener {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(error) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "cannot bind {addr}: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_ordered_while_brs_is_down_arrive_in_order_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let brs_addr = reserve_address();
    let brs_url = format!("http://{brs_addr}/brs/followups");
    let database = TestDatabase::new().await;
    let args = database.serve_args(&["--brs-url", brs_url.as_str()]);

    let mut served = Served::start_with_args(data.path(), &args);
    let client = Client::of(&served, data.path());
    client.register_samples().await;
    assert!(
        client.outbox("").await.is_empty(),
        "a system's registrations order none"
    );
    for patient in PATIENTS {
        client.doctor_queries(patient).await;
    }
    client
        .soap(
            "/xds/repository",
            &retrieve(JENS_DOCUMENT),
            Role::Doctor,
            Some(DOCTOR),
        )
        .await;
    for patient in PATIENTS {
        client.doctor_queries(patient).await;
    }
    // The server tries, fails (connection refused) and keeps them pending.
    wait_until("a failed attempt is recorded", || async {
        client
            .outbox("")
            .await
            .iter()
            .any(|f| f["attempts"].as_u64().unwrap() >= 1 && f["last_error"].is_string())
    })
    .await;

    assert!(served.terminate().success(), "SIGTERM exits 0");
    let served = Served::start_with_args(data.path(), &args);
    let client = Client::of(&served, data.path());
    for patient in PATIENTS {
        client.doctor_queries(patient).await;
    }

    let ordered = client.outbox("").await;
    assert_eq!(
        ordered.len(),
        10,
        "3 rounds of queries and a retrieval: {ordered:#?}"
    );
    assert!(
        ordered.iter().all(|f| f["state"] == "pending"),
        "{ordered:#?}"
    );
    let event_ids =
        |items: &[Value]| -> Vec<Value> { items.iter().map(|f| f["event_id"].clone()).collect() };
    // Attempts go on meanwhile, so compare which follow-ups, not their attempt counts.
    assert_eq!(
        event_ids(&client.outbox("?state=pending").await),
        event_ids(&ordered)
    );
    assert!(client.outbox("?state=delivered").await.is_empty());

    let seen = serve_receiver(bind_again(brs_addr).await, 200).await;
    wait_until("the outbox is empty", || async {
        client.outbox("").await.is_empty()
    })
    .await;

    let seen = seen.lock().unwrap().clone();
    let mut arrived: Vec<&Value> = Vec::new();
    for payload in &seen {
        // At least once: a duplicate may come, receivers deduplicate by event_id.
        if !arrived.iter().any(|p| p["event_id"] == payload["event_id"]) {
            arrived.push(payload);
        }
    }
    assert_eq!(
        arrived.len(),
        ordered.len(),
        "every follow-up arrived: {seen:#?}"
    );
    for patient in PATIENTS {
        let committed: Vec<&Value> = ordered
            .iter()
            .filter(|f| f["patient_cpr"] == patient)
            .map(|f| &f["event_id"])
            .collect();
        let received: Vec<&Value> = arrived
            .iter()
            .filter(|p| p["patient_cpr"] == patient)
            .map(|p| &p["event_id"])
            .collect();
        assert_eq!(received, committed, "in order for {patient}");
    }
    for (payload, followup) in ordered.iter().map(|f| (&f["payload"], f)) {
        assert_eq!(payload["event_id"], followup["event_id"]);
        assert_eq!(payload["professional_cpr"], DOCTOR);
        assert_eq!(payload["organisation"]["sor"], "328081000016004");
        assert!(payload["time"].is_string() && payload["on_behalf_of"].is_null());
        assert!(!payload["documents"].as_array().unwrap().is_empty());
    }
    let retrievals: Vec<&&Value> = arrived
        .iter()
        .filter(|p| p["action"] == "retrieve")
        .collect();
    assert_eq!(retrievals.len(), 1);
    assert_eq!(
        retrievals[0]["documents"],
        serde_json::json!([JENS_DOCUMENT])
    );

    let delivered = client.outbox("?state=delivered").await;
    assert_eq!(delivered.len(), ordered.len());
    assert!(delivered.iter().all(|f| f["delivered_at"].is_string()));
    assert!(client.outbox("?state=dead").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_are_dead_lettered_after_the_configured_attempts() {
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let brs_url = format!("http://{}/brs/followups", listener.local_addr().unwrap());
    let seen = serve_receiver(listener, 500).await;
    let database = TestDatabase::new().await;
    let served = Served::start_with_args(
        data.path(),
        &database.serve_args(&["--brs-url", &brs_url, "--brs-attempts-max", "2"]),
    );
    let client = Client::of(&served, data.path());
    client.register_samples().await;
    client.doctor_queries(JENS).await;
    client.doctor_queries(JENS).await;

    wait_until("both dead-lettered", || async {
        client.outbox("?state=dead").await.len() == 2
    })
    .await;
    let dead = client.outbox("?state=dead").await;
    for followup in &dead {
        assert_eq!(followup["attempts"], 2, "{followup}");
        assert_eq!(followup["patient_cpr"], JENS);
        assert!(
            followup["last_error"].as_str().unwrap().contains("500"),
            "{followup}"
        );
    }
    // Listed by default (pending and dead), and nothing is pending any more.
    assert_eq!(client.outbox("").await, dead);
    assert!(client.outbox("?state=pending").await.is_empty());
    let requests: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p["event_id"].clone())
        .collect();
    let first = &dead[0]["event_id"];
    let second = &dead[1]["event_id"];
    assert_eq!(
        requests,
        [first.clone(), first.clone(), second.clone(), second.clone()],
        "the second waited for the first to be dead-lettered"
    );

    // Operations only, with the API's own errors.
    let (status, _) = client.get_outbox(Role::Doctor, "").await;
    assert_eq!(status, 403);
    let (status, error) = client.get_outbox(Role::Admin, "?state=lost").await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "bad_state");
    let (status, error) = client.get_outbox(Role::Admin, "?cursor=abc").await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "bad_cursor");
    let (status, error) = client.get_outbox(Role::Admin, "?limit=many").await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "bad_limit");
}

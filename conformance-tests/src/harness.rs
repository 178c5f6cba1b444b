//! The real server on `127.0.0.1:0` with a throw-away data directory, and a SOAP client for it.
//!
//! Invariants: every request carries a freshly minted ID card from the data directory's
//! development STS (the server trusts it by default); the server stops when the [`Harness`]
//! is dropped; nothing here interprets responses (that is the runner's job).

use std::collections::BTreeMap;

use dds::config::{Config, ServeFlags};
use dds::serve::Server;
use identity::{CardRequest, DevSts, Role};
use time::OffsetDateTime;

/// Who sends a request: which ID card the harness mints for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Card {
    /// A source/consumer IT system (CVR subject): may register, update, delete and run
    /// multi-patient queries.
    System,
    /// A hospital doctor (CPR 0804569723 at Rigshospitalet's SOR code).
    Doctor,
    /// A citizen, by CPR: may read only their own data.
    Citizen(String),
}

/// The CPR of the doctor on [`Card::Doctor`] cards.
pub const DOCTOR_CPR: &str = "0804569723";

/// A started server and the means to talk to it.
pub struct Harness {
    /// Owns the data directory: removed when the harness is dropped (after the server stops).
    data: tempfile::TempDir,
    base_url: String,
    sts: DevSts,
    http: reqwest::Client,
    /// Dropping (or sending on) this sender ends `serve_until`: the server stops accepting
    /// and finishes what is in flight.
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// A second read handle on the server's registry file, opened lazily for row counts.
    rows: Option<registry::SqliteRegistryStore>,
}

impl Harness {
    /// Starts the server with the default configuration (patient policy `any`, dev STS
    /// trusted) on an ephemeral port. Panics when it cannot start: nothing can be tested then.
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    /// Starts the server with the default configuration as changed by `configure` (a smaller
    /// `query_results_max`, patient policy `known` …).
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Harness {
        let data = tempfile::tempdir().expect("temporary data directory");
        let mut config = Config::load(ServeFlags {
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.path().to_owned()),
            ..ServeFlags::default()
        })
        .expect("default configuration loads");
        configure(&mut config);
        let server = Server::start(config).await.expect("server starts");
        let base_url = format!("http://{}", server.local_addr());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve_until(async {
            let _ = stop.await;
        }));
        let sts = DevSts::open_or_create(data.path()).expect("development STS in the data dir");
        Harness {
            data,
            base_url,
            sts,
            http: dds::http_client::builder().build().expect("an HTTP client"),
            shutdown: Some(shutdown),
            rows: None,
        }
    }

    /// A signed ID card (`saml:Assertion` XML) for `card`.
    pub fn mint(&self, card: &Card) -> String {
        let request = match card {
            Card::System => {
                let mut request = CardRequest::new(Role::System);
                request.org_cvr = Some("33257872".into());
                request.it_system = Some("Conformance EPJ".into());
                request
            }
            Card::Doctor => {
                let mut request = CardRequest::new(Role::Doctor);
                request.cpr = Some(DOCTOR_CPR.into());
                request.org_sor = Some("328081000016004".into());
                request
            }
            Card::Citizen(cpr) => {
                let mut request = CardRequest::new(Role::Citizen);
                request.cpr = Some(cpr.clone());
                request
            }
        };
        self.sts
            .issue(&request)
            .expect("the development STS issues cards")
    }

    /// POSTs `envelope` (a SOAP 1.2 envelope with a `<soap:Header>`) to `/xds/registry` with
    /// `card`'s ID card inserted first in the header. Answers the HTTP status and body.
    pub async fn post_registry(&self, card: &Card, envelope: &str) -> (u16, String) {
        let header = identity::security_header(&self.mint(card), OffsetDateTime::now_utc());
        let envelope = envelope.replacen("<soap:Header>", &format!("<soap:Header>{header}"), 1);
        let response = self
            .http
            .post(format!("{}/xds/registry", self.base_url))
            .header("content-type", "application/soap+xml; charset=UTF-8")
            .body(envelope)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let body = response.text().await.expect("a readable response body");
        (status, body)
    }

    /// Rows per registry table, read from the server's SQLite file through a second handle
    /// (WAL: it sees exactly what the server committed).
    pub async fn row_counts(&mut self) -> BTreeMap<&'static str, i64> {
        if self.rows.is_none() {
            let path = self.data.path().join(dds::app::REGISTRY_DB);
            let store =
                registry::SqliteRegistryStore::open(&path, registry::StoreConfig::default())
                    .await
                    .expect("the registry file opens a second time");
            self.rows = Some(store);
        }
        match &self.rows {
            Some(store) => store.table_row_counts().await.expect("row counts"),
            None => unreachable!("opened above"),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

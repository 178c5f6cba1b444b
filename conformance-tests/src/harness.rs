//! The real server on `127.0.0.1:0` with a throw-away data directory, and a SOAP client for it.
//!
//! The registry store is the SQLite file in that directory, or — when
//! [`DATABASE_URL_VARIABLE`] names a PostgreSQL database — a fresh schema of that database
//! (a [`ScratchSchema`]) made for this harness alone, so the whole scenario suite runs against
//! either backend and harnesses running at the same time never share rows.
//!
//! Invariants: every request carries a freshly minted ID card from the data directory's
//! development STS (the server trusts it by default); the server stops when the [`Harness`]
//! is dropped or [finished](Harness::finish); its schema, if any, is dropped after it; nothing
//! here interprets responses (that is the runner's job).

use std::collections::BTreeMap;

use dds::config::{Config, ServeFlags};
use dds::serve::Server;
use identity::{CardRequest, DevSts, Role};
use registry::postgres::ScratchSchema;
use registry::{PgRegistryStore, SqliteRegistryStore, StoreConfig};
use time::OffsetDateTime;

/// The environment variable naming a PostgreSQL database (`postgres://…`) for the servers'
/// registry stores; unset or empty, they use SQLite. `.ci/run` sets it for its PostgreSQL run.
pub const DATABASE_URL_VARIABLE: &str = "DDS_TEST_DATABASE_URL";

/// The PostgreSQL database the harnesses put their registry stores in, if any.
pub fn test_database_url() -> Option<String> {
    std::env::var(DATABASE_URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
}

/// A second handle on the server's registry store, for row counts.
enum RowCounter {
    Sqlite(SqliteRegistryStore),
    Postgres(PgRegistryStore),
}

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
    /// The task running `serve_until`, awaited by [`Harness::finish`].
    served: Option<tokio::task::JoinHandle<Result<(), String>>>,
    /// A second handle on the server's registry store, opened lazily for row counts.
    rows: Option<RowCounter>,
    /// The server's PostgreSQL URL (its schema's), when its registry store is not SQLite.
    database_url: Option<String>,
    /// The PostgreSQL schema of the registry store, if it is not the SQLite file. Declared
    /// last: dropping it (after a failed scenario) removes the schema.
    schema: Option<ScratchSchema>,
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
        let schema =
            match test_database_url() {
                Some(url) => Some(ScratchSchema::create(&url).await.unwrap_or_else(|e| {
                    panic!("a scratch schema in {DATABASE_URL_VARIABLE}: {e}")
                })),
                None => None,
            };
        let database_url = schema.as_ref().map(|s| s.url().to_owned());
        Harness::launch(database_url, schema, configure).await
    }

    /// Starts a second server, with a data directory (and development STS) of its own, whose
    /// registry store is this one's PostgreSQL schema: two instances sharing one database.
    /// Finish it before this one, which owns the schema. Panics when this harness is on
    /// SQLite (a file cannot be shared between instances).
    pub async fn start_beside(&self) -> Harness {
        self.start_beside_with(|_| {}).await
    }

    /// [`Harness::start_beside`] with the configuration changed by `configure` (a BRS URL …).
    pub async fn start_beside_with(&self, configure: impl FnOnce(&mut Config)) -> Harness {
        let database_url = self
            .database_url
            .clone()
            .expect("a second instance needs the first on PostgreSQL (DDS_TEST_DATABASE_URL)");
        Harness::launch(Some(database_url), None, configure).await
    }

    async fn launch(
        database_url: Option<String>,
        schema: Option<ScratchSchema>,
        configure: impl FnOnce(&mut Config),
    ) -> Harness {
        let data = tempfile::tempdir().expect("temporary data directory");
        let mut config = Config::load(ServeFlags {
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.path().to_owned()),
            database_url: database_url.clone(),
            ..ServeFlags::default()
        })
        .expect("default configuration loads");
        configure(&mut config);
        let server = Server::start(config).await.expect("server starts");
        let base_url = format!("http://{}", server.local_addr());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let stopped = async {
                let _ = stop.await;
            };
            server
                .serve_until(stopped)
                .await
                .map_err(|e| format!("{e:#}"))
        });
        let sts = DevSts::open_or_create(data.path()).expect("development STS in the data dir");
        Harness {
            data,
            base_url,
            sts,
            http: dds::http_client::builder().build().expect("an HTTP client"),
            shutdown: Some(shutdown),
            served: Some(served),
            rows: None,
            database_url,
            schema,
        }
    }

    /// Stops the server, waits until it has finished, and drops its PostgreSQL schema (if any).
    pub async fn finish(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(served) = self.served.take() {
            served
                .await
                .expect("the server task ends")
                .unwrap_or_else(|e| panic!("the server stops cleanly: {e}"));
        }
        match self.rows.take() {
            Some(RowCounter::Sqlite(store)) => store.close().await,
            Some(RowCounter::Postgres(store)) => store.close().await,
            None => {}
        }
        if let Some(schema) = self.schema.take() {
            schema
                .remove()
                .await
                .expect("the scratch schema is dropped");
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

    /// GETs `path` (a JSON API: MinLog, consent, admin) with `card`'s ID card in
    /// `Authorization: SAML …`. Answers the HTTP status and the JSON body.
    pub async fn get_json(&self, card: &Card, path: &str) -> (u16, serde_json::Value) {
        use base64::Engine;
        let card = base64::engine::general_purpose::STANDARD.encode(self.mint(card));
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .header("authorization", format!("SAML {card}"))
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let body = response.json().await.expect("a JSON body");
        (status, body)
    }

    /// Rows per registry table, read through a second handle on the server's registry store
    /// (SQLite under WAL, or PostgreSQL: it sees exactly what the server committed).
    pub async fn row_counts(&mut self) -> BTreeMap<&'static str, i64> {
        if self.rows.is_none() {
            let counter = match &self.database_url {
                Some(url) => RowCounter::Postgres(
                    PgRegistryStore::open(url, StoreConfig::default())
                        .await
                        .expect("the registry schema opens a second time"),
                ),
                None => {
                    let path = self.data.path().join(dds::app::REGISTRY_DB);
                    RowCounter::Sqlite(
                        SqliteRegistryStore::open(&path, StoreConfig::default())
                            .await
                            .expect("the registry file opens a second time"),
                    )
                }
            };
            self.rows = Some(counter);
        }
        let counts = match &self.rows {
            Some(RowCounter::Sqlite(store)) => store.table_row_counts().await,
            Some(RowCounter::Postgres(store)) => store.table_row_counts().await,
            None => unreachable!("opened above"),
        };
        counts.expect("row counts")
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

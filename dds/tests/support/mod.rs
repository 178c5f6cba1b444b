//! A real `dds` server for tests: ephemeral port, fresh data dir, cards from its development
//! STS, and the helpers every HTTP test needs.
//!
//! Its stores are the data dir's SQLite files, or — when `DDS_TEST_DATABASE_URL` names a
//! PostgreSQL database — a fresh scratch schema of that database made for the server alone
//! (as `conformance-tests`' harness does), so the same tests run against either backend.
#![allow(dead_code)] // each test file uses a different part of it

pub mod s3;
pub mod search;
pub mod served;

use std::path::Path;

use dds::config::{Config, ServeFlags};
use dds::serve::Server;
use identity::{CardRequest, DevSts, Role};
use registry::postgres::ScratchSchema;
use time::OffsetDateTime;

/// The environment variable naming a PostgreSQL database for the tests' stores.
pub const DATABASE_URL_VARIABLE: &str = "DDS_TEST_DATABASE_URL";

/// The PostgreSQL database tests put their stores in, if any.
pub fn test_database_url() -> Option<String> {
    std::env::var(DATABASE_URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
}

/// A fresh scratch schema for a test's stores when [`DATABASE_URL_VARIABLE`] is set: give its
/// [`TestDatabase::serve_args`] to every `dds serve` the test starts (several instances, or
/// one restarted, then share the stores). Dropped with everything in it at the end.
pub struct TestDatabase {
    schema: Option<ScratchSchema>,
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        let schema = match test_database_url() {
            Some(url) => Some(ScratchSchema::create(&url).await.unwrap()),
            None => None,
        };
        TestDatabase { schema }
    }

    /// The schema's URL, or `None` on SQLite.
    pub fn url(&self) -> Option<&str> {
        self.schema.as_ref().map(|s| s.url())
    }

    /// `args` for `dds serve`, followed by `--database-url URL` on PostgreSQL.
    pub fn serve_args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        if let Some(url) = self.url() {
            all.extend(["--database-url", url]);
        }
        all
    }
}

pub struct TestServer {
    _data: tempfile::TempDir,
    pub base: String,
    pub sts: DevSts,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The stores' database URL when they are on PostgreSQL.
    database_url: Option<String>,
    /// The scratch schema this server's stores are in, if it made one. Declared last: dropped
    /// after the shutdown was sent.
    _schema: Option<ScratchSchema>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(ServeFlags::default()).await
    }

    /// Starts a server with these flags, on an ephemeral port and a fresh data dir (and a
    /// fresh PostgreSQL schema when [`DATABASE_URL_VARIABLE`] is set and the flags name no
    /// database).
    pub async fn start_with(flags: ServeFlags) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let (flags, schema) = with_scratch_schema(flags).await;
        let database_url = flags.database_url.clone();
        let config = Config::load(ServeFlags {
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.path().to_owned()),
            ..flags
        })
        .unwrap();
        let server = Server::start(config).await.unwrap();
        let base = format!("http://{}", server.local_addr());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve_until(async {
            let _ = stop.await;
        }));
        let sts = DevSts::open_or_create(data.path()).unwrap();
        // reqwest is built without a default TLS provider (the workspace picks ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        TestServer {
            _data: data,
            base,
            sts,
            http: dds::http_client::builder().build().unwrap(),
            shutdown: Some(shutdown),
            database_url,
            _schema: schema,
        }
    }

    /// Starts a server in `data` (its data dir, where `dds.toml` is written from
    /// `config_toml`) on a listener bound beforehand, so that two services can be configured
    /// with each other's URLs before either starts.
    pub async fn start_on(
        data: tempfile::TempDir,
        listener: std::net::TcpListener,
        config_toml: &str,
        flags: ServeFlags,
    ) -> TestServer {
        let config_path = data.path().join("dds.toml");
        std::fs::write(&config_path, config_toml).unwrap();
        let (flags, schema) = with_scratch_schema(flags).await;
        let database_url = flags.database_url.clone();
        let config = Config::load(ServeFlags {
            listen: Some(listener.local_addr().unwrap().to_string()),
            data: Some(data.path().to_owned()),
            config: Some(config_path),
            ..flags
        })
        .unwrap();
        let server = Server::start_on(config, listener).await.unwrap();
        let base = format!("http://{}", server.local_addr());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve_until(async {
            let _ = stop.await;
        }));
        let sts = DevSts::open_or_create(data.path()).unwrap();
        TestServer {
            _data: data,
            base,
            sts,
            http: dds::http_client::builder().build().unwrap(),
            shutdown: Some(shutdown),
            database_url,
            _schema: schema,
        }
    }

    /// Another handle on this server's audit store (SQLite file or PostgreSQL schema).
    pub async fn audit_store(&self) -> minlog::AuditStore {
        match &self.database_url {
            Some(url) => minlog::AuditStore::open_postgres(url).await.unwrap(),
            None => minlog::AuditStore::open(&self.data_dir().join(dds::app::MINLOG_DB))
                .await
                .unwrap(),
        }
    }

    /// The server's data directory (its stores, its development STS).
    pub fn data_dir(&self) -> &Path {
        self._data.path()
    }

    pub fn card(&self, role: Role, cpr: Option<&str>) -> String {
        issue_card(&self.sts, role, cpr)
    }

    pub async fn post(&self, path: &str, envelope: String) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/soap+xml; charset=UTF-8")
            .body(envelope)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Every rejected attempt recorded so far, newest first, read page by page.
    pub async fn rejected(&self) -> Vec<serde_json::Value> {
        let card = self.card(Role::Admin, Some("0101700013"));
        let authorization = format!("SAML {}", base64_encode(card.as_bytes()));
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/admin/v1/rejected?limit=100", self.base);
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let response = self
                .http
                .get(url)
                .header("authorization", &authorization)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let page: serde_json::Value = response.json().await.unwrap();
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// `flags` with a fresh scratch schema as their database when [`DATABASE_URL_VARIABLE`] is set
/// and they name none; the schema, to be dropped after the server.
async fn with_scratch_schema(mut flags: ServeFlags) -> (ServeFlags, Option<ScratchSchema>) {
    if flags.database_url.is_some() {
        return (flags, None);
    }
    let Some(url) = test_database_url() else {
        return (flags, None);
    };
    let schema = ScratchSchema::create(&url).await.unwrap();
    flags.database_url = Some(schema.url().to_owned());
    (flags, Some(schema))
}

/// A card from `sts`: a system of a CVR organisation, or a person (`cpr`) at a SOR unit.
pub fn issue_card(sts: &DevSts, role: Role, cpr: Option<&str>) -> String {
    let mut request = CardRequest::new(role);
    match role {
        Role::System => {
            request.org_cvr = Some("33257872".into());
            request.it_system = Some("EPJ Test".into());
        }
        _ => {
            request.cpr = cpr.map(str::to_owned);
            request.org_sor = Some("328081000016004".into());
        }
    }
    sts.issue(&request).unwrap()
}

pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn sample(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    std::fs::read_to_string(root.join(path)).unwrap()
}

/// Puts a wsse:Security header holding `card` first in the envelope's soap:Header.
pub fn with_card(envelope: &str, card: &str) -> String {
    let header = identity::security_header(card, OffsetDateTime::now_utc());
    envelope.replacen("<soap:Header>", &format!("<soap:Header>{header}"), 1)
}

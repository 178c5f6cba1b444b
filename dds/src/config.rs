//! Service configuration: `dds.toml`, then `DDS_*` environment variables, then flags.
//!
//! Precedence, lowest to highest: built-in defaults < config file < environment < flags.
//! clap reads a flag or its `DDS_<FLAG>` variable into an `Option`; what is still `None`
//! falls back to the file and then to the default. Everything is validated once, at start, so
//! a bad value stops `dds serve` with a message naming the key and the fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default address of `dds serve`.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";
/// Default data directory.
pub const DATA_DEFAULT: &str = "./data";
/// The repositoryUniqueId of a repository that was given none: a fixed development OID under
/// the Danish test arc, printed at start and in README.
pub const REPOSITORY_UNIQUE_ID_DEFAULT: &str = "1.2.208.176.43210.8.10.11";
/// Largest request body on `/xds/registry` (INTERFACE.md: 64 MiB).
pub const REGISTRY_BODY_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Largest request body on `/xds/repository` (INTERFACE.md: 512 MiB).
pub const REPOSITORY_BODY_BYTES_MAX: u64 = 512 * 1024 * 1024;
/// Largest single document accepted by the repository (INTERFACE.md: 256 MiB).
pub const DOCUMENT_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Delivery attempts of a treatment-relation follow-up before it is dead-lettered
/// (INTERFACE.md: 20).
pub const BRS_ATTEMPTS_MAX: u32 = minlog::delivery::ATTEMPTS_MAX_DEFAULT;
/// Most MIME parts in one MTOM request or remote answer: the root plus one per document
/// (see [`soap::limits::MIME_PARTS_MAX`] for why 1,024).
pub const MULTIPART_PARTS_MAX: usize = soap::limits::MIME_PARTS_MAX;
/// How long a remote repository or registry may stay silent (connecting, or between two reads
/// of its answer) before the call counts as failed: long enough for a busy peer, short enough
/// that a caller waiting on a forwarded ITI-43 gets an answer (with per-document errors).
pub const REMOTE_TIMEOUT_SECONDS: u64 = 30;
/// The CVR of the development system card a service mints for itself when no
/// `[system_card] file` is configured; all zeros, so nobody mistakes it for a real one.
pub const SYSTEM_CARD_CVR_DEFAULT: &str = "00000000";

/// Which services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Registry, repository, consent, MinLog and BRS follow-up in one process.
    All,
    Registry,
    Repository,
}

/// Which patients the registry accepts registrations for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PatientPolicy {
    /// Any well-formed CPR number in the Danish assigning authority.
    Any,
    /// Only patients fed through `POST /admin/v1/patients`.
    Known,
}

/// A repository the registry knows (and may forward retrievals to).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteRepository {
    pub unique_id: String,
    pub url: String,
    /// Overrides `remote_timeout_seconds` for this repository.
    pub timeout_seconds: Option<u64>,
}

impl RemoteRepository {
    /// This repository's timeout: its own, else the service-wide one.
    pub fn timeout(&self, default: std::time::Duration) -> std::time::Duration {
        self.timeout_seconds
            .map(std::time::Duration::from_secs)
            .unwrap_or(default)
    }
}

/// `[system_card]`: the ID card this service presents when it calls another service (ITI-42
/// to the registry in `--role repository`, ITI-43 forwarded to `[[repositories]]`).
///
/// In production set `file`: a system card the national STS issued for this service (the
/// `saml:Assertion` XML), renewed in place by whatever obtains it; the file is re-read when it
/// changes and refused once expired. Without `file` the service mints a development system card
/// from the data dir's development STS, naming `cvr`, `organisation_name` and `it_system`; the
/// services it calls must trust that STS (`trusted_sts_certs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemCardConfig {
    pub file: Option<PathBuf>,
    pub cvr: String,
    pub organisation_name: String,
    pub it_system: String,
}

impl Default for SystemCardConfig {
    fn default() -> Self {
        SystemCardConfig {
            file: None,
            cvr: SYSTEM_CARD_CVR_DEFAULT.to_owned(),
            organisation_name: "DDS".to_owned(),
            it_system: "DDS".to_owned(),
        }
    }
}

/// The `dds.toml` file. Every key is optional; see `dds.example.toml` for the annotated list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub database_url: Option<String>,
    pub role: Option<Role>,
    pub registry_url: Option<String>,
    pub repository_unique_id: Option<String>,
    pub brs_url: Option<String>,
    pub brs_attempts_max: Option<u32>,
    pub minlog_forward_url: Option<String>,
    pub patient_policy: Option<PatientPolicy>,
    pub trust_dev_sts: Option<bool>,
    #[serde(default)]
    pub trusted_sts_certs: Vec<PathBuf>,
    #[serde(default)]
    pub repositories: Vec<RemoteRepository>,
    pub registry_body_bytes_max: Option<u64>,
    pub repository_body_bytes_max: Option<u64>,
    pub document_bytes_max: Option<u64>,
    /// Most objects one stored query may return before it answers XDSTooManyResults.
    pub query_results_max: Option<usize>,
    /// Most MIME parts in one MTOM message (root included).
    pub multipart_parts_max: Option<usize>,
    /// See [`REMOTE_TIMEOUT_SECONDS`].
    pub remote_timeout_seconds: Option<u64>,
    /// Unreferenced document files younger than this are kept by the garbage collector.
    pub gc_grace_seconds: Option<u64>,
    /// `[system_card]`: the card this service calls other services with.
    #[serde(default)]
    pub system_card: SystemCardConfig,
    /// `[identity]`: clock skew and legacy algorithms of ID card verification.
    #[serde(default)]
    pub identity: identity::VerifyConfig,
    /// `[policy]`: which roles may do which operations (replaces the default table).
    pub policy: Option<identity::Policy>,
    /// `[validation]`: severity per rule and per transaction.
    #[serde(default)]
    pub validation: xds_validate::ValidationConfig,
    /// `[consent]`: what an override may lift.
    #[serde(default)]
    pub consent: ConsentConfig,
    /// `[tls]`: serve HTTPS.
    #[serde(default)]
    pub tls: TlsFileConfig,
    /// `[object_store]`: documents on S3-compatible object storage instead of `DATA/documents`.
    #[serde(default)]
    pub object_store: ObjectStoreFileConfig,
}

/// `[object_store]` of `dds.toml`: where committed documents live when not in the data
/// directory. Each key also has a flag and a `DDS_OBJECT_STORE_*` variable.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectStoreFileConfig {
    /// `s3://bucket/prefix`.
    pub url: Option<String>,
    /// The S3-compatible server, e.g. `https://s3.example.net`; without it, AWS S3.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow an `http://` endpoint (local test servers only).
    pub allow_http: Option<bool>,
}

impl std::fmt::Debug for ObjectStoreFileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreFileConfig")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// `[tls]` of `dds.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFileConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
}

/// `[consent]` of `dds.toml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfig {
    /// Whether a ConsentOverride also lifts an opt-out for documents of other organisations
    /// (INTERFACE.md: only when the config says so). Default false.
    #[serde(default)]
    pub override_lifts_opt_out: bool,
}

/// Flags (or their `DDS_*` environment variables) of `dds serve`; `None` means "not given".
#[derive(Debug, Default, clap::Args)]
pub struct ServeFlags {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "DDS_LISTEN")]
    pub listen: Option<String>,
    /// Data directory for the SQLite store, the documents and the development STS
    /// [default: ./data].
    #[arg(long, env = "DDS_DATA")]
    pub data: Option<PathBuf>,
    /// The stores on PostgreSQL (`postgres://user:password@host:port/database`): registry
    /// metadata, consent, MinLog and the BRS outbox, shared by every instance given the same
    /// URL, instead of SQLite in the data directory [default: SQLite].
    #[arg(long, env = "DDS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Configuration file (TOML); flags and environment variables override its keys.
    #[arg(long, env = "DDS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Which services to run [default: all].
    #[arg(long, env = "DDS_ROLE", value_enum)]
    pub role: Option<Role>,
    /// Registry endpoint the repository registers with (`--role repository`).
    #[arg(long, env = "DDS_REGISTRY_URL")]
    pub registry_url: Option<String>,
    /// This repository's repositoryUniqueId [default: 1.2.208.176.43210.8.10.11].
    #[arg(long, env = "DDS_REPOSITORY_UNIQUE_ID")]
    pub repository_unique_id: Option<String>,
    /// PEM certificate chain to serve HTTPS with (with --tls-key).
    #[arg(long, env = "DDS_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "DDS_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: require every client to present a certificate they signed.
    #[arg(long, env = "DDS_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Where treatment-relation follow-ups are delivered; without it they wait in the outbox.
    #[arg(long, env = "DDS_BRS_URL")]
    pub brs_url: Option<String>,
    /// Delivery attempts of a follow-up before it is dead-lettered [default: 20]; also of a
    /// MinLog record forwarded to --minlog-forward-url.
    #[arg(long, env = "DDS_BRS_ATTEMPTS_MAX")]
    pub brs_attempts_max: Option<u32>,
    /// An external MinLog endpoint every access record is also forwarded to (POST, JSON, in
    /// order, at least once); without it MinLog lives only here.
    #[arg(long, env = "DDS_MINLOG_FORWARD_URL")]
    pub minlog_forward_url: Option<String>,
    /// Which patients registrations may concern [default: any].
    #[arg(long, env = "DDS_PATIENT_POLICY", value_enum)]
    pub patient_policy: Option<PatientPolicy>,
    /// Most MIME parts in one MTOM message, root included [default: 1024].
    #[arg(long, env = "DDS_MULTIPART_PARTS_MAX")]
    pub multipart_parts_max: Option<usize>,
    /// Seconds a remote repository or registry may stay silent before the call fails
    /// [default: 30].
    #[arg(long, env = "DDS_REMOTE_TIMEOUT_SECONDS")]
    pub remote_timeout_seconds: Option<u64>,
    /// Committed documents on S3-compatible object storage, `s3://bucket/prefix`, instead of
    /// files in the data directory [default: files].
    #[arg(long, env = "DDS_OBJECT_STORE_URL")]
    pub object_store_url: Option<String>,
    /// The S3-compatible server (`https://host:port`) [default: AWS S3].
    #[arg(long, env = "DDS_OBJECT_STORE_ENDPOINT")]
    pub object_store_endpoint: Option<String>,
    /// The bucket's region [default: us-east-1].
    #[arg(long, env = "DDS_OBJECT_STORE_REGION")]
    pub object_store_region: Option<String>,
    /// Access key id for the object storage.
    #[arg(long, env = "DDS_OBJECT_STORE_ACCESS_KEY_ID")]
    pub object_store_access_key_id: Option<String>,
    /// Secret access key for the object storage; prefer the environment variable (a flag is
    /// visible to other users in the process list).
    #[arg(
        long,
        env = "DDS_OBJECT_STORE_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub object_store_secret_access_key: Option<repository::Secret>,
    /// Allow an http:// object storage endpoint (local test servers) [default: false].
    #[arg(long, env = "DDS_OBJECT_STORE_ALLOW_HTTP")]
    pub object_store_allow_http: Option<bool>,
}

/// The validated configuration the service runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// PostgreSQL for the registry store (`postgres://` or `postgresql://`); `None`: the SQLite
    /// file in `data`. Consent, MinLog and the outbox are in `data` either way (for now).
    pub database_url: Option<String>,
    pub role: Role,
    pub registry_url: Option<String>,
    pub repository_unique_id: String,
    pub brs_url: Option<String>,
    pub brs_attempts_max: u32,
    pub minlog_forward_url: Option<String>,
    pub patient_policy: PatientPolicy,
    pub trust_dev_sts: bool,
    pub trusted_sts_certs: Vec<PathBuf>,
    pub repositories: Vec<RemoteRepository>,
    pub registry_body_bytes_max: u64,
    pub repository_body_bytes_max: u64,
    pub document_bytes_max: u64,
    pub query_results_max: usize,
    pub multipart_parts_max: usize,
    pub remote_timeout: std::time::Duration,
    pub gc_grace: std::time::Duration,
    pub system_card: SystemCardConfig,
    pub identity: identity::VerifyConfig,
    pub policy: identity::Policy,
    pub validation: xds_validate::ValidationConfig,
    pub consent: ConsentConfig,
    /// HTTPS, when configured.
    pub tls: Option<crate::tls::TlsSettings>,
    /// Committed documents on S3-compatible object storage; `None`: files under `data`.
    pub object_store: Option<repository::S3Settings>,
}

/// A configuration problem, named by key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("`{key}` = {value:?} is not valid: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
}

impl Config {
    /// Merges flags (already holding environment values) over the config file over defaults,
    /// and validates the result.
    pub fn load(flags: ServeFlags) -> Result<Config, ConfigError> {
        let file = match &flags.config {
            Some(path) => read_file_config(path)?,
            None => FileConfig::default(),
        };
        let listen_text = flags
            .listen
            .or(file.listen)
            .unwrap_or_else(|| LISTEN_DEFAULT.to_owned());
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Invalid {
                key: "listen",
                value: listen_text.clone(),
                reason: format!("expected an address like 127.0.0.1:8080 ({e})"),
            })?;
        let database_url = flags.database_url.or(file.database_url);
        if let Some(url) = &database_url {
            check_database_url(url)?;
        }
        let role = flags.role.or(file.role).unwrap_or(Role::All);
        let registry_url = flags.registry_url.or(file.registry_url);
        if role == Role::Repository && registry_url.is_none() {
            return Err(ConfigError::Invalid {
                key: "registry_url",
                value: String::new(),
                reason: "a repository-only service needs the registry's URL to register with"
                    .to_owned(),
            });
        }
        if let Some(url) = &registry_url {
            check_http_url("registry_url", url)?;
        }
        let minlog_forward_url = flags.minlog_forward_url.or(file.minlog_forward_url);
        if let Some(url) = &minlog_forward_url {
            check_http_url("minlog_forward_url", url)?;
        }
        let brs_url = flags.brs_url.or(file.brs_url);
        if let Some(url) = &brs_url {
            check_http_url("brs_url", url)?;
        }
        let brs_attempts_max = match flags.brs_attempts_max.or(file.brs_attempts_max) {
            None => BRS_ATTEMPTS_MAX,
            Some(0) => {
                return Err(ConfigError::Invalid {
                    key: "brs_attempts_max",
                    value: "0".to_owned(),
                    reason: "a follow-up needs at least one attempt".to_owned(),
                });
            }
            Some(n) => n,
        };
        for repository in &file.repositories {
            check_http_url("repositories.url", &repository.url)?;
            check_oid("repositories.unique_id", &repository.unique_id)?;
            if repository.timeout_seconds == Some(0) {
                return Err(ConfigError::Invalid {
                    key: "repositories.timeout_seconds",
                    value: "0".to_owned(),
                    reason: "must be at least 1 second".to_owned(),
                });
            }
        }
        let multipart_parts_max = flags
            .multipart_parts_max
            .or(file.multipart_parts_max)
            .unwrap_or(MULTIPART_PARTS_MAX);
        if multipart_parts_max == 0 {
            return Err(ConfigError::Invalid {
                key: "multipart_parts_max",
                value: "0".to_owned(),
                reason: "an MTOM message has at least its root part".to_owned(),
            });
        }
        let remote_timeout_seconds = positive(
            "remote_timeout_seconds",
            flags.remote_timeout_seconds.or(file.remote_timeout_seconds),
            REMOTE_TIMEOUT_SECONDS,
        )?;
        let system_card = file.system_card;
        if system_card.file.is_none() && !is_cvr(&system_card.cvr) {
            return Err(ConfigError::Invalid {
                key: "system_card.cvr",
                value: system_card.cvr,
                reason: "expected a CVR number of 8 digits".to_owned(),
            });
        }
        let repository_unique_id = flags
            .repository_unique_id
            .or(file.repository_unique_id)
            .unwrap_or_else(|| REPOSITORY_UNIQUE_ID_DEFAULT.to_owned());
        check_oid("repository_unique_id", &repository_unique_id)?;
        let tls = match (
            flags.tls_cert.or(file.tls.cert),
            flags.tls_key.or(file.tls.key),
            flags.tls_client_ca.or(file.tls.client_ca),
        ) {
            (None, None, None) => None,
            (Some(cert), Some(key), client_ca) => {
                let settings = crate::tls::TlsSettings {
                    cert,
                    key,
                    client_ca,
                };
                crate::tls::server_config(&settings).map_err(|e| ConfigError::Invalid {
                    key: "tls",
                    value: settings.cert.display().to_string(),
                    reason: e.to_string(),
                })?;
                Some(settings)
            }
            (cert, _, _) => {
                return Err(ConfigError::Invalid {
                    key: if cert.is_some() { "tls.key" } else { "tls.cert" },
                    value: String::new(),
                    reason: "HTTPS needs both a certificate (tls.cert, --tls-cert) and its key (tls.key, --tls-key)".to_owned(),
                });
            }
        };
        let object_store = object_store_settings(
            ObjectStoreFileConfig {
                url: flags.object_store_url,
                endpoint: flags.object_store_endpoint,
                region: flags.object_store_region,
                access_key_id: flags.object_store_access_key_id,
                secret_access_key: flags
                    .object_store_secret_access_key
                    .map(|s| s.expose().to_owned()),
                allow_http: flags.object_store_allow_http,
            },
            file.object_store,
            std::time::Duration::from_secs(remote_timeout_seconds),
        )?;
        let config = Config {
            listen,
            data: flags
                .data
                .or(file.data)
                .unwrap_or_else(|| PathBuf::from(DATA_DEFAULT)),
            database_url,
            role,
            registry_url,
            repository_unique_id,
            brs_url,
            brs_attempts_max,
            minlog_forward_url,
            patient_policy: flags
                .patient_policy
                .or(file.patient_policy)
                .unwrap_or(PatientPolicy::Any),
            trust_dev_sts: file.trust_dev_sts.unwrap_or(true),
            trusted_sts_certs: file.trusted_sts_certs,
            repositories: file.repositories,
            registry_body_bytes_max: positive(
                "registry_body_bytes_max",
                file.registry_body_bytes_max,
                REGISTRY_BODY_BYTES_MAX,
            )?,
            repository_body_bytes_max: positive(
                "repository_body_bytes_max",
                file.repository_body_bytes_max,
                REPOSITORY_BODY_BYTES_MAX,
            )?,
            document_bytes_max: positive(
                "document_bytes_max",
                file.document_bytes_max,
                DOCUMENT_BYTES_MAX,
            )?,
            query_results_max: match file.query_results_max {
                None => registry::QUERY_RESULTS_MAX,
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        key: "query_results_max",
                        value: "0".to_owned(),
                        reason: "must allow at least one result".to_owned(),
                    });
                }
                Some(n) => n,
            },
            multipart_parts_max,
            remote_timeout: std::time::Duration::from_secs(remote_timeout_seconds),
            gc_grace: file
                .gc_grace_seconds
                .map(std::time::Duration::from_secs)
                .unwrap_or(repository::GC_GRACE_DEFAULT),
            system_card,
            identity: file.identity,
            policy: file.policy.unwrap_or_default(),
            validation: file.validation,
            consent: file.consent,
            tls,
            object_store,
        };
        Ok(config)
    }
}

/// `[object_store]` with each flag over its key; `None` when no URL is given anywhere.
fn object_store_settings(
    flags: ObjectStoreFileConfig,
    file: ObjectStoreFileConfig,
    timeout: std::time::Duration,
) -> Result<Option<repository::S3Settings>, ConfigError> {
    let Some(url) = flags.url.or(file.url) else {
        let stray = [
            (
                "object_store.endpoint",
                flags.endpoint.or(file.endpoint).is_some(),
            ),
            (
                "object_store.region",
                flags.region.or(file.region).is_some(),
            ),
            (
                "object_store.access_key_id",
                flags.access_key_id.or(file.access_key_id).is_some(),
            ),
            (
                "object_store.secret_access_key",
                flags.secret_access_key.or(file.secret_access_key).is_some(),
            ),
        ];
        return match stray.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(ConfigError::Invalid {
                key,
                value: String::new(),
                reason: "object storage needs object_store.url (s3://bucket/prefix); without it documents are files in the data directory".to_owned(),
            }),
            None => Ok(None),
        };
    };
    let mut settings =
        repository::S3Settings::from_url(&url).map_err(|e| ConfigError::Invalid {
            key: "object_store.url",
            value: url.clone(),
            reason: e.to_string(),
        })?;
    settings.endpoint = flags.endpoint.or(file.endpoint);
    settings.allow_http = flags.allow_http.or(file.allow_http).unwrap_or(false);
    if let Some(endpoint) = &settings.endpoint {
        check_http_url("object_store.endpoint", endpoint)?;
        if endpoint.starts_with("http://") && !settings.allow_http {
            return Err(ConfigError::Invalid {
                key: "object_store.endpoint",
                value: endpoint.clone(),
                reason: "an http:// endpoint sends documents unencrypted; set object_store.allow_http = true for a local test server".to_owned(),
            });
        }
    }
    if let Some(region) = flags.region.or(file.region) {
        settings.region = region;
    }
    settings.access_key_id = flags.access_key_id.or(file.access_key_id);
    settings.secret_access_key = flags
        .secret_access_key
        .or(file.secret_access_key)
        .map(repository::Secret::new);
    if settings.access_key_id.is_some() != settings.secret_access_key.is_some() {
        return Err(ConfigError::Invalid {
            key: if settings.access_key_id.is_some() {
                "object_store.secret_access_key"
            } else {
                "object_store.access_key_id"
            },
            value: String::new(),
            reason: "give both the access key id and its secret, or neither (then the instance's own credentials are used)".to_owned(),
        });
    }
    settings.timeout = timeout;
    Ok(Some(settings))
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn positive(key: &'static str, value: Option<u64>, default: u64) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::Invalid {
            key,
            value: "0".to_owned(),
            reason: "must be at least 1".to_owned(),
        }),
        Some(n) => Ok(n),
    }
}

fn is_cvr(value: &str) -> bool {
    value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit())
}

fn check_http_url(key: &'static str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key,
            value: url.to_owned(),
            reason: "expected an http:// or https:// URL".to_owned(),
        })
    }
}

/// A PostgreSQL connection URL; anything else (a `sqlite:` URL, a typo) is refused here rather
/// than at the first connection attempt. The rest of the URL is checked when the store connects.
fn check_database_url(url: &str) -> Result<(), ConfigError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key: "database_url",
            value: redacted_database_url(url),
            reason: "expected a PostgreSQL URL, postgres://user:password@host:port/database (without it the registry is SQLite in the data directory)".to_owned(),
        })
    }
}

/// `url` with the password (between `user:` and `@` of the authority) replaced by `***`, for
/// messages and the start-up banner.
pub fn redacted_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// An ISO OID as XDS uses for repositoryUniqueId: digits separated by single dots, at most 64
/// characters (ITI TF-3 4.2.3.2.18).
fn check_oid(key: &'static str, oid: &str) -> Result<(), ConfigError> {
    let well_formed = !oid.is_empty()
        && oid.len() <= 64
        && oid
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
    if well_formed {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key,
            value: oid.to_owned(),
            reason: "expected an OID such as 1.2.208.176.43210.8.10.11".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dds.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_apply_without_file_or_flags() {
        let config = Config::load(ServeFlags::default()).unwrap();
        assert_eq!(config.listen.to_string(), LISTEN_DEFAULT);
        assert_eq!(config.role, Role::All);
        assert_eq!(config.repository_unique_id, REPOSITORY_UNIQUE_ID_DEFAULT);
        assert!(config.trust_dev_sts);
    }

    #[test]
    fn flags_override_file() {
        let (_dir, path) = write("listen = \"127.0.0.1:9000\"\nrole = \"registry\"\n");
        let config = Config::load(ServeFlags {
            listen: Some("127.0.0.1:9100".into()),
            config: Some(path),
            ..ServeFlags::default()
        })
        .unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.role, Role::Registry);
    }

    #[test]
    fn unknown_key_is_named() {
        let (_dir, path) = write("lisen = \"127.0.0.1:9000\"\n");
        let err = Config::load(ServeFlags {
            config: Some(path),
            ..ServeFlags::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn database_url_comes_from_flag_or_file_and_must_be_postgres() {
        assert_eq!(
            Config::load(ServeFlags::default()).unwrap().database_url,
            None
        );
        let (_dir, path) = write("database_url = \"postgresql://dds@db:5432/dds\"\n");
        let from_file = Config::load(ServeFlags {
            config: Some(path.clone()),
            ..ServeFlags::default()
        })
        .unwrap();
        assert_eq!(
            from_file.database_url.as_deref(),
            Some("postgresql://dds@db:5432/dds")
        );
        let from_flag = Config::load(ServeFlags {
            config: Some(path),
            database_url: Some("postgres://other@db/dds".into()),
            ..ServeFlags::default()
        })
        .unwrap();
        assert_eq!(
            from_flag.database_url.as_deref(),
            Some("postgres://other@db/dds")
        );
        let err = Config::load(ServeFlags {
            database_url: Some("sqlite://user:secret@registry.sqlite".into()),
            ..ServeFlags::default()
        })
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("database_url"), "{message}");
        assert!(!message.contains("secret"), "the password leaks: {message}");
    }

    #[test]
    fn redacted_database_url_hides_only_the_password() {
        assert_eq!(
            redacted_database_url("postgres://dds:s3cret@db:5432/dds?sslmode=require"),
            "postgres://dds:***@db:5432/dds?sslmode=require"
        );
        assert_eq!(
            redacted_database_url("postgres://dds@db/dds?options=a:b@c"),
            "postgres://dds@db/dds?options=a:b@c"
        );
        assert_eq!(
            redacted_database_url("postgres://db/dds"),
            "postgres://db/dds"
        );
    }

    #[test]
    fn object_store_comes_from_file_and_flags_and_keeps_its_secret() {
        assert!(
            Config::load(ServeFlags::default())
                .unwrap()
                .object_store
                .is_none()
        );
        let (_dir, path) = write(
            "[object_store]\nurl = \"s3://dds-documents/region-h\"\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\naccess_key_id = \"dds\"\nsecret_access_key = \"hunter2\"\n",
        );
        let config = Config::load(ServeFlags {
            config: Some(path.clone()),
            object_store_region: Some("eu-north-1".into()),
            ..ServeFlags::default()
        })
        .unwrap();
        let settings = config.object_store.clone().unwrap();
        assert_eq!(settings.bucket, "dds-documents");
        assert_eq!(settings.prefix, "region-h");
        assert_eq!(settings.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(settings.region, "eu-north-1");
        assert_eq!(
            settings.secret_access_key.as_ref().map(|s| s.expose()),
            Some("hunter2")
        );
        assert!(!format!("{config:?}").contains("hunter2"));
        let file = read_file_config(&path).unwrap();
        assert!(!format!("{file:?}").contains("hunter2"));

        // A flag's secret overrides the file's.
        let config = Config::load(ServeFlags {
            config: Some(path),
            object_store_secret_access_key: Some("other".parse().unwrap()),
            ..ServeFlags::default()
        })
        .unwrap();
        let secret = config.object_store.unwrap().secret_access_key.unwrap();
        assert_eq!(secret.expose(), "other");
    }

    #[test]
    fn object_store_refuses_plain_http_stray_keys_and_half_credentials() {
        for (toml, key) in [
            (
                "[object_store]\nurl = \"s3://dds-documents\"\nendpoint = \"http://minio:9000\"\n",
                "object_store.endpoint",
            ),
            (
                "[object_store]\nendpoint = \"https://minio:9000\"\n",
                "object_store.endpoint",
            ),
            (
                "[object_store]\nurl = \"s3://dds-documents\"\naccess_key_id = \"dds\"\n",
                "object_store.secret_access_key",
            ),
            (
                "[object_store]\nurl = \"https://dds-documents\"\n",
                "object_store.url",
            ),
        ] {
            let (_dir, path) = write(toml);
            let err = Config::load(ServeFlags {
                config: Some(path),
                ..ServeFlags::default()
            })
            .unwrap_err();
            assert!(err.to_string().contains(key), "{toml}: {err}");
        }
    }

    #[test]
    fn repository_role_requires_registry_url() {
        let err = Config::load(ServeFlags {
            role: Some(Role::Repository),
            ..ServeFlags::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("registry_url"), "{err}");
    }

    #[test]
    fn annotated_example_config_loads_with_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dds.example.toml");
        let config = Config::load(ServeFlags {
            config: Some(path),
            ..ServeFlags::default()
        })
        .unwrap();
        let defaults = Config::load(ServeFlags::default()).unwrap();
        assert_eq!(config.listen, defaults.listen);
        assert_eq!(config.repository_unique_id, defaults.repository_unique_id);
        assert_eq!(
            config.registry_body_bytes_max,
            defaults.registry_body_bytes_max
        );
        assert_eq!(config.document_bytes_max, defaults.document_bytes_max);
        assert_eq!(config.query_results_max, defaults.query_results_max);
        assert_eq!(config.brs_attempts_max, defaults.brs_attempts_max);
        assert_eq!(config.policy, defaults.policy);
    }

    #[test]
    fn brs_attempts_max_comes_from_flag_or_file_and_is_at_least_one() {
        assert_eq!(
            Config::load(ServeFlags::default())
                .unwrap()
                .brs_attempts_max,
            20
        );
        let (_dir, path) = write("brs_attempts_max = 3\n");
        let from_file = Config::load(ServeFlags {
            config: Some(path.clone()),
            ..ServeFlags::default()
        })
        .unwrap();
        assert_eq!(from_file.brs_attempts_max, 3);
        let from_flag = Config::load(ServeFlags {
            config: Some(path),
            brs_attempts_max: Some(5),
            ..ServeFlags::default()
        })
        .unwrap();
        assert_eq!(from_flag.brs_attempts_max, 5);
        let err = Config::load(ServeFlags {
            brs_attempts_max: Some(0),
            ..ServeFlags::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("brs_attempts_max"), "{err}");
    }

    #[test]
    fn part_limit_and_timeouts_come_from_flag_file_or_default() {
        let (_dir, path) = write(
            "multipart_parts_max = 10\nremote_timeout_seconds = 5\n\
             [[repositories]]\nunique_id = \"1.2.3\"\nurl = \"http://a/xds/repository\"\n\
             [[repositories]]\nunique_id = \"1.2.4\"\nurl = \"http://b/xds/repository\"\ntimeout_seconds = 2\n",
        );
        let from_file = Config::load(ServeFlags {
            config: Some(path.clone()),
            ..ServeFlags::default()
        })
        .unwrap();
        assert_eq!(from_file.multipart_parts_max, 10);
        let timeouts: Vec<u64> = from_file
            .repositories
            .iter()
            .map(|r| r.timeout(from_file.remote_timeout).as_secs())
            .collect();
        assert_eq!(timeouts, [5, 2]);
        let flagged = Config::load(ServeFlags {
            config: Some(path),
            multipart_parts_max: Some(3),
            remote_timeout_seconds: Some(7),
            ..ServeFlags::default()
        })
        .unwrap();
        assert_eq!(flagged.multipart_parts_max, 3);
        assert_eq!(flagged.remote_timeout.as_secs(), 7);
        let defaults = Config::load(ServeFlags::default()).unwrap();
        assert_eq!(defaults.multipart_parts_max, MULTIPART_PARTS_MAX);
        assert_eq!(defaults.remote_timeout.as_secs(), REMOTE_TIMEOUT_SECONDS);
        assert_eq!(defaults.system_card, SystemCardConfig::default());
        let zero = Config::load(ServeFlags {
            multipart_parts_max: Some(0),
            ..ServeFlags::default()
        })
        .unwrap_err();
        assert!(zero.to_string().contains("multipart_parts_max"), "{zero}");
    }

    #[test]
    fn system_card_cvr_must_be_a_cvr() {
        let (_dir, path) = write("[system_card]\ncvr = \"12\"\n");
        let err = Config::load(ServeFlags {
            config: Some(path),
            ..ServeFlags::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("system_card.cvr"), "{err}");
    }

    #[test]
    fn bad_oid_is_rejected() {
        let err = Config::load(ServeFlags {
            repository_unique_id: Some("1..2".into()),
            ..ServeFlags::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("repository_unique_id"), "{err}");
    }
}

//! The composed service: configuration, stores and the door, shared by every handler.
//!
//! Built once at start ([`App::open`]); handlers get it as `State<Arc<App>>`. Opening creates
//! the data directory, the development STS (unless disabled) and the stores, applying their
//! migrations, so a service that answers `/healthz` is ready to serve.
//!
//! With `database_url` every store is in that PostgreSQL database (schema), where several
//! instances share them: the registry, consent, and MinLog with the rejected attempts, the
//! BRS outbox and the forwarding cursor. Without it they are SQLite files in the data
//! directory (`registry.sqlite`, `consent.sqlite`, `minlog.sqlite`). Documents and the
//! development STS are in the data directory either way ([`describe_stores`] says at start
//! which is where).
//!
//! How the repository is wired depends on the role:
//! - `all`: it registers in and looks up from the registry store of this process; foreign
//!   repositoryUniqueIds are forwarded to `[[repositories]]`; at start, after the unfinished
//!   uploads are removed, a background task removes document files no DocumentEntry
//!   references ([`repository::gc`]).
//! - `repository`: it registers with and looks up from the registry at `registry_url` over
//!   SOAP ([`crate::remote::RemoteRegistry`]); `[[repositories]]` are forwarded to as well. No
//!   garbage collection: the registry cannot be asked which hashes it references.
//! - `registry`: the repository is not routed to (see `serve::router`).
//!
//! FIXME: every role still opens the registry and consent stores (and `registry` the document
//! store), because `App`'s fields are not optional and the registry edge, being changed in
//! parallel, uses them directly; unrouted, they are never used. Making them `Option` is a
//! mechanical follow-up.

use std::sync::Arc;

use anyhow::Context;
use identity::{DevSts, TrustStore, Verifier};
use minlog::AuditStore;
use registry::{PgRegistryStore, RegistryStore, SqliteRegistryStore, StoreConfig};

use crate::config::{Config, PatientPolicy, Role, redacted_database_url};
use crate::edge::auth::Door;
use crate::remote::{
    ForwardingRepositories, RemoteRegistry, ResponseLimits, SoapClient, SystemCard,
};

/// File names inside the data directory.
pub const REGISTRY_DB: &str = "registry.sqlite";
pub const MINLOG_DB: &str = "minlog.sqlite";
pub const CONSENT_DB: &str = "consent.sqlite";

pub struct App {
    pub config: Config,
    pub door: Door,
    pub registry: Arc<dyn RegistryStore>,
    pub patient_policy: registry::PatientPolicy,
    pub validation: xds_validate::ValidationConfig,
    /// ITI-41 / ITI-43: documents under `DATA/documents/`, metadata in `registry`.
    pub repository: Arc<repository::Repository>,
    /// The citizens' consent directives (read on every decision, never cached).
    pub consent: consent::ConsentStore,
    /// The full-text index (FindDocumentsByText), kept in step with the registry in the
    /// background; `None` without a registry (`--role repository`) and for tools
    /// ([`Opener::Tool`]), which must not take the running service's index.
    pub search: Option<Arc<search::Indexer>>,
}

/// Who opens the data directory, which decides whether `documents/tmp/` may be cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    /// `dds serve`: owns `documents/tmp/` and removes the uploads a previous run left there
    /// before it accepts requests.
    Service,
    /// A command that writes beside a service that may be running on the same data directory
    /// (`dds seed`): it leaves `documents/tmp/` alone, because those files may be that
    /// service's uploads in progress. Its own staged documents remove themselves when dropped.
    Tool,
}

impl App {
    pub async fn open(config: Config) -> anyhow::Result<App> {
        App::open_as(config, Opener::Service).await
    }

    /// Opens the stores like [`App::open`]; a [`Opener::Tool`] skips the collection of orphaned
    /// uploads and of unreferenced documents.
    pub async fn open_as(config: Config, opener: Opener) -> anyhow::Result<App> {
        // The service calls out over HTTP(S) (other repositories, the registry, BRS).
        crate::http_client::install_crypto_provider();
        std::fs::create_dir_all(&config.data).with_context(|| {
            format!("cannot create the data directory {}", config.data.display())
        })?;
        let mut trust = TrustStore::from_pem_files(&config.trusted_sts_certs)
            .context("cannot load trusted_sts_certs")?;
        if config.trust_dev_sts {
            let sts = DevSts::open_or_create(&config.data)
                .context("cannot open the development STS in the data directory")?;
            trust.add_dev_sts(&sts);
        }
        if trust.is_empty() {
            anyhow::bail!(
                "no STS is trusted: set trusted_sts_certs or leave trust_dev_sts on, or no card can ever be accepted"
            );
        }
        let audit = match &config.database_url {
            Some(url) => AuditStore::open_postgres(url).await.with_context(|| {
                format!(
                    "cannot open the audit store on PostgreSQL at {}",
                    redacted_database_url(url)
                )
            })?,
            None => AuditStore::open(&config.data.join(MINLOG_DB))
                .await
                .context("cannot open the audit store")?,
        };
        let registry = open_registry_store(&config).await?;
        let consent = match &config.database_url {
            Some(url) => consent::ConsentStore::open_postgres(url)
                .await
                .with_context(|| {
                    format!(
                        "cannot open the consent store on PostgreSQL at {}",
                        redacted_database_url(url)
                    )
                })?,
            None => consent::ConsentStore::open(&config.data.join(CONSENT_DB))
                .await
                .context("cannot open the consent store")?,
        };
        let verifier = Verifier::new(trust, config.identity.clone());
        let patient_policy = match config.patient_policy {
            PatientPolicy::Any => registry::PatientPolicy::Any,
            PatientPolicy::Known => registry::PatientPolicy::Known,
        };
        let repository = Arc::new(
            open_repository(&config, &verifier, registry.clone(), patient_policy, opener).await?,
        );
        if config.role == Role::All && opener == Opener::Service {
            spawn_garbage_collection(repository.clone(), registry.clone(), config.gc_grace);
        }
        let search = if config.role != Role::Repository && opener == Opener::Service {
            // Kept in step by a task `serve::Server` runs (and stops with the service).
            Some(crate::search::open_indexer(&config, registry.clone()).await?)
        } else {
            None
        };
        let door = Door {
            verifier,
            policy: config.policy.clone(),
            audit,
        };
        Ok(App {
            patient_policy,
            validation: config.validation.clone(),
            registry,
            repository,
            consent,
            search,
            door,
            config,
        })
    }
}

/// Where each store of this process lives, one line per part, for the start-up banner:
/// all of them on PostgreSQL when `database_url` is set, else the data directory's SQLite
/// files.
pub fn describe_stores(config: &Config) -> Vec<String> {
    let data = config.data.display();
    let place = |file: &str| match &config.database_url {
        Some(url) => format!("PostgreSQL at {}", redacted_database_url(url)),
        None => format!("SQLite, {data}/{file}"),
    };
    let documents = match &config.object_store {
        Some(s3) => format!(
            "documents: object storage {} at {}, uploads staged in {data}/documents/tmp",
            s3.url(),
            s3.endpoint.as_deref().unwrap_or("AWS S3")
        ),
        None => format!("documents: files, {data}/documents"),
    };
    vec![
        format!("registry store: {}", place(REGISTRY_DB)),
        format!("consent store: {}", place(CONSENT_DB)),
        format!(
            "MinLog, rejected attempts and the BRS outbox: {}",
            place(MINLOG_DB)
        ),
        documents,
    ]
}

/// The registry store the configuration names: PostgreSQL at `database_url`, else the SQLite
/// file in the data directory.
pub async fn open_registry_store(config: &Config) -> anyhow::Result<Arc<dyn RegistryStore>> {
    let store_config = StoreConfig {
        query_results_max: config.query_results_max,
        ..StoreConfig::default()
    };
    Ok(match &config.database_url {
        Some(url) => Arc::new(
            PgRegistryStore::open(url, store_config)
                .await
                .with_context(|| {
                    format!(
                        "cannot open the registry store on PostgreSQL at {}",
                        redacted_database_url(url)
                    )
                })?,
        ),
        None => Arc::new(
            SqliteRegistryStore::open(&config.data.join(REGISTRY_DB), store_config)
                .await
                .context("cannot open the registry store")?,
        ),
    })
}

/// The document store the configuration names: the bucket of `[object_store]`, else the
/// data directory's files.
pub async fn open_document_store(
    config: &Config,
) -> anyhow::Result<Arc<dyn repository::DocumentStore>> {
    Ok(match &config.object_store {
        Some(s3) => Arc::new(
            repository::ObjectDocumentStore::open_s3(s3, &config.data, config.document_bytes_max)
                .await
                .with_context(|| format!("cannot open the object storage {}", s3.url()))?,
        ),
        None => Arc::new(
            repository::LocalDocumentStore::open(&config.data, config.document_bytes_max)
                .context("cannot open the document store")?,
        ),
    })
}

/// Removes document files no DocumentEntry references, in the background so that a large
/// store does not delay readiness; the hash locks keep it out of the way of submissions.
fn spawn_garbage_collection(
    repository: Arc<repository::Repository>,
    registry: Arc<dyn RegistryStore>,
    grace: std::time::Duration,
) {
    tokio::spawn(async move {
        let references = repository::InProcessRegistry::new(registry, Default::default());
        match repository.collect_unreferenced(&references, grace).await {
            Ok(collected) if collected.removed > 0 => tracing::info!(
                removed = collected.removed,
                examined = collected.examined,
                "removed document files no DocumentEntry references"
            ),
            Ok(collected) => {
                tracing::debug!(
                    examined = collected.examined,
                    "no unreferenced document files"
                )
            }
            Err(error) => tracing::error!(%error, "collecting unreferenced document files failed"),
        }
    });
}

/// The repository over `DATA/documents/` or `[object_store]`, wired for the role (see the
/// module documentation). The service collects the temporary files a previous run left behind,
/// before any request can start an upload.
async fn open_repository(
    config: &Config,
    verifier: &Verifier,
    registry: Arc<dyn RegistryStore>,
    patient_policy: registry::PatientPolicy,
    opener: Opener,
) -> anyhow::Result<repository::Repository> {
    let documents = open_document_store(config).await?;
    if opener == Opener::Service {
        let orphans = documents
            .collect_orphans()
            .context("cannot collect orphaned temporary documents")?;
        if orphans > 0 {
            tracing::info!(orphans, "removed unfinished uploads of a previous run");
        }
    }
    let needs_system_card = config.role == Role::Repository || !config.repositories.is_empty();
    let system_card = if needs_system_card {
        Some(Arc::new(
            SystemCard::open(&config.system_card, &config.data, verifier)
                .context("cannot get this service's system card ([system_card])")?,
        ))
    } else {
        None
    };
    let remotes: Arc<dyn repository::RemoteRepositories> = match &system_card {
        Some(card) if !config.repositories.is_empty() => Arc::new(
            ForwardingRepositories::new(
                &config.repositories,
                config.remote_timeout,
                card.clone(),
                documents.clone(),
                repository_answer_limits(config),
            )
            .context("cannot build the HTTP client for [[repositories]]")?,
        ),
        _ => Arc::new(repository::NoRemoteRepositories),
    };
    let (registrar, lookup): (
        Arc<dyn repository::Registrar>,
        Arc<dyn repository::MetadataLookup>,
    ) = match (config.role, &config.registry_url, &system_card) {
        (Role::Repository, Some(url), Some(card)) => {
            let remote = Arc::new(RemoteRegistry::new(
                url.clone(),
                SoapClient::new(config.remote_timeout)
                    .context("cannot build the HTTP client for registry_url")?,
                card.clone(),
                registry_answer_limits(config),
            ));
            (remote.clone(), remote)
        }
        (Role::Repository, _, _) => {
            anyhow::bail!("a repository-only service needs registry_url")
        }
        _ => {
            let in_process = Arc::new(repository::InProcessRegistry::new(
                registry,
                registry::RegisterOptions { patient_policy },
            ));
            (in_process.clone(), in_process)
        }
    };
    Ok(repository::Repository::new(
        config.repository_unique_id.clone(),
        documents,
        registrar,
        lookup,
        remotes,
    ))
}

/// What a registry may answer us: what we accept from registry clients ourselves.
fn registry_answer_limits(config: &Config) -> ResponseLimits {
    ResponseLimits {
        body_bytes_max: config.registry_body_bytes_max,
        multipart: soap::MultipartLimits::default(),
        body_text_bytes_max: soap::limits::BODY_TEXT_BYTES_MAX,
    }
}

/// What a repository may answer a forwarded ITI-43: the limits of our own repository endpoint.
fn repository_answer_limits(config: &Config) -> ResponseLimits {
    ResponseLimits {
        body_bytes_max: config.repository_body_bytes_max,
        multipart: soap::MultipartLimits {
            // The uploads enforce the document limit themselves.
            attachment_bytes_max: config.document_bytes_max.saturating_add(1),
            parts_max: config.multipart_parts_max,
            ..soap::MultipartLimits::default()
        },
        body_text_bytes_max: usize::try_from(config.document_bytes_max / 2 * 3)
            .unwrap_or(usize::MAX)
            .max(soap::limits::BODY_TEXT_BYTES_MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServeFlags;

    fn config(database_url: Option<&str>) -> Config {
        Config::load(ServeFlags {
            data: Some("/srv/dds".into()),
            database_url: database_url.map(str::to_owned),
            ..ServeFlags::default()
        })
        .unwrap()
    }

    #[test]
    fn the_banner_names_each_store_and_never_a_password() {
        assert_eq!(
            describe_stores(&config(None)),
            [
                "registry store: SQLite, /srv/dds/registry.sqlite",
                "consent store: SQLite, /srv/dds/consent.sqlite",
                "MinLog, rejected attempts and the BRS outbox: SQLite, /srv/dds/minlog.sqlite",
                "documents: files, /srv/dds/documents",
            ]
        );
        let on_postgres = describe_stores(&config(Some("postgres://dds:s3cret@db:5432/dds")));
        assert_eq!(
            on_postgres[0],
            "registry store: PostgreSQL at postgres://dds:***@db:5432/dds"
        );
        assert_eq!(
            on_postgres[1..3],
            [
                "consent store: PostgreSQL at postgres://dds:***@db:5432/dds",
                "MinLog, rejected attempts and the BRS outbox: PostgreSQL at postgres://dds:***@db:5432/dds",
            ]
        );
        assert!(!on_postgres.concat().contains("s3cret"));

        let on_s3 = describe_stores(
            &Config::load(ServeFlags {
                data: Some("/srv/dds".into()),
                object_store_url: Some("s3://dds-documents/region-h".into()),
                object_store_endpoint: Some("https://s3.example.net".into()),
                object_store_access_key_id: Some("dds".into()),
                object_store_secret_access_key: Some("s3cret".parse().unwrap()),
                ..ServeFlags::default()
            })
            .unwrap(),
        );
        assert_eq!(
            on_s3[3],
            "documents: object storage s3://dds-documents/region-h at https://s3.example.net, uploads staged in /srv/dds/documents/tmp"
        );
        assert!(!on_s3.concat().contains("s3cret"));
    }
}

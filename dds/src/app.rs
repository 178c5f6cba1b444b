//! The composed service: configuration, stores and the door, shared by every handler.
//!
//! Built once at start ([`App::open`]); handlers get it as `State<Arc<App>>`. Opening creates
//! the data directory, the development STS (unless disabled) and the stores, applying their
//! migrations, so a service that answers `/healthz` is ready to serve.

use std::sync::Arc;

use anyhow::Context;
use identity::{DevSts, TrustStore, Verifier};
use minlog::AuditStore;
use registry::{RegistryStore, SqliteRegistryStore, StoreConfig};

use crate::config::{Config, PatientPolicy};
use crate::edge::auth::Door;

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
    /// uploads.
    pub async fn open_as(config: Config, opener: Opener) -> anyhow::Result<App> {
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
        let audit = AuditStore::open(&config.data.join(MINLOG_DB))
            .await
            .context("cannot open the audit store")?;
        let registry = SqliteRegistryStore::open(
            &config.data.join(REGISTRY_DB),
            StoreConfig {
                query_results_max: config.query_results_max,
                ..StoreConfig::default()
            },
        )
        .await
        .context("cannot open the registry store")?;
        let consent = consent::ConsentStore::open(&config.data.join(CONSENT_DB))
            .await
            .context("cannot open the consent store")?;
        let door = Door {
            verifier: Verifier::new(trust, config.identity.clone()),
            policy: config.policy.clone(),
            audit,
        };
        let patient_policy = match config.patient_policy {
            PatientPolicy::Any => registry::PatientPolicy::Any,
            PatientPolicy::Known => registry::PatientPolicy::Known,
        };
        let registry: Arc<dyn RegistryStore> = Arc::new(registry);
        let repository = open_repository(&config, registry.clone(), patient_policy, opener)?;
        Ok(App {
            patient_policy,
            validation: config.validation.clone(),
            registry,
            repository: Arc::new(repository),
            consent,
            door,
            config,
        })
    }
}

/// The repository over `DATA/documents/`, registering in this process's registry. The service
/// collects the temporary files a previous run left behind, before any request can start an
/// upload.
fn open_repository(
    config: &Config,
    registry: Arc<dyn RegistryStore>,
    patient_policy: registry::PatientPolicy,
    opener: Opener,
) -> anyhow::Result<repository::Repository> {
    let documents = repository::LocalDocumentStore::open(&config.data, config.document_bytes_max)
        .context("cannot open the document store")?;
    if opener == Opener::Service {
        let orphans = repository::DocumentStore::collect_orphans(&documents)
            .context("cannot collect orphaned temporary documents")?;
        if orphans > 0 {
            tracing::info!(orphans, "removed unfinished uploads of a previous run");
        }
    }
    let in_process = Arc::new(repository::InProcessRegistry::new(
        registry,
        registry::RegisterOptions { patient_policy },
    ));
    Ok(repository::Repository::new(
        config.repository_unique_id.clone(),
        Arc::new(documents),
        in_process.clone(),
        in_process,
        Arc::new(repository::NoRemoteRepositories),
    ))
}

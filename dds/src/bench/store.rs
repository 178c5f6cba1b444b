//! The benchmark store: seeded once through `dds seed`'s code, reused (or grown) by later runs,
//! with consent directives on a share of the patients; and what the store costs on disk.
//!
//! A marker file in the data directory ([`MARKER`]) records what was seeded: the generator's
//! seed, the patients and documents per patient, the consent share, and where the stores are
//! (SQLite in the data directory, or which PostgreSQL database). A run asking for the same
//! seed, documents per patient and share on the same backend reuses the store; one asking for
//! more patients seeds only the missing ones (the generator's draws of the first ones are
//! replayed, not stored).
//!
//! Invariants: the marker says `complete` only once every planned patient is stored and has
//! its directives, so an interrupted seeding is detected and never silently benchmarked; a
//! directory (or database) holding a store without a marker is refused, so the bench never
//! adds synthetic data to a store it did not create; a store seeded on one backend (or
//! PostgreSQL database) is never benchmarked on another, whose store would be empty or
//! different. The workload's patients and documents come from the
//! generator's replay, not from the store: exactly the seeded patients, whatever the ITI-41s of
//! earlier runs added.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::BenchArgs;
use super::db::{self, Backend, Pool};
use super::workload;
use crate::app::{App, Opener};
use crate::cli::seed::{self, SeedPlan};
use crate::cli::synthetic::{APPOINTMENTS_FROM, Generator};
use crate::config::Config;

/// The marker file in the data directory.
pub const MARKER: &str = "bench-store.json";
/// Version of the marker's format.
const MARKER_FORMAT: u32 = 1;
/// Most documents sampled for ITI-43 (taken from evenly spread patients).
pub const DOCUMENT_SAMPLE_MAX: usize = 20_000;
/// Directives written at once (the consent store commits each durably).
const DIRECTIVE_WRITES_IN_FLIGHT: usize = 8;
/// Days a period block covers, from the first day of the synthetic appointments.
const PERIOD_BLOCK_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker {
    format: u32,
    seed: u64,
    documents_per_patient: u32,
    patients: u64,
    consent_share: f64,
    /// Patients given directives so far.
    directives: u64,
    /// False while a seeding is in progress (or was interrupted).
    complete: bool,
    /// Where the stores were seeded; markers written before PostgreSQL had none, and were
    /// SQLite.
    #[serde(default = "sqlite")]
    backend: Backend,
    /// The PostgreSQL database (its URL without the password), on PostgreSQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    database: Option<String>,
    /// The large documents stored by earlier runs (one per size), retrieved again instead of
    /// adding another one to the store every run.
    #[serde(default)]
    large_documents: Vec<LargeDocument>,
}

fn sqlite() -> Backend {
    Backend::Sqlite
}

/// A large document a run stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeDocument {
    pub bytes: u64,
    pub unique_id: String,
    pub sha1: String,
}

/// A seeded patient the workload may ask about.
#[derive(Debug, Clone)]
pub struct BenchPatient {
    pub cpr: String,
    /// Whether the patient has consent directives.
    pub directives: bool,
}

/// A seeded document the workload may retrieve.
#[derive(Debug, Clone)]
pub struct BenchDocument {
    pub unique_id: String,
    /// Whether its patient has consent directives.
    pub directives: bool,
}

/// What the workload draws from.
#[derive(Debug, Default)]
pub struct Population {
    pub patients: Vec<BenchPatient>,
    /// A sample of the seeded documents (at most [`DOCUMENT_SAMPLE_MAX`]).
    pub documents: Vec<BenchDocument>,
    pub with_directives: usize,
}

/// What seeding did in this run.
#[derive(Debug, Clone, Serialize)]
pub struct SeedingReport {
    pub patients_stored: u64,
    pub documents_stored: u64,
    pub seconds: f64,
    pub documents_per_second: f64,
    pub directives_added: u64,
    pub directive_seconds: f64,
}

pub struct Prepared {
    pub population: Population,
    /// "seeded", "reused" or "grown from N patients".
    pub outcome: String,
    pub seeding: Option<SeedingReport>,
}

/// One directive to give a patient.
#[derive(Debug, Clone)]
enum Directive {
    OptOut,
    Organisation(String),
    Professional(String),
    Period,
}

/// Seeds, grows or reuses the store in `--data` (and the database of `config`, on
/// PostgreSQL); returns the patients and documents to ask for.
pub async fn prepare(args: &BenchArgs, config: &Config) -> anyhow::Result<Prepared> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create {}", args.data.display()))?;
    let marker_path = args.data.join(MARKER);
    let stored = read_marker(&marker_path)?;
    let backend = Backend::of(config);
    let database = db::database_label(config);
    let already = match &stored {
        None => {
            refuse_foreign_store(args, config).await?;
            0
        }
        Some(marker) => {
            check_reusable(marker, args, backend, database.as_deref())?;
            marker.patients
        }
    };
    let mut generator = Generator::new(args.seed);
    let stride = document_stride(args.patients, args.documents_per_patient);
    let mut population = Population::default();
    let mut to_direct: Vec<(String, Directive)> = Vec::new();
    let doctors = workload::doctor_cprs();
    for index in 0..args.patients {
        let draw = seed::draw(&mut generator, args.documents_per_patient);
        let cpr = draw.patient.patient.cpr.clone();
        let directive = directive_for(&cpr, args.consent_share).map(|kind| match kind {
            0 => Directive::OptOut,
            1 => Directive::Organisation(draw.appointments[0].department.sor.to_owned()),
            2 => Directive::Professional(doctors[hash(&cpr) as usize % doctors.len()].clone()),
            _ => Directive::Period,
        });
        let directives = directive.is_some();
        if index % stride == 0 && population.documents.len() < DOCUMENT_SAMPLE_MAX {
            population
                .documents
                .extend(draw.document_unique_ids().map(|unique_id| BenchDocument {
                    unique_id,
                    directives,
                }));
        }
        if let Some(directive) = directive {
            population.with_directives += 1;
            if index >= already {
                to_direct.push((cpr.clone(), directive));
            }
        }
        population.patients.push(BenchPatient { cpr, directives });
    }
    if already >= args.patients {
        return Ok(Prepared {
            population,
            outcome: "reused".to_owned(),
            seeding: None,
        });
    }
    let previous_directives = stored.as_ref().map_or(0, |m| m.directives);
    let mut marker = Marker {
        format: MARKER_FORMAT,
        seed: args.seed,
        documents_per_patient: args.documents_per_patient,
        patients: args.patients,
        consent_share: args.consent_share,
        directives: previous_directives,
        complete: false,
        backend,
        database,
        large_documents: stored
            .as_ref()
            .map(|m| m.large_documents.clone())
            .unwrap_or_default(),
    };
    write_marker(&marker_path, &marker)?;
    let app = Arc::new(
        App::open_as(config.clone(), Opener::Tool)
            .await
            .with_context(|| format!("cannot open the data directory {}", args.data.display()))?,
    );
    eprintln!(
        "seeding patients {}..{} ({} documents each) into {}{}",
        already + 1,
        args.patients,
        args.documents_per_patient,
        args.data.display(),
        marker
            .database
            .as_deref()
            .map_or(String::new(), |d| format!(" and PostgreSQL at {d}"))
    );
    let summary = seed::seed_app(
        &app,
        &SeedPlan {
            patients: args.patients,
            documents_per_patient: args.documents_per_patient,
            seed: args.seed,
            concurrency: args.seed_concurrency,
            skip: already,
        },
    )
    .await?;
    let directing = Instant::now();
    let added = add_directives(&app, to_direct).await?;
    let directive_seconds = directing.elapsed().as_secs_f64();
    drop(app);
    marker.directives += added;
    marker.complete = true;
    write_marker(&marker_path, &marker)?;
    Ok(Prepared {
        population,
        outcome: if already == 0 {
            "seeded".to_owned()
        } else {
            format!("grown from {already} patients")
        },
        seeding: Some(SeedingReport {
            patients_stored: summary.patients,
            documents_stored: summary.documents,
            seconds: summary.seconds,
            documents_per_second: summary.documents_per_second(),
            directives_added: added,
            directive_seconds,
        }),
    })
}

/// Refuses a store the bench did not seed: a registry file in `--data`, or, on PostgreSQL, a
/// registry with objects in the database.
async fn refuse_foreign_store(args: &BenchArgs, config: &Config) -> anyhow::Result<()> {
    let data = args.data.display();
    if args.data.join(crate::app::REGISTRY_DB).exists() {
        bail!(
            "{data} holds a store that dds bench did not seed (no {MARKER}); give an empty or new --data"
        );
    }
    if let Some(database) = db::database_label(config) {
        let pool = Pool::registry(config, 1).await?;
        let has_objects = pool.registry_has_objects().await;
        pool.close().await;
        if has_objects.context("cannot read the registry on PostgreSQL")? {
            bail!(
                "the PostgreSQL database {database} holds a registry that dds bench did not seed ({data} has no {MARKER}); give an empty database or schema"
            );
        }
    }
    Ok(())
}

fn check_reusable(
    marker: &Marker,
    args: &BenchArgs,
    backend: Backend,
    database: Option<&str>,
) -> anyhow::Result<()> {
    let data = args.data.display();
    if marker.format != MARKER_FORMAT {
        bail!(
            "{data}/{MARKER} has format {} (this dds writes {MARKER_FORMAT}); give a new --data",
            marker.format
        );
    }
    if marker.backend != backend {
        let given = match backend {
            Backend::Sqlite => "without --database-url".to_owned(),
            Backend::Postgresql => "with --database-url".to_owned(),
        };
        bail!(
            "{data} was seeded on {}{}, but this run is on {} ({given}); a store is benchmarked only on the backend it was seeded on: use that backend or a new --data",
            marker.backend.name(),
            marker
                .database
                .as_deref()
                .map_or(String::new(), |d| format!(" at {d}")),
            backend.name()
        );
    }
    if marker.database.as_deref() != database {
        bail!(
            "{data} was seeded on PostgreSQL at {}, but this run uses {}; use that database or a new --data",
            marker.database.as_deref().unwrap_or("?"),
            database.unwrap_or("?")
        );
    }
    if !marker.complete {
        bail!(
            "seeding {data} was interrupted (its {MARKER} is not complete); remove the directory or give a new --data"
        );
    }
    if marker.seed != args.seed || marker.documents_per_patient != args.documents_per_patient {
        bail!(
            "{data} was seeded with --seed {} and --documents-per-patient {}; use those or a new --data",
            marker.seed,
            marker.documents_per_patient
        );
    }
    if (marker.consent_share - args.consent_share).abs() > f64::EPSILON {
        bail!(
            "{data} was given directives with --consent-share {}; use it or a new --data",
            marker.consent_share
        );
    }
    if marker.patients > args.patients {
        bail!(
            "{data} holds {} seeded patients, more than --patients {}: the bench measures the store as it is, so use --patients {} or a new --data",
            marker.patients,
            args.patients,
            marker.patients
        );
    }
    Ok(())
}

fn read_marker(path: &Path) -> anyhow::Result<Option<Marker>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a dds bench marker", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes the marker atomically (temporary file, fsync, rename).
fn write_marker(path: &Path, marker: &Marker) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(&serde_json::to_vec_pretty(marker)?)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The large document of this size an earlier run stored, if any.
pub fn large_document(data: &Path, bytes: u64) -> anyhow::Result<Option<LargeDocument>> {
    Ok(read_marker(&data.join(MARKER))?
        .and_then(|m| m.large_documents.into_iter().find(|d| d.bytes == bytes)))
}

/// Records a stored large document in the marker.
pub fn remember_large_document(data: &Path, document: LargeDocument) -> anyhow::Result<()> {
    let path = data.join(MARKER);
    let Some(mut marker) = read_marker(&path)? else {
        bail!("{} has no {MARKER}", data.display());
    };
    marker.large_documents.retain(|d| d.bytes != document.bytes);
    marker.large_documents.push(document);
    write_marker(&path, &marker)
}

/// Every how many patients the documents are sampled.
fn document_stride(patients: u64, documents_per_patient: u32) -> u64 {
    let documents = patients * u64::from(documents_per_patient);
    documents.div_ceil(DOCUMENT_SAMPLE_MAX as u64).max(1)
}

/// FNV-1a of a CPR: which patients get directives, and which, stable across runs.
fn hash(cpr: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in cpr.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The kind of directive (0..4) a patient gets, if `share` selects them.
fn directive_for(cpr: &str, share: f64) -> Option<u64> {
    const SCALE: u64 = 10_000;
    let h = hash(cpr);
    let threshold = (share * SCALE as f64).round() as u64;
    (h % SCALE < threshold).then_some((h / SCALE) % 4)
}

async fn add_directives(app: &App, directives: Vec<(String, Directive)>) -> anyhow::Result<u64> {
    let period_to = APPOINTMENTS_FROM + time::Duration::days(PERIOD_BLOCK_DAYS);
    let mut in_flight: JoinSet<anyhow::Result<()>> = JoinSet::new();
    let mut added = 0u64;
    for (cpr, directive) in directives {
        if in_flight.len() >= DIRECTIVE_WRITES_IN_FLIGHT
            && let Some(done) = in_flight.join_next().await
        {
            done.context("a directive task failed")??;
            added += 1;
        }
        let store = app.consent.clone();
        in_flight.spawn(async move {
            let now = time::OffsetDateTime::now_utc();
            let block = |kind| consent::NewBlock::new(kind, None, None);
            match directive {
                Directive::OptOut => {
                    store.set_opt_out(&cpr, now).await?;
                }
                Directive::Organisation(sor) => {
                    store
                        .add_block(&cpr, block(consent::BlockKind::Organisation { sor })?, now)
                        .await?;
                }
                Directive::Professional(professional_cpr) => {
                    store
                        .add_block(
                            &cpr,
                            block(consent::BlockKind::Professional { professional_cpr })?,
                            now,
                        )
                        .await?;
                }
                Directive::Period => {
                    store
                        .add_block(
                            &cpr,
                            block(consent::BlockKind::Period {
                                from: APPOINTMENTS_FROM,
                                to: period_to,
                            })?,
                            now,
                        )
                        .await?;
                }
            }
            Ok(())
        });
    }
    while let Some(done) = in_flight.join_next().await {
        done.context("a directive task failed")??;
        added += 1;
    }
    Ok(added)
}

/// What the store costs, measured after the run.
#[derive(Debug, Clone, Serialize)]
pub struct StoreReport {
    /// Where the stores are: "SQLite" (files in the data directory) or "PostgreSQL".
    pub backend: &'static str,
    /// The PostgreSQL database (its URL without the password); `None` on SQLite.
    pub database: Option<String>,
    pub data: String,
    /// Seeded patients (the marker's count).
    pub patients: u64,
    pub patients_with_directives: u64,
    /// DocumentEntries in the registry (seeded and submitted by benchmark runs).
    pub document_entries: u64,
    /// SQLite: `registry.sqlite` and its WAL file, as they are on disk. PostgreSQL: the
    /// registry's tables with their indexes and TOAST (`pg_total_relation_size`).
    pub registry_bytes: u64,
    /// SQLite: pages of the registry database in use (committed content, WAL included), times
    /// the page size: what the entries cost, whatever the WAL file's size. PostgreSQL: the
    /// same as `registry_bytes` (the relation sizes, free space in their pages included).
    pub registry_bytes_in_use: u64,
    /// `registry_bytes_in_use` per DocumentEntry (with its share of SubmissionSets,
    /// Associations and indexes).
    pub registry_bytes_per_document_entry: f64,
    /// Bytes of the stored documents (their `size` metadata) per DocumentEntry, leaving out the
    /// large documents the bench stored for the ITI-43 memory measurement.
    pub document_bytes_per_document_entry: f64,
    /// SQLite: `minlog.sqlite` with its WAL. PostgreSQL: the MinLog tables with their indexes.
    /// Access records and the follow-up outbox either way.
    pub minlog_bytes: u64,
    pub seeding: Option<SeedingReport>,
}

fn file_bytes_with_wal(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path.to_owned(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// SQLite: pages in use of the registry file, times the page size.
async fn sqlite_bytes_in_use(path: &Path) -> anyhow::Result<u64> {
    let pool = db::open_sqlite_read_only(path, 1).await?;
    let pragma = |name: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(name)
                .fetch_one(&pool)
                .await
                .with_context(|| format!("cannot read {name}"))
        }
    };
    let in_use = async {
        anyhow::Ok(
            (pragma("PRAGMA page_count").await? - pragma("PRAGMA freelist_count").await?)
                * pragma("PRAGMA page_size").await?,
        )
    }
    .await;
    pool.close().await;
    Ok(in_use?.max(0) as u64)
}

pub async fn measure(app: &App, seeding: Option<SeedingReport>) -> anyhow::Result<StoreReport> {
    let config = &app.config;
    let data = &config.data;
    let backend = Backend::of(config);
    let marker = read_marker(&data.join(MARKER))?;
    let pool = Pool::registry(config, 1).await?;
    let counted = pool.document_entries().await;
    pool.close().await;
    let (entries, bytes) = counted.context("cannot count the DocumentEntries")?;
    // The large documents of the ITI-43 memory measurement are not what a store holds.
    let large: &[LargeDocument] = marker.as_ref().map_or(&[], |m| &m.large_documents);
    let large_bytes: u64 = large.iter().map(|d| d.bytes).sum();
    let entries_without_large = entries.saturating_sub(large.len() as u64);
    let (registry_bytes, registry_bytes_in_use, minlog_bytes) = match backend {
        Backend::Sqlite => {
            let registry_path = data.join(crate::app::REGISTRY_DB);
            (
                file_bytes_with_wal(&registry_path),
                sqlite_bytes_in_use(&registry_path).await?,
                file_bytes_with_wal(&data.join(crate::app::MINLOG_DB)),
            )
        }
        Backend::Postgresql => {
            let audit = &app.door.audit;
            let tables = |tables: &'static [&'static str]| async move {
                audit
                    .postgres_table_bytes(tables)
                    .await
                    .context("cannot measure the tables on PostgreSQL")?
                    .context("the audit store is not on PostgreSQL")
            };
            let registry = tables(&registry::sqlite::TABLES).await?;
            (registry, registry, tables(&minlog::TABLES).await?)
        }
    };
    let per_entry = |total: f64| {
        if entries == 0 {
            0.0
        } else {
            total / entries as f64
        }
    };
    Ok(StoreReport {
        backend: backend.name(),
        database: db::database_label(config),
        data: data.display().to_string(),
        patients: marker.as_ref().map_or(0, |m| m.patients),
        patients_with_directives: marker.as_ref().map_or(0, |m| m.directives),
        document_entries: entries,
        registry_bytes,
        registry_bytes_in_use,
        registry_bytes_per_document_entry: per_entry(registry_bytes_in_use as f64),
        document_bytes_per_document_entry: if entries_without_large == 0 {
            0.0
        } else {
            bytes.saturating_sub(large_bytes) as f64 / entries_without_large as f64
        },
        minlog_bytes,
        seeding,
    })
}

/// Follow-ups in the outbox: `(all, delivered)`. Read with SQL for the report only (the audit
/// store lists follow-ups page by page, which would take long on a large outbox).
pub async fn outbox_rows(config: &Config) -> anyhow::Result<(u64, u64)> {
    let pool = Pool::minlog(config).await?;
    let rows = pool.outbox_rows().await;
    pool.close().await;
    Ok(rows?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directive_share_is_about_right_and_stable() {
        let mut generator = Generator::new(3);
        let cprs: Vec<String> = (0..5_000)
            .map(|_| generator.patient().patient.cpr)
            .collect();
        let chosen = cprs
            .iter()
            .filter(|c| directive_for(c, 0.1).is_some())
            .count();
        assert!((350..650).contains(&chosen), "{chosen} of 5000");
        assert_eq!(
            cprs.iter()
                .filter(|c| directive_for(c, 0.0).is_some())
                .count(),
            0
        );
        assert_eq!(
            cprs.iter()
                .filter(|c| directive_for(c, 1.0).is_some())
                .count(),
            5_000
        );
        for cpr in &cprs {
            assert_eq!(directive_for(cpr, 0.1), directive_for(cpr, 0.1));
        }
    }

    #[test]
    fn a_marker_without_a_backend_is_sqlite_and_the_backend_round_trips() {
        // As written before PostgreSQL: existing bench stores stay reusable on SQLite.
        let before: Marker = serde_json::from_str(
            r#"{"format":1,"seed":42,"documents_per_patient":10,"patients":1000,
                "consent_share":0.1,"directives":98,"complete":true}"#,
        )
        .unwrap();
        assert_eq!(before.backend, Backend::Sqlite);
        assert_eq!(before.database, None);
        let on_postgres = Marker {
            backend: Backend::Postgresql,
            database: Some("postgres://dds:***@db/dds".to_owned()),
            ..before
        };
        let json = serde_json::to_string(&on_postgres).unwrap();
        assert!(json.contains(r#""backend":"postgresql""#), "{json}");
        assert_eq!(serde_json::from_str::<Marker>(&json).unwrap(), on_postgres);
    }

    #[test]
    fn documents_are_sampled_from_spread_patients() {
        assert_eq!(document_stride(1_000, 10), 1);
        assert_eq!(document_stride(1_000_000, 10), 500);
    }
}

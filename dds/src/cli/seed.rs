//! `dds seed`: load synthetic Danish patients with appointment documents into a data
//! directory, fast, through the service's own code paths.
//!
//! Each patient becomes one ITI-41 submission (one SubmissionSet with the patient's
//! `--documents-per-patient` appointment documents): the metadata is built like `dds submit`
//! builds it ([`super::metadata`]), checked by `xds-validate` with the configured severities,
//! and stored by [`repository::Repository::provide_and_register`] of a [`crate::app::App`]
//! opened on the data directory in this process — the same validation, document store and
//! registry store the SOAP edge uses, without HTTP. A few submissions are in flight at once
//! (`--concurrency`): the registry writes one at a time, while documents are hashed and
//! fsync'd in parallel.
//!
//! Reproducible: the same `--seed` gives the same patients, documents and ids
//! ([`super::synthetic`]); seeding a data directory twice with the same seed is therefore
//! refused by the registry (the uniqueIds exist), while another seed adds more data.
//!
//! # Beside a running service
//!
//! Seeding the data directory of a running `dds serve` is safe for the data: SQLite in WAL
//! mode lets two processes use one database, each registration is one transaction, and the
//! seed opens the stores without clearing `documents/tmp/` (the service's uploads in
//! progress, [`crate::app::Opener::Tool`]). It is not free: both processes then compete for
//! the registry's write lock, so a registration of either may wait, or fail with
//! `XDSRegistryError` after the busy timeout (the seed retries its own; a client of the
//! service retries as any XDS source does). Prefer seeding while the service is stopped.
//! The per-hash locks of the repository only work within a process; that matters only for
//! byte-identical documents submitted by both at once, which synthetic documents (each with
//! its own ids) never are.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::task::JoinSet;
use xds_model::message::SubmitObjectsRequest;
use xds_model::vocabulary::dk;
use xds_model::xds::Code;

use super::metadata::{self, DocumentMetadata, SubmissionMetadata};
use super::synthetic::{Generator, SyntheticAppointment, SyntheticPatient};
use crate::app::{App, Opener};
use crate::config::{Config, ServeFlags};

/// How often one submission is retried when the registry failed without refusing (a busy
/// database when a service writes beside the seed).
const REGISTRY_ATTEMPTS_MAX: u32 = 5;
/// First wait before a retry; doubles each time.
const RETRY_WAIT_FIRST: Duration = Duration::from_millis(200);
/// Errors of a refused submission printed (the first ones say what is wrong).
const ERRORS_SHOWN_MAX: usize = 3;
/// Patients listed in the summary.
const SAMPLE_PATIENTS_MAX: usize = 10;

/// Options of `dds seed`.
#[derive(Debug, clap::Args)]
#[command(after_help = SEED_EXAMPLES)]
pub struct SeedArgs {
    /// How many patients to create.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub patients: u64,
    /// Appointment documents per patient (one submission per patient).
    #[arg(long, value_name = "M", default_value_t = 3)]
    pub documents_per_patient: u32,
    /// Data directory to load into (created if missing).
    #[arg(long, env = "DDS_DATA", default_value = crate::config::DATA_DEFAULT)]
    pub data: PathBuf,
    /// The service's configuration file: its [validation] severities, repository_unique_id
    /// and limits apply as they do in `dds serve`.
    #[arg(long, env = "DDS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The stores on PostgreSQL, as `dds serve --database-url` (documents still go to the
    /// data directory).
    #[arg(long, env = "DDS_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Submissions in flight at once (the registry writes one at a time; documents are hashed
    /// and fsync'd in parallel).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

const SEED_EXAMPLES: &str = "Examples:
  dds seed --patients 1000 --documents-per-patient 5
  dds seed --patients 5 --documents-per-patient 3 --data ./data --seed 7 --json

The data directory may belong to a running `dds serve` (SQLite WAL lets both write; they then
compete for the registry's write lock), but seeding while it is stopped is faster and calmer.
Seeding twice with the same --seed is refused by the registry: the uniqueIds exist already.";

#[derive(Debug, Serialize)]
pub struct SeedOut {
    pub data: String,
    pub seed: u64,
    pub patients: u64,
    pub documents: u64,
    pub seconds: f64,
    pub documents_per_second: f64,
    /// The first patients, to query.
    pub sample_patients: Vec<SamplePatient>,
}

#[derive(Debug, Serialize)]
pub struct SamplePatient {
    pub cpr: String,
    pub name: String,
    pub documents: Vec<String>,
}

/// One patient's submission, ready to store.
struct Job {
    cpr: String,
    submission: SubmitObjectsRequest,
    /// `(xdsb:Document id, bytes)` for each DocumentEntry.
    documents: Vec<(String, Vec<u8>)>,
}

pub fn run(args: SeedArgs) -> i32 {
    super::run_command("seed", seed(args))
}

async fn seed(args: SeedArgs) -> anyhow::Result<i32> {
    if args.documents_per_patient == 0 {
        bail!("--documents-per-patient must be at least 1");
    }
    let config = Config::load(ServeFlags {
        data: Some(args.data.clone()),
        config: args.config.clone(),
        database_url: args.database_url.clone(),
        ..ServeFlags::default()
    })?;
    let app = Arc::new(
        App::open_as(config, Opener::Tool)
            .await
            .with_context(|| format!("cannot open the data directory {}", args.data.display()))?,
    );
    let plan = SeedPlan {
        patients: args.patients,
        documents_per_patient: args.documents_per_patient,
        seed: args.seed,
        concurrency: args.concurrency,
        skip: 0,
    };
    let summary = seed_app(&app, &plan).await?;
    let out = SeedOut {
        data: args.data.display().to_string(),
        seed: args.seed,
        patients: summary.patients,
        documents: summary.documents,
        seconds: summary.seconds,
        documents_per_second: summary.documents_per_second(),
        sample_patients: summary.sample_patients,
    };
    if args.json {
        super::output::print_json(&out)?;
    } else {
        println!(
            "seeded {} patients with {} documents into {} in {:.1} s: {:.0} documents/s (seed {})",
            out.patients, out.documents, out.data, out.seconds, out.documents_per_second, out.seed
        );
        if let Some(first) = out.sample_patients.first() {
            println!(
                "for example: dds query --data {} --patient {}   ({}, {} documents)",
                out.data,
                first.cpr,
                first.name,
                first.documents.len()
            );
        }
    }
    Ok(super::EXIT_OK)
}

/// What to seed: `patients` patients with `documents_per_patient` documents each from the
/// generator seeded with `seed`, of which the first `skip` are only drawn (not stored), so a
/// store seeded with the first `skip` patients can be grown to `patients` (`dds bench`).
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    pub patients: u64,
    pub documents_per_patient: u32,
    pub seed: u64,
    /// Submissions in flight at once.
    pub concurrency: usize,
    pub skip: u64,
}

/// What a seeding stored.
#[derive(Debug)]
pub struct SeedSummary {
    /// Patients stored (the plan's patients minus the skipped ones).
    pub patients: u64,
    pub documents: u64,
    pub seconds: f64,
    /// The first patients stored, to query.
    pub sample_patients: Vec<SamplePatient>,
}

impl SeedSummary {
    pub fn documents_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.documents as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Stores the planned patients' submissions through `app` (validation with the configured
/// severities, then [`repository::Repository::provide_and_register`]), with a progress bar on
/// standard error.
pub async fn seed_app(app: &Arc<App>, plan: &SeedPlan) -> anyhow::Result<SeedSummary> {
    if plan.documents_per_patient == 0 {
        bail!("--documents-per-patient must be at least 1");
    }
    // The repository passes the submitter's card on when it registers elsewhere (`--role
    // repository`): the seed submits as a system of the data dir's development STS, as
    // `dds submit` does by default.
    let card = {
        let sts = super::card::open_dev_sts(&app.config.data)?;
        let mut request = identity::CardRequest::new(identity::Role::System);
        request.org_cvr = Some(super::card::DEV_SYSTEM_CVR.to_owned());
        request.it_system = Some("dds seed".to_owned());
        let card = sts
            .issue(&request)
            .context("the development STS cannot issue the seed's system card")?;
        repository::CallerCard::new(identity::security_header(
            &card,
            time::OffsetDateTime::now_utc(),
        ))
    };
    let skip = plan.skip.min(plan.patients);
    let total = (plan.patients - skip) * u64::from(plan.documents_per_patient);
    let progress = ProgressBar::new(total);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} documents, {per_sec}, ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut generator = Generator::new(plan.seed);
    for _ in 0..skip {
        draw(&mut generator, plan.documents_per_patient);
    }
    let mut in_flight: JoinSet<anyhow::Result<u64>> = JoinSet::new();
    let concurrency = plan.concurrency.max(1);
    let mut samples = Vec::new();
    let started = Instant::now();
    let mut stored = 0u64;
    for _ in skip..plan.patients {
        let (job, sample) = next_job(&mut generator, plan.documents_per_patient);
        if samples.len() < SAMPLE_PATIENTS_MAX {
            samples.push(sample);
        }
        check(app, &job)?;
        if in_flight.len() >= concurrency
            && let Some(done) = in_flight.join_next().await
        {
            let count = done.context("a submission task failed")??;
            stored += count;
            progress.inc(count);
        }
        let app = app.clone();
        let card = card.clone();
        in_flight.spawn(async move { store(&app, job, &card).await });
    }
    while let Some(done) = in_flight.join_next().await {
        let count = done.context("a submission task failed")??;
        stored += count;
        progress.inc(count);
    }
    progress.finish_and_clear();
    Ok(SeedSummary {
        patients: plan.patients - skip,
        documents: stored,
        seconds: started.elapsed().as_secs_f64(),
        sample_patients: samples,
    })
}

/// Everything one patient's submission takes from the generator, drawn in the one order
/// seeding has always used (patient, appointments, the SubmissionSet's entryUUID and uniqueId,
/// then the ids of its Classification and of one Association per document), so the same seed
/// gives the same data whether the submission is then built or only skipped.
pub struct Draw {
    pub patient: SyntheticPatient,
    pub appointments: Vec<SyntheticAppointment>,
    set_entry_uuid: uuid::Uuid,
    set_unique_id: uuid::Uuid,
    /// The Classification's id first, then one per document's HasMember Association.
    object_ids: Vec<uuid::Uuid>,
}

impl Draw {
    /// The uniqueIds the patient's documents are registered under.
    pub fn document_unique_ids(&self) -> impl Iterator<Item = String> + '_ {
        self.appointments
            .iter()
            .map(|a| metadata::oid_of(a.unique_id))
    }
}

/// The next patient's draws (see [`Draw`]).
pub fn draw(generator: &mut Generator, documents: u32) -> Draw {
    let patient = generator.patient();
    let appointments: Vec<SyntheticAppointment> =
        (0..documents).map(|_| generator.appointment()).collect();
    let set_entry_uuid = generator.uuid();
    let set_unique_id = generator.uuid();
    let object_ids = (0..=documents).map(|_| generator.uuid()).collect();
    Draw {
        patient,
        appointments,
        set_entry_uuid,
        set_unique_id,
        object_ids,
    }
}

/// The next patient's submission and its summary line.
fn next_job(generator: &mut Generator, documents: u32) -> (Job, SamplePatient) {
    build_job(draw(generator, documents))
}

/// The submission of one patient's draws and its summary line.
fn build_job(draw: Draw) -> (Job, SamplePatient) {
    let Draw {
        patient,
        appointments,
        set_entry_uuid,
        set_unique_id,
        object_ids,
    } = draw;
    let mut metadata = Vec::with_capacity(appointments.len());
    let mut bytes = Vec::with_capacity(appointments.len());
    for appointment in &appointments {
        let document = super::cda::appointment_document(&patient, appointment);
        metadata.push(document_metadata(&patient, appointment));
        bytes.push(document.into_bytes());
    }
    let latest = appointments
        .iter()
        .map(|a| a.created)
        .max()
        .unwrap_or(super::synthetic::danish(time::PrimitiveDateTime::new(
            super::synthetic::APPOINTMENTS_FROM,
            time::Time::MIDNIGHT,
        )));
    let first = &appointments[0];
    let set = SubmissionMetadata {
        entry_uuid: metadata::urn_uuid(set_entry_uuid),
        unique_id: metadata::oid_of(set_unique_id),
        source_id: metadata::SOURCE_ID_DEFAULT.to_owned(),
        submission_time: metadata::dtm(latest + time::Duration::minutes(2)),
        title: format!("Aftaler fra {}", first.department.name),
        content_type: Code::new(
            metadata::APD_TYPE_CODE,
            dk::LOINC,
            Some(metadata::APD_TYPE_NAME),
        ),
    };
    let mut ids = object_ids.into_iter();
    // Draw made exactly the ids `submission` asks for; a fresh one would only be a bug's
    // symptom, never a duplicate.
    let submission = metadata::submission(&set, &metadata, &mut || {
        ids.next().unwrap_or_else(uuid::Uuid::new_v4)
    });
    let sample = SamplePatient {
        cpr: patient.patient.cpr.clone(),
        name: format!(
            "{} {}",
            patient.patient.given.join(" "),
            patient.patient.family.as_deref().unwrap_or("")
        ),
        documents: metadata.iter().map(|m| m.unique_id.clone()).collect(),
    };
    let job = Job {
        cpr: patient.patient.cpr.clone(),
        submission,
        documents: metadata
            .iter()
            .map(|m| m.entry_uuid.clone())
            .zip(bytes)
            .collect(),
    };
    (job, sample)
}

/// The DK metadata of a synthetic appointment (what its CDA says).
pub(crate) fn document_metadata(
    patient: &SyntheticPatient,
    appointment: &SyntheticAppointment,
) -> DocumentMetadata {
    let d = appointment.department;
    DocumentMetadata {
        entry_uuid: metadata::urn_uuid(appointment.entry_uuid),
        unique_id: metadata::oid_of(appointment.unique_id),
        patient: patient.patient.clone(),
        title: format!("Aftale for {}", patient.patient.cpr),
        mime_type: "text/xml".to_owned(),
        creation_time: metadata::dtm(appointment.created),
        service_start_time: Some(metadata::dtm(appointment.start)),
        service_stop_time: Some(metadata::dtm(appointment.end)),
        author_person: Some(appointment.author.clone()),
        author_role: Some("Læge".to_owned()),
        author_specialty: Some(d.practice.1.to_owned()),
        institution: appointment.institution(),
        legal_authenticator: Some(appointment.legal_authenticator.clone()),
        type_code: Code::new(
            metadata::APD_TYPE_CODE,
            dk::LOINC,
            Some(metadata::APD_TYPE_NAME),
        ),
        format_code: Code::new(
            dk::APD_FORMAT_CODE,
            dk::FORMAT_CODE_SYSTEM,
            Some("DK APD schema"),
        ),
        event_codes: vec![Code::new(d.pathway.0, dk::SKS, Some(d.pathway.1))],
        language_code: "da-DK".to_owned(),
    }
}

/// The validation the SOAP edge runs on an ITI-41 before storing anything.
fn check(app: &App, job: &Job) -> anyhow::Result<()> {
    let ids: Vec<&str> = job.documents.iter().map(|(id, _)| id.as_str()).collect();
    let report = xds_validate::validate_provide_and_register(
        &job.submission.registry_object_list,
        &ids,
        &app.validation,
    );
    if report.rejects() {
        let findings: Vec<String> = report.findings.iter().map(|f| f.to_string()).collect();
        bail!(
            "the validation (with the configured severities) rejects the submission for patient {}:\n  {}",
            job.cpr,
            findings.join("\n  ")
        );
    }
    Ok(())
}

/// Stages the documents and provides them with their metadata; retries a registry failure
/// that is not a refusal. Returns how many documents were stored.
async fn store(app: &App, job: Job, card: &repository::CallerCard) -> anyhow::Result<u64> {
    let mut wait = RETRY_WAIT_FIRST;
    for attempt in 1..=REGISTRY_ATTEMPTS_MAX {
        let mut staged = Vec::with_capacity(job.documents.len());
        for (id, bytes) in &job.documents {
            let document = repository::stage_bytes(app.repository.store.as_ref(), bytes)
                .await
                .context("cannot stage a document in the document store")?;
            staged.push((id.clone(), document));
        }
        match app
            .repository
            .provide_and_register(&job.submission, staged, card)
            .await
        {
            Ok(provided) => return Ok(provided.documents.len() as u64),
            Err(repository::ProvideError::Registry { detail })
                if attempt < REGISTRY_ATTEMPTS_MAX =>
            {
                tracing::debug!(%detail, attempt, "registry failed, retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(error) => {
                let all = error.registry_errors();
                let mut errors: Vec<String> = all
                    .iter()
                    .take(ERRORS_SHOWN_MAX)
                    .map(|e| format!("{}: {}", e.error_code, e.code_context))
                    .collect();
                if all.len() > ERRORS_SHOWN_MAX {
                    errors.push(format!("… and {} more", all.len() - ERRORS_SHOWN_MAX));
                }
                let hint = if errors
                    .iter()
                    .any(|e| e.contains("DuplicateUniqueId") || e.contains("already"))
                {
                    "\n(was this data directory seeded with this --seed before? another --seed adds more data)"
                } else {
                    ""
                };
                bail!(
                    "storing patient {}'s documents failed: {error}\n  {}{hint}",
                    job.cpr,
                    errors.join("\n  ")
                );
            }
        }
    }
    bail!(
        "storing patient {}'s documents failed: the registry stayed busy",
        job.cpr
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_submissions_pass_validation_without_findings() {
        let mut generator = Generator::new(11);
        for _ in 0..20 {
            let (job, _) = next_job(&mut generator, 3);
            let ids: Vec<&str> = job.documents.iter().map(|(id, _)| id.as_str()).collect();
            let report = xds_validate::validate_provide_and_register(
                &job.submission.registry_object_list,
                &ids,
                &xds_validate::ValidationConfig::default(),
            );
            assert!(report.findings.is_empty(), "{:?}", report.findings);
        }
    }

    #[test]
    fn jobs_are_reproducible() {
        let job = |seed| {
            let mut generator = Generator::new(seed);
            let (job, sample) = next_job(&mut generator, 2);
            (job.submission.to_xml(), job.documents, sample.cpr)
        };
        assert_eq!(job(5), job(5));
    }
}

//! The workload: concurrent clients sending ITI-18, ITI-43 and ITI-41 over HTTP, as any XDS
//! actor would, with every latency recorded in an HDR histogram.
//!
//! Each client is a tokio task in a closed loop (next request when the last is answered): it
//! picks a transaction by the mix, a patient or document from the population, a card, and
//! records the latency from sending the request to having read the whole answer. Requests
//! started during the warm-up run but are not recorded. Cards are minted before the run
//! (doctors at the synthetic departments' SOR codes, one system card) and each request gets a
//! fresh `wsu:Timestamp` and `wsa:MessageID`, so the service verifies a signed card per request
//! as it would in production.
//!
//! Answers are checked cheaply (HTTP status and the ebRS status in the body) so the clients
//! leave the CPU to the service: an answer is `ok`, `consent_blocked` (an ITI-43 the citizen's
//! directives refused, `DDSConsentBlocked`: a right answer, counted apart) or an error.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use identity::{CardRequest, Role};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use soap::ContentId;
use xds_model::message::{
    AdhocQuery, AdhocQueryRequest, DocumentRequest, ResponseOption, RetrieveDocumentSetRequest,
    ReturnType,
};
use xds_model::rim::{RegistryObject, Slot};
use xds_model::vocabulary::{action, error_code, status, stored_query};

use super::store::{BenchPatient, Population};
use crate::cli::client::{Attachment, Client, Framed, Framing, request_envelope};
use crate::cli::metadata::{self, SubmissionMetadata};
use crate::cli::synthetic::{DEPARTMENTS, Generator, cpr_number};

/// Largest latency a histogram records, in microseconds (longer ones are clamped to it).
const LATENCY_MICROS_MAX: u64 = 120_000_000;
/// ITI-18 answers kept from a phase for the quick-xml limit.
pub const ANSWERS_KEPT_MAX: usize = 64;
/// Error messages kept per transaction.
const ERROR_SAMPLES_MAX: usize = 5;
/// Longest wait for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// What ends an ebRS Success status attribute (a PartialSuccess ends differently).
const SUCCESS_STATUS: &[u8] = b"ResponseStatusType:Success\"";
/// The IT system name of the bench's system card.
const IT_SYSTEM: &str = "dds bench";

/// The transactions of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Transaction {
    #[serde(rename = "iti18")]
    Iti18,
    #[serde(rename = "iti43")]
    Iti43,
    #[serde(rename = "iti41")]
    Iti41,
}

impl Transaction {
    pub const ALL: [Transaction; 3] = [Transaction::Iti18, Transaction::Iti43, Transaction::Iti41];

    pub fn key(self) -> &'static str {
        match self {
            Transaction::Iti18 => "iti18",
            Transaction::Iti43 => "iti43",
            Transaction::Iti41 => "iti41",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Transaction::Iti18 => "ITI-18 FindDocuments",
            Transaction::Iti43 => "ITI-43 retrieve",
            Transaction::Iti41 => "ITI-41 provide",
        }
    }

    fn index(self) -> usize {
        match self {
            Transaction::Iti18 => 0,
            Transaction::Iti43 => 1,
            Transaction::Iti41 => 2,
        }
    }
}

/// Shares of the transactions (`--mix Q/R/P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mix {
    pub iti18: u32,
    pub iti43: u32,
    pub iti41: u32,
}

impl Mix {
    pub const ITI18_ONLY: Mix = Mix {
        iti18: 1,
        iti43: 0,
        iti41: 0,
    };
    pub const ITI41_ONLY: Mix = Mix {
        iti18: 0,
        iti43: 0,
        iti41: 1,
    };

    fn pick(&self, rng: &mut impl Rng) -> Transaction {
        let total = self.iti18 + self.iti43 + self.iti41;
        let r = rng.random_range(0..total);
        if r < self.iti18 {
            Transaction::Iti18
        } else if r < self.iti18 + self.iti43 {
            Transaction::Iti43
        } else {
            Transaction::Iti41
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(text: &str) -> Result<Mix, String> {
        let parts: Vec<&str> = text.split('/').map(str::trim).collect();
        let [q, r, p] = parts.as_slice() else {
            return Err(format!(
                "{text:?} is not three shares ITI-18/ITI-43/ITI-41 such as 70/20/10"
            ));
        };
        let share = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("{s:?} in --mix {text:?} is not a whole number"))
        };
        let mix = Mix {
            iti18: share(q)?,
            iti43: share(r)?,
            iti41: share(p)?,
        };
        if mix.iti18 + mix.iti43 + mix.iti41 == 0 {
            return Err("--mix must give some transaction a share".to_owned());
        }
        if mix.iti18.max(mix.iti43).max(mix.iti41) > 1_000_000 {
            return Err("--mix shares are at most 1000000".to_owned());
        }
        Ok(mix)
    }
}

/// Which patients (and their documents) a phase asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientFilter {
    Any,
    WithoutDirectives,
    WithDirectives,
}

/// One measured phase.
#[derive(Debug, Clone, Copy)]
pub struct PhasePlan {
    pub mix: Mix,
    pub clients: usize,
    pub seconds: f64,
    pub warmup_seconds: f64,
    pub patients: PatientFilter,
}

/// The CPR numbers of the bench's doctors, one per synthetic department (the same in every
/// run, so a professional block names one of them).
pub fn doctor_cprs() -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(0xD0C7);
    DEPARTMENTS
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let birth = time::Date::from_ordinal_date(1960 + i as i32, 100 + i as u16)
                .unwrap_or(time::macros::date!(1970 - 01 - 01));
            cpr_number(&mut rng, birth, i % 2 == 0)
        })
        .collect()
}

/// The signed cards the clients send.
pub struct Cards {
    /// One doctor per synthetic department, at its SOR code.
    pub doctors: Vec<String>,
    pub system: String,
}

impl Cards {
    /// Mints the cards with the development STS of the data directory.
    pub fn mint(data: &std::path::Path) -> anyhow::Result<Cards> {
        let sts = crate::cli::card::open_dev_sts(data)?;
        let mut doctors = Vec::new();
        for (department, cpr) in DEPARTMENTS.iter().zip(doctor_cprs()) {
            let mut request = CardRequest::new(Role::Doctor);
            request.cpr = Some(cpr);
            request.org_sor = Some(department.sor.to_owned());
            request.org_name = Some(department.name.to_owned());
            doctors.push(
                sts.issue(&request)
                    .context("the development STS cannot issue a doctor's card")?,
            );
        }
        let mut request = CardRequest::new(Role::System);
        request.org_cvr = Some(crate::cli::card::DEV_SYSTEM_CVR.to_owned());
        request.it_system = Some(IT_SYSTEM.to_owned());
        let system = sts
            .issue(&request)
            .context("the development STS cannot issue a system card")?;
        Ok(Cards { doctors, system })
    }
}

/// Everything the clients share.
pub struct Ctx {
    pub http: reqwest::Client,
    pub registry_url: String,
    pub repository_url: String,
    pub cards: Cards,
    pub population: Population,
    without_directives: Vec<usize>,
    with_directives: Vec<usize>,
    documents_without: Vec<usize>,
    documents_with: Vec<usize>,
    pub repository_unique_id: String,
    pub document_bytes: usize,
}

/// How one request ended.
pub enum Outcome {
    /// Answered Success; `filtered` when the consent filter withheld something; the body of
    /// an ITI-18 answer, for the quick-xml limit.
    Ok {
        filtered: bool,
        answer: Option<Vec<u8>>,
    },
    /// An ITI-43 the directives refused (`DDSConsentBlocked`).
    ConsentBlocked,
    Error(String),
}

impl Ctx {
    pub fn new(
        base: &str,
        cards: Cards,
        population: Population,
        repository_unique_id: String,
        document_bytes: usize,
        clients: usize,
    ) -> anyhow::Result<Ctx> {
        let http = crate::http_client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(clients.max(1))
            .tcp_nodelay(true)
            .build()
            .context("cannot build the HTTP client")?;
        let indices = |directives: bool| -> Vec<usize> {
            population
                .patients
                .iter()
                .enumerate()
                .filter(|(_, p)| p.directives == directives)
                .map(|(i, _)| i)
                .collect()
        };
        let without_directives = indices(false);
        let with_directives = indices(true);
        let documents = |directives: bool| -> Vec<usize> {
            population
                .documents
                .iter()
                .enumerate()
                .filter(|(_, d)| d.directives == directives)
                .map(|(i, _)| i)
                .collect()
        };
        let documents_without = documents(false);
        let documents_with = documents(true);
        Ok(Ctx {
            http,
            registry_url: format!("{base}/xds/registry"),
            repository_url: format!("{base}/xds/repository"),
            cards,
            population,
            without_directives,
            with_directives,
            documents_without,
            documents_with,
            repository_unique_id,
            document_bytes,
        })
    }

    pub fn patients(&self, filter: PatientFilter) -> usize {
        match filter {
            PatientFilter::Any => self.population.patients.len(),
            PatientFilter::WithoutDirectives => self.without_directives.len(),
            PatientFilter::WithDirectives => self.with_directives.len(),
        }
    }

    pub fn pick_patient(&self, filter: PatientFilter, rng: &mut impl Rng) -> &BenchPatient {
        let patients = &self.population.patients;
        let index = match filter {
            PatientFilter::Any => rng.random_range(0..patients.len()),
            PatientFilter::WithoutDirectives if !self.without_directives.is_empty() => {
                self.without_directives[rng.random_range(0..self.without_directives.len())]
            }
            PatientFilter::WithDirectives if !self.with_directives.is_empty() => {
                self.with_directives[rng.random_range(0..self.with_directives.len())]
            }
            _ => rng.random_range(0..patients.len()),
        };
        &patients[index]
    }

    fn pick_document(&self, filter: PatientFilter, rng: &mut impl Rng) -> &str {
        let documents = &self.population.documents;
        let index = match filter {
            PatientFilter::WithoutDirectives if !self.documents_without.is_empty() => {
                self.documents_without[rng.random_range(0..self.documents_without.len())]
            }
            PatientFilter::WithDirectives if !self.documents_with.is_empty() => {
                self.documents_with[rng.random_range(0..self.documents_with.len())]
            }
            _ => rng.random_range(0..documents.len()),
        };
        &documents[index].unique_id
    }

    pub fn doctor_card(&self, rng: &mut impl Rng) -> &str {
        &self.cards.doctors[rng.random_range(0..self.cards.doctors.len())]
    }

    /// A FindDocuments (LeafClass, Approved) envelope for the patient, signed with `card`.
    pub fn find_documents_envelope(&self, card: &str, cpr: &str) -> String {
        let request = find_documents(cpr);
        request_envelope(
            action::REGISTRY_STORED_QUERY,
            &self.registry_url,
            &identity::security_header(card, time::OffsetDateTime::now_utc()),
            &request.to_xml(),
        )
    }

    pub async fn find_documents(&self, card: &str, cpr: &str) -> Outcome {
        let envelope = self.find_documents_envelope(card, cpr);
        let framed = Framed {
            content_type: format!(
                "application/soap+xml; charset=UTF-8; action=\"{}\"",
                action::REGISTRY_STORED_QUERY
            ),
            body: envelope.into_bytes(),
        };
        match self.post(&self.registry_url, framed).await {
            Ok((200, body)) if has(&body, SUCCESS_STATUS) => Outcome::Ok {
                filtered: has(&body, error_code::DDS_CONSENT_FILTERED.as_bytes()),
                answer: Some(body),
            },
            Ok((status, body)) => Outcome::Error(describe(status, &body)),
            Err(error) => Outcome::Error(error),
        }
    }

    /// FindDocumentsByText for the patient (`dds bench --search-seconds`).
    pub async fn find_documents_by_text(&self, card: &str, cpr: &str, text: &str) -> Outcome {
        let mut request = find_documents(cpr);
        request.adhoc_query.object.id = stored_query::FIND_DOCUMENTS_BY_TEXT.to_owned();
        request.adhoc_query.object.slots.push(Slot::new(
            "$DdsText",
            [format!("'{}'", text.replace('\'', "''"))],
        ));
        let envelope = request_envelope(
            action::REGISTRY_STORED_QUERY,
            &self.registry_url,
            &identity::security_header(card, time::OffsetDateTime::now_utc()),
            &request.to_xml(),
        );
        let framed = Framed {
            content_type: format!(
                "application/soap+xml; charset=UTF-8; action=\"{}\"",
                action::REGISTRY_STORED_QUERY
            ),
            body: envelope.into_bytes(),
        };
        match self.post(&self.registry_url, framed).await {
            Ok((200, body)) if has(&body, SUCCESS_STATUS) => Outcome::Ok {
                filtered: has(&body, error_code::DDS_CONSENT_FILTERED.as_bytes()),
                answer: None,
            },
            Ok((status, body)) => Outcome::Error(describe(status, &body)),
            Err(error) => Outcome::Error(error),
        }
    }

    pub async fn retrieve(&self, card: &str, unique_id: &str) -> Outcome {
        let request = RetrieveDocumentSetRequest {
            document_requests: vec![DocumentRequest {
                home_community_id: None,
                repository_unique_id: self.repository_unique_id.clone(),
                document_unique_id: unique_id.to_owned(),
            }],
        };
        let envelope = request_envelope(
            action::RETRIEVE,
            &self.repository_url,
            &identity::security_header(card, time::OffsetDateTime::now_utc()),
            &request.to_xml(),
        );
        let framed = match Client::frame(action::RETRIEVE, &envelope, Framing::Mtom(Vec::new())) {
            Ok(framed) => framed,
            Err(error) => return Outcome::Error(error.to_string()),
        };
        match self.post(&self.repository_url, framed).await {
            Ok((200, body)) if has(&body, SUCCESS_STATUS) => Outcome::Ok {
                filtered: false,
                answer: None,
            },
            Ok((_, body)) if has(&body, error_code::DDS_CONSENT_BLOCKED.as_bytes()) => {
                Outcome::ConsentBlocked
            }
            Ok((status, body)) => Outcome::Error(describe(status, &body)),
            Err(error) => Outcome::Error(error),
        }
    }

    /// An ITI-41 of one new synthetic patient's appointment document, padded to
    /// `document_bytes`, as MTOM.
    pub fn provide_request(&self, generator: &mut Generator) -> anyhow::Result<Framed> {
        let patient = generator.patient();
        let appointment = generator.appointment();
        let mut document =
            crate::cli::cda::appointment_document(&patient, &appointment).into_bytes();
        pad_document(&mut document, self.document_bytes);
        let description = crate::cli::seed::document_metadata(&patient, &appointment);
        let set = SubmissionMetadata::now(&description.title, description.type_code.clone());
        let content_id = ContentId::new(&format!("document0.{}@dds-bench", uuid::Uuid::new_v4()))
            .context("cannot name the MTOM part")?;
        let mime_type = description.mime_type.clone();
        let request = metadata::provide_and_register(
            &set,
            std::slice::from_ref(&description),
            std::slice::from_ref(&content_id),
        );
        let envelope = request_envelope(
            action::PROVIDE_AND_REGISTER,
            &self.repository_url,
            &identity::security_header(&self.cards.system, time::OffsetDateTime::now_utc()),
            &request.to_xml(),
        );
        Ok(Client::frame(
            action::PROVIDE_AND_REGISTER,
            &envelope,
            Framing::Mtom(vec![Attachment {
                content_id,
                mime_type,
                bytes: document,
            }]),
        )?)
    }

    pub async fn provide(&self, generator: &mut Generator) -> Outcome {
        let framed = match self.provide_request(generator) {
            Ok(framed) => framed,
            Err(error) => return Outcome::Error(format!("{error:#}")),
        };
        match self.post(&self.repository_url, framed).await {
            Ok((200, body)) if has(&body, SUCCESS_STATUS) => Outcome::Ok {
                filtered: false,
                answer: None,
            },
            Ok((status, body)) => Outcome::Error(describe(status, &body)),
            Err(error) => Outcome::Error(error),
        }
    }

    async fn post(&self, url: &str, framed: Framed) -> Result<(u16, Vec<u8>), String> {
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, framed.content_type)
            .body(framed.body)
            .send()
            .await
            .map_err(|e| crate::cli::client::error_chain(&e))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| crate::cli::client::error_chain(&e))?;
        Ok((status, body.to_vec()))
    }
}

/// FindDocuments for a patient's Approved entries, LeafClass.
pub fn find_documents(cpr: &str) -> AdhocQueryRequest {
    AdhocQueryRequest {
        response_option: ResponseOption {
            return_type: ReturnType::LeafClass,
            return_composed_objects: true,
        },
        adhoc_query: AdhocQuery {
            object: RegistryObject {
                slots: vec![
                    Slot::new(
                        "$XDSDocumentEntryPatientId",
                        [format!("'{}'", metadata::cpr_cx(cpr))],
                    ),
                    Slot::new(
                        "$XDSDocumentEntryStatus",
                        [format!("('{}')", status::APPROVED)],
                    ),
                ],
                ..RegistryObject::new(stored_query::FIND_DOCUMENTS)
            },
        },
        ..AdhocQueryRequest::default()
    }
}

/// Pads an XML document to `bytes` with a comment after its root element (the document stays
/// well-formed; nothing reads the padding).
pub fn pad_document(document: &mut Vec<u8>, bytes: usize) {
    const WRAPPING: usize = "\n<!---->".len();
    if document.len() + WRAPPING < bytes {
        document.extend_from_slice(b"\n<!--");
        let fill = bytes - document.len() - 3;
        document.extend(std::iter::repeat_n(b'x', fill));
        document.extend_from_slice(b"-->");
    }
}

fn has(body: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(body, needle).is_some()
}

/// An unexpected answer in a line: the HTTP status and the start of the SOAP body (or of the
/// answer).
fn describe(status: u16, body: &[u8]) -> String {
    const SHOWN: usize = 400;
    let start = memchr::memmem::find(body, b"Body>").map_or(0, |i| i + 5);
    let end = (start + SHOWN).min(body.len());
    format!(
        "HTTP {status}: {}",
        String::from_utf8_lossy(&body[start..end]).trim()
    )
}

/// The counts and latencies of one transaction in one phase.
#[derive(Debug, Clone)]
pub struct Tally {
    pub latency_micros: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    pub consent_filtered: u64,
    pub consent_blocked: u64,
    pub error_samples: Vec<String>,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            latency_micros: new_histogram(),
            ok: 0,
            errors: 0,
            consent_filtered: 0,
            consent_blocked: 0,
            error_samples: Vec::new(),
        }
    }

    pub fn record(&mut self, latency: Duration, outcome: &Outcome) {
        self.latency_micros.saturating_record(micros(latency));
        match outcome {
            Outcome::Ok { filtered, .. } => {
                self.ok += 1;
                if *filtered {
                    self.consent_filtered += 1;
                }
            }
            Outcome::ConsentBlocked => self.consent_blocked += 1,
            Outcome::Error(message) => {
                self.errors += 1;
                if self.error_samples.len() < ERROR_SAMPLES_MAX {
                    self.error_samples.push(message.clone());
                }
            }
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency_micros.add(&other.latency_micros);
        self.ok += other.ok;
        self.errors += other.errors;
        self.consent_filtered += other.consent_filtered;
        self.consent_blocked += other.consent_blocked;
        for sample in &other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES_MAX {
                self.error_samples.push(sample.clone());
            }
        }
    }

    pub fn requests(&self) -> u64 {
        self.latency_micros.len()
    }
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

pub fn new_histogram() -> Histogram<u64> {
    // 1 µs to LATENCY_MICROS_MAX at 3 significant digits: constant, valid bounds.
    Histogram::new_with_bounds(1, LATENCY_MICROS_MAX, 3).unwrap_or_else(|_| {
        Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
    })
}

pub fn micros(duration: Duration) -> u64 {
    (duration.as_micros() as u64).clamp(1, LATENCY_MICROS_MAX)
}

/// What a phase measured.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// Length of the measured window.
    pub seconds: f64,
    pub clients: usize,
    /// By [`Transaction`] order: ITI-18, ITI-43, ITI-41.
    pub tallies: [Tally; 3],
    /// Bodies of ITI-18 answers received (at most [`ANSWERS_KEPT_MAX`]).
    pub answers: Vec<Vec<u8>>,
}

impl PhaseResult {
    pub fn tally(&self, transaction: Transaction) -> &Tally {
        &self.tallies[transaction.index()]
    }
}

/// Runs one phase: `plan.clients` clients for the warm-up and then `plan.seconds`.
pub async fn run_phase(ctx: &Arc<Ctx>, plan: &PhasePlan) -> PhaseResult {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(plan.warmup_seconds);
    let end = measure_from + Duration::from_secs_f64(plan.seconds);
    let mut clients = tokio::task::JoinSet::new();
    for client_index in 0..plan.clients {
        let ctx = ctx.clone();
        let plan = *plan;
        clients.spawn(async move { client(ctx, plan, measure_from, end, client_index).await });
    }
    let mut result = PhaseResult {
        seconds: plan.seconds,
        clients: plan.clients,
        tallies: [Tally::new(), Tally::new(), Tally::new()],
        answers: Vec::new(),
    };
    while let Some(done) = clients.join_next().await {
        match done {
            Ok((tallies, answers)) => {
                for (total, one) in result.tallies.iter_mut().zip(&tallies) {
                    total.merge(one);
                }
                for answer in answers {
                    if result.answers.len() < ANSWERS_KEPT_MAX {
                        result.answers.push(answer);
                    }
                }
            }
            Err(error) => {
                let tally = &mut result.tallies[0];
                tally.errors += 1;
                tally
                    .error_samples
                    .push(format!("a client task failed: {error}"));
            }
        }
    }
    result
}

async fn client(
    ctx: Arc<Ctx>,
    plan: PhasePlan,
    measure_from: Instant,
    end: Instant,
    client_index: usize,
) -> ([Tally; 3], Vec<Vec<u8>>) {
    // Fresh randomness per run: ITI-41 submits new uniqueIds every time.
    let run_seed = uuid::Uuid::new_v4().as_u128() as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(run_seed ^ client_index as u64);
    let mut generator = Generator::new(rng.random());
    let mut tallies = [Tally::new(), Tally::new(), Tally::new()];
    let mut answers = Vec::new();
    while Instant::now() < end {
        let transaction = plan.mix.pick(&mut rng);
        let started = Instant::now();
        let outcome = match transaction {
            Transaction::Iti18 => {
                let card = ctx.doctor_card(&mut rng);
                let patient = ctx.pick_patient(plan.patients, &mut rng);
                ctx.find_documents(card, &patient.cpr).await
            }
            Transaction::Iti43 => {
                let card = ctx.doctor_card(&mut rng);
                let document = ctx.pick_document(plan.patients, &mut rng);
                ctx.retrieve(card, document).await
            }
            Transaction::Iti41 => ctx.provide(&mut generator).await,
        };
        let latency = started.elapsed();
        if started >= measure_from {
            tallies[transaction.index()].record(latency, &outcome);
            if let Outcome::Ok {
                answer: Some(body), ..
            } = outcome
                && answers.len() < ANSWERS_KEPT_MAX / plan.clients.max(1) + 1
            {
                answers.push(body);
            }
        }
    }
    (tallies, answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_parse() {
        assert_eq!(
            "70/20/10".parse::<Mix>(),
            Ok(Mix {
                iti18: 70,
                iti43: 20,
                iti41: 10
            })
        );
        assert!("70/30".parse::<Mix>().is_err());
        assert!("0/0/0".parse::<Mix>().is_err());
        assert!("a/1/1".parse::<Mix>().is_err());
    }

    #[test]
    fn picks_follow_the_mix() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mix = Mix {
            iti18: 1,
            iti43: 0,
            iti41: 1,
        };
        let picks: Vec<Transaction> = (0..200).map(|_| mix.pick(&mut rng)).collect();
        assert!(!picks.contains(&Transaction::Iti43));
        assert!(picks.contains(&Transaction::Iti18) && picks.contains(&Transaction::Iti41));
    }

    #[test]
    fn padding_reaches_the_size_and_keeps_xml_well_formed() {
        let mut document = b"<a>b</a>".to_vec();
        pad_document(&mut document, 100);
        assert_eq!(document.len(), 100);
        let mut reader = quick_xml::Reader::from_reader(document.as_slice());
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(error) => panic!("{error}"),
            }
        }
        let mut large = vec![b'x'; 200];
        pad_document(&mut large, 100);
        assert_eq!(large.len(), 200);
    }

    #[test]
    fn doctors_have_distinct_valid_cprs() {
        let cprs = doctor_cprs();
        assert_eq!(cprs.len(), DEPARTMENTS.len());
        let distinct: std::collections::BTreeSet<_> = cprs.iter().collect();
        assert_eq!(distinct.len(), cprs.len());
        assert!(cprs.iter().all(|c| c.len() == 10));
    }
}

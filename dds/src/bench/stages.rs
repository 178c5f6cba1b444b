//! `--compare`: what the consent filter and the MinLog record (with its BRS follow-up) cost
//! ITI-18, measured without switching either off in the service.
//!
//! Three measurements:
//! - Over HTTP, under load: ITI-18 alone on all patients, on patients without directives (the
//!   filter proves it withholds nothing and is skipped after loading the directives) and on
//!   patients with directives (every entry is decided and the answer restricted); ITI-41 alone
//!   (the durable ingest rate); and the MinLog record alone from `--clients` tasks in process
//!   (the rate of durable access records, which every ITI-18 waits for).
//! - In process, one request at a time: the stages of one ITI-18 timed apart — admit (envelope,
//!   ID card verification, body decoding, role policy), query (validation and the registry's
//!   stored query), consent (the association reach, loading the directives, deciding and
//!   restricting), MinLog (the access record and the follow-up in one durable transaction),
//!   serialize (the response body and envelope). These are the calls `edge::registry` makes,
//!   in its order; if the edge changes its flow, this breakdown must follow it. It is the best
//!   per-stage breakdown, but not what a request costs under load: alone, a request cannot
//!   share MinLog's durable commit, so its MinLog stage is one whole `fdatasync`.
//! - In process, under load: `--clients` tasks run that same pipeline in a closed loop on
//!   random patients (at the store's share of directives), in three variants of equal length —
//!   the full pipeline, without the consent stage (the answer unrestricted), without the MinLog
//!   stage (no access record). The share of a stage is what leaving it out gains:
//!   `1 − rate(full) / rate(without it)`. With a fixed number of closed-loop clients whose
//!   latency covers their whole loop, mean latency = clients / rate (Little's law), so the
//!   share by mean latency, `(latency(full) − latency(without)) / latency(full)`, is the same
//!   figure; both are reported, the rate one is the headline (it needs no clock around the
//!   request). Under load MinLog's commit is shared by every record waiting for it
//!   (`minlog::group_commit`), as in `dds serve`.
//!
//! Invariant: only this module's copy of the pipeline can leave a stage out ([`Pipeline`]);
//! `dds serve`, `App` and the configuration have no such switch, and the service the HTTP
//! phases talk to runs the consent filter and MinLog on every request.
//!
//! The MinLog records written here are real records in the benchmark store's audit log, like
//! those of the workload.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use hdrhistogram::Histogram;
use identity::{Caller, Operation};
use minlog::{AccessAction, AccessOutcome};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use soap::EnvelopeOptions;
use xds_model::message::{AdhocQueryResponse, Message, RegistryResponse};
use xds_model::vocabulary::{action, response_status};

use super::BenchArgs;
use super::report::{Latency, TransactionReport, cpu_seconds};
use super::workload::{self, Ctx, Mix, PatientFilter, PhasePlan, Transaction};
use crate::app::App;
use crate::edge::access_log::{self, Access, DocumentsByPatient};
use crate::edge::auth::Attempt;
use crate::edge::consent_filter::{ConsentGate, cpr_of};

/// Fewest in-process iterations per patient group, whatever the time allows.
const STAGE_ITERATIONS_MIN: u64 = 20;
/// Longest time spent on the in-process stages of one patient group.
const STAGE_SECONDS_MAX: f64 = 5.0;
/// About how long one variant runs before the next takes over, under load: short, so that the
/// shared machine's drift (other jobs come and go within seconds) weighs on the variants
/// alike, and long against a request (milliseconds), so the ramps at the edges do not count.
const LOAD_SEGMENT_SECONDS: f64 = 1.0;
/// The peer address the in-process requests claim (loopback).
const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1);

/// What `--compare` measured.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    pub seconds_per_phase: f64,
    /// ITI-18 alone, over all patients (the realistic share with directives).
    pub iti18_all_patients: TransactionReport,
    pub iti18_without_directives: TransactionReport,
    pub iti18_with_directives: TransactionReport,
    /// ITI-41 alone: the durable ingest rate.
    pub iti41_only: TransactionReport,
    /// `access_log::record` alone from `--clients` tasks: durable MinLog records (each with a
    /// BRS follow-up) per second.
    pub minlog_record_only: TransactionReport,
    /// One ITI-18 at a time, in process, stage by stage.
    pub stages_without_directives: StageTimes,
    pub stages_with_directives: StageTimes,
    /// Shares of the in-process ITI-18 time one request at a time, weighted by the store's
    /// share of patients with directives (`consent_share_of_iti18` and
    /// `minlog_share_of_iti18` in earlier reports). MinLog's is one unshared commit per request:
    /// the shares under load are [`UnderLoad`]'s.
    pub consent_share_one_at_a_time: f64,
    pub minlog_share_one_at_a_time: f64,
    /// The in-process pipeline under load, with and without the consent and MinLog stages.
    pub iti18_under_load: UnderLoad,
}

/// ITI-18 in process under load: the same pipeline as [`StageTimes`], from `clients`
/// closed-loop tasks, in three variants of equal length.
#[derive(Debug, Clone, Serialize)]
pub struct UnderLoad {
    pub clients: usize,
    /// Measured seconds of each variant, in all.
    pub seconds_per_variant: f64,
    /// Rounds of full, without consent, without MinLog, then backwards (see [`under_load`]):
    /// each variant runs `2 × rounds` segments of `seconds_per_variant / (2 × rounds)`.
    pub rounds: u32,
    pub full: LoadVariant,
    /// The stored query's answer unrestricted: no reach, directives or restriction.
    pub without_consent: LoadVariant,
    /// No access record and so no BRS follow-up.
    pub without_minlog: LoadVariant,
    /// `1 − rate(full) / rate(without consent)`: the headline consent share.
    pub consent_share_under_load: f64,
    /// `(mean latency(full) − mean latency(without consent)) / mean latency(full)`: by
    /// Little's law (mean latency = clients / rate) the same figure, up to the requests in
    /// flight at the edges of the segments.
    pub consent_share_under_load_by_latency: f64,
    /// `1 − rate(full) / rate(without MinLog)`: the headline MinLog + BRS share.
    pub minlog_share_under_load: f64,
    pub minlog_share_under_load_by_latency: f64,
    /// Mean latency of ITI-18 alone over HTTP on all patients, same clients
    /// (`iti18_all_patients`): what a caller waits, HTTP included.
    pub http_iti18_mean_ms: f64,
    /// The mean latency leaving the stage out saves in process, over `http_iti18_mean_ms`:
    /// the stage's share of what a caller waits, since HTTP adds cost the in-process pipeline
    /// lacks but the stage costs the same behind it.
    pub consent_share_of_http_iti18: f64,
    pub minlog_share_of_http_iti18: f64,
    /// `1 − CPU per request (without consent) / CPU per request (full)`: the stage's share of
    /// the processor time an ITI-18 costs, where the shares above are of the time a caller
    /// waits (which includes waiting for the disk and for the shared commit). Processor time
    /// per request hardly depends on how busy the machine is, so this figure varies less from
    /// run to run than the rates do; `None` where /proc is not readable.
    pub consent_share_of_cpu: Option<f64>,
    /// The same for MinLog + BRS: the access record's commit, the follow-up's delivery (the
    /// worker's store rounds and its POST) and the local BRS receiver's work, all in this
    /// process.
    pub minlog_share_of_cpu: Option<f64>,
}

/// One variant of the pipeline under load.
#[derive(Debug, Clone, Serialize)]
pub struct LoadVariant {
    /// Requests, rate, and latency from building the request envelope to the serialized
    /// answer (the whole loop of a client, so that Little's law holds).
    #[serde(flatten)]
    pub iti18: TransactionReport,
    /// Where a request's time went under this load, in milliseconds (0 for a stage left out);
    /// a stage's mean includes its waits, e.g. MinLog's for the shared commit.
    pub stage_mean_ms: StageMeans,
    /// Processor time of the whole process (every thread: the pipeline, SQLite's connection
    /// threads, the BRS delivery worker and the bench's receiver) over this variant's
    /// segments, per request answered, in microseconds; `None` where /proc is not readable.
    pub cpu_us_per_request: Option<f64>,
}

/// Mean time of each stage of one ITI-18, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StageMeans {
    /// Building the signed request envelope: the in-process client's own work.
    pub envelope: f64,
    pub admit: f64,
    pub query: f64,
    pub consent: f64,
    pub minlog: f64,
    pub serialize: f64,
}

/// Mean and percentiles of each stage of ITI-18, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct StageTimes {
    pub iterations: u64,
    /// Envelope, card verification, body decoding, role policy.
    pub admit: Latency,
    /// Validation and the stored query.
    pub query: Latency,
    /// Reach, directives, decisions, restriction.
    pub consent: Latency,
    /// The MinLog access record with its BRS follow-up (one durable transaction).
    pub minlog: Latency,
    /// The response body and its SOAP envelope.
    pub serialize: Latency,
    pub total: Latency,
    /// `consent.mean / total.mean`.
    pub consent_share: f64,
    /// `minlog.mean / total.mean`.
    pub minlog_share: f64,
    /// Entries answered per query, on average.
    pub entries_per_answer: f64,
    /// Objects withheld per query, on average (entries and what would reveal them).
    pub withheld_per_answer: f64,
}

pub async fn compare(
    ctx: &Arc<Ctx>,
    app: &Arc<App>,
    args: &BenchArgs,
) -> anyhow::Result<CompareReport> {
    let seconds = args.compare_seconds();
    let phase = |mix: Mix, patients: PatientFilter| PhasePlan {
        mix,
        clients: args.clients,
        seconds,
        warmup_seconds: args.warmup_seconds,
        patients,
    };
    let iti18 = |result: &workload::PhaseResult| {
        TransactionReport::of(result.tally(Transaction::Iti18), result.seconds)
    };
    eprintln!("compare: ITI-18 alone on all patients, {seconds} s");
    let all = workload::run_phase(ctx, &phase(Mix::ITI18_ONLY, PatientFilter::Any)).await;
    eprintln!("compare: ITI-18 alone on patients without directives, {seconds} s");
    let without = workload::run_phase(
        ctx,
        &phase(Mix::ITI18_ONLY, PatientFilter::WithoutDirectives),
    )
    .await;
    eprintln!("compare: ITI-18 alone on patients with directives, {seconds} s");
    let with = if ctx.patients(PatientFilter::WithDirectives) > 0 {
        Some(workload::run_phase(ctx, &phase(Mix::ITI18_ONLY, PatientFilter::WithDirectives)).await)
    } else {
        None
    };
    eprintln!("compare: ITI-41 alone, {seconds} s");
    let ingest = workload::run_phase(ctx, &phase(Mix::ITI41_ONLY, PatientFilter::Any)).await;
    let caller = caller_of(ctx, app, ctx.doctor_card(&mut ChaCha8Rng::seed_from_u64(1))).await?;
    eprintln!("compare: MinLog records alone, {seconds} s");
    let minlog_only = minlog_only(ctx, app, &caller, args.clients, seconds).await;
    eprintln!("compare: ITI-18 stages in process");
    let stage_seconds = seconds.min(STAGE_SECONDS_MAX);
    let stages_without =
        stage_times(ctx, app, PatientFilter::WithoutDirectives, stage_seconds).await?;
    let stages_with = if ctx.patients(PatientFilter::WithDirectives) > 0 {
        stage_times(ctx, app, PatientFilter::WithDirectives, stage_seconds).await?
    } else {
        stages_without.clone()
    };
    let share_with = ctx.patients(PatientFilter::WithDirectives) as f64
        / ctx.patients(PatientFilter::Any).max(1) as f64;
    let weighted = |without: f64, with: f64| without * (1.0 - share_with) + with * share_with;
    let total = weighted(stages_without.total.mean, stages_with.total.mean);
    let share_of = |without: f64, with: f64| {
        if total > 0.0 {
            weighted(without, with) / total
        } else {
            0.0
        }
    };
    eprintln!(
        "compare: ITI-18 in process under load, {} clients, {seconds} s for each of: full, without consent, without MinLog",
        args.clients
    );
    let iti18_all_patients = iti18(&all);
    let under_load = under_load(
        ctx,
        app,
        args.clients,
        seconds,
        args.warmup_seconds,
        iti18_all_patients.latency_ms.mean,
    )
    .await;
    Ok(CompareReport {
        seconds_per_phase: seconds,
        iti18_all_patients,
        iti18_without_directives: iti18(&without),
        iti18_with_directives: with
            .as_ref()
            .map(iti18)
            .unwrap_or_else(|| TransactionReport::of(&workload::Tally::new(), seconds)),
        iti41_only: TransactionReport::of(ingest.tally(Transaction::Iti41), ingest.seconds),
        minlog_record_only: minlog_only,
        consent_share_one_at_a_time: share_of(
            stages_without.consent.mean,
            stages_with.consent.mean,
        ),
        minlog_share_one_at_a_time: share_of(stages_without.minlog.mean, stages_with.minlog.mean),
        stages_without_directives: stages_without,
        stages_with_directives: stages_with,
        iti18_under_load: under_load,
    })
}

/// The verified caller of a doctor's card, as the edge admits it.
async fn caller_of(ctx: &Ctx, app: &App, card: &str) -> anyhow::Result<Caller> {
    let patient = ctx.pick_patient(PatientFilter::Any, &mut ChaCha8Rng::seed_from_u64(2));
    let envelope = ctx.find_documents_envelope(card, &patient.cpr);
    let admitted = crate::edge::admit(
        app,
        PEER,
        envelope.as_bytes(),
        None,
        &EnvelopeOptions::default(),
        &[action::REGISTRY_STORED_QUERY],
        "registry",
    )
    .await
    .map_err(|response| {
        anyhow!(
            "the bench's own card was refused: HTTP {}",
            response.status()
        )
    })?;
    Ok(admitted.caller)
}

/// `access_log::record` alone from `clients` tasks for `seconds`.
async fn minlog_only(
    ctx: &Arc<Ctx>,
    app: &Arc<App>,
    caller: &Caller,
    clients: usize,
    seconds: f64,
) -> TransactionReport {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..clients {
        let ctx = ctx.clone();
        let app = app.clone();
        let caller = caller.clone();
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(task as u64);
            let mut tally = workload::Tally::new();
            while Instant::now() < end {
                let patient = ctx.pick_patient(PatientFilter::Any, &mut rng);
                let documents: DocumentsByPatient =
                    [(patient.cpr.clone(), vec!["2.25.1".to_owned()])].into();
                let started = Instant::now();
                let outcome = match access_log::record(
                    &app,
                    Access::new(&caller, AccessAction::Query, documents),
                    None,
                )
                .await
                {
                    Ok(()) => workload::Outcome::Ok {
                        filtered: false,
                        answer: None,
                    },
                    Err(response) => workload::Outcome::Error(format!(
                        "the MinLog record failed: HTTP {}",
                        response.status()
                    )),
                };
                tally.record(started.elapsed(), &outcome);
            }
            tally
        });
    }
    let mut total = workload::Tally::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(tally) = done {
            total.merge(&tally);
        }
    }
    TransactionReport::of(&total, seconds)
}

/// Times the stages of one ITI-18 at a time for patients of `filter`.
async fn stage_times(
    ctx: &Ctx,
    app: &App,
    filter: PatientFilter,
    seconds: f64,
) -> anyhow::Result<StageTimes> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut histograms: [Histogram<u64>; 6] = std::array::from_fn(|_| workload::new_histogram());
    let mut iterations = 0u64;
    let mut entries = 0u64;
    let mut withheld_total = 0u64;
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while iterations < STAGE_ITERATIONS_MIN || Instant::now() < end {
        let card = ctx.doctor_card(&mut rng).to_owned();
        let cpr = ctx.pick_patient(filter, &mut rng).cpr.clone();
        let envelope = ctx.find_documents_envelope(&card, &cpr);
        let timed = one_query(app, envelope.as_bytes(), &cpr, Pipeline::Full).await?;
        for (histogram, duration) in histograms.iter_mut().zip(timed.stages) {
            histogram.saturating_record(workload::micros(duration));
        }
        histograms[5].saturating_record(workload::micros(timed.stages.iter().sum()));
        entries += timed.entries;
        withheld_total += timed.withheld;
        iterations += 1;
        if iterations > 1_000_000 {
            break;
        }
    }
    let [admit, query, consent, minlog, serialize, total] = histograms.map(|h| Latency::of(&h));
    let share = |stage: &Latency| {
        if total.mean > 0.0 {
            stage.mean / total.mean
        } else {
            0.0
        }
    };
    Ok(StageTimes {
        iterations,
        consent_share: share(&consent),
        minlog_share: share(&minlog),
        entries_per_answer: entries as f64 / iterations as f64,
        withheld_per_answer: withheld_total as f64 / iterations as f64,
        admit,
        query,
        consent,
        minlog,
        serialize,
        total,
    })
}

/// The pipeline under load: `clients` tasks run each variant for `seconds` in all, in rounds
/// of segments about [`LOAD_SEGMENT_SECONDS`] long in the order full, without consent, without
/// MinLog and then backwards, so that a drift of the machine's speed (its CPUs and disk are
/// shared with other jobs) weighs on the variants alike. Within a round every variant's
/// clients draw the same patients in the same order.
async fn under_load(
    ctx: &Arc<Ctx>,
    app: &Arc<App>,
    clients: usize,
    seconds: f64,
    warmup_seconds: f64,
    http_iti18_mean_ms: f64,
) -> UnderLoad {
    if warmup_seconds > 0.0 {
        load_segment(ctx, app, Pipeline::Full, clients, warmup_seconds, u64::MAX).await;
    }
    // At most as many rounds as the longest phase has segments: the cast cannot saturate.
    let rounds = (seconds / (2.0 * LOAD_SEGMENT_SECONDS)).round().max(1.0) as u32;
    let segment_seconds = seconds / (2.0 * f64::from(rounds));
    let mut measured: [Segment; 3] = std::array::from_fn(|_| Segment::new());
    for round in 0..rounds {
        for &pipeline in Pipeline::ALL.iter().chain(Pipeline::ALL.iter().rev()) {
            let segment = load_segment(
                ctx,
                app,
                pipeline,
                clients,
                segment_seconds,
                u64::from(round),
            )
            .await;
            measured[pipeline.index()].merge(&segment);
        }
    }
    let [full, without_consent, without_minlog] = measured.map(|m| m.report(seconds));
    let rate = |v: &LoadVariant| v.iti18.requests_per_second;
    let mean = |v: &LoadVariant| v.iti18.latency_ms.mean;
    let share_by_rate =
        |without: &LoadVariant| fraction(rate(without) - rate(&full), rate(without));
    let share_by_latency =
        |without: &LoadVariant| fraction(mean(&full) - mean(without), mean(&full));
    let share_of_http =
        |without: &LoadVariant| fraction(mean(&full) - mean(without), http_iti18_mean_ms);
    let share_of_cpu =
        |without: &LoadVariant| match (full.cpu_us_per_request, without.cpu_us_per_request) {
            (Some(full), Some(without)) => Some(fraction(full - without, full)),
            _ => None,
        };
    UnderLoad {
        clients,
        seconds_per_variant: seconds,
        rounds,
        consent_share_under_load: share_by_rate(&without_consent),
        consent_share_under_load_by_latency: share_by_latency(&without_consent),
        minlog_share_under_load: share_by_rate(&without_minlog),
        minlog_share_under_load_by_latency: share_by_latency(&without_minlog),
        http_iti18_mean_ms,
        consent_share_of_http_iti18: share_of_http(&without_consent),
        minlog_share_of_http_iti18: share_of_http(&without_minlog),
        consent_share_of_cpu: share_of_cpu(&without_consent),
        minlog_share_of_cpu: share_of_cpu(&without_minlog),
        full,
        without_consent,
        without_minlog,
    }
}

/// `part / whole`, or 0 when nothing was measured (a share of nothing).
fn fraction(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

/// What the clients of one variant measured.
struct Segment {
    tally: workload::Tally,
    /// Time the answered requests spent in each stage: envelope, admit, query, consent,
    /// MinLog, serialize.
    stage_totals: [Duration; 6],
    answered: u64,
    /// Processor seconds the process used while the segment ran (`None`: not readable).
    cpu_seconds: Option<f64>,
}

impl Segment {
    fn new() -> Segment {
        Segment {
            tally: workload::Tally::new(),
            stage_totals: [Duration::ZERO; 6],
            answered: 0,
            cpu_seconds: Some(0.0),
        }
    }

    fn add(&mut self, envelope: Duration, timed: &Timed) {
        self.stage_totals[0] += envelope;
        for (total, stage) in self.stage_totals[1..].iter_mut().zip(timed.stages) {
            *total += stage;
        }
        self.answered += 1;
    }

    fn merge(&mut self, other: &Segment) {
        self.tally.merge(&other.tally);
        for (total, stage) in self.stage_totals.iter_mut().zip(other.stage_totals) {
            *total += stage;
        }
        self.answered += other.answered;
        self.cpu_seconds = self.cpu_seconds.zip(other.cpu_seconds).map(|(a, b)| a + b);
    }

    fn report(&self, seconds: f64) -> LoadVariant {
        let [envelope, admit, query, consent, minlog, serialize] = self.stage_totals.map(|total| {
            if self.answered == 0 {
                0.0
            } else {
                total.as_secs_f64() * 1000.0 / self.answered as f64
            }
        });
        LoadVariant {
            iti18: TransactionReport::of(&self.tally, seconds),
            stage_mean_ms: StageMeans {
                envelope,
                admit,
                query,
                consent,
                minlog,
                serialize,
            },
            cpu_us_per_request: self
                .cpu_seconds
                .filter(|_| self.answered > 0)
                .map(|cpu| cpu * 1e6 / self.answered as f64),
        }
    }
}

/// `clients` closed-loop tasks running `pipeline` for `seconds` on random patients of the
/// store, drawn from `draw` (the same draw, the same patients); a request started before the
/// end is recorded whenever it ends, as over HTTP.
async fn load_segment(
    ctx: &Arc<Ctx>,
    app: &Arc<App>,
    pipeline: Pipeline,
    clients: usize,
    seconds: f64,
    draw: u64,
) -> Segment {
    let cpu_before = cpu_seconds();
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..clients {
        let ctx = ctx.clone();
        let app = app.clone();
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(draw.rotate_left(32) ^ task as u64);
            let mut segment = Segment::new();
            while Instant::now() < end {
                let card = ctx.doctor_card(&mut rng);
                let cpr = &ctx.pick_patient(PatientFilter::Any, &mut rng).cpr;
                let started = Instant::now();
                let envelope = ctx.find_documents_envelope(card, cpr);
                let built = started.elapsed();
                let outcome = match one_query(&app, envelope.as_bytes(), cpr, pipeline).await {
                    Ok(timed) => {
                        segment.add(built, &timed);
                        workload::Outcome::Ok {
                            filtered: timed.withheld > 0,
                            answer: None,
                        }
                    }
                    Err(error) => workload::Outcome::Error(format!("{error:#}")),
                };
                segment.tally.record(started.elapsed(), &outcome);
            }
            segment
        });
    }
    let mut total = Segment::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(segment) => total.merge(&segment),
            Err(error) => {
                total.tally.errors += 1;
                total
                    .tally
                    .error_samples
                    .push(format!("a client task failed: {error}"));
            }
        }
    }
    // The clients' own segments count none; the process's is the segment's.
    total.cpu_seconds = cpu_before
        .zip(cpu_seconds())
        .map(|(before, after)| after - before);
    total
}

struct Timed {
    /// admit, query, consent, MinLog, serialize.
    stages: [Duration; 5],
    /// Entries answered, as the MinLog stage counts them (0 without it).
    entries: u64,
    withheld: u64,
}

/// Which stages the bench's own copy of the ITI-18 pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pipeline {
    /// Every stage, as `edge::registry` runs them.
    Full,
    /// No reach, directives or restriction: the stored query's answer goes out unrestricted.
    WithoutConsent,
    /// No access record (and so no BRS follow-up).
    WithoutMinLog,
}

impl Pipeline {
    /// In the order the under-load measurement runs them (and then backwards).
    const ALL: [Pipeline; 3] = [
        Pipeline::Full,
        Pipeline::WithoutConsent,
        Pipeline::WithoutMinLog,
    ];

    fn index(self) -> usize {
        match self {
            Pipeline::Full => 0,
            Pipeline::WithoutConsent => 1,
            Pipeline::WithoutMinLog => 2,
        }
    }
}

/// One ITI-18 through the calls `edge::registry::handle` makes, each stage timed; the stage
/// `pipeline` leaves out takes no time.
async fn one_query(
    app: &App,
    envelope: &[u8],
    cpr: &str,
    pipeline: Pipeline,
) -> anyhow::Result<Timed> {
    let refused = |what: &str, response: axum::response::Response| {
        anyhow!(
            "{what} refused the bench's query: HTTP {}",
            response.status()
        )
    };
    let t0 = Instant::now();
    let admitted = crate::edge::admit(
        app,
        PEER,
        envelope,
        None,
        &EnvelopeOptions::default(),
        &[action::REGISTRY_STORED_QUERY],
        "registry",
    )
    .await
    .map_err(|r| refused("the door", r))?;
    let Message::AdhocQueryRequest(request) = admitted.body else {
        bail!("the bench's query did not decode as an AdhocQueryRequest");
    };
    app.door
        .authorize(
            &admitted.caller,
            Operation::Query,
            Some(cpr),
            Attempt {
                peer: PEER,
                transaction: action::REGISTRY_STORED_QUERY,
                card: None,
                relates_to: None,
            },
        )
        .await
        .map_err(|r| refused("the role policy", r))?;
    let t1 = Instant::now();
    let report = xds_validate::validate_adhoc_query_request(&request, &app.validation);
    if report.rejects() {
        bail!("the validation rejects the bench's query");
    }
    let query = registry::StoredQueryRequest::from_adhoc_query_request(&request);
    let result = app
        .registry
        .query_result(&query)
        .await
        .context("the stored query failed")?;
    let t2 = Instant::now();
    // A stage left out ends where it starts, so it counts as exactly no time.
    let (result, withheld, t3) = match pipeline {
        Pipeline::WithoutConsent => (result, 0, t2),
        Pipeline::Full | Pipeline::WithoutMinLog => {
            let (result, withheld) = consent_filter(app, &admitted.caller, result)
                .await
                .context("the consent filter failed")?;
            (result, withheld, Instant::now())
        }
    };
    let (entries, t4) = match pipeline {
        Pipeline::WithoutMinLog => (0, t3),
        Pipeline::Full | Pipeline::WithoutConsent => {
            let entries = log_access(app, &admitted.caller, cpr, &result, withheld).await?;
            (entries, Instant::now())
        }
    };
    let mut response = AdhocQueryResponse {
        response: RegistryResponse {
            status: response_status::SUCCESS.to_owned(),
            ..RegistryResponse::default()
        },
        ..AdhocQueryResponse::default()
    };
    result
        .answer_into(&mut response)
        .context("the answer cannot be read back")?;
    let answer = crate::edge::respond::soap_response(
        action::REGISTRY_STORED_QUERY_RESPONSE,
        admitted.relates_to.as_deref(),
        response.to_xml().as_bytes(),
        false,
    );
    drop(answer);
    let t5 = Instant::now();
    Ok(Timed {
        stages: [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4],
        entries,
        withheld: withheld as u64,
    })
}

/// The MinLog stage of `edge::registry`: one access record per patient the answer concerns
/// (the queried one even if it is empty), `filtered` if anything was withheld, with its BRS
/// follow-up, committed before the answer may leave. Yields the entries answered.
async fn log_access(
    app: &App,
    caller: &Caller,
    cpr: &str,
    result: &registry::QueryResult,
    withheld: usize,
) -> anyhow::Result<u64> {
    let mut accessed = DocumentsByPatient::new();
    accessed.entry(cpr.to_owned()).or_default();
    let documents = result.documents();
    let entries = documents.len() as u64;
    for document in documents {
        if let Some(patient) = cpr_of(&document.patient_id) {
            accessed
                .entry(patient)
                .or_default()
                .push(document.unique_id);
        }
    }
    let access = Access {
        outcome: if withheld > 0 {
            AccessOutcome::Filtered
        } else {
            AccessOutcome::Allowed
        },
        ..Access::new(caller, AccessAction::Query, accessed)
    };
    access_log::record(app, access, None)
        .await
        .map_err(|response| {
            anyhow!(
                "MinLog refused the bench's query: HTTP {}",
                response.status()
            )
        })?;
    Ok(entries)
}

/// The consent stage of `edge::registry`: the reach of the answer, the directives of the
/// patients it reveals, and the restriction when they could withhold anything. Yields the
/// answer and how many objects were withheld.
async fn consent_filter(
    app: &App,
    caller: &Caller,
    result: registry::QueryResult,
) -> anyhow::Result<(registry::QueryResult, usize)> {
    let reach = registry::reach(app.registry.as_ref(), result)
        .await
        .context("the reach failed")?;
    let patients = reach.patient_ids();
    let gate = ConsentGate::load(app, caller, None, patients.iter().cloned())
        .await
        .context("the directives cannot be read")?;
    if reach.is_empty() || (!patients.is_empty() && gate.withholds_nothing(&patients)) {
        return Ok((reach.into_result(), 0));
    }
    let visible = |entry: &registry::EntryFacts<'_>| gate.decide_indexed(entry).is_visible();
    let restricted = registry::restrict(app.registry.as_ref(), reach, &visible)
        .await
        .context("the restriction failed")?;
    Ok((restricted.result, restricted.withheld_objects))
}

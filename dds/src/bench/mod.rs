//! `dds bench`: the load benchmark, with the limits it is measured against in the same run.
//!
//! One run:
//! 1. prepares the store ([`store`]): seeds `--patients` × `--documents-per-patient` synthetic
//!    documents through `dds seed`'s code, or reuses (or grows) a data directory a previous run
//!    seeded, as its marker file says, and puts consent directives on `--consent-share` of
//!    the patients; the stores are SQLite files in `--data`, or on PostgreSQL with
//!    `--database-url` (documents, the marker and the index stay in `--data`);
//! 2. starts the service in this process on a loopback port with a local BRS receiver
//!    ([`receiver`]) as its `brs_url`, timing start to ready — or targets `--url`;
//! 3. runs the mixed workload over HTTP ([`workload`]): `--clients` concurrent clients, each
//!    picking ITI-18 FindDocuments (LeafClass, a doctor's card), ITI-43 (a doctor's card, MTOM)
//!    or ITI-41 (a system card, one `--document-bytes` document per submission) by `--mix`,
//!    every latency in an HDR histogram;
//! 4. retrieves one `--large-document-mb` document, watching the process's memory ([`large`]);
//! 5. with `--search-seconds`, runs FindDocumentsByText alone ([`search`]), after bringing the
//!    full-text index in step;
//! 6. with `--compare`, runs ITI-18 alone on patients without and with directives, ITI-41
//!    alone, times the stages of one ITI-18 in process, and runs that in-process pipeline
//!    under load with and without its consent or MinLog stage ([`stages`]): how much of
//!    ITI-18 the consent filter and the MinLog record (with its BRS follow-up) take;
//! 7. measures the limits on the same store and machine ([`limits`]): indexed lookup of a
//!    patient's entries on the registry's backend plus serialization, a raw quick-xml scan of
//!    the ITI-18 answers just received, SHA-1 + fsync'd write and read + SHA-1 of documents of
//!    the same size, and one durable commit (of that backend) per operation;
//! 8. reports every figure with its ratio to its limit, as text, JSON (`--json`) and an SVG
//!    chart (`--chart`, [`chart`]), each naming the backend.
//!
//! Invariants: the benchmark changes no production code path — the consent filter, MinLog and
//! the follow-ups run as they do in `dds serve`, and their share is measured, never switched
//! off in the service (only `stages`' own copy of the ITI-18 pipeline leaves one out); the
//! workload only sends what any XDS actor may send. Nothing here is a timed test: the
//! goals are printed next to the figures, and the exit status says only whether requests
//! failed.

pub mod chart;
pub mod db;
pub mod large;
pub mod limits;
pub mod receiver;
pub mod report;
pub mod search;
pub mod stages;
pub mod store;
pub mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::app::{App, Opener};
use crate::cli::{EXIT_OK, EXIT_REFUSED};
use crate::config::{Config, ServeFlags};
use report::{Report, RunConfig};
use workload::{Mix, PatientFilter, PhasePlan};

/// The data directory `dds bench` uses by default: its own, so a benchmark never seeds the
/// service's `./data` by accident.
pub const DATA_DEFAULT: &str = "./bench-data";

/// The file the disk probe overwrites during the workload (removed afterwards).
const FSYNC_PROBE_FILE: &str = "bench-fsync-probe";
/// Longest wait for the last follow-ups to reach the local BRS receiver after the run.
const BRS_SETTLE_WAIT: Duration = Duration::from_secs(2);
/// Most concurrent clients (each is a task and a connection).
pub const CLIENTS_MAX: usize = 4_096;
/// Longest phase, warm-up or limit measurement, in seconds.
pub const PHASE_SECONDS_MAX: f64 = 24.0 * 3600.0;
/// Largest large document, in MiB (well above the default document size limit of the
/// service, which refuses anything beyond its own).
pub const LARGE_DOCUMENT_MB_MAX: u64 = 64 * 1024;
/// Largest ITI-41 document of the workload, in bytes: each client holds one in memory.
pub const DOCUMENT_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Longest wait for a started service to answer `/healthz`.
const READY_WAIT_MAX: Duration = Duration::from_secs(30);

/// Options of `dds bench`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Patients in the store (seeded once, then reused).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub patients: u64,
    /// Documents per seeded patient.
    #[arg(long, value_name = "M", default_value_t = 10)]
    pub documents_per_patient: u32,
    /// Concurrent clients.
    #[arg(long, value_name = "K", default_value_t = 16)]
    pub clients: usize,
    /// Seconds the mixed workload is measured (after the warm-up).
    #[arg(long, value_name = "T", default_value_t = 30.0)]
    pub seconds: f64,
    /// Shares of ITI-18 / ITI-43 / ITI-41 requests, e.g. 70/20/10 or 100/0/0.
    #[arg(long, value_name = "Q/R/P", default_value = "70/20/10")]
    pub mix: Mix,
    /// Benchmark a running service at this URL instead of starting one (its data directory
    /// must be --data, and its database --database-url: its development STS signs the cards,
    /// and the limits read its store).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Data directory of the benchmark store (with --database-url: its documents, search
    /// index and marker file).
    #[arg(long, default_value = DATA_DEFAULT)]
    pub data: PathBuf,
    /// The stores on PostgreSQL, as `dds serve --database-url` (registry, consent, MinLog and
    /// the outbox); the limits are then measured on PostgreSQL too [default: SQLite in --data].
    #[arg(long, env = "DDS_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Configuration file of the service started (as `dds serve --config`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seed of the synthetic data (a store seeded with one seed is reused only with it).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of the seeded patients with consent directives (opt-out or a block), 0 to 1.
    #[arg(long, value_name = "SHARE", default_value_t = 0.1)]
    pub consent_share: f64,
    /// Bytes of the document of each ITI-41 submission.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024)]
    pub document_bytes: usize,
    /// Size of the one large document stored and retrieved (ITI-43 memory and rate); 0 skips.
    #[arg(long, value_name = "MB", default_value_t = 100)]
    pub large_document_mb: u64,
    /// Also run ITI-18 alone on patients without and with directives, ITI-41 alone, time the
    /// stages of ITI-18 in process (consent filter, MinLog + BRS follow-up), and run that
    /// in-process pipeline under load with and without the consent or MinLog stage.
    #[arg(long)]
    pub compare: bool,
    /// Seconds of each --compare phase, and of each variant under load [default: --seconds].
    #[arg(long, value_name = "T")]
    pub compare_seconds: Option<f64>,
    /// Seconds of warm-up before each measured phase (requests run, nothing is recorded).
    #[arg(long, value_name = "T", default_value_t = 1.0)]
    pub warmup_seconds: f64,
    /// Seconds each limit is measured [default: --seconds, at most 5].
    #[arg(long, value_name = "T")]
    pub limit_seconds: Option<f64>,
    /// Submissions in flight while seeding.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub seed_concurrency: usize,
    /// Seconds of FindDocumentsByText (full-text search) load after the mixed workload, by
    /// --clients clients on random patients; 0 skips it. In process the index is first brought
    /// in step (built, for a freshly seeded store), and that time is reported too.
    #[arg(long, value_name = "T", default_value_t = 0.0)]
    pub search_seconds: f64,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the chart (SVG) to this file.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
}

const BENCH_EXAMPLES: &str = "Examples:
  dds bench --patients 10000 --documents-per-patient 10 --clients 16 --seconds 30 --json bench.json --chart bench.svg
  dds bench --patients 1000 --mix 100/0/0 --compare --seconds 10
  dds bench --url http://127.0.0.1:8080 --data ./data --patients 1000   # a running service on ./data
  dds bench --database-url postgres://dds@127.0.0.1:5432/dds --data ./bench-data-pg --patients 1000

The store is seeded once (a marker file in --data records what) and reused by later runs with
the same --seed, --documents-per-patient and --consent-share on the same backend (SQLite, or
the same PostgreSQL database); a larger --patients grows it.
See BENCHMARKS.md for what each figure means and the results on a 2-core machine.";

impl BenchArgs {
    fn check(&self) -> anyhow::Result<()> {
        if self.patients == 0 {
            bail!("--patients must be at least 1");
        }
        if self.documents_per_patient == 0 {
            bail!("--documents-per-patient must be at least 1");
        }
        if !(1..=CLIENTS_MAX).contains(&self.clients) {
            bail!("--clients must be between 1 and {CLIENTS_MAX}");
        }
        let seconds_ok = |value: f64, zero_allowed: bool| {
            value.is_finite()
                && value <= PHASE_SECONDS_MAX
                && (value > 0.0 || (zero_allowed && value == 0.0))
        };
        if !seconds_ok(self.seconds, false) {
            bail!("--seconds must be positive and at most {PHASE_SECONDS_MAX}");
        }
        if !self.compare_seconds.is_none_or(|s| seconds_ok(s, false)) {
            bail!("--compare-seconds must be positive and at most {PHASE_SECONDS_MAX}");
        }
        if !self.limit_seconds.is_none_or(|s| seconds_ok(s, false)) {
            bail!("--limit-seconds must be positive and at most {PHASE_SECONDS_MAX}");
        }
        if !seconds_ok(self.search_seconds, true) {
            bail!("--search-seconds must be between 0 and {PHASE_SECONDS_MAX}");
        }
        if !seconds_ok(self.warmup_seconds, true) {
            bail!("--warmup-seconds must be between 0 and {PHASE_SECONDS_MAX}");
        }
        if self.large_document_mb > LARGE_DOCUMENT_MB_MAX {
            bail!("--large-document-mb must be at most {LARGE_DOCUMENT_MB_MAX}");
        }
        if !(0.0..=1.0).contains(&self.consent_share) {
            bail!("--consent-share must be between 0 and 1");
        }
        if !(1..=DOCUMENT_BYTES_MAX).contains(&self.document_bytes) {
            bail!("--document-bytes must be between 1 and {DOCUMENT_BYTES_MAX}");
        }
        Ok(())
    }

    fn compare_seconds(&self) -> f64 {
        self.compare_seconds.unwrap_or(self.seconds)
    }

    fn limit_seconds(&self) -> f64 {
        self.limit_seconds.unwrap_or(self.seconds.min(5.0))
    }

    /// The flags of the service's configuration that the bench's own options give.
    fn serve_flags(&self) -> ServeFlags {
        ServeFlags {
            data: Some(self.data.clone()),
            config: self.config.clone(),
            database_url: self.database_url.clone(),
            ..ServeFlags::default()
        }
    }
}

pub fn run(args: BenchArgs) -> i32 {
    crate::cli::run_command("bench", bench(args))
}

/// The service the workload talks to.
struct Service {
    base: String,
    /// The composed service of this process (started here), or opened beside `--url`'s.
    app: Arc<App>,
    /// Stops the service started here.
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    start_to_ready: Option<Duration>,
    brs: Option<receiver::Receiver>,
}

async fn bench(args: BenchArgs) -> anyhow::Result<i32> {
    args.check()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let started = Instant::now();
    // Resolved once as the service resolves it: `database_url` may come from --config too.
    let config = Config::load(args.serve_flags())?;
    let backend = db::Backend::of(&config);
    eprintln!(
        "stores: {}{}",
        backend.name(),
        db::database_label(&config).map_or(String::new(), |d| format!(" at {d}"))
    );
    let prepared = store::prepare(&args, &config).await?;
    eprintln!(
        "store: {} patients × {} documents ({}), {} with directives",
        prepared.population.patients.len(),
        args.documents_per_patient,
        prepared.outcome,
        prepared.population.with_directives
    );
    let service = start_service(&args).await?;
    // The full-text index of a freshly seeded store is built at the service's first start, in
    // the background; waiting for it here keeps that work out of the measured phases.
    let index_catch_up = match (&service.app.search, args.url.is_none()) {
        (Some(indexer), true) => {
            let started = Instant::now();
            indexer.catch_up().await?;
            Some(started.elapsed())
        }
        _ => None,
    };
    let rss_before = report::rss_bytes();
    let cards = workload::Cards::mint(&args.data)?;
    let ctx = Arc::new(workload::Ctx::new(
        &service.base,
        cards,
        prepared.population,
        service.app.config.repository_unique_id.clone(),
        args.document_bytes,
        args.clients,
    )?);

    eprintln!(
        "mixed workload: {} clients, {} s ({} ITI-18 / {} ITI-43 / {} ITI-41)",
        args.clients, args.seconds, args.mix.iti18, args.mix.iti43, args.mix.iti41
    );
    let sampler = report::RssSampler::start();
    let probe = report::FsyncProbe::start(args.data.join(FSYNC_PROBE_FILE));
    let cpu_before = report::cpu_seconds();
    let mixed_started = Instant::now();
    let mixed = workload::run_phase(
        &ctx,
        &PhasePlan {
            mix: args.mix,
            clients: args.clients,
            seconds: args.seconds,
            warmup_seconds: args.warmup_seconds,
            patients: PatientFilter::Any,
        },
    )
    .await;
    let mixed_seconds = mixed_started.elapsed().as_secs_f64();
    let cpu_cores_used = match (cpu_before, report::cpu_seconds()) {
        (Some(before), Some(after)) if mixed_seconds > 0.0 => {
            Some((after - before) / mixed_seconds)
        }
        _ => None,
    };
    let disk_fsync = probe.stop().await;
    let rss_peak = sampler.stop().await;
    let rss_after = report::rss_bytes();

    let large = if args.large_document_mb > 0 {
        eprintln!(
            "large document: {} MB stored and retrieved",
            args.large_document_mb
        );
        Some(large::run(&ctx, &service.app, args.large_document_mb * 1024 * 1024).await?)
    } else {
        None
    };

    let searched = if args.search_seconds > 0.0 {
        eprintln!(
            "full-text search: {} clients, {} s (FindDocumentsByText)",
            args.clients, args.search_seconds
        );
        Some(
            search::run(
                &ctx,
                &service.app,
                index_catch_up,
                args.clients,
                args.search_seconds,
                args.warmup_seconds,
            )
            .await?,
        )
    } else {
        None
    };

    let compare = if args.compare {
        Some(stages::compare(&ctx, &service.app, &args).await?)
    } else {
        None
    };

    eprintln!("limits: {} s each", args.limit_seconds());
    let limits = limits::measure(
        &service.app,
        &ctx,
        &mixed.answers,
        args.clients,
        args.limit_seconds(),
        args.document_bytes,
    )
    .await?;

    let store_report = store::measure(&service.app, prepared.seeding).await?;
    let (brs_received, brs_posts) = match &service.brs {
        Some(brs) => (Some(brs.settle(BRS_SETTLE_WAIT).await), Some(brs.posts())),
        None => (None, None),
    };
    let outbox_rows = store::outbox_rows(&config).await.ok();
    let in_process = args.url.is_none();
    let server = report::ServerReport {
        in_process,
        rss_bytes_before: rss_before.filter(|_| in_process),
        rss_bytes_after: rss_after.filter(|_| in_process),
        rss_bytes_peak: rss_peak.filter(|_| in_process),
        start_to_ready_ms: service.start_to_ready.map(|d| d.as_secs_f64() * 1000.0),
        cpu_cores_used: cpu_cores_used.filter(|_| in_process),
        disk_fsync_during_workload_ms: disk_fsync,
    };
    stop_service(service).await?;

    let mut report = Report::assemble(
        RunConfig::of(&args),
        report::Machine::probe(),
        store_report,
        server,
        mixed,
        large,
        compare,
        limits,
        report::FollowupReport {
            brs_received,
            brs_posts,
            outbox_rows,
        },
        started.elapsed().as_secs_f64(),
    );
    report.search = searched;
    print!("{}", report.render_text());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("cannot encode the report")?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report: {}", path.display());
    }
    if let Some(path) = &args.chart {
        std::fs::write(path, chart::render(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("chart: {}", path.display());
    }
    Ok(if report.errors_total() == 0 {
        EXIT_OK
    } else {
        EXIT_REFUSED
    })
}

/// Starts the service here on a loopback port (timing start to ready), or opens the store of
/// the one at `--url` for the in-process measurements.
async fn start_service(args: &BenchArgs) -> anyhow::Result<Service> {
    if let Some(url) = &args.url {
        let config = Config::load(args.serve_flags())?;
        let app = App::open_as(config, Opener::Tool)
            .await
            .with_context(|| format!("cannot open the data directory {}", args.data.display()))?;
        return Ok(Service {
            base: url.trim_end_matches('/').to_owned(),
            app: Arc::new(app),
            shutdown: None,
            served: None,
            start_to_ready: None,
            brs: None,
        });
    }
    let brs = receiver::Receiver::start().await?;
    let config = Config::load(ServeFlags {
        listen: Some("127.0.0.1:0".to_owned()),
        brs_url: Some(brs.url()),
        ..args.serve_flags()
    })?;
    if config.tls.is_some() {
        bail!(
            "the configuration serves HTTPS; dds bench starts the service over plain HTTP on loopback: give a config without [tls], or start it yourself and use --url"
        );
    }
    let starting = Instant::now();
    let server = crate::serve::Server::start(config).await?;
    let base = format!("http://{}", server.local_addr());
    let app = server.app().clone();
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.serve_until(async {
        let _ = stop.await;
    }));
    wait_ready(&base).await?;
    let start_to_ready = starting.elapsed();
    Ok(Service {
        base,
        app,
        shutdown: Some(shutdown),
        served: Some(served),
        start_to_ready: Some(start_to_ready),
        brs: Some(brs),
    })
}

/// Polls `/healthz` until the service answers 200.
async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let http = crate::http_client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .context("cannot build an HTTP client")?;
    let deadline = Instant::now() + READY_WAIT_MAX;
    loop {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the service at {base} did not answer /healthz within {READY_WAIT_MAX:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn stop_service(service: Service) -> anyhow::Result<()> {
    if let Some(shutdown) = service.shutdown {
        let _ = shutdown.send(());
    }
    if let Some(served) = service.served {
        served.await.context("the service task failed")??;
    }
    if let Some(brs) = service.brs {
        brs.stop().await;
    }
    Ok(())
}

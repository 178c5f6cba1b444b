//! The benchmark report: every figure, its limit and their ratio, the goals of the benchmark
//! issue next to what was measured, as JSON and as text.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::BenchArgs;
use super::large::LargeReport;
use super::limits::{Limit, LimitsReport};
use super::stages::{CompareReport, LoadVariant};
use super::store::StoreReport;
use super::workload::{Mix, PhaseResult, Tally, Transaction};

/// How often the memory sampler reads the resident set size.
const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(10);
/// How often the disk probe writes and syncs during the workload.
pub const FSYNC_PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on Linux).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// From a histogram of microseconds.
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        if histogram.is_empty() {
            return Latency::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Latency {
            p50: ms(histogram.value_at_quantile(0.50)),
            p95: ms(histogram.value_at_quantile(0.95)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
        }
    }
}

/// One transaction in one phase.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionReport {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// ITI-18 answers from which the consent filter withheld something (`DDSConsentFiltered`).
    pub consent_filtered: u64,
    /// ITI-43 requests the directives refused (`DDSConsentBlocked`): right answers, not errors.
    pub consent_blocked: u64,
    pub requests_per_second: f64,
    pub latency_ms: Latency,
    pub error_samples: Vec<String>,
}

impl TransactionReport {
    pub fn of(tally: &Tally, seconds: f64) -> TransactionReport {
        let requests = tally.requests();
        TransactionReport {
            requests,
            ok: tally.ok,
            errors: tally.errors,
            consent_filtered: tally.consent_filtered,
            consent_blocked: tally.consent_blocked,
            requests_per_second: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            latency_ms: Latency::of(&tally.latency_micros),
            error_samples: tally.error_samples.clone(),
        }
    }
}

/// What was asked for.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub patients: u64,
    pub documents_per_patient: u32,
    pub clients: usize,
    pub seconds: f64,
    pub warmup_seconds: f64,
    pub mix: Mix,
    pub url: Option<String>,
    pub seed: u64,
    pub consent_share: f64,
    pub document_bytes: usize,
    pub large_document_bytes: u64,
    pub compare: bool,
    pub limit_seconds: f64,
}

impl RunConfig {
    pub fn of(args: &BenchArgs) -> RunConfig {
        RunConfig {
            patients: args.patients,
            documents_per_patient: args.documents_per_patient,
            clients: args.clients,
            seconds: args.seconds,
            warmup_seconds: args.warmup_seconds,
            mix: args.mix,
            url: args.url.clone(),
            seed: args.seed,
            consent_share: args.consent_share,
            document_bytes: args.document_bytes,
            large_document_bytes: args.large_document_mb * 1024 * 1024,
            compare: args.compare,
            limit_seconds: args.limit_seconds(),
        }
    }
}

/// The machine the run was on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    pub dds_version: &'static str,
    /// Whether this binary was built with optimisations.
    pub release_build: bool,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the run ended: other work on the machine.
    pub load_average: Option<String>,
}

impl Machine {
    pub fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned());
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| kib_field(&m, "MemTotal:"));
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_bytes,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|k| k.trim().to_owned()),
            dds_version: env!("CARGO_PKG_VERSION"),
            release_build: !cfg!(debug_assertions),
            load_average: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
        }
    }
}

/// `Field:   1234 kB` of a /proc file, in bytes.
fn kib_field(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Resident memory of this process (`VmRSS`), where /proc exists.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kib_field(&status, "VmRSS:")
}

/// CPU time (user + system) this process has used so far, in seconds.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SECOND)
}

/// Writes 512 bytes in place and fdatasyncs them every [`FSYNC_PROBE_INTERVAL`] on a thread
/// of its own until stopped; yields the latencies.
pub struct FsyncProbe {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Histogram<u64>>>,
    path: std::path::PathBuf,
}

impl FsyncProbe {
    pub fn start(path: std::path::PathBuf) -> FsyncProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let path = path.clone();
            std::thread::Builder::new()
                .name("fsync-probe".to_owned())
                .spawn(move || {
                    use std::io::{Seek, SeekFrom, Write};
                    let mut histogram = super::workload::new_histogram();
                    let Ok(mut file) = std::fs::File::create(&path) else {
                        return histogram;
                    };
                    let record = [b'p'; 512];
                    while !stop.load(Ordering::Relaxed) {
                        let started = std::time::Instant::now();
                        let written = file
                            .seek(SeekFrom::Start(0))
                            .and_then(|_| file.write_all(&record))
                            .and_then(|()| file.sync_data());
                        if written.is_err() {
                            break;
                        }
                        histogram.saturating_record(super::workload::micros(started.elapsed()));
                        std::thread::sleep(FSYNC_PROBE_INTERVAL);
                    }
                    histogram
                })
                .ok()
        };
        FsyncProbe { stop, thread, path }
    }

    pub async fn stop(mut self) -> Option<Latency> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take()?;
        let histogram = tokio::task::spawn_blocking(move || thread.join())
            .await
            .ok()?
            .ok()?;
        let _ = std::fs::remove_file(&self.path);
        (!histogram.is_empty()).then(|| Latency::of(&histogram))
    }
}

/// Samples the resident memory on a thread of its own until stopped; yields the highest.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_bytes().unwrap_or(0)));
        let thread = {
            let stop = stop.clone();
            let peak = peak.clone();
            std::thread::Builder::new()
                .name("rss-sampler".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(rss) = rss_bytes() {
                            peak.fetch_max(rss, Ordering::Relaxed);
                        }
                        std::thread::sleep(RSS_SAMPLE_INTERVAL);
                    }
                })
                .ok()
        };
        RssSampler { stop, peak, thread }
    }

    /// The highest resident memory seen (None where /proc is missing).
    pub async fn stop(mut self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        let peak = self.peak.load(Ordering::Relaxed);
        (peak > 0).then_some(peak)
    }
}

/// The service's process (this one when the bench started it).
#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    /// False with `--url`: then the service's memory is not measured here.
    pub in_process: bool,
    /// Resident memory of this process (service and clients) before and after the mixed
    /// workload, and the highest sampled during it.
    pub rss_bytes_before: Option<u64>,
    pub rss_bytes_after: Option<u64>,
    pub rss_bytes_peak: Option<u64>,
    /// From opening the stores to the first `/healthz` answer, on this store.
    pub start_to_ready_ms: Option<f64>,
    /// CPU time of this process (service and clients) per second of the mixed workload: how
    /// many of the machine's CPUs the run actually got (a shared machine gives less than all).
    pub cpu_cores_used: Option<f64>,
    /// Latency of one small in-place write + fdatasync in the data directory, probed every
    /// [`FSYNC_PROBE_INTERVAL`] during the mixed workload: how fast the disk was while the
    /// figures were taken (the durable commit limit is measured after them).
    pub disk_fsync_during_workload_ms: Option<Latency>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowupReport {
    /// Distinct follow-ups the local BRS receiver got (None with `--url`).
    pub brs_received: Option<u64>,
    /// POSTs it got (a redelivery counts again).
    pub brs_posts: Option<u64>,
    /// Follow-ups in the outbox: `(all, delivered)`.
    pub outbox_rows: Option<(u64, u64)>,
}

/// A figure as a ratio to its limit: for rates `figure / limit`, for latencies
/// `limit / figure`, so 1 always means "as fast as the limit" and smaller is slower.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub figure: String,
    pub value: f64,
    pub limit: String,
    pub limit_value: f64,
    pub unit: String,
    pub ratio: f64,
}

impl Ratio {
    fn of(figure: String, value: f64, unit: &str, limit: &str, limit_value: f64) -> Ratio {
        Ratio {
            figure,
            value,
            limit: limit.to_owned(),
            limit_value,
            unit: unit.to_owned(),
            ratio: if limit_value > 0.0 {
                value / limit_value
            } else {
                0.0
            },
        }
    }
}

/// A goal of the benchmark issue and what this run measured for it.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: String,
    pub measured: Option<f64>,
    pub unit: String,
    /// None when this run did not measure it (e.g. without `--compare`).
    pub met: Option<bool>,
    /// Under which conditions the figure was measured.
    pub measured_as: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub config: RunConfig,
    pub store: StoreReport,
    pub server: ServerReport,
    pub followups: FollowupReport,
    /// The mixed workload, per transaction.
    pub transactions: BTreeMap<&'static str, TransactionReport>,
    pub large_document: Option<LargeReport>,
    pub compare: Option<CompareReport>,
    /// `--search-seconds`: FindDocumentsByText alone.
    pub search: Option<super::search::SearchReport>,
    pub limits: LimitsReport,
    pub ratios: Vec<Ratio>,
    pub goals: Vec<Goal>,
    pub seconds_total: f64,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn assemble(
        config: RunConfig,
        machine: Machine,
        store: StoreReport,
        server: ServerReport,
        mixed: PhaseResult,
        large_document: Option<LargeReport>,
        compare: Option<CompareReport>,
        limits: LimitsReport,
        followups: FollowupReport,
        seconds_total: f64,
    ) -> Report {
        let transactions: BTreeMap<&'static str, TransactionReport> = Transaction::ALL
            .iter()
            .map(|t| {
                (
                    t.key(),
                    TransactionReport::of(mixed.tally(*t), mixed.seconds),
                )
            })
            .collect();
        let mut report = Report {
            machine,
            config,
            store,
            server,
            followups,
            transactions,
            large_document,
            compare,
            search: None,
            limits,
            ratios: Vec::new(),
            goals: Vec::new(),
            seconds_total,
        };
        report.ratios = report.compute_ratios();
        report.goals = report.compute_goals();
        report
    }

    /// Errors of every phase.
    pub fn errors_total(&self) -> u64 {
        let mut errors: u64 = self.transactions.values().map(|t| t.errors).sum();
        if let Some(compare) = &self.compare {
            errors += compare.iti18_all_patients.errors
                + compare.iti18_without_directives.errors
                + compare.iti18_with_directives.errors
                + compare.iti41_only.errors
                + compare.minlog_record_only.errors;
            let load = &compare.iti18_under_load;
            errors += [&load.full, &load.without_consent, &load.without_minlog]
                .iter()
                .map(|variant| variant.iti18.errors)
                .sum::<u64>();
        }
        if let Some(search) = &self.search {
            errors += search.search.errors;
        }
        errors
    }

    fn transaction(&self, transaction: Transaction) -> &TransactionReport {
        // Every transaction is in the map (assemble puts them all).
        &self.transactions[transaction.key()]
    }

    /// ITI-18 measured alone over all patients if `--compare` ran, else in the mix.
    fn iti18_figure(&self) -> (&TransactionReport, &'static str) {
        match &self.compare {
            Some(compare) => (&compare.iti18_all_patients, "ITI-18 alone"),
            None => (self.transaction(Transaction::Iti18), "ITI-18 in the mix"),
        }
    }

    fn iti41_figure(&self) -> (&TransactionReport, &'static str) {
        match &self.compare {
            Some(compare) => (&compare.iti41_only, "ITI-41 alone"),
            None => (self.transaction(Transaction::Iti41), "ITI-41 in the mix"),
        }
    }

    fn compute_ratios(&self) -> Vec<Ratio> {
        let mut ratios = Vec::new();
        let mut rate = |figure: String, value: f64, limit: &Limit| {
            ratios.push(Ratio::of(
                figure,
                value,
                "requests/s",
                &limit.what,
                limit.operations_per_second,
            ));
        };
        let limits = &self.limits;
        let (iti18, iti18_as) = self.iti18_figure();
        let (iti41, iti41_as) = self.iti41_figure();
        rate(
            format!("{iti18_as}: requests/s"),
            iti18.requests_per_second,
            &limits.lookup_serialize,
        );
        if let Some(scan) = &limits.quick_xml_scan {
            rate(
                format!("{iti18_as}: requests/s"),
                iti18.requests_per_second,
                scan,
            );
        }
        rate(
            format!("{iti18_as}: requests/s"),
            iti18.requests_per_second,
            &limits.durable_commit,
        );
        if let Some(read) = &limits.read_sha1 {
            rate(
                "ITI-43 in the mix: requests/s".to_owned(),
                self.transaction(Transaction::Iti43).requests_per_second,
                read,
            );
        }
        rate(
            format!("{iti41_as}: requests/s"),
            iti41.requests_per_second,
            &limits.sha1_fsync_write,
        );
        if let Some(compare) = &self.compare {
            rate(
                "ITI-18 in the mix: requests/s".to_owned(),
                self.transaction(Transaction::Iti18).requests_per_second,
                &limits.lookup_serialize,
            );
            rate(
                "ITI-41 in the mix: requests/s".to_owned(),
                self.transaction(Transaction::Iti41).requests_per_second,
                &limits.sha1_fsync_write,
            );
            rate(
                "MinLog record alone: records/s".to_owned(),
                compare.minlog_record_only.requests_per_second,
                &limits.durable_commit,
            );
        }
        // Latency the other way round (limit / figure), so that 1 is as fast as the limit
        // here too.
        let lookup = &limits.lookup_serialize;
        for (name, figure, limit) in [
            ("p50", iti18.latency_ms.p50, lookup.latency_ms.p50),
            ("p99", iti18.latency_ms.p99, lookup.latency_ms.p99),
        ] {
            ratios.push(Ratio {
                figure: format!("{iti18_as}: {name} latency"),
                value: figure,
                limit: lookup.what.clone(),
                limit_value: limit,
                unit: "ms".to_owned(),
                ratio: if figure > 0.0 { limit / figure } else { 0.0 },
            });
        }
        if let Some(large) = &self.large_document {
            ratios.push(Ratio::of(
                "ITI-43 of the large document: MB/s".to_owned(),
                large.retrieve_mb_per_second,
                "MB/s",
                "read the stored file + SHA-1",
                large.raw_read_sha1_mb_per_second,
            ));
        }
        ratios
    }

    fn compute_goals(&self) -> Vec<Goal> {
        let at = format!(
            "{} patients × {} documents, {} clients, {} CPUs",
            self.store.patients,
            self.config.documents_per_patient,
            self.config.clients,
            self.machine.cpus
        );
        let mut goals = Vec::new();
        let (iti18, iti18_as) = self.iti18_figure();
        let (iti41, iti41_as) = self.iti41_figure();
        let iti18_measured = iti18.requests > 0;
        goals.push(Goal {
            goal: "ITI-18 with consent, MinLog and BRS outbox ≥ 2,000 requests/s (at 1 M patients, 2 cores)".to_owned(),
            measured: iti18_measured.then_some(iti18.requests_per_second),
            unit: "requests/s".to_owned(),
            met: iti18_measured.then_some(iti18.requests_per_second >= 2_000.0),
            measured_as: format!("{iti18_as}, {at}"),
        });
        goals.push(Goal {
            goal: "ITI-18 p99 < 50 ms (at 1 M patients, 2 cores)".to_owned(),
            measured: iti18_measured.then_some(iti18.latency_ms.p99),
            unit: "ms".to_owned(),
            met: iti18_measured.then_some(iti18.latency_ms.p99 < 50.0),
            measured_as: format!("{iti18_as}, {at}"),
        });
        let lookup = self.limits.lookup_serialize.operations_per_second;
        let ratio18 = (iti18_measured && lookup > 0.0).then(|| iti18.requests_per_second / lookup);
        goals.push(Goal {
            goal: format!(
                "ITI-18 ≥ 0.25 of the raw {} lookup + serialize rate",
                self.limits.backend
            ),
            measured: ratio18,
            unit: "ratio".to_owned(),
            met: ratio18.map(|r| r >= 0.25),
            measured_as: format!("{iti18_as}, {at}"),
        });
        let iti41_measured = iti41.requests > 0;
        goals.push(Goal {
            goal: format!(
                "ITI-41 durable ingest of {} KB documents ≥ 500 submissions/s",
                self.config.document_bytes / 1024
            ),
            measured: iti41_measured.then_some(iti41.requests_per_second),
            unit: "submissions/s".to_owned(),
            met: iti41_measured.then_some(iti41.requests_per_second >= 500.0),
            measured_as: format!("{iti41_as}, {at}"),
        });
        let large = self.large_document.as_ref();
        let growth = large.and_then(|l| l.rss_growth_bytes_retrieve);
        goals.push(Goal {
            goal: format!(
                "ITI-43 of a {} MB document: memory growth < 64 MB",
                self.config.large_document_bytes / (1024 * 1024)
            ),
            measured: growth.map(|g| g as f64 / (1024.0 * 1024.0)),
            unit: "MiB".to_owned(),
            met: growth.map(|g| g < 64 * 1024 * 1024),
            measured_as: "resident memory of the bench process (service and client) sampled every 10 ms during the retrieval".to_owned(),
        });
        goals.push(Goal {
            goal: "ITI-43 of the large document ≥ 50 % of the raw read + SHA-1 rate".to_owned(),
            measured: large.map(|l| l.retrieve_ratio_to_raw),
            unit: "ratio".to_owned(),
            met: large.map(|l| l.retrieve_ratio_to_raw >= 0.5),
            measured_as:
                "one retrieval over loopback MTOM vs the best of three reads of the stored file"
                    .to_owned(),
        });
        // The shares under load: one request at a time, MinLog's commit is never shared, which
        // is not what a request costs in service.
        let compare = self.compare.as_ref();
        let load = compare.map(|c| &c.iti18_under_load);
        let under_load_as = |stage: &str, one_at_a_time: f64, share_of_http: f64| {
            load.map_or(String::new(), |l| {
                format!(
                    "under load, in process: 1 − rate(full) / rate(without {stage}), {} clients, {} s per variant, patients at the store's share of directives (--compare); of the HTTP ITI-18 latency: {:.1} %; one request at a time: {:.1} %",
                    l.clients,
                    l.seconds_per_variant,
                    share_of_http * 100.0,
                    one_at_a_time * 100.0
                )
            })
        };
        goals.push(Goal {
            goal: "consent filter ≤ 10 % of ITI-18 latency".to_owned(),
            measured: load.map(|l| l.consent_share_under_load),
            unit: "share".to_owned(),
            met: load.map(|l| l.consent_share_under_load <= 0.10),
            measured_as: compare.map_or("not measured (--compare)".to_owned(), |c| {
                under_load_as(
                    "the consent stage",
                    c.consent_share_one_at_a_time,
                    c.iti18_under_load.consent_share_of_http_iti18,
                )
            }),
        });
        goals.push(Goal {
            goal: "MinLog + BRS follow-up ≤ 15 % of ITI-18 latency".to_owned(),
            measured: load.map(|l| l.minlog_share_under_load),
            unit: "share".to_owned(),
            met: load.map(|l| l.minlog_share_under_load <= 0.15),
            measured_as: compare.map_or("not measured (--compare)".to_owned(), |c| {
                under_load_as(
                    "the MinLog stage",
                    c.minlog_share_one_at_a_time,
                    c.iti18_under_load.minlog_share_of_http_iti18,
                )
            }),
        });
        goals.push(Goal {
            goal: "start to ready < 1 s (on a 10 M-entry store)".to_owned(),
            measured: self.server.start_to_ready_ms.map(|ms| ms / 1000.0),
            unit: "s".to_owned(),
            met: self.server.start_to_ready_ms.map(|ms| ms < 1000.0),
            measured_as: format!(
                "Server::start to the first /healthz answer, on a store of {} DocumentEntries",
                self.store.document_entries
            ),
        });
        goals
    }

    /// The report for a terminal.
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "\ndds bench on {} — {} CPUs ({}), {} patients × {} documents ({} DocumentEntries), {} clients",
            self.store.backend,
            m.cpus,
            m.cpu_model.as_deref().unwrap_or("unknown CPU"),
            self.store.patients,
            self.config.documents_per_patient,
            self.store.document_entries,
            self.config.clients
        );
        if !m.release_build {
            let _ = writeln!(
                out,
                "WARNING: a debug build; figures are not representative (cargo build --release)"
            );
        }
        let _ = writeln!(
            out,
            "\n{:<34} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8}",
            "mixed workload",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "requests",
            "errors",
            "consent"
        );
        for transaction in Transaction::ALL {
            let t = self.transaction(transaction);
            row(&mut out, transaction.title(), t);
        }
        if let Some(search) = &self.search {
            let _ = writeln!(
                out,
                "\n--search-seconds ({} s, {} clients; index in step after {}, {} DocumentEntries)",
                search.seconds,
                search.clients,
                search
                    .index_catch_up_seconds
                    .map_or("?".to_owned(), |s| format!("{s:.1} s")),
                search
                    .index_documents
                    .map_or("?".to_owned(), |n| n.to_string())
            );
            row(&mut out, "FindDocumentsByText", &search.search);
        }
        if let Some(c) = &self.compare {
            let _ = writeln!(out, "\n--compare ({} s each)", c.seconds_per_phase);
            row(
                &mut out,
                "ITI-18 alone, all patients",
                &c.iti18_all_patients,
            );
            row(
                &mut out,
                "ITI-18 alone, no directives",
                &c.iti18_without_directives,
            );
            row(
                &mut out,
                "ITI-18 alone, with directives",
                &c.iti18_with_directives,
            );
            row(&mut out, "ITI-41 alone", &c.iti41_only);
            row(
                &mut out,
                "MinLog record alone (in process)",
                &c.minlog_record_only,
            );
            for (name, s) in [
                ("no directives", &c.stages_without_directives),
                ("with directives", &c.stages_with_directives),
            ] {
                let _ = writeln!(
                    out,
                    "ITI-18 stages in process, ONE AT A TIME (MinLog's commit unshared), {name} ({} runs, {:.1} entries/answer): admit {:.2} + query {:.2} + consent {:.2} + MinLog {:.2} + serialize {:.2} = {:.2} ms mean; consent {:.0} %, MinLog {:.0} %",
                    s.iterations,
                    s.entries_per_answer,
                    s.admit.mean,
                    s.query.mean,
                    s.consent.mean,
                    s.minlog.mean,
                    s.serialize.mean,
                    s.total.mean,
                    s.consent_share * 100.0,
                    s.minlog_share * 100.0
                );
            }
            let load = &c.iti18_under_load;
            let _ = writeln!(
                out,
                "\nITI-18 in process under load ({} clients, {} s per variant, in {} rounds of full, -consent, -MinLog, -MinLog, -consent, full)",
                load.clients, load.seconds_per_variant, load.rounds
            );
            for (name, variant) in [
                ("full pipeline", &load.full),
                ("without the consent stage", &load.without_consent),
                ("without the MinLog stage", &load.without_minlog),
            ] {
                row(&mut out, name, &variant.iti18);
            }
            let cpu_us = |v: &LoadVariant| {
                v.cpu_us_per_request
                    .map_or("?".to_owned(), |us| format!("{us:.0} µs"))
            };
            let _ = writeln!(
                out,
                "  processor time per request (the whole process): full {}, without consent {}, without MinLog {}",
                cpu_us(&load.full),
                cpu_us(&load.without_consent),
                cpu_us(&load.without_minlog)
            );
            for (name, variant) in [
                ("full", &load.full),
                ("without consent", &load.without_consent),
                ("without MinLog", &load.without_minlog),
            ] {
                let m = &variant.stage_mean_ms;
                let _ = writeln!(
                    out,
                    "  stage means under load, {name}: envelope {:.2} + admit {:.2} + query {:.2} + consent {:.2} + MinLog {:.2} + serialize {:.2} ms",
                    m.envelope, m.admit, m.query, m.consent, m.minlog, m.serialize
                );
            }
            for (name, by_rate, by_latency, of_http) in [
                (
                    "consent",
                    load.consent_share_under_load,
                    load.consent_share_under_load_by_latency,
                    load.consent_share_of_http_iti18,
                ),
                (
                    "MinLog + BRS",
                    load.minlog_share_under_load,
                    load.minlog_share_under_load_by_latency,
                    load.minlog_share_of_http_iti18,
                ),
            ] {
                let _ = writeln!(
                    out,
                    "  {name} share under load: {:.1} % (1 − rate full / rate without); by mean latency {:.1} % (the same figure by Little's law: mean latency = clients / rate); of the HTTP ITI-18 mean latency ({:.2} ms) {:.1} %",
                    by_rate * 100.0,
                    by_latency * 100.0,
                    load.http_iti18_mean_ms,
                    of_http * 100.0
                );
            }
            let percent = |share: Option<f64>| {
                share.map_or("?".to_owned(), |share| format!("{:.1} %", share * 100.0))
            };
            let _ = writeln!(
                out,
                "  share of the processor time per request (1 − CPU without / CPU full): consent {}, MinLog + BRS {}",
                percent(load.consent_share_of_cpu),
                percent(load.minlog_share_of_cpu)
            );
        }
        if let Some(l) = &self.large_document {
            let mib = |b: Option<u64>| {
                b.map_or("?".to_owned(), |b| {
                    format!("{:.1} MiB", b as f64 / 1048576.0)
                })
            };
            let stored = match l.upload_mb_per_second {
                Some(rate) => format!(
                    "ITI-41 {rate:.0} MB/s (memory +{})",
                    mib(l.rss_growth_bytes_upload)
                ),
                None => "stored by an earlier run".to_owned(),
            };
            let _ = writeln!(
                out,
                "\nlarge document ({:.0} MB): {stored}, ITI-43 {:.0} MB/s (memory +{}), raw read + SHA-1 {:.0} MB/s, ratio {:.2}",
                l.bytes as f64 / 1e6,
                l.retrieve_mb_per_second,
                mib(l.rss_growth_bytes_retrieve),
                l.raw_read_sha1_mb_per_second,
                l.retrieve_ratio_to_raw
            );
        }
        let _ = writeln!(out, "\nlimits");
        let limits = &self.limits;
        for limit in [
            Some(&limits.lookup_serialize),
            limits.quick_xml_scan.as_ref(),
            Some(&limits.sha1_fsync_write),
            limits.read_sha1.as_ref(),
            Some(&limits.durable_commit),
        ]
        .into_iter()
        .flatten()
        {
            let _ = writeln!(
                out,
                "  {:>9.0} op/s  p50 {:>7.3} ms  p99 {:>7.3} ms  ({} workers)  {}",
                limit.operations_per_second,
                limit.latency_ms.p50,
                limit.latency_ms.p99,
                limit.workers,
                limit.what
            );
        }
        let _ = writeln!(out, "\nratios to the limits");
        for ratio in &self.ratios {
            let _ = writeln!(
                out,
                "  {:>6.3}  {} {:.1} {} / {:.1} ({})",
                ratio.ratio, ratio.figure, ratio.value, ratio.unit, ratio.limit_value, ratio.limit
            );
        }
        let s = &self.store;
        let registry_size = match &s.database {
            Some(database) => format!(
                "{:.1} MB of PostgreSQL tables and indexes at {database}",
                s.registry_bytes as f64 / 1e6
            ),
            None => format!(
                "{:.1} MB in use, {:.1} MB of files",
                s.registry_bytes_in_use as f64 / 1e6,
                s.registry_bytes as f64 / 1e6
            ),
        };
        let _ = writeln!(
            out,
            "\nstore ({}): {:.0} registry bytes per DocumentEntry ({registry_size}, for {} entries), {:.0} document bytes per entry, MinLog {:.1} MB",
            s.backend,
            s.registry_bytes_per_document_entry,
            s.document_entries,
            s.document_bytes_per_document_entry,
            s.minlog_bytes as f64 / 1e6
        );
        let sv = &self.server;
        let mb = |b: Option<u64>| b.map_or("-".to_owned(), |b| format!("{:.0} MB", b as f64 / 1e6));
        if !sv.in_process {
            let _ = writeln!(
                out,
                "server: the running service at {} (its memory and start are not measured from here)",
                self.config.url.as_deref().unwrap_or("?")
            );
        } else {
            let _ = writeln!(
                out,
                "server: start to ready {}, RSS {} before, {} after, {} peak (service and clients in one process), {} CPUs used of {}",
                sv.start_to_ready_ms
                    .map_or("-".to_owned(), |ms| format!("{ms:.0} ms")),
                mb(sv.rss_bytes_before),
                mb(sv.rss_bytes_after),
                mb(sv.rss_bytes_peak),
                sv.cpu_cores_used
                    .map_or("?".to_owned(), |c| format!("{c:.2}")),
                self.machine.cpus
            );
        }
        if let Some(disk) = &sv.disk_fsync_during_workload_ms {
            let _ = writeln!(
                out,
                "disk during the workload: fdatasync p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (machine load average {})",
                disk.p50,
                disk.p99,
                disk.max,
                self.machine.load_average.as_deref().unwrap_or("?")
            );
        }
        let f = &self.followups;
        let _ = writeln!(
            out,
            "follow-ups: {} in the outbox ({} delivered), {} received by the local BRS in {} POSTs",
            f.outbox_rows
                .map_or("?".to_owned(), |(all, _)| all.to_string()),
            f.outbox_rows.map_or("?".to_owned(), |(_, d)| d.to_string()),
            f.brs_received.map_or("-".to_owned(), |r| r.to_string()),
            f.brs_posts.map_or("-".to_owned(), |r| r.to_string())
        );
        let _ = writeln!(out, "\ngoals");
        for goal in &self.goals {
            let verdict = match goal.met {
                Some(true) => "met    ",
                Some(false) => "NOT MET",
                None => "-      ",
            };
            let _ = writeln!(
                out,
                "  {verdict} {}: {} ({})",
                goal.goal,
                goal.measured.map_or("not measured".to_owned(), |v| format!(
                    "{v:.3} {}",
                    goal.unit
                )),
                goal.measured_as
            );
        }
        for (name, t) in &self.transactions {
            for sample in &t.error_samples {
                let _ = writeln!(out, "error ({name}): {sample}");
            }
        }
        out
    }
}

fn row(out: &mut String, name: &str, t: &TransactionReport) {
    use std::fmt::Write;
    let consent = t.consent_filtered + t.consent_blocked;
    let _ = writeln!(
        out,
        "{:<34} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>7} {:>8}",
        name,
        t.requests_per_second,
        t.latency_ms.p50,
        t.latency_ms.p95,
        t.latency_ms.p99,
        t.latency_ms.max,
        t.requests,
        t.errors,
        consent
    );
}

//! The limits each figure is compared with, measured in the same run, on the same store, disk
//! and CPUs, doing only the essential work of the transaction and nothing else:
//!
//! - **lookup + serialize** (ITI-18): the patient's DocumentEntries through the registry's own
//!   index (`patient_id, kind, status`), read-only, with as many connections as the registry's
//!   read pool, on the registry's backend (SQLite or PostgreSQL, the same SQL), and their
//!   stored XML concatenated into a SOAP answer — no card, no parsing, no consent, no log.
//! - **quick-xml scan** (ITI-18): the ITI-18 answers just received, read event by event by
//!   quick-xml, nothing built, on every CPU.
//! - **SHA-1 + fsync'd write** (ITI-41): a document of the ITI-41 size hashed, written to a
//!   temporary file, fsync'd, renamed to its content-addressed name and the directory
//!   fsync'd — the repository's durability contract without metadata or registry.
//! - **read + SHA-1** (ITI-43): a stored document of the sample read whole and hashed.
//! - **durable commit** (everything that logs), one at a time. SQLite: one small write in place
//!   and `fdatasync`, what a WAL commit with `synchronous=FULL` costs at least. PostgreSQL: one
//!   `INSERT` of a small row, committed on its own with `synchronous_commit = on`, into a real
//!   (WAL-logged, not TEMP) table of a scratch schema. One ITI-18 waits for one such commit
//!   (its MinLog record), so its rate caps ITI-18 unless commits are grouped.
//!
//! Files written for the limits live under `DATA/bench-limits/` and are removed afterwards; the
//! scratch schema on PostgreSQL is dropped afterwards (or, if the run dies, by the sweep of a
//! later scratch schema, see `registry::postgres::ScratchSchema`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use sha1::{Digest, Sha1};
use xds_model::vocabulary::{ns, response_status, status};

use super::db::{Backend, Pool};
use super::report::Latency;
use super::workload::{self, Ctx, PatientFilter};
use crate::app::App;
use crate::config::Config;

/// Directory of the files the limits write.
const LIMITS_DIR: &str = "bench-limits";
/// Stored documents whose paths are looked up for the read + SHA-1 limit.
const READ_SAMPLE_MAX: usize = 500;
/// Bytes written per durable commit (a small WAL frame's worth of a record).
const COMMIT_BYTES: usize = 512;
/// Size of the file the durable commits overwrite in turn.
const COMMIT_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// One limit: operations per second and their latency.
#[derive(Debug, Clone, Serialize)]
pub struct Limit {
    pub what: String,
    /// Concurrent workers (tasks or threads).
    pub workers: usize,
    pub operations: u64,
    pub seconds: f64,
    pub operations_per_second: f64,
    pub latency_ms: Latency,
    /// Mean bytes one operation handled (answer, document, record).
    pub bytes_per_operation: f64,
}

impl Limit {
    fn of(
        what: &str,
        workers: usize,
        seconds: f64,
        histogram: &Histogram<u64>,
        bytes: u64,
    ) -> Limit {
        let operations = histogram.len();
        Limit {
            what: what.to_owned(),
            workers,
            operations,
            seconds,
            operations_per_second: if seconds > 0.0 {
                operations as f64 / seconds
            } else {
                0.0
            },
            latency_ms: Latency::of(histogram),
            bytes_per_operation: if operations > 0 {
                bytes as f64 / operations as f64
            } else {
                0.0
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LimitsReport {
    /// The registry's backend: "SQLite" or "PostgreSQL".
    pub backend: &'static str,
    /// The indexed lookup of a patient's entries on the registry's backend + serialization
    /// (`sqlite_lookup_serialize` in reports from before PostgreSQL).
    pub lookup_serialize: Limit,
    /// None when no ITI-18 answer was received.
    pub quick_xml_scan: Option<Limit>,
    pub sha1_fsync_write: Limit,
    /// None when no stored document of the sample was found.
    pub read_sha1: Option<Limit>,
    pub durable_commit: Limit,
}

pub async fn measure(
    app: &Arc<App>,
    ctx: &Arc<Ctx>,
    answers: &[Vec<u8>],
    clients: usize,
    seconds: f64,
    document_bytes: usize,
) -> anyhow::Result<LimitsReport> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data = app.config.data.clone();
    let scratch = data.join(LIMITS_DIR);
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let backend = Backend::of(&app.config);
    let lookup_serialize = lookup_serialize(&app.config, ctx, clients, seconds).await?;
    let quick_xml_scan = if answers.is_empty() {
        None
    } else {
        Some(quick_xml_scan(answers.to_vec(), cpus, seconds).await)
    };
    let sha1_fsync_write = sha1_fsync_write(&scratch, clients, seconds, document_bytes).await?;
    let read_sha1 = read_sha1(app, ctx, clients, seconds).await?;
    let durable_commit = match &app.config.database_url {
        Some(url) => durable_commit_postgres(url, seconds).await?,
        None => durable_commit(&scratch, seconds).await?,
    };
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(LimitsReport {
        backend: backend.name(),
        lookup_serialize,
        quick_xml_scan,
        sha1_fsync_write,
        read_sha1,
        durable_commit,
    })
}

async fn lookup_serialize(
    config: &Config,
    ctx: &Arc<Ctx>,
    clients: usize,
    seconds: f64,
) -> anyhow::Result<Limit> {
    let pool = Pool::registry(
        config,
        registry::StoreConfig::default().read_connections_max,
    )
    .await?;
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..clients {
        let pool = pool.clone();
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(task as u64);
            let mut histogram = workload::new_histogram();
            let mut bytes = 0u64;
            while Instant::now() < end {
                let cx = crate::cli::metadata::cpr_cx(
                    &ctx.pick_patient(PatientFilter::Any, &mut rng).cpr,
                );
                let started = Instant::now();
                let rows = pool.entries_of_patient(&cx, status::APPROVED).await?;
                let answer = serialize_answer(rows.iter().map(String::as_str));
                histogram.saturating_record(workload::micros(started.elapsed()));
                bytes += answer.len() as u64;
            }
            anyhow::Ok((histogram, bytes))
        });
    }
    let gathered = gather(&mut tasks).await;
    pool.close().await;
    let (histogram, bytes) = gathered?;
    Ok(Limit::of(
        &format!(
            "indexed {} lookup of a patient's DocumentEntries + their XML concatenated into a SOAP answer",
            Backend::of(config).name()
        ),
        clients,
        seconds,
        &histogram,
        bytes,
    ))
}

/// The stored XML of the entries wrapped as an AdhocQueryResponse in a SOAP envelope.
fn serialize_answer<'a>(objects: impl Iterator<Item = &'a str>) -> String {
    let mut answer = String::with_capacity(16 * 1024);
    answer.push_str("<soap:Envelope xmlns:soap=\"");
    answer.push_str(ns::SOAP12);
    answer.push_str("\"><soap:Body><query:AdhocQueryResponse xmlns:query=\"");
    answer.push_str(ns::QUERY);
    answer.push_str("\" xmlns:rim=\"");
    answer.push_str(ns::RIM);
    answer.push_str("\" status=\"");
    answer.push_str(response_status::SUCCESS);
    answer.push_str("\"><rim:RegistryObjectList>");
    for object in objects {
        answer.push_str(object);
    }
    answer.push_str(
        "</rim:RegistryObjectList></query:AdhocQueryResponse></soap:Body></soap:Envelope>",
    );
    answer
}

async fn quick_xml_scan(answers: Vec<Vec<u8>>, workers: usize, seconds: f64) -> Limit {
    let answers = Arc::new(answers);
    let (histogram, bytes) = on_threads(workers, seconds, move |worker| {
        let answers = answers.clone();
        let mut next = worker;
        move || {
            let answer = &answers[next % answers.len()];
            next += 1;
            let mut reader = quick_xml::Reader::from_reader(answer.as_slice());
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(_) => {}
                    Err(error) => anyhow::bail!("an ITI-18 answer does not scan: {error}"),
                }
            }
            Ok(answer.len() as u64)
        }
    })
    .await
    .unwrap_or_else(|_| (workload::new_histogram(), 0));
    Limit::of(
        "quick-xml scan (every event, nothing built) of the ITI-18 answers received",
        workers,
        seconds,
        &histogram,
        bytes,
    )
}

async fn sha1_fsync_write(
    scratch: &Path,
    workers: usize,
    seconds: f64,
    document_bytes: usize,
) -> anyhow::Result<Limit> {
    let tmp = scratch.join("tmp");
    let sha1_dir = scratch.join("sha1");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    for prefix in 0..=255u8 {
        let dir = sha1_dir.join(hex::encode([prefix]));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let (histogram, bytes) = on_threads(workers, seconds, move |worker| {
        let tmp = tmp.clone();
        let sha1_dir = sha1_dir.clone();
        let mut document = vec![b'x'; document_bytes.max(16)];
        let mut count: u64 = 0;
        move || {
            count += 1;
            // Every document differs (a counter in its first bytes), as every submission does.
            document[..16].copy_from_slice(&[worker.to_le_bytes(), count.to_le_bytes()].concat());
            let digest = hex::encode(Sha1::digest(&document));
            let temporary = tmp.join(format!("{worker}-{count}.part"));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&document)?;
            file.sync_all()?;
            drop(file);
            let dir = sha1_dir.join(&digest[..2]);
            std::fs::rename(&temporary, dir.join(&digest))?;
            std::fs::File::open(&dir)?.sync_all()?;
            Ok(document.len() as u64)
        }
    })
    .await?;
    Ok(Limit::of(
        "SHA-1 + write + fsync + rename to the content-addressed name + directory fsync, one document of the ITI-41 size",
        workers,
        seconds,
        &histogram,
        bytes,
    ))
}

async fn read_sha1(
    app: &Arc<App>,
    ctx: &Arc<Ctx>,
    workers: usize,
    seconds: f64,
) -> anyhow::Result<Option<Limit>> {
    let paths = stored_paths(app, ctx).await?;
    if paths.is_empty() {
        return Ok(None);
    }
    let paths = Arc::new(paths);
    let (histogram, bytes) = on_threads(workers, seconds, move |worker| {
        let paths = paths.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(worker as u64);
        move || {
            let path = &paths[rng.random_range(0..paths.len())];
            let bytes = std::fs::read(path)?;
            let _digest = Sha1::digest(&bytes);
            Ok(bytes.len() as u64)
        }
    })
    .await?;
    Ok(Some(Limit::of(
        "read a stored document of the ITI-43 sample whole + SHA-1",
        workers,
        seconds,
        &histogram,
        bytes,
    )))
}

/// Files of up to [`READ_SAMPLE_MAX`] documents of the ITI-43 sample.
async fn stored_paths(app: &App, ctx: &Ctx) -> anyhow::Result<Vec<PathBuf>> {
    let store =
        repository::LocalDocumentStore::open(&app.config.data, app.config.document_bytes_max)
            .context("cannot open the document store")?;
    let pool = Pool::registry(&app.config, 1).await?;
    let mut paths = Vec::new();
    let mut looked_up = Ok(());
    for document in ctx.population.documents.iter().take(READ_SAMPLE_MAX) {
        match pool.entry_hash(&document.unique_id).await {
            Ok(Some(hash)) => {
                if let Ok(sha1) = repository::Sha1Hex::parse(&hash) {
                    paths.push(store.path_of(&sha1));
                }
            }
            Ok(None) => {}
            Err(error) => {
                looked_up = Err(error);
                break;
            }
        }
    }
    pool.close().await;
    looked_up.context("cannot look up the hashes of the ITI-43 sample")?;
    Ok(paths)
}

async fn durable_commit(scratch: &Path, seconds: f64) -> anyhow::Result<Limit> {
    let path = scratch.join("commits.log");
    // Like a WAL file between checkpoints: allocated once, then overwritten in place, so each
    // fdatasync flushes the data and not a growing file's size as well.
    {
        let mut file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(&vec![0u8; COMMIT_FILE_BYTES as usize])?;
        file.sync_all()?;
    }
    let (histogram, bytes) = on_threads(1, seconds, move |_| {
        let mut file = std::fs::OpenOptions::new().write(true).open(&path);
        let record = [b'r'; COMMIT_BYTES];
        let mut offset = 0u64;
        move || {
            use std::io::{Seek, SeekFrom};
            let file = file.as_mut().map_err(|e| anyhow::anyhow!("{e}"))?;
            file.seek(SeekFrom::Start(offset))?;
            file.write_all(&record)?;
            file.sync_data()?;
            offset = (offset + COMMIT_BYTES as u64) % COMMIT_FILE_BYTES;
            Ok(COMMIT_BYTES as u64)
        }
    })
    .await?;
    Ok(Limit::of(
        "one durable commit at a time: 512 bytes written in place + fdatasync (a SQLite WAL commit with synchronous=FULL; SQLite serializes its writers)",
        1,
        seconds,
        &histogram,
        bytes,
    ))
}

/// One durable PostgreSQL commit at a time: a single-statement `INSERT` of a
/// [`COMMIT_BYTES`] row, committed with `synchronous_commit = on` (the server flushes its WAL
/// before it answers), into a table of a scratch schema. A real table, because a TEMP table
/// is not WAL-logged and its commits would flush nothing.
async fn durable_commit_postgres(url: &str, seconds: f64) -> anyhow::Result<Limit> {
    use sqlx::Connection;
    let redacted = crate::config::redacted_database_url(url);
    let schema = registry::postgres::ScratchSchema::create(url)
        .await
        .with_context(|| format!("cannot create a scratch schema in {redacted}"))?;
    let options =
        sqlx::postgres::PgConnectOptions::from_str(url)?.options([("synchronous_commit", "on")]);
    let measured = async {
        let mut connection = sqlx::postgres::PgConnection::connect_with(&options)
            .await
            .with_context(|| format!("cannot connect to {redacted}"))?;
        // The schema's name is ScratchSchema's own: ASCII letters, digits and underscores.
        let table = format!("{}.durable_commit", schema.name());
        sqlx::query(&format!(
            "CREATE TABLE {table} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, record BYTEA NOT NULL)"
        ))
        .execute(&mut connection)
        .await?;
        let insert = format!("INSERT INTO {table} (record) VALUES ($1)");
        let record = vec![b'r'; COMMIT_BYTES];
        let mut histogram = workload::new_histogram();
        let end = Instant::now() + Duration::from_secs_f64(seconds);
        while Instant::now() < end {
            let started = Instant::now();
            sqlx::query(&insert)
                .bind(record.as_slice())
                .execute(&mut connection)
                .await?;
            histogram.saturating_record(workload::micros(started.elapsed()));
        }
        connection.close().await?;
        anyhow::Ok(histogram)
    }
    .await;
    let removed = schema.remove().await;
    let histogram = measured?;
    removed.with_context(|| format!("cannot drop the scratch schema in {redacted}"))?;
    let bytes = histogram.len() * COMMIT_BYTES as u64;
    Ok(Limit::of(
        "one durable commit at a time: one INSERT of a 512-byte row committed with synchronous_commit=on (a PostgreSQL WAL flush; a MinLog record is one such commit, unless grouped)",
        1,
        seconds,
        &histogram,
        bytes,
    ))
}

/// Runs `workers` blocking loops of the operation `make(worker)` builds for `seconds`; returns
/// the merged latency histogram and the bytes the operations reported.
async fn on_threads<F, Op>(
    workers: usize,
    seconds: f64,
    make: F,
) -> anyhow::Result<(Histogram<u64>, u64)>
where
    F: Fn(usize) -> Op,
    Op: FnMut() -> anyhow::Result<u64> + Send + 'static,
{
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers.max(1) {
        let mut operation = make(worker);
        tasks.spawn_blocking(move || {
            let mut histogram = workload::new_histogram();
            let mut bytes = 0u64;
            while Instant::now() < end {
                let started = Instant::now();
                bytes += operation()?;
                histogram.saturating_record(workload::micros(started.elapsed()));
            }
            anyhow::Ok((histogram, bytes))
        });
    }
    gather(&mut tasks).await
}

async fn gather(
    tasks: &mut tokio::task::JoinSet<anyhow::Result<(Histogram<u64>, u64)>>,
) -> anyhow::Result<(Histogram<u64>, u64)> {
    let mut histogram = workload::new_histogram();
    let mut bytes = 0u64;
    while let Some(done) = tasks.join_next().await {
        let (one, one_bytes) = done.context("a limit task failed")??;
        // Same bounds on both sides: adding cannot fail.
        let _ = histogram.add(&one);
        bytes += one_bytes;
    }
    Ok((histogram, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serialized_answer_is_well_formed_xml() {
        let answer = serialize_answer(
            [
                "<rim:ExtrinsicObject id=\"a\"/>",
                "<rim:ExtrinsicObject id=\"b\"/>",
            ]
            .into_iter(),
        );
        let mut reader = quick_xml::Reader::from_reader(answer.as_bytes());
        reader.config_mut().check_end_names = true;
        let mut starts = 0;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(quick_xml::events::Event::Empty(_)) => starts += 1,
                Ok(_) => {}
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(starts, 2);
    }
}

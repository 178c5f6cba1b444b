//! `dds bench --search-seconds T`: FindDocumentsByText under load, after the mixed workload.
//!
//! The index was brought in step when the service started (in process: a store seeded by
//! `dds seed` was never indexed, so the first start builds the index; that time is reported),
//! then `--clients` clients search random patients for words of the synthetic documents
//! (the departments' visits and care pathways) for T seconds, with a doctor's card, through
//! the consent filter and MinLog like every query. The figure is the latency of one search
//! over HTTP; p50 and p99 are in the report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::report::TransactionReport;
use super::workload::{Ctx, PatientFilter, Tally};
use crate::app::App;
use crate::cli::synthetic::DEPARTMENTS;

/// What the search phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub seconds: f64,
    pub clients: usize,
    /// Time to bring the index in step before the phase (a first build of a seeded store), in
    /// seconds; `None` against `--url`.
    pub index_catch_up_seconds: Option<f64>,
    /// DocumentEntries in the index (of every status), in process.
    pub index_documents: Option<u64>,
    pub search: TransactionReport,
}

/// The words searched: those of the synthetic documents' visits and care pathways, and one
/// that no document has.
fn words() -> Vec<String> {
    let mut words: Vec<String> = DEPARTMENTS
        .iter()
        .flat_map(|d| {
            d.visits
                .iter()
                .map(|(what, _, _)| *what)
                .chain([d.pathway.1, d.practice.1])
        })
        .flat_map(|text| text.split_whitespace())
        .filter(|w| w.chars().count() > 3)
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    words.sort();
    words.dedup();
    words.push("xylofon".to_owned());
    words
}

/// Runs the phase; `index_catch_up` is how long the index took to get in step when the
/// service started (in process only).
pub async fn run(
    ctx: &Arc<Ctx>,
    app: &App,
    index_catch_up: Option<Duration>,
    clients: usize,
    seconds: f64,
    warmup_seconds: f64,
) -> anyhow::Result<SearchReport> {
    let index_catch_up_seconds = index_catch_up.map(|d| d.as_secs_f64());
    let index_documents = match (&app.search, index_catch_up) {
        (Some(indexer), Some(_)) => {
            // What the mixed workload registered since.
            indexer.catch_up().await?;
            Some(indexer.index().num_docs())
        }
        _ => None,
    };
    let words = Arc::new(words());
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(warmup_seconds);
    let end = measure_from + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let ctx = ctx.clone();
        let words = words.clone();
        tasks.spawn(async move {
            let seed = uuid::Uuid::new_v4().as_u128() as u64 ^ client as u64;
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut tally = Tally::new();
            while Instant::now() < end {
                let card = ctx.doctor_card(&mut rng).to_owned();
                let cpr = ctx.pick_patient(PatientFilter::Any, &mut rng).cpr.clone();
                let text = match rng.random_range(0..3) {
                    0 => words[rng.random_range(0..words.len())].clone(),
                    _ => format!(
                        "{} {}",
                        words[rng.random_range(0..words.len())],
                        words[rng.random_range(0..words.len())]
                    ),
                };
                let started = Instant::now();
                let outcome = ctx.find_documents_by_text(&card, &cpr, &text).await;
                if started >= measure_from {
                    tally.record(started.elapsed(), &outcome);
                }
            }
            tally
        });
    }
    let mut total = Tally::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(tally) => total.merge(&tally),
            Err(error) => {
                total.errors += 1;
                total
                    .error_samples
                    .push(format!("a client task failed: {error}"));
            }
        }
    }
    Ok(SearchReport {
        seconds,
        clients,
        index_catch_up_seconds,
        index_documents,
        search: TransactionReport::of(&total, seconds),
    })
}

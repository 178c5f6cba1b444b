//! `dds bench` end to end with tiny numbers, as the built binary: the JSON report has every
//! section, no request failed, and a later run grows and then reuses the store it seeded; on
//! PostgreSQL (when `DDS_TEST_DATABASE_URL` is set) the stores and the limits are there and
//! the report says so. No timing is asserted: the figures are the benchmark's business, not a
//! test's.

use std::path::Path;
use std::process::{Command, Stdio};

use registry::postgres::ScratchSchema;
use serde_json::Value;

/// The environment variable naming a PostgreSQL database for the tests' stores.
const DATABASE_URL_VARIABLE: &str = "DDS_TEST_DATABASE_URL";

/// `dds bench` as the built binary, never on a database the environment names by accident.
fn dds_bench() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dds"));
    command
        .arg("bench")
        .env_remove("DDS_DATABASE_URL")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null());
    command
}

/// Runs `dds bench` on `data` with tiny numbers; returns the JSON report.
fn bench(data: &Path, report: &Path, extra: &[&str]) -> Value {
    bench_with_output(data, report, extra).0
}

/// Runs `dds bench` on `data` with tiny numbers; returns the JSON report, the text report and
/// the chart.
fn bench_with_output(data: &Path, report: &Path, extra: &[&str]) -> (Value, String, String) {
    let chart = report.with_extension("svg");
    let output = dds_bench()
        .arg("--data")
        .arg(data)
        .args([
            "--documents-per-patient",
            "2",
            "--clients",
            "2",
            "--warmup-seconds",
            "0.2",
            "--limit-seconds",
            "0.3",
            "--seed-concurrency",
            "2",
            "--json",
        ])
        .arg(report)
        .arg("--chart")
        .arg(&chart)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "dds bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("ratios to the limits"), "{stdout}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let json = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    (json, stdout.into_owned(), svg)
}

/// Runs `dds bench` expecting a refusal before anything is seeded; returns its stderr.
fn refused(args: &[&str]) -> String {
    let output = dds_bench().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    stderr
}

fn assert_transaction(section: &Value, name: &str) {
    let t = &section[name];
    assert!(t["requests"].as_u64().unwrap() > 0, "{name}: {t}");
    assert_eq!(t["errors"].as_u64(), Some(0), "{name}: {t}");
    assert!(
        t["requests_per_second"].as_f64().unwrap() > 0.0,
        "{name}: {t}"
    );
    for percentile in ["p50", "p95", "p99", "max", "mean"] {
        assert!(
            t["latency_ms"][percentile].as_f64().unwrap() > 0.0,
            "{name} {percentile}: {t}"
        );
    }
}

#[test]
fn a_tiny_benchmark_reports_every_section_and_reuses_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (first, first_text, first_svg) = bench_with_output(
        &data,
        &dir.path().join("first.json"),
        &[
            "--patients",
            "20",
            "--seconds",
            "2",
            "--large-document-mb",
            "1",
            "--compare",
            "--compare-seconds",
            "0.5",
            "--search-seconds",
            "0.5",
        ],
    );

    for section in [
        "machine",
        "config",
        "store",
        "server",
        "followups",
        "transactions",
        "large_document",
        "compare",
        "search",
        "limits",
        "ratios",
        "goals",
    ] {
        assert!(!first[section].is_null(), "no {section} in {first:#}");
    }
    for transaction in ["iti18", "iti43", "iti41"] {
        assert_transaction(&first["transactions"], transaction);
    }
    // The seeded store was indexed before the search phase: every DocumentEntry is in it.
    let search = &first["search"];
    assert_transaction(search, "search");
    assert!(
        search["index_documents"].as_u64().unwrap() >= 40,
        "{search}"
    );
    let compare = &first["compare"];
    for phase in [
        "iti18_all_patients",
        "iti18_without_directives",
        "iti41_only",
        "minlog_record_only",
    ] {
        assert_transaction(compare, phase);
    }
    assert_eq!(compare["iti18_with_directives"]["errors"].as_u64(), Some(0));
    for stages in ["stages_without_directives", "stages_with_directives"] {
        let s = &compare[stages];
        assert!(s["iterations"].as_u64().unwrap() > 0, "{s}");
        assert!(s["total"]["mean"].as_f64().unwrap() > 0.0, "{s}");
    }
    for share in ["consent_share_one_at_a_time", "minlog_share_one_at_a_time"] {
        assert!(compare[share].as_f64().unwrap().is_finite(), "{share}");
    }
    // The in-process pipeline under load: every variant ran without errors, the stage it
    // leaves out took no time, and the shares are figures (noise may make one negative).
    let load = &compare["iti18_under_load"];
    for variant in ["full", "without_consent", "without_minlog"] {
        assert_transaction(load, variant);
        let stages = &load[variant]["stage_mean_ms"];
        for stage in ["envelope", "admit", "query", "serialize"] {
            assert!(stages[stage].as_f64().unwrap() > 0.0, "{variant} {stage}");
        }
    }
    let stage = |variant: &str, stage: &str| load[variant]["stage_mean_ms"][stage].as_f64();
    assert_eq!(stage("without_consent", "consent"), Some(0.0));
    assert_eq!(stage("without_minlog", "minlog"), Some(0.0));
    for (variant, stage_name) in [
        ("full", "consent"),
        ("full", "minlog"),
        ("without_consent", "minlog"),
        ("without_minlog", "consent"),
    ] {
        assert!(
            stage(variant, stage_name).unwrap() > 0.0,
            "{variant} {stage_name}"
        );
    }
    assert!(load["http_iti18_mean_ms"].as_f64().unwrap() > 0.0, "{load}");
    assert!(load["rounds"].as_u64().unwrap() >= 1, "{load}");
    for share in [
        "consent_share_under_load",
        "consent_share_under_load_by_latency",
        "consent_share_of_http_iti18",
        "minlog_share_under_load",
        "minlog_share_under_load_by_latency",
        "minlog_share_of_http_iti18",
    ] {
        let value = load[share].as_f64().unwrap();
        assert!(value.is_finite(), "{share}: {value}");
    }
    // Processor time per request is measured (this runs on Linux, where /proc is readable;
    // its clock ticks are 10 ms, so a segment this short may count none), and the shares of
    // it are figures.
    for variant in ["full", "without_consent", "without_minlog"] {
        let us = load[variant]["cpu_us_per_request"].as_f64().unwrap();
        assert!(us.is_finite() && us >= 0.0, "{variant}: {us}");
    }
    for share in ["consent_share_of_cpu", "minlog_share_of_cpu"] {
        let value = load[share].as_f64().unwrap();
        assert!(value.is_finite(), "{share}: {value}");
    }
    assert!(
        first_text.contains("processor time per request"),
        "{first_text}"
    );
    // The goals are judged by the shares under load, and say so.
    let goals = first["goals"].as_array().unwrap();
    for (goal, share) in [
        ("consent filter", "consent_share_under_load"),
        ("MinLog", "minlog_share_under_load"),
    ] {
        let goal = goals
            .iter()
            .find(|g| g["goal"].as_str().unwrap().starts_with(goal))
            .unwrap();
        assert_eq!(goal["measured"], load[share], "{goal}");
        assert!(
            goal["measured_as"].as_str().unwrap().contains("under load"),
            "{goal}"
        );
    }
    assert!(first_text.contains("under load"), "{first_text}");
    assert!(first_text.contains("ONE AT A TIME"), "{first_text}");
    assert!(first_svg.contains("ITI-18 in process, without MinLog"));
    assert_eq!(first["store"]["backend"], "SQLite");
    assert_eq!(first["limits"]["backend"], "SQLite");
    let lookup = first["limits"]["lookup_serialize"]["what"]
        .as_str()
        .unwrap();
    assert!(lookup.contains("indexed SQLite lookup"), "{lookup}");
    for limit in [
        "lookup_serialize",
        "quick_xml_scan",
        "sha1_fsync_write",
        "read_sha1",
        "durable_commit",
    ] {
        let l = &first["limits"][limit];
        assert!(l["operations"].as_u64().unwrap() > 0, "{limit}: {l}");
        assert!(
            l["operations_per_second"].as_f64().unwrap() > 0.0,
            "{limit}: {l}"
        );
    }
    assert!(!first["ratios"].as_array().unwrap().is_empty());
    assert!(first["goals"].as_array().unwrap().len() >= 9);
    let large = &first["large_document"];
    assert_eq!(large["sha1_matches"], Value::Bool(true));
    assert_eq!(large["stored_now"], Value::Bool(true));
    assert!(large["rss_growth_bytes_retrieve"].as_u64().is_some());
    let store = &first["store"];
    assert_eq!(store["patients"].as_u64(), Some(20));
    assert!(store["document_entries"].as_u64().unwrap() >= 40);
    assert!(store["registry_bytes_per_document_entry"].as_f64().unwrap() > 0.0);
    assert_eq!(store["seeding"]["patients_stored"].as_u64(), Some(20));
    let server = &first["server"];
    assert_eq!(server["in_process"], Value::Bool(true));
    for figure in [
        "rss_bytes_before",
        "rss_bytes_after",
        "start_to_ready_ms",
        "cpu_cores_used",
        "disk_fsync_during_workload_ms",
    ] {
        assert!(!server[figure].is_null(), "{figure}: {server}");
    }
    // Every ITI-18 and ITI-43 by a doctor that returned documents ordered a follow-up.
    let (outbox, _) = (
        first["followups"]["outbox_rows"][0].as_u64().unwrap(),
        first["followups"]["outbox_rows"][1].as_u64().unwrap(),
    );
    assert!(outbox > 0, "{}", first["followups"]);

    // More patients: only the new ones are seeded; the large document is not stored again.
    let grown = bench(
        &data,
        &dir.path().join("grown.json"),
        &[
            "--patients",
            "25",
            "--seconds",
            "1",
            "--large-document-mb",
            "1",
        ],
    );
    assert_eq!(grown["store"]["patients"].as_u64(), Some(25));
    assert_eq!(
        grown["store"]["seeding"]["patients_stored"].as_u64(),
        Some(5)
    );
    assert_eq!(grown["large_document"]["stored_now"], Value::Bool(false));
    assert_eq!(grown["large_document"]["sha1_matches"], Value::Bool(true));

    // The same size again: nothing is seeded.
    let reused = bench(
        &data,
        &dir.path().join("reused.json"),
        &[
            "--patients",
            "25",
            "--seconds",
            "1",
            "--large-document-mb",
            "0",
        ],
    );
    assert!(reused["store"]["seeding"].is_null(), "{}", reused["store"]);
    assert!(reused["large_document"].is_null());
    assert_transaction(&reused["transactions"], "iti18");
}

#[test]
fn a_store_of_another_shape_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    bench(
        &data,
        &dir.path().join("first.json"),
        &[
            "--patients",
            "5",
            "--seconds",
            "0.5",
            "--large-document-mb",
            "0",
            "--mix",
            "1/0/0",
        ],
    );
    let data = data.to_str().unwrap();
    let stderr = refused(&[
        "--patients",
        "5",
        "--documents-per-patient",
        "3",
        "--data",
        data,
    ]);
    assert!(
        stderr.contains("--documents-per-patient 2"),
        "the refusal names the store's shape: {stderr}"
    );
}

#[test]
fn a_tiny_benchmark_runs_on_postgresql_and_says_so() {
    let Some(url) = std::env::var(DATABASE_URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!(
            "SKIPPED a_tiny_benchmark_runs_on_postgresql_and_says_so: {DATABASE_URL_VARIABLE} is not set (a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schema = runtime.block_on(ScratchSchema::create(&url)).unwrap();
    let other_schema = runtime.block_on(ScratchSchema::create(&url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (report, text, svg) = bench_with_output(
        &data,
        &dir.path().join("pg.json"),
        &[
            "--database-url",
            schema.url(),
            "--patients",
            "20",
            "--seconds",
            "1",
            "--large-document-mb",
            "0",
        ],
    );

    // Every store is in the database: nothing of them in the data directory.
    for file in ["registry.sqlite", "consent.sqlite", "minlog.sqlite"] {
        assert!(!data.join(file).exists(), "{file} in {}", data.display());
    }
    for transaction in ["iti18", "iti43", "iti41"] {
        assert_transaction(&report["transactions"], transaction);
    }
    let store = &report["store"];
    assert_eq!(store["backend"], "PostgreSQL");
    let database = store["database"].as_str().unwrap();
    assert!(database.contains(schema.name()), "{database}");
    assert_eq!(store["patients"].as_u64(), Some(20));
    assert_eq!(store["seeding"]["patients_stored"].as_u64(), Some(20));
    assert!(store["document_entries"].as_u64().unwrap() >= 40, "{store}");
    for bytes in ["registry_bytes", "registry_bytes_in_use", "minlog_bytes"] {
        assert!(store[bytes].as_u64().unwrap() > 0, "{bytes}: {store}");
    }
    assert!(report["followups"]["outbox_rows"][0].as_u64().unwrap() > 0);

    let limits = &report["limits"];
    assert_eq!(limits["backend"], "PostgreSQL");
    let lookup = limits["lookup_serialize"]["what"].as_str().unwrap();
    assert!(lookup.contains("indexed PostgreSQL lookup"), "{lookup}");
    let commit = limits["durable_commit"]["what"].as_str().unwrap();
    assert!(commit.contains("synchronous_commit=on"), "{commit}");
    for limit in [
        "lookup_serialize",
        "quick_xml_scan",
        "sha1_fsync_write",
        "read_sha1",
        "durable_commit",
    ] {
        let l = &limits[limit];
        assert!(l["operations"].as_u64().unwrap() > 0, "{limit}: {l}");
    }
    // The lookup found the patients' entries: its answers are longer than an empty one.
    assert!(
        limits["lookup_serialize"]["bytes_per_operation"]
            .as_f64()
            .unwrap()
            > 1_000.0,
        "{}",
        limits["lookup_serialize"]
    );
    assert!(text.contains("dds bench on PostgreSQL"), "{text}");
    assert!(text.contains("indexed PostgreSQL lookup"), "{text}");
    assert!(svg.contains("dds bench on PostgreSQL"));
    let goals = report["goals"].as_array().unwrap();
    assert!(
        goals.iter().any(|g| g["goal"]
            .as_str()
            .unwrap()
            .contains("raw PostgreSQL lookup")),
        "{goals:?}"
    );

    // Grown on the same database: only the new patients are seeded.
    let grown = bench(
        &data,
        &dir.path().join("pg-grown.json"),
        &[
            "--database-url",
            schema.url(),
            "--patients",
            "22",
            "--seconds",
            "0.5",
            "--large-document-mb",
            "0",
        ],
    );
    assert_eq!(grown["store"]["backend"], "PostgreSQL");
    assert_eq!(
        grown["store"]["seeding"]["patients_stored"].as_u64(),
        Some(2)
    );
    assert_transaction(&grown["transactions"], "iti18");

    // The store is refused on SQLite, on another database, and the database without its
    // marker (another --data) is refused as a store the bench did not seed.
    let data = data.to_str().unwrap();
    let small = ["--patients", "22", "--documents-per-patient", "2"];
    let on_sqlite = refused(&[&small[..], &["--data", data]].concat());
    assert!(
        on_sqlite.contains("seeded on PostgreSQL") && on_sqlite.contains("this run is on SQLite"),
        "{on_sqlite}"
    );
    let elsewhere = refused(
        &[
            &small[..],
            &["--data", data, "--database-url", other_schema.url()],
        ]
        .concat(),
    );
    assert!(elsewhere.contains("use that database"), "{elsewhere}");
    let fresh = dir.path().join("fresh");
    let unmarked = refused(
        &[
            &small[..],
            &[
                "--data",
                fresh.to_str().unwrap(),
                "--database-url",
                schema.url(),
            ],
        ]
        .concat(),
    );
    assert!(unmarked.contains("did not seed"), "{unmarked}");
    assert!(
        !fresh.join("registry.sqlite").exists(),
        "a refused run created no SQLite store"
    );

    runtime.block_on(schema.remove()).unwrap();
    runtime.block_on(other_schema.remove()).unwrap();
}

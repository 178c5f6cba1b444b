//! Full-text search against the real binary: the index after `kill -9` right after
//! registrations and a delete (on restart it catches up from the registry's change log, so
//! every acknowledged registration is found and the deleted entry is not), and the `dds search`
//! and `dds reindex` commands.

mod support;

use identity::{DevSts, Role};
use support::search::*;
use support::served::Served;
use support::{issue_card, with_card};

const DOCTOR: &str = "0804569723";
const SOR: &str = "328081000016004";

async fn post(base: &str, sts: &DevSts, role: Role, envelope: &str) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cpr = (role != Role::System).then_some(DOCTOR);
    let response = dds::http_client::builder()
        .build()
        .unwrap()
        .post(format!("{base}/xds/registry"))
        .header("content-type", "application/soap+xml; charset=UTF-8")
        .body(with_card(envelope, &issue_card(sts, role, cpr)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_index_catches_up_with_what_was_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let mut served = Served::start(data.path());
    let sts = DevSts::open_or_create(data.path()).unwrap();
    let base = served.base.clone();
    submit_text(
        &base,
        data.path(),
        "Ekkokardiografi af hjertet",
        "Hjertet pumper normalt.",
        SOR,
    )
    .await;
    submit_text(
        &base,
        data.path(),
        "Henvisning",
        "Flyttet til København.",
        SOR,
    )
    .await;
    let found = answer(&post(&base, &sts, Role::Doctor, &search_request("kobenhavn", &[])).await);
    let henvisning = found.hit("Henvisning").entry_uuid.clone();
    let ids = submission_ids(
        &post(
            &base,
            &sts,
            Role::System,
            &documents_and_associations_request(&henvisning),
        )
        .await,
    );
    let deleted = post(&base, &sts, Role::System, &delete_request(&ids)).await;
    assert!(deleted.contains("ResponseStatusType:Success"), "{deleted}");
    // Acknowledged, then killed at once: the index may not have applied it yet.
    submit_text(
        &base,
        data.path(),
        "Kardiologisk kontrol",
        "Kontrol af hjertet.",
        SOR,
    )
    .await;
    served.kill();

    let served = Served::start(data.path());
    let after = answer(
        &post(
            &served.base,
            &sts,
            Role::Doctor,
            &search_request("hjertet kobenhavn", &[]),
        )
        .await,
    );
    let mut titles = after.titles();
    titles.sort_unstable();
    assert_eq!(
        titles,
        ["Ekkokardiografi af hjertet", "Kardiologisk kontrol"],
        "{after:?}"
    );
    // The search caught the index up: /metrics shows no lag.
    let metrics = dds::http_client::builder()
        .build()
        .unwrap()
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("dds_search_index_lag_changes 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dds_search_index_lag_seconds 0.0\n"),
        "{metrics}"
    );
}

fn dds(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dds"))
        .args(args)
        .env_remove("DDS_URL")
        .env_remove("DDS_DATA")
        .env_remove("DDS_DATABASE_URL")
        .env_remove("DDS_CONFIG")
        .output()
        .unwrap()
}

/// `dds search` prints the ranked answer with its snippets; `dds reindex` refuses while the
/// service holds the index and rebuilds it once the service is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dds_search_and_dds_reindex_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let mut served = Served::start(data.path());
    let base = served.base.clone();
    submit_text(
        &base,
        data.path(),
        "Ekkokardiografi af hjertet",
        "Hjertet pumper normalt.",
        SOR,
    )
    .await;
    submit_text(
        &base,
        data.path(),
        "Røntgen af thorax",
        "Lungerne frie; hjertet normalt stort, lungerne fine.",
        SOR,
    )
    .await;
    let base_for_cli = base.clone();
    let dir_for_cli = dir.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        dds(&[
            "search",
            "--url",
            &base_for_cli,
            "--data",
            &dir_for_cli,
            "--patient",
            PATIENT,
            "--json",
            "ekko",
            "hjertet",
        ])
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{json}");
    assert_eq!(results[0]["rank"], 1);
    assert_eq!(results[0]["title"], "Ekkokardiografi af hjertet");
    assert!(
        results[1]["snippet"]
            .as_str()
            .unwrap()
            .contains("«hjertet»"),
        "{json}"
    );

    let refused = dds(&["reindex", "--data", dir]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("another dds process"));

    assert!(served.terminate().success());
    std::fs::remove_dir_all(data.path().join("search")).unwrap();
    let rebuilt = dds(&["reindex", "--data", dir]);
    assert!(
        rebuilt.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    assert!(String::from_utf8_lossy(&rebuilt.stdout).starts_with("indexed 2 DocumentEntries"));
}

//! The client and operations commands, run as the built `dds` binary against a `dds serve`
//! child process: submit, query and retrieve round trips (tables and JSON), the refusals and
//! their exit statuses, seeding, and a backup taken while the service runs, restored and
//! served again.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sha1::{Digest, Sha1};
use support::served::Served;

/// One run of the binary.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    raw_stdout: Vec<u8>,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

fn dds(args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_dds"))
        .args(args)
        .env_remove("DDS_URL")
        .env_remove("DDS_DATA")
        .env_remove("DDS_CONFIG")
        .env_remove("DDS_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        raw_stdout: output.stdout,
    }
}

fn sample_path(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(path)
        .display()
        .to_string()
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// `--url URL --data DIR`: where the service is and whose STS mints the cards.
fn at<'a>(server: &'a Served, data: &'a Path) -> [&'a str; 4] {
    [
        "--url",
        server.base.as_str(),
        "--data",
        data.to_str().unwrap(),
    ]
}

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    let mut all = base.to_vec();
    all.extend_from_slice(more);
    all
}

const APD: &str = "documents/apd-0101700013-ekkokardiografi.xml";
const NOTE: &str = "documents/note-2512489996-praktisk-information.txt";

#[test]
fn submit_query_and_retrieve_a_sample_appointment() {
    let data = tempfile::tempdir().unwrap();
    let server = Served::start(data.path());
    let at = at(&server, data.path());
    let apd_path = sample_path(APD);
    let apd = std::fs::read(&apd_path).unwrap();

    // A document: metadata built from the document itself.
    let submitted = dds(&with(&["submit"], &with(&at, &["--json", &apd_path]))).ok();
    let json = submitted.json();
    let submission = &json["submissions"][0];
    assert_eq!(submission["status"], "Success", "{json}");
    assert_eq!(submission["errors"], Value::Array(vec![]), "{json}");
    let unique_id = submission["documents"][0]["unique_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(unique_id.starts_with("2.25."), "{unique_id}");
    assert_eq!(submission["documents"][0]["sha1"], sha1_hex(&apd));

    // The same document again, as a table: a second DocumentEntry, never a duplicate.
    let table = dds(&with(&["submit"], &with(&at, &[&apd_path]))).ok();
    assert!(table.stdout.contains("status: Success"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("0101700013  text/xml  9985  Aftale for 0101700013"),
        "{}",
        table.stdout
    );

    // A prepared request from samples/, sent as it is with a card put in.
    let prepared = dds(&with(
        &["submit"],
        &with(&at, &["--json", &sample_path("iti-41/pnr-single-apd.xml")]),
    ))
    .ok();
    assert_eq!(prepared.json()["submissions"][0]["status"], "Success");
    let sample_unique_id = "2.25.297860445735985469057769323429578268365";
    assert_eq!(
        prepared.json()["submissions"][0]["documents"][0]["unique_id"],
        sample_unique_id
    );

    // A text note for another patient, with the patient given.
    let note = dds(&with(
        &["submit"],
        &with(
            &at,
            &[
                "--patient",
                "2512489996",
                "--title",
                "Praktisk information",
                &sample_path(NOTE),
            ],
        ),
    ))
    .ok();
    assert!(note.stdout.contains("text/plain"), "{}", note.stdout);

    // Query: all three of 0101700013's documents, with their metadata.
    let found = dds(&with(
        &["query"],
        &with(&at, &["--patient", "0101700013", "--json"]),
    ))
    .ok()
    .json();
    assert_eq!(found["status"], "Success");
    let documents = found["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 3, "{found}");
    let ours = documents
        .iter()
        .find(|d| d["unique_id"] == unique_id.as_str())
        .unwrap_or_else(|| panic!("{unique_id} not in {found}"));
    assert_eq!(ours["size"], apd.len());
    assert_eq!(ours["hash"], sha1_hex(&apd));
    assert_eq!(ours["repository_unique_id"], "1.2.208.176.43210.8.10.11");
    assert_eq!(ours["type_code"]["code"], "39289-4");
    assert_eq!(ours["title"], "Aftale for 0101700013");
    assert_eq!(ours["service_start_time"], "20270114120000");
    assert!(
        ours["author_institutions"][0]
            .as_str()
            .unwrap()
            .ends_with("^242621000016001")
    );
    assert!(documents.iter().any(|d| d["unique_id"] == sample_unique_id));

    let table = dds(&with(&["query"], &with(&at, &["--patient", "0101700013"]))).ok();
    assert!(table.stdout.contains(&unique_id), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("Aarhus Universitetshospital, Hjertesygdomme (242621000016001)"),
        "{}",
        table.stdout
    );
    let typed = dds(&with(
        &["query"],
        &with(
            &at,
            &["--patient", "2512489996", "--type", "39289-4", "--json"],
        ),
    ))
    .ok()
    .json();
    assert_eq!(typed["documents"].as_array().unwrap().len(), 1, "{typed}");

    // Retrieve over MTOM into a directory: the same bytes, the registry's hash.
    let out = tempfile::tempdir().unwrap();
    let retrieved = dds(&with(
        &["retrieve"],
        &with(
            &at,
            &[
                "--document",
                &unique_id,
                "--out",
                out.path().to_str().unwrap(),
                "--json",
            ],
        ),
    ))
    .ok()
    .json();
    assert_eq!(retrieved["status"], "Success");
    let document = &retrieved["documents"][0];
    assert_eq!(document["mime_type"], "text/xml");
    assert_eq!(document["size"], apd.len());
    assert_eq!(document["sha1"], sha1_hex(&apd));
    assert_eq!(document["matches_registry"], true);
    let written = std::fs::read(document["path"].as_str().unwrap()).unwrap();
    assert_eq!(written, apd);
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "no temporary file is left behind"
    );

    // To standard output, and inline (plain SOAP) into a named file.
    let piped = dds(&with(
        &["retrieve"],
        &with(&at, &["--document", &unique_id, "--out", "-"]),
    ))
    .ok();
    assert_eq!(piped.raw_stdout, apd);
    assert!(piped.stderr.contains(&sha1_hex(&apd)), "{}", piped.stderr);
    let file = out.path().join("inline.xml");
    let inline = dds(&with(
        &["retrieve"],
        &with(
            &at,
            &[
                "--document",
                sample_unique_id,
                "--inline",
                "--repository",
                "1.2.208.176.43210.8.10.11",
                "--out",
                file.to_str().unwrap(),
            ],
        ),
    ))
    .ok();
    assert!(
        inline.stdout.contains("status: Success"),
        "{}",
        inline.stdout
    );
    assert_eq!(std::fs::read(&file).unwrap(), apd);
}

#[test]
fn refusals_are_printed_and_exit_non_zero() {
    let data = tempfile::tempdir().unwrap();
    let server = Served::start(data.path());
    let at = at(&server, data.path());

    // An unknown document: the repository's RegistryError, exit 1.
    let unknown = dds(&with(
        &["retrieve"],
        &with(
            &at,
            &[
                "--document",
                "2.25.1",
                "--out",
                data.path().join("x").to_str().unwrap(),
            ],
        ),
    ));
    assert_eq!(unknown.code, 1, "{}{}", unknown.stdout, unknown.stderr);
    assert!(
        unknown.stdout.contains("status: Failure"),
        "{}",
        unknown.stdout
    );
    assert!(
        unknown.stdout.contains("XDSDocumentUniqueIdError"),
        "{}",
        unknown.stdout
    );
    let unknown_json = dds(&with(
        &["retrieve"],
        &with(&at, &["--document", "2.25.1", "--json", "--out", "-"]),
    ));
    assert_eq!(unknown_json.code, 1);
    let report: Value = serde_json::from_str(&unknown_json.stderr).unwrap();
    assert_eq!(report["errors"][0]["code"], "XDSDocumentUniqueIdError");
    assert_eq!(report["errors"][0]["severity"], "Error");

    // Metadata the registry refuses: Failure with the XDS code, exit 1.
    let invalid = dds(&with(
        &["submit"],
        &with(
            &at,
            &[
                "--json",
                &sample_path("invalid/iti41-missing-classcode.xml"),
            ],
        ),
    ));
    assert_eq!(invalid.code, 1, "{}{}", invalid.stdout, invalid.stderr);
    let submission = &invalid.json()["submissions"][0];
    assert_eq!(submission["status"], "Failure");
    assert_eq!(submission["errors"][0]["code"], "XDSRegistryMetadataError");

    // A card from an STS the service does not trust: a SOAP fault, exit 1.
    let other = tempfile::tempdir().unwrap();
    let card = dds(&[
        "idcard",
        "issue",
        "--data",
        other.path().to_str().unwrap(),
        "--role",
        "doctor",
        "--cpr",
        "0807631537",
        "--org-sor",
        "328081000016004",
    ])
    .ok();
    let card_file = other.path().join("card.xml");
    std::fs::write(&card_file, card.stdout).unwrap();
    let untrusted = dds(&with(
        &["query"],
        &with(
            &at,
            &[
                "--patient",
                "0101700013",
                "--card",
                card_file.to_str().unwrap(),
            ],
        ),
    ));
    assert_eq!(
        untrusted.code, 1,
        "{}{}",
        untrusted.stdout, untrusted.stderr
    );
    assert!(
        untrusted.stderr.contains("SOAP fault soap:Sender / wsse:"),
        "{}",
        untrusted.stderr
    );

    // A role the policy refuses (a citizen asking about someone else): a fault, exit 1.
    let citizen = dds(&with(
        &["query"],
        &with(
            &at,
            &[
                "--patient",
                "0101700013",
                "--role",
                "citizen",
                "--cpr",
                "2512489996",
            ],
        ),
    ));
    assert_eq!(citizen.code, 1, "{}{}", citizen.stdout, citizen.stderr);
    assert!(citizen.stderr.contains("SOAP fault"), "{}", citizen.stderr);

    // No service at the URL, or no STS in the data dir: exit 2 with what to do.
    let unreachable = dds(&[
        "query",
        "--url",
        "http://127.0.0.1:9",
        "--data",
        data.path().to_str().unwrap(),
        "--patient",
        "0101700013",
    ]);
    assert_eq!(unreachable.code, 2);
    assert!(
        unreachable.stderr.contains("cannot reach"),
        "{}",
        unreachable.stderr
    );
    let no_sts = dds(&[
        "query",
        "--url",
        &server.base,
        "--data",
        other.path().join("nowhere").to_str().unwrap(),
        "--patient",
        "0101700013",
    ]);
    assert_eq!(no_sts.code, 2);
    assert!(no_sts.stderr.contains("--data"), "{}", no_sts.stderr);
}

#[test]
fn seeded_patients_are_found_and_the_seed_reproduces_them() {
    let data = tempfile::tempdir().unwrap();
    let data_arg = data.path().to_str().unwrap();
    let seeded = dds(&[
        "seed",
        "--patients",
        "5",
        "--documents-per-patient",
        "3",
        "--data",
        data_arg,
        "--seed",
        "7",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(seeded["documents"], 15, "{seeded}");
    assert!(seeded["documents_per_second"].as_f64().unwrap() > 0.0);
    let patients = seeded["sample_patients"].as_array().unwrap().clone();
    assert_eq!(patients.len(), 5);

    // The same seed elsewhere gives the same data; here it is refused (the uniqueIds exist).
    let elsewhere = tempfile::tempdir().unwrap();
    let again = dds(&[
        "seed",
        "--patients",
        "5",
        "--documents-per-patient",
        "3",
        "--data",
        elsewhere.path().to_str().unwrap(),
        "--seed",
        "7",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(again["sample_patients"], seeded["sample_patients"]);
    let twice = dds(&[
        "seed",
        "--patients",
        "1",
        "--documents-per-patient",
        "1",
        "--data",
        data_arg,
        "--seed",
        "7",
    ]);
    assert_eq!(twice.code, 2, "{}{}", twice.stdout, twice.stderr);
    assert!(twice.stderr.contains("--seed"), "{}", twice.stderr);

    let server = Served::start(data.path());
    let at = at(&server, data.path());
    let first = &patients[0];
    let cpr = first["cpr"].as_str().unwrap();
    let found = dds(&with(&["query"], &with(&at, &["--patient", cpr, "--json"])))
        .ok()
        .json();
    let mut found_ids: Vec<&str> = found["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["unique_id"].as_str().unwrap())
        .collect();
    let mut seeded_ids: Vec<&str> = first["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    found_ids.sort_unstable();
    seeded_ids.sort_unstable();
    assert_eq!(found_ids, seeded_ids);
    assert!(
        found["documents"][0]["author_institutions"][0]
            .as_str()
            .unwrap()
            .contains("&1.2.208.176.1.1&ISO^^^^")
    );
    let out = tempfile::tempdir().unwrap();
    let retrieved = dds(&with(
        &["retrieve"],
        &with(
            &at,
            &[
                "--document",
                seeded_ids[0],
                "--out",
                out.path().to_str().unwrap(),
                "--json",
            ],
        ),
    ))
    .ok()
    .json();
    assert_eq!(retrieved["documents"][0]["matches_registry"], true);
    let text =
        std::fs::read_to_string(retrieved["documents"][0]["path"].as_str().unwrap()).unwrap();
    assert!(text.contains(&format!("<title>Aftale for {cpr}</title>")));
}

#[test]
fn a_backup_taken_while_serving_restores_into_a_working_service() {
    let data = tempfile::tempdir().unwrap();
    let server = Served::start(data.path());
    let at_live = at(&server, data.path());
    let data_arg = data.path().to_str().unwrap();

    // Seed beside the running service, then submit through it (plain and MTOM).
    let seeded = dds(&[
        "seed",
        "--patients",
        "3",
        "--documents-per-patient",
        "2",
        "--data",
        data_arg,
        "--json",
    ])
    .ok()
    .json();
    let seeded_cpr = seeded["sample_patients"][0]["cpr"]
        .as_str()
        .unwrap()
        .to_owned();
    let apd = std::fs::read(sample_path(APD)).unwrap();
    let submitted = dds(&with(
        &["submit"],
        &with(&at_live, &["--json", &sample_path(APD)]),
    ))
    .ok()
    .json();
    let unique_id = submitted["submissions"][0]["documents"][0]["unique_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mtom = dds(&with(
        &["submit"],
        &with(
            &at_live,
            &[
                "--json",
                &sample_path("iti-41/pnr-single-apd-mtom.multipart"),
            ],
        ),
    ))
    .ok()
    .json();
    assert_eq!(mtom["submissions"][0]["status"], "Success", "{mtom}");

    // Back up while the service runs.
    let backup = tempfile::tempdir().unwrap();
    let backup_dir = backup.path().join("b");
    let backup_arg = backup_dir.to_str().unwrap();
    let manifest = dds(&["backup", "--data", data_arg, "--to", backup_arg, "--json"])
        .ok()
        .json();
    let databases: Vec<&str> = manifest["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for db in ["consent.sqlite", "minlog.sqlite", "registry.sqlite"] {
        assert!(databases.contains(&db), "{manifest}");
    }
    // 6 seeded appointments, the sample appointment (the prepared MTOM request carries the same
    // bytes: content addressing keeps one file).
    assert_eq!(manifest["documents"], 7, "{manifest}");
    assert_eq!(manifest["sts"].as_array().unwrap().len(), 2);
    let again = dds(&["backup", "--data", data_arg, "--to", backup_arg]);
    assert_eq!(again.code, 2, "a backup never overwrites another");

    // The service keeps working after the snapshot; stop it.
    dds(&with(
        &["query"],
        &with(&at_live, &["--patient", "0101700013"]),
    ))
    .ok();
    drop(server);

    // Restore into a new data directory; a non-empty one only with --force.
    let restored = tempfile::tempdir().unwrap();
    let restored_arg = restored.path().to_str().unwrap();
    let out = dds(&[
        "restore",
        "--from",
        backup_arg,
        "--data",
        restored_arg,
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(out["documents"], 7);
    let refused = dds(&["restore", "--from", backup_arg, "--data", restored_arg]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    dds(&[
        "restore",
        "--from",
        backup_arg,
        "--data",
        restored_arg,
        "--force",
    ])
    .ok();
    let unfinished = tempfile::tempdir().unwrap();
    let no_manifest = dds(&[
        "restore",
        "--from",
        unfinished.path().to_str().unwrap(),
        "--data",
        restored.path().join("z").to_str().unwrap(),
    ]);
    assert_eq!(no_manifest.code, 2);

    // A service on the restored directory finds and returns the same documents; the restored
    // STS still signs cards it trusts.
    let server = Served::start(restored.path());
    let at_restored = at(&server, restored.path());
    let found = dds(&with(
        &["query"],
        &with(&at_restored, &["--patient", "0101700013", "--json"]),
    ))
    .ok()
    .json();
    assert_eq!(found["documents"].as_array().unwrap().len(), 2, "{found}");
    let seeded_found = dds(&with(
        &["query"],
        &with(&at_restored, &["--patient", &seeded_cpr, "--json"]),
    ))
    .ok()
    .json();
    assert_eq!(seeded_found["documents"].as_array().unwrap().len(), 2);
    let piped = dds(&with(
        &["retrieve"],
        &with(&at_restored, &["--document", &unique_id, "--out", "-"]),
    ))
    .ok();
    assert_eq!(piped.raw_stdout, apd);
}

#[test]
fn every_command_documents_all_its_flags() {
    let connect = [
        "--url",
        "--data",
        "--card",
        "--role",
        "--cpr",
        "--org-sor",
        "--org-cvr",
        "--timeout",
        "--json",
    ];
    let commands: &[(&str, &[&str])] = &[
        (
            "submit",
            &[
                "--patient",
                "--title",
                "--type-code",
                "--type-name",
                "--format-code",
                "--mime-type",
                "--author-institution",
                "--author-institution-name",
                "--author-person",
                "--author-role",
                "--legal-authenticator",
                "--event-code",
                "--creation-time",
                "--service-start",
                "--service-stop",
                "--facility-type",
                "--practice-setting",
                "--source-id",
                "--language",
                "--inline",
                "Exit status",
            ],
        ),
        (
            "query",
            &[
                "--patient",
                "--status",
                "--type",
                "--query-id",
                "--param",
                "--return-type",
                "Exit status",
            ],
        ),
        (
            "retrieve",
            &[
                "--document",
                "--repository",
                "--out",
                "--inline",
                "Exit status",
            ],
        ),
        (
            "seed",
            &[
                "--patients",
                "--documents-per-patient",
                "--data",
                "--config",
                "--seed",
                "--concurrency",
                "--json",
            ],
        ),
        ("backup", &["--data", "--to", "--json"]),
        ("restore", &["--from", "--data", "--force", "--json"]),
    ];
    for (command, flags) in commands {
        let help = dds(&["help", command]).ok();
        let client = matches!(*command, "submit" | "query" | "retrieve");
        let all = flags
            .iter()
            .chain(if client { connect.iter() } else { [].iter() });
        for flag in all {
            assert!(
                help.stdout.contains(flag),
                "`dds help {command}` does not mention {flag}:\n{}",
                help.stdout
            );
        }
    }
    let top = dds(&["--help"]).ok();
    for command in ["submit", "query", "retrieve", "seed", "backup", "restore"] {
        assert!(top.stdout.contains(command), "{}", top.stdout);
    }
}

#[test]
fn backup_refuses_a_service_on_postgresql_and_points_to_pg_dump() {
    let data = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    let to_path = to.path().join("backup");
    let run = dds(&[
        "backup",
        "--data",
        data.path().to_str().unwrap(),
        "--to",
        to_path.to_str().unwrap(),
        "--database-url",
        "postgres://dds:s3cret@db:5432/dds",
    ]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("pg_dump"), "{}", run.stderr);
    assert!(
        run.stderr.contains("postgres://dds:***@db:5432/dds"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    assert!(!to_path.exists(), "nothing written");
}

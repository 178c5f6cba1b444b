//! The README's quickstart, run as written: the first `sh` block under "## Quickstart" is
//! executed by bash in a scratch directory that looks like a checkout after
//! `cargo build --release` (`target/release/dds` is this build's binary, `samples/` the repo's).
//!
//! Two things differ from a newcomer's terminal, and only these: `cargo` is a shell function
//! that does nothing (the binary is already built; a release build inside a test would take
//! minutes), and the port 8080 is replaced by a free one, so the test cannot collide with a
//! service already running on the machine.
use std::path::Path;
use std::process::Command;

fn quickstart_block(readme: &str) -> String {
    let section = &readme[readme
        .find("## Quickstart")
        .expect("README has a Quickstart")..];
    let start = section
        .find("```sh\n")
        .expect("the Quickstart has an sh block")
        + "```sh\n".len();
    let end = start + section[start..].find("```").expect("the sh block ends");
    section[start..end].to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_readme_quickstart_runs_as_written() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let block = quickstart_block(&readme);
    for step in [
        "dds seed",
        "dds serve",
        "dds submit",
        "dds query",
        "dds retrieve",
        "/minlog/",
    ] {
        assert!(
            block.contains(step),
            "the quickstart no longer shows {step}"
        );
    }

    let checkout = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(checkout.path().join("target/release")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_dds"),
        checkout.path().join("target/release/dds"),
    )
    .unwrap();
    std::os::unix::fs::symlink(repo.join("samples"), checkout.path().join("samples")).unwrap();

    let port = free_port();
    let script = format!(
        "set -euo pipefail\n\
         cargo() {{ :; }}\n\
         # Whatever happens, the background service does not outlive the test.\n\
         trap 'kill %1 2>/dev/null || true' EXIT\n\
         {}",
        block.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(checkout.path())
        .env("DDS_LISTEN", format!("127.0.0.1:{port}"))
        .env("DDS_URL", format!("http://127.0.0.1:{port}"))
        .env_remove("DDS_DATA")
        .env_remove("DDS_CONFIG")
        .env_remove("DDS_BRS_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = std::fs::read_to_string(checkout.path().join("dds.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "the quickstart failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- dds.log\n{log}"
    );

    // The document Jens's doctor found was retrieved byte for byte.
    let original =
        std::fs::read(repo.join("samples/documents/apd-0101700013-ekkokardiografi.xml")).unwrap();
    let retrieved: Vec<_> = std::fs::read_dir(checkout.path().join("retrieved"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(retrieved, vec![original], "{stdout}");

    // Jens's log, as the quickstart printed it, newest first: the retrieval, three queries (the
    // two `dds query` and the one `dds retrieve` makes to find the document's repository) and
    // the registration.
    let json_start = stdout.find("{\"items\"").expect("the log JSON was printed");
    let json_end = json_start
        + stdout[json_start..]
            .find('\n')
            .unwrap_or(stdout.len() - json_start);
    let entries: serde_json::Value = serde_json::from_str(&stdout[json_start..json_end]).unwrap();
    let actions: Vec<&str> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["retrieve", "query", "query", "query", "register"],
        "{stdout}"
    );
    let page = std::fs::read_to_string(checkout.path().join("my-log.html")).unwrap();
    assert!(page.contains("<h1>Min log</h1>"), "{page}");
    assert!(page.contains("Hentning"), "{page}");
    assert!(log.contains("listening on http://"), "{log}");
}

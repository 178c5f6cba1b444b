//! `dds validate` over every sample: valid ones are accepted (exit 0), each invalid one gets
//! the exit status, rules and error codes recorded beside it in NAME.expected.toml.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, serde::Deserialize)]
struct Expected {
    error_codes: Vec<String>,
    parse_error: bool,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    rules: Vec<String>,
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn validate(path: &Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dds"))
        .arg("validate")
        .arg(path)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn files_in(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_valid_sample_is_accepted() {
    let mut checked = 0;
    for folder in [
        "iti-18", "iti-41", "iti-42", "iti-43", "iti-51", "iti-57", "iti-62",
    ] {
        for file in files_in(&samples().join(folder), &["xml", "multipart"]) {
            let (status, stdout, stderr) = validate(&file);
            assert_eq!(
                status,
                0,
                "{} should be accepted:\n{stdout}{stderr}",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} valid samples found");
}

#[test]
fn every_invalid_sample_gets_its_recorded_answer() {
    let mut checked = 0;
    for file in files_in(&samples().join("invalid"), &["xml"]) {
        let expected_path = file.with_extension("expected.toml");
        let expected: Expected =
            toml::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        let (status, stdout, stderr) = validate(&file);
        let shown = format!("{}:\n{stdout}{stderr}", file.display());
        if expected.parse_error {
            assert_eq!(status, 2, "must not parse: {shown}");
        } else if expected.rules.is_empty() {
            // Caught by the registry or repository (they need stored data or the document
            // bytes); metadata validation alone passes it. Their own tests cover it.
            assert_eq!(status, 0, "{shown}");
        } else {
            let warning_only = expected.severity.as_deref() == Some("warning");
            assert_eq!(status, if warning_only { 0 } else { 1 }, "{shown}");
            for rule in &expected.rules {
                assert!(
                    stdout.contains(rule.as_str()),
                    "rule {rule} missing: {shown}"
                );
            }
            for code in &expected.error_codes {
                assert!(
                    stdout.contains(code.as_str()),
                    "code {code} missing: {shown}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} invalid samples found");
}

#[test]
fn unreadable_file_exits_2() {
    let (status, _, stderr) = validate(Path::new("/nonexistent/file.xml"));
    assert_eq!(status, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");
}

//! `dds retrieve --document UNIQUE_ID…`: ITI-43 Retrieve Document Set over MTOM, the
//! documents written to files as they stream in.
//!
//! The repositoryUniqueId is `--repository`, else the one the registry holds for the document
//! (an ITI-18 GetDocuments first), else the service's development default. The request goes as
//! MTOM so the repository streams its answer; each attachment is written to a temporary file
//! beside its target while its SHA-1 is computed, and renamed into place once the answer is
//! complete and names it.
//!
//! Invariants: a target file appears only complete (rename after the whole part arrived); a
//! failed run leaves no temporary files; the SHA-1 printed is of the bytes written, and when
//! the registry's metadata was read it is compared with the registry's hash and size.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use identity::Role;
use serde::Serialize;
use sha1::{Digest, Sha1};
use soap::{ContentId, ContentType, Event, MultipartLimits, MultipartReader};
use xds_model::message::{
    DocumentContent, DocumentRequest, Message, RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
};
use xds_model::vocabulary::{action, response_status};

use super::client::{self, Client, ClientError, Endpoint, Framing};
use super::output::{self, ErrorOut, Table};
use super::{ConnectArgs, EXIT_OK, EXIT_REFUSED, card, query};

/// Largest retrieved document, in bytes. Documents stream to disk, never into memory, so this
/// only bounds the disk one answer can fill; it is far above the service's own 256 MiB default
/// so that a service configured for larger documents can still be read.
pub const RETRIEVED_DOCUMENT_BYTES_MAX: u64 = 64 * 1024 * 1024 * 1024;
/// Largest root part (the answer's envelope) of an MTOM answer: metadata only.
const ROOT_PART_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Options of `dds retrieve`.
#[derive(Debug, clap::Args)]
#[command(after_help = RETRIEVE_EXAMPLES)]
pub struct RetrieveArgs {
    /// uniqueId of a document to retrieve; repeatable.
    #[arg(long = "document", value_name = "UNIQUE_ID", required = true)]
    pub documents: Vec<String>,
    /// repositoryUniqueId of the repository holding the documents [default: the one the
    /// registry names for each document, else 1.2.208.176.43210.8.10.11].
    #[arg(long, value_name = "OID")]
    pub repository: Option<String>,
    /// Where to write: a directory (files named UNIQUE_ID.EXT), a file (one document), or - for
    /// standard output (one document; the report then goes to standard error) [default: the
    /// current directory].
    #[arg(long, value_name = "FILE|DIR|-")]
    pub out: Option<PathBuf>,
    /// Ask for a plain SOAP answer with the documents inline as base64 instead of MTOM.
    #[arg(long)]
    pub inline: bool,
    #[command(flatten, next_help_heading = "Service and ID card")]
    pub connect: ConnectArgs,
}

const RETRIEVE_EXAMPLES: &str = "Examples:
  dds retrieve --document 2.25.297860445735985469057769323429578268365
  dds retrieve --document 2.25.1 --document 2.25.2 --out ./documents/ --json
  dds retrieve --document 2.25.1 --out - > appointment.xml

Exit status: 0 when every document was retrieved (and matches the registry's hash), 1 when the
service refused some or all of them, 2 when it could not be asked.";

#[derive(Debug, Serialize)]
pub struct RetrievedOut {
    pub unique_id: String,
    pub repository_unique_id: String,
    pub mime_type: String,
    pub size: u64,
    pub sha1: String,
    /// Where the bytes went; `-` for standard output.
    pub path: String,
    /// Whether hash and size equal the registry's metadata (`None`: not looked up).
    pub matches_registry: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct RetrieveOut {
    pub status: String,
    pub status_urn: String,
    pub errors: Vec<ErrorOut>,
    pub documents: Vec<RetrievedOut>,
}

pub fn run(args: RetrieveArgs) -> i32 {
    super::run_command("retrieve", retrieve(args))
}

/// What the registry says about a document: where it is and what its bytes must hash to.
#[derive(Debug, Clone)]
struct Expected {
    repository_unique_id: Option<String>,
    hash: Option<String>,
    size: Option<u64>,
}

async fn retrieve(args: RetrieveArgs) -> anyhow::Result<i32> {
    let target = Target::of(args.out.as_deref(), args.documents.len())?;
    let card = card::card_for(&args.connect, Role::Doctor, None)?;
    let client = Client::new(&args.connect.url, card, args.connect.timeout())?;
    let expected = if args.repository.is_some() {
        HashMap::new()
    } else {
        look_up(&client, &args.documents).await
    };
    let request = RetrieveDocumentSetRequest {
        document_requests: args
            .documents
            .iter()
            .map(|unique_id| DocumentRequest {
                home_community_id: None,
                repository_unique_id: args
                    .repository
                    .clone()
                    .or_else(|| {
                        expected
                            .get(unique_id)
                            .and_then(|e| e.repository_unique_id.clone())
                    })
                    .unwrap_or_else(|| crate::config::REPOSITORY_UNIQUE_ID_DEFAULT.to_owned()),
                document_unique_id: unique_id.clone(),
            })
            .collect(),
    };
    let envelope = client.envelope(Endpoint::Repository, action::RETRIEVE, &request.to_xml());
    let framing = if args.inline {
        Framing::Plain
    } else {
        Framing::Mtom(Vec::new())
    };
    let framed = Client::frame(action::RETRIEVE, &envelope, framing)?;
    let response = client.send(Endpoint::Repository, framed).await?;
    let staging = target.staging_dir()?;
    let (answer, mut parts) = read_retrieve_answer(response, &staging).await?;
    let mut out = RetrieveOut {
        status: output::short_status(&answer.registry_response.status).to_owned(),
        status_urn: answer.registry_response.status.clone(),
        errors: output::errors_of(&answer.registry_response),
        documents: Vec::new(),
    };
    let mut mismatch = false;
    for document in &answer.document_responses {
        let mut staged = match &document.document {
            DocumentContent::Include { href } => {
                let id = ContentId::from_cid_url(href)
                    .with_context(|| format!("the answer names document bytes {href:?}"))?;
                parts.remove(&id).with_context(|| {
                    format!(
                        "the answer names part {href} for {}, but sent no such part",
                        document.document_unique_id
                    )
                })?
            }
            DocumentContent::Inline(bytes) => Staged::write(&staging, bytes)?,
        };
        let path = target.place(
            &mut staged,
            &document.document_unique_id,
            &document.mime_type,
        )?;
        let matches_registry = expected.get(&document.document_unique_id).and_then(|e| {
            let hash = e.hash.as_ref()?;
            Some(
                hash.eq_ignore_ascii_case(&staged.sha1)
                    && e.size.is_none_or(|size| size == staged.size),
            )
        });
        mismatch |= matches_registry == Some(false);
        out.documents.push(RetrievedOut {
            unique_id: document.document_unique_id.clone(),
            repository_unique_id: document.repository_unique_id.clone(),
            mime_type: document.mime_type.clone(),
            size: staged.size,
            sha1: staged.sha1.clone(),
            path,
            matches_registry,
        });
    }
    if args.connect.json {
        if matches!(target, Target::Stdout) {
            eprintln!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            output::print_json(&out)?;
        }
    } else {
        print_retrieve(&out, matches!(target, Target::Stdout));
    }
    if mismatch {
        eprintln!("dds retrieve: a document's SHA-1 or size differs from the registry's metadata");
    }
    Ok(if out.status_urn == response_status::SUCCESS && !mismatch {
        EXIT_OK
    } else {
        EXIT_REFUSED
    })
}

/// The registry's metadata of the documents (GetDocuments). A failed look-up is not fatal:
/// the retrieval then goes to the default repository and the repository answers for itself.
async fn look_up(client: &Client, unique_ids: &[String]) -> HashMap<String, Expected> {
    let ids: Vec<&str> = unique_ids.iter().map(String::as_str).collect();
    match query::ask(client, &query::get_documents(&ids)).await {
        Ok(answer) => answer
            .documents
            .into_iter()
            .map(|d| {
                (
                    d.unique_id.clone(),
                    Expected {
                        repository_unique_id: d.repository_unique_id,
                        hash: d.hash,
                        size: d.size,
                    },
                )
            })
            .collect(),
        Err(error) => {
            eprintln!(
                "dds retrieve: cannot look the documents up in the registry ({error:#}); asking repository {}",
                crate::config::REPOSITORY_UNIQUE_ID_DEFAULT
            );
            HashMap::new()
        }
    }
}

fn print_retrieve(out: &RetrieveOut, to_stdout: bool) {
    let mut text = format!("status: {}\n", out.status);
    if !out.documents.is_empty() {
        let mut table = Table::new(&["uniqueId", "mimeType", "size", "SHA-1", "registry", "file"]);
        for d in &out.documents {
            table.row(vec![
                d.unique_id.clone(),
                d.mime_type.clone(),
                d.size.to_string(),
                d.sha1.clone(),
                match d.matches_registry {
                    Some(true) => "matches".into(),
                    Some(false) => "DIFFERS".into(),
                    None => "-".into(),
                },
                d.path.clone(),
            ]);
        }
        text.push('\n');
        text.push_str(&table.render());
    }
    if to_stdout {
        // The document itself is on stdout.
        eprint!("{text}{}", output::render_errors(&out.errors));
    } else {
        print!("{text}");
        output::print_errors(&out.errors);
    }
}

/// A document's bytes in a temporary file, hashed; removed when dropped unless placed.
#[derive(Debug)]
struct Staged {
    path: PathBuf,
    size: u64,
    sha1: String,
    placed: bool,
}

impl Staged {
    fn write(dir: &Path, bytes: &[u8]) -> anyhow::Result<Staged> {
        let mut writer = StagedWriter::create(dir)?;
        writer.write(bytes)?;
        writer.finish()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A temporary file being written, with the SHA-1 of what was written so far; removed when
/// dropped before [`StagedWriter::finish`].
struct StagedWriter {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    size: u64,
    hasher: Sha1,
    finished: bool,
}

impl StagedWriter {
    fn create(dir: &Path) -> anyhow::Result<StagedWriter> {
        let path = dir.join(format!(".dds-retrieve-{}.part", uuid::Uuid::new_v4()));
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(StagedWriter {
            file: std::io::BufWriter::with_capacity(64 * 1024, file),
            path,
            size: 0,
            hasher: Sha1::new(),
            finished: false,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        if self.size > RETRIEVED_DOCUMENT_BYTES_MAX {
            bail!(
                "a document is larger than {RETRIEVED_DOCUMENT_BYTES_MAX} bytes; stopped reading"
            );
        }
        self.file
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    fn finish(mut self) -> anyhow::Result<Staged> {
        self.file
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.finished = true;
        Ok(Staged {
            path: self.path.clone(),
            size: self.size,
            sha1: hex::encode(self.hasher.finalize_reset()),
            placed: false,
        })
    }
}

impl Drop for StagedWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads an ITI-43 answer: MTOM streamed part by part to staged files, or plain SOAP whole.
async fn read_retrieve_answer(
    response: reqwest::Response,
    staging: &Path,
) -> anyhow::Result<(RetrieveDocumentSetResponse, HashMap<ContentId, Staged>)> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let related = match content_type.as_deref().map(ContentType::parse) {
        Some(Ok(ContentType::Multipart(related))) => related,
        _ => {
            let answer = client::read_answer(response).await?;
            return match answer {
                Message::RetrieveDocumentSetResponse(answer) => Ok((answer, HashMap::new())),
                _ => bail!("the repository answered with another kind of body"),
            };
        }
    };
    let limits = MultipartLimits {
        root_part_bytes_max: ROOT_PART_BYTES_MAX,
        attachment_bytes_max: RETRIEVED_DOCUMENT_BYTES_MAX,
        ..MultipartLimits::default()
    };
    let mut reader = MultipartReader::new(&related.boundary, related.start.clone(), limits)
        .map_err(|e| ClientError::BadAnswer(format!("MTOM framing: {e}")))?;
    let mut root: Option<Vec<u8>> = None;
    let mut parts: HashMap<ContentId, Staged> = HashMap::new();
    enum Current {
        Root(Vec<u8>),
        Part(ContentId, StagedWriter),
        Skipped,
    }
    let mut current: Option<Current> = None;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ClientError::BadAnswer(client::error_chain(&e)))?;
        let mut feed = reader.feed(&chunk);
        while let Some(event) = feed
            .next_event()
            .map_err(|e| ClientError::BadAnswer(format!("MTOM framing: {e}")))?
        {
            match event {
                Event::PartStart(start) => {
                    current = Some(if start.is_root {
                        Current::Root(Vec::new())
                    } else if let Some(id) = start.headers.content_id {
                        Current::Part(id, StagedWriter::create(staging)?)
                    } else {
                        Current::Skipped
                    });
                }
                Event::PartData(bytes) => match current.as_mut() {
                    Some(Current::Root(data)) => data.extend_from_slice(bytes),
                    Some(Current::Part(_, writer)) => writer.write(bytes)?,
                    _ => {}
                },
                Event::PartEnd => match current.take() {
                    Some(Current::Root(data)) => root = Some(data),
                    Some(Current::Part(id, writer)) => {
                        parts.insert(id, writer.finish()?);
                    }
                    _ => {}
                },
                Event::End => {}
            }
        }
    }
    reader
        .finish()
        .map_err(|e| ClientError::BadAnswer(format!("MTOM framing: {e}")))?;
    let root =
        root.ok_or_else(|| ClientError::BadAnswer("MTOM answer without a root part".into()))?;
    match client::parse_answer(&root, status)? {
        Message::RetrieveDocumentSetResponse(answer) => Ok((answer, parts)),
        _ => bail!("the repository answered with another kind of body"),
    }
}

/// Where retrieved documents go.
#[derive(Debug)]
enum Target {
    Stdout,
    Dir(PathBuf),
    File(PathBuf),
}

impl Target {
    fn of(out: Option<&Path>, count: usize) -> anyhow::Result<Target> {
        let Some(out) = out else {
            return Ok(Target::Dir(PathBuf::from(".")));
        };
        if out == Path::new("-") {
            if count != 1 {
                bail!("--out - writes one document to standard output; {count} were asked for");
            }
            return Ok(Target::Stdout);
        }
        let names_a_dir = out.is_dir() || out.to_string_lossy().ends_with('/');
        if !names_a_dir && count > 1 && out.exists() {
            bail!(
                "--out {} is a file, but {count} documents were asked for: give a directory",
                out.display()
            );
        }
        if names_a_dir || count > 1 {
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create the directory {}", out.display()))?;
            return Ok(Target::Dir(out.to_owned()));
        }
        Ok(Target::File(out.to_owned()))
    }

    /// Where temporary files go: beside their targets, so that placing one is a rename.
    fn staging_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(match self {
            Target::Dir(dir) => dir.clone(),
            Target::File(file) => match file.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => {
                    std::fs::create_dir_all(parent).with_context(|| {
                        format!("cannot create the directory {}", parent.display())
                    })?;
                    parent.to_owned()
                }
                _ => PathBuf::from("."),
            },
            Target::Stdout => std::env::temp_dir(),
        })
    }

    /// Moves a staged document to its place; returns where it went.
    fn place(
        &self,
        staged: &mut Staged,
        unique_id: &str,
        mime_type: &str,
    ) -> anyhow::Result<String> {
        let destination = match self {
            Target::Stdout => {
                let mut file = std::fs::File::open(&staged.path)
                    .with_context(|| format!("cannot read {}", staged.path.display()))?;
                let stdout = std::io::stdout();
                let mut lock = stdout.lock();
                std::io::copy(&mut file, &mut lock).context("cannot write to standard output")?;
                lock.flush().context("cannot write to standard output")?;
                return Ok("-".to_owned());
            }
            Target::Dir(dir) => dir.join(file_name(unique_id, mime_type)),
            Target::File(file) => file.clone(),
        };
        std::fs::rename(&staged.path, &destination)
            .with_context(|| format!("cannot write {}", destination.display()))?;
        staged.placed = true;
        Ok(destination.display().to_string())
    }
}

/// `UNIQUE_ID.EXT`, with characters that cannot be in a file name replaced.
fn file_name(unique_id: &str, mime_type: &str) -> String {
    let stem: String = unique_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim_start_matches('.');
    let extension = match mime_type.split(';').next().unwrap_or("").trim() {
        "text/xml" | "application/xml" | "application/hl7-v3+xml" => "xml",
        "text/plain" => "txt",
        "application/pdf" => "pdf",
        "text/html" => "html",
        "application/json" | "application/fhir+json" => "json",
        _ => "bin",
    };
    format!("{stem}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("2.25.123", "text/xml"), "2.25.123.xml");
        assert_eq!(
            file_name("../../etc/passwd", "text/plain"),
            "_.._etc_passwd.txt"
        );
        assert_eq!(file_name("1.2", "application/x-unknown"), "1.2.bin");
    }

    #[test]
    fn staged_files_hash_and_vanish_unless_placed() {
        let dir = tempfile::tempdir().unwrap();
        let staged = Staged::write(dir.path(), b"abc").unwrap();
        assert_eq!(staged.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(staged.size, 3);
        let path = staged.path.clone();
        assert!(path.exists());
        drop(staged);
        assert!(!path.exists());
    }
}

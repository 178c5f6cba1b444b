//! `dds validate FILE`: check a SOAP message or metadata file against the XDS + DK profile.
//!
//! Accepts a SOAP 1.2 envelope, an MTOM message (`FILE.multipart` with its Content-Type in
//! `--content-type` or a sibling `FILE.content-type`), a bare ebRS body (`SubmitObjectsRequest`,
//! `AdhocQueryRequest`, …) or a bare `rim:RegistryObjectList`. The transaction is taken from
//! `wsa:Action` or the body's root element unless `--transaction` names it.
//!
//! Exit status: 0 when no finding is at `reject`, 1 when one is, 2 when the file cannot be
//! read or parsed (INTERFACE.md "Command line").

use std::path::{Path, PathBuf};

use soap::{ContentType, EnvelopeOptions, Event, MultipartLimits, MultipartReader};
use xds_model::message::Message;
use xds_model::vocabulary::action;
use xds_validate::{Report, Transaction, ValidationConfig};

/// Options of `dds validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The file to check: a SOAP envelope, an MTOM multipart body, an ebRS body or a
    /// rim:RegistryObjectList.
    pub file: PathBuf,
    /// The transaction whose rules apply (iti-18, iti-41, iti-42, iti-43, iti-57, iti-62);
    /// by default taken from wsa:Action or the body's root element.
    #[arg(long)]
    pub transaction: Option<String>,
    /// Content-Type of an MTOM file; by default read from FILE.content-type beside it.
    #[arg(long)]
    pub content_type: Option<String>,
    /// A dds.toml whose [validation] section sets rule severities.
    #[arg(long, env = "DDS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the findings as JSON instead of one line each.
    #[arg(long)]
    pub json: bool,
}

/// Why a file could not be checked at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is an MTOM body but no Content-Type was given (--content-type or {path}.content-type)"
    )]
    MissingContentType { path: PathBuf },
    #[error("Content-Type is not usable: {0}")]
    ContentType(#[from] soap::ContentTypeError),
    #[error("the MTOM body is malformed: {0}")]
    Multipart(#[from] soap::MultipartError),
    #[error("the MTOM body has no root part")]
    NoRootPart,
    #[error("the SOAP envelope is not acceptable: {0}")]
    Envelope(#[from] soap::EnvelopeError),
    #[error("the XDS message does not parse: {0}")]
    Parse(#[from] xds_model::ParseError),
    #[error("--transaction {0:?} is not one of iti-18, iti-41, iti-42, iti-43, iti-57, iti-62")]
    UnknownTransaction(String),
    #[error("{0}")]
    Config(String),
}

/// Runs the command; returns the process exit status.
pub fn run(args: ValidateArgs) -> i32 {
    match check_file(&args) {
        Ok(report) => {
            print_report(&report, args.json);
            i32::from(report.rejects())
        }
        Err(error) => {
            eprintln!("dds validate: {error}");
            2
        }
    }
}

/// Reads, parses and validates the file.
pub fn check_file(args: &ValidateArgs) -> Result<Report, ValidateError> {
    let config = match &args.config {
        None => ValidationConfig::default(),
        Some(path) => load_validation_config(path)?,
    };
    let forced = match &args.transaction {
        None => None,
        Some(key) => Some(
            Transaction::from_key(key)
                .ok_or_else(|| ValidateError::UnknownTransaction(key.clone()))?,
        ),
    };
    let bytes = read(&args.file)?;
    let xml = if is_multipart(&args.file, &bytes) {
        let content_type = match &args.content_type {
            Some(value) => value.clone(),
            None => {
                let sibling = PathBuf::from(format!("{}.content-type", strip_ext(&args.file)));
                match std::fs::read_to_string(&sibling) {
                    Ok(value) => value.trim().to_owned(),
                    Err(_) => {
                        return Err(ValidateError::MissingContentType {
                            path: args.file.clone(),
                        });
                    }
                }
            }
        };
        root_part(&content_type, &bytes)?
    } else {
        bytes
    };
    validate_xml(&xml, forced, &config)
}

/// Validates one XML document: an envelope, an ebRS body or a RegistryObjectList.
pub fn validate_xml(
    xml: &[u8],
    forced: Option<Transaction>,
    config: &ValidationConfig,
) -> Result<Report, ValidateError> {
    if looks_like_envelope(xml) {
        let envelope = soap::parse_envelope(xml, &EnvelopeOptions::default())?;
        let message = crate::edge::parse_body(&envelope.body)?;
        let transaction =
            forced.or_else(|| transaction_of_action(envelope.addressing.action.as_deref()));
        return Ok(validate_message(&message, transaction, config));
    }
    match xds_model::message::parse_message(xml) {
        Ok(message) => Ok(validate_message(&message, forced, config)),
        Err(message_error) => match xds_model::codec::parse_registry_object_list(xml) {
            Ok(list) => Ok(xds_validate::validate_submission(
                &list,
                forced.unwrap_or(Transaction::Iti42),
                config,
            )),
            // The body-level error says more about what was meant than the list's.
            Err(_) => Err(message_error.into()),
        },
    }
}

fn validate_message(
    message: &Message,
    transaction: Option<Transaction>,
    config: &ValidationConfig,
) -> Report {
    match message {
        Message::SubmitObjectsRequest(request) => xds_validate::validate_submission(
            &request.registry_object_list,
            transaction.unwrap_or(Transaction::Iti42),
            config,
        ),
        Message::ProvideAndRegisterDocumentSetRequest(request) => {
            let ids: Vec<&str> = request.documents.iter().map(|d| d.id.as_str()).collect();
            xds_validate::validate_provide_and_register(
                &request.submit_objects_request.registry_object_list,
                &ids,
                config,
            )
        }
        Message::AdhocQueryRequest(request) => {
            xds_validate::validate_adhoc_query_request(request, config)
        }
        Message::AdhocQueryResponse(response) => xds_validate::validate_submission(
            &response.registry_object_list,
            Transaction::Iti18,
            config,
        ),
        Message::RemoveObjectsRequest(request) => {
            let list = xds_model::rim::RegistryObjectList {
                objects: request
                    .object_refs
                    .iter()
                    .flatten()
                    .cloned()
                    .map(xds_model::rim::Identifiable::ObjectRef)
                    .collect(),
            };
            xds_validate::validate_submission(&list, Transaction::Iti62, config)
        }
        // Retrieve messages and plain registry responses carry no metadata to check.
        Message::RetrieveDocumentSetRequest(_)
        | Message::RetrieveDocumentSetResponse(_)
        | Message::RegistryResponse(_) => Report::default(),
    }
}

fn transaction_of_action(request_action: Option<&str>) -> Option<Transaction> {
    Some(match request_action? {
        action::REGISTRY_STORED_QUERY | action::MULTI_PATIENT_QUERY => Transaction::Iti18,
        action::PROVIDE_AND_REGISTER => Transaction::Iti41,
        action::REGISTER => Transaction::Iti42,
        action::RETRIEVE => Transaction::Iti43,
        action::UPDATE => Transaction::Iti57,
        action::DELETE => Transaction::Iti62,
        _ => return None,
    })
}

fn print_report(report: &Report, json: bool) {
    if json {
        match serde_json::to_string_pretty(&report.findings) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("dds validate: cannot write JSON: {error}"),
        }
        return;
    }
    for finding in &report.findings {
        println!("{finding}");
    }
    let rejects = report
        .findings
        .iter()
        .filter(|f| f.severity == xds_validate::Severity::Reject)
        .count();
    println!(
        "{} finding(s), {} at reject: {}",
        report.findings.len(),
        rejects,
        if rejects == 0 { "accepted" } else { "rejected" }
    );
}

fn read(path: &Path) -> Result<Vec<u8>, ValidateError> {
    std::fs::read(path).map_err(|source| ValidateError::Read {
        path: path.to_owned(),
        source,
    })
}

fn load_validation_config(path: &Path) -> Result<ValidationConfig, ValidateError> {
    #[derive(serde::Deserialize)]
    struct OnlyValidation {
        #[serde(default)]
        validation: ValidationConfig,
    }
    let text = std::fs::read_to_string(path).map_err(|source| ValidateError::Read {
        path: path.to_owned(),
        source,
    })?;
    // Other sections of dds.toml are the service's; only [validation] matters here.
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| ValidateError::Config(format!("{}: {e}", path.display())))?;
    let only = toml::Table::from_iter(table.into_iter().filter(|(k, _)| k == "validation"));
    let parsed: OnlyValidation = toml::Value::Table(only)
        .try_into()
        .map_err(|e| ValidateError::Config(format!("{}: {e}", path.display())))?;
    Ok(parsed.validation)
}

fn is_multipart(path: &Path, bytes: &[u8]) -> bool {
    path.extension().is_some_and(|e| e == "multipart") || bytes.starts_with(b"--")
}

fn strip_ext(path: &Path) -> String {
    path.with_extension("").display().to_string()
}

fn looks_like_envelope(xml: &[u8]) -> bool {
    let head = &xml[..xml.len().min(4096)];
    memchr::memmem::find(head, b"Envelope").is_some()
        && memchr::memmem::find(head, soap::ns::SOAP12.as_bytes())
            .or_else(|| memchr::memmem::find(head, soap::ns::SOAP11.as_bytes()))
            .is_some()
}

/// The root part of an MTOM body (attachments are not needed to check metadata).
fn root_part(content_type: &str, body: &[u8]) -> Result<Vec<u8>, ValidateError> {
    let ContentType::Multipart(related) = ContentType::parse(content_type)? else {
        return Ok(body.to_vec());
    };
    let mut reader = MultipartReader::new(
        &related.boundary,
        related.start.clone(),
        MultipartLimits::default(),
    )?;
    let mut root = None;
    let mut in_root = false;
    {
        let mut feed = reader.feed(body);
        while let Some(event) = feed.next_event()? {
            match event {
                Event::PartStart(start) => {
                    in_root = start.is_root;
                    if in_root {
                        root = Some(Vec::new());
                    }
                }
                Event::PartData(bytes) if in_root => {
                    if let Some(root) = root.as_mut() {
                        root.extend_from_slice(bytes);
                    }
                }
                Event::PartEnd => in_root = false,
                _ => {}
            }
        }
    }
    reader.finish()?;
    root.ok_or(ValidateError::NoRootPart)
}

//! `dds submit FILE...`: put documents into the service (ITI-41), or send prepared requests.
//!
//! Each FILE is one of:
//! - a SOAP request: a plain envelope, or an MTOM message (`NAME.multipart` with its
//!   Content-Type in `NAME.content-type`, as in `samples/`). It is sent as it is, with the ID
//!   card put first into its header (unless it carries a `wsse:Security` of its own), to the
//!   endpoint its action belongs to; ITI-41, ITI-42, ITI-57 and ITI-62 are accepted;
//! - a bare ebRS request body (`xdsb:ProvideAndRegisterDocumentSetRequest`,
//!   `lcm:SubmitObjectsRequest`, `lcm:RemoveObjectsRequest`): wrapped in an envelope first;
//! - anything else is a document. All documents of one run go into one SubmissionSet with
//!   DK-profile metadata built here ([`super::metadata`]): from the flags, else from what a
//!   CDA document says about itself ([`super::cda`]), else from development defaults. They
//!   travel as MTOM attachments (or inline base64 with `--inline`).
//!
//! Invariant: every request gets fresh ids where this command builds them, so submitting the
//! same document twice gives two DocumentEntries, never a duplicate-uniqueId refusal. Files
//! sent as they are keep their own ids.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use identity::Role;
use serde::Serialize;
use sha1::{Digest, Sha1};
use soap::{ContentId, ContentType, EnvelopeOptions};
use xds_model::message::{
    DocumentContent, Message, ProvideAndRegisterDocumentSetRequest, RegistryResponse,
};
use xds_model::rim::{Identifiable, RegistryObjectList};
use xds_model::vocabulary::{action, dk, response_status};
use xds_model::xds::{Code, DocumentEntry};

use super::cda::{CdaFacts, read_facts};
use super::client::{Attachment, Client, ClientError, Endpoint, Framed, Framing};
use super::metadata::{
    self, APD_TYPE_CODE, DocumentMetadata, IHE_FORMAT_SYSTEM, Institution, MIME_TYPE_SUFFICIENT,
    Patient, SubmissionMetadata,
};
use super::output::{self, ErrorOut, Table};
use super::synthetic::{DEPARTMENTS, HOSPITAL};
use super::{ConnectArgs, EXIT_OK, EXIT_REFUSED, card};

/// Options of `dds submit`.
#[derive(Debug, clap::Args)]
#[command(after_help = SUBMIT_EXAMPLES)]
pub struct SubmitArgs {
    /// Files to submit: documents (CDA XML, text, PDF…), SOAP requests (plain XML, or MTOM as
    /// NAME.multipart with NAME.content-type beside it) or bare ebRS request bodies.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The patient's CPR number (documents) [default: the CDA's recordTarget].
    #[arg(long, value_name = "CPR")]
    pub patient: Option<String>,
    /// Document title [default: the CDA title, else "Aftale for CPR"].
    #[arg(long)]
    pub title: Option<String>,
    /// LOINC typeCode [default: the CDA code, else 39289-4, an appointment].
    #[arg(long, value_name = "LOINC")]
    pub type_code: Option<String>,
    /// Display name of --type-code.
    #[arg(long, value_name = "TEXT")]
    pub type_name: Option<String>,
    /// formatCode: a MedCom code in 1.2.208.184.100.10, or urn:ihe:iti:xds:2017:mimeTypeSufficient
    /// [default: the APD code for an APD, else mimeTypeSufficient].
    #[arg(long, value_name = "CODE")]
    pub format_code: Option<String>,
    /// mimeType [default: from the file name: text/xml, text/plain, application/pdf].
    #[arg(long, value_name = "TYPE")]
    pub mime_type: Option<String>,
    /// SOR code of the author institution [default: the CDA author's, else a development
    /// hospital department].
    #[arg(long, value_name = "SOR")]
    pub author_institution: Option<String>,
    /// Name of the author institution [default: the CDA's, or the known department's].
    #[arg(long, value_name = "NAME")]
    pub author_institution_name: Option<String>,
    /// Author, "Given Family" [default: the CDA author].
    #[arg(long, value_name = "NAME")]
    pub author_person: Option<String>,
    /// authorRole, e.g. Læge.
    #[arg(long, value_name = "ROLE")]
    pub author_role: Option<String>,
    /// Legal authenticator, "Given Family" [default: the CDA's, else the author].
    #[arg(long, value_name = "NAME")]
    pub legal_authenticator: Option<String>,
    /// SKS eventCode, repeatable, e.g. ALAL02 [default: the CDA's care pathway, else the known
    /// department's].
    #[arg(long, value_name = "SKS")]
    pub event_code: Vec<String>,
    /// creationTime, YYYYMMDDhhmmss in UTC [default: the CDA effectiveTime, else now].
    #[arg(long, value_name = "DTM")]
    pub creation_time: Option<String>,
    /// serviceStartTime (the appointment's start), YYYYMMDDhhmmss in UTC [default: the CDA's].
    #[arg(long, value_name = "DTM")]
    pub service_start: Option<String>,
    /// serviceStopTime, YYYYMMDDhhmmss in UTC [default: the CDA's].
    #[arg(long, value_name = "DTM")]
    pub service_stop: Option<String>,
    /// SNOMED CT healthcareFacilityTypeCode [default: 22232009 hospital].
    #[arg(long, value_name = "SNOMED")]
    pub facility_type: Option<String>,
    /// SNOMED CT practiceSettingCode [default: the known department's].
    #[arg(long, value_name = "SNOMED")]
    pub practice_setting: Option<String>,
    /// The submitting system's OID (XDSSubmissionSet.sourceId).
    #[arg(long, value_name = "OID", default_value = metadata::SOURCE_ID_DEFAULT)]
    pub source_id: String,
    /// languageCode.
    #[arg(long, value_name = "LANG", default_value = "da-DK")]
    pub language: String,
    /// Send documents inline as base64 in a plain SOAP message instead of MTOM attachments.
    #[arg(long)]
    pub inline: bool,
    #[command(flatten, next_help_heading = "Service and ID card")]
    pub connect: ConnectArgs,
}

const SUBMIT_EXAMPLES: &str = "Examples:
  dds submit samples/documents/apd-0101700013-ekkokardiografi.xml
      an appointment (APD): patient, times, author and care pathway come from the document
  dds submit --patient 2512489996 --title 'Praktisk information' note.txt
  dds submit samples/iti-41/pnr-single-apd.xml            a prepared ITI-41 request
  dds submit samples/iti-41/pnr-single-apd-mtom.multipart (with its .content-type beside it)

Exit status: 0 when every submission succeeded, 1 when the service refused one (Failure,
PartialSuccess or a SOAP fault), 2 when a file or the service could not be reached.";

/// What one submission sent and got.
#[derive(Debug, Serialize)]
pub struct SubmissionOut {
    pub files: Vec<String>,
    pub action: String,
    pub url: String,
    pub status: String,
    pub status_urn: String,
    pub errors: Vec<ErrorOut>,
    pub documents: Vec<DocumentOut>,
    /// Set when the service answered with a SOAP fault instead of a RegistryResponse.
    pub fault: Option<super::client::FaultInfo>,
}

#[derive(Debug, Serialize)]
pub struct DocumentOut {
    pub unique_id: String,
    pub entry_uuid: String,
    pub title: Option<String>,
    pub patient_id: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub sha1: Option<String>,
}

#[derive(Debug, Serialize)]
struct SubmitOut {
    submissions: Vec<SubmissionOut>,
}

/// One request to send, prepared.
struct Prepared {
    files: Vec<String>,
    action: String,
    endpoint: Endpoint,
    framed: Framed,
    documents: Vec<DocumentOut>,
}

pub fn run(args: SubmitArgs) -> i32 {
    super::run_command("submit", submit(args))
}

async fn submit(args: SubmitArgs) -> anyhow::Result<i32> {
    let card = card::card_for(&args.connect, Role::System, args.patient.as_deref())?;
    let client = Client::new(&args.connect.url, card, args.connect.timeout())?;
    let mut prepared = Vec::new();
    let mut documents = Vec::new();
    for path in &args.files {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        match classify(path, &bytes)? {
            FileKind::Envelope => prepared.push(prepare_envelope(&client, path, &bytes, None)?),
            FileKind::Mtom(content_type) => {
                prepared.push(prepare_envelope(
                    &client,
                    path,
                    &bytes,
                    Some(&content_type),
                )?);
            }
            FileKind::Body(request_action) => {
                let text = String::from_utf8(bytes)
                    .with_context(|| format!("{} is not UTF-8", path.display()))?;
                let body = strip_declaration(&text);
                let endpoint = Endpoint::for_action(request_action);
                let envelope = client.envelope(endpoint, request_action, body);
                let message = xds_model::message::parse_message(body.as_bytes())
                    .with_context(|| format!("{} is not an ebRS request", path.display()))?;
                prepared.push(Prepared {
                    files: vec![path.display().to_string()],
                    action: request_action.to_owned(),
                    endpoint,
                    framed: Client::frame(request_action, &envelope, Framing::Plain)?,
                    documents: documents_in(&message),
                });
            }
            FileKind::Document => documents.push((path.clone(), bytes)),
        }
    }
    if !documents.is_empty() {
        prepared.push(prepare_documents(&client, &args, documents)?);
    }
    let mut out = SubmitOut {
        submissions: Vec::new(),
    };
    let mut exit = EXIT_OK;
    for request in prepared {
        let url = client.url(request.endpoint);
        let mut submission = SubmissionOut {
            files: request.files,
            action: request.action,
            url,
            status: String::new(),
            status_urn: String::new(),
            errors: Vec::new(),
            documents: request.documents,
            fault: None,
        };
        match client.call(request.endpoint, request.framed).await {
            Ok(Message::RegistryResponse(response)) => record(&mut submission, &response),
            Ok(other) => bail!(
                "the service answered {} with an unexpected {} body",
                submission.action,
                message_name(&other)
            ),
            Err(ClientError::Fault(fault)) => {
                submission.status = "Fault".to_owned();
                submission.fault = Some(fault);
            }
            Err(error) => return Err(error.into()),
        }
        if submission.status_urn != response_status::SUCCESS {
            exit = EXIT_REFUSED;
        }
        out.submissions.push(submission);
    }
    if args.connect.json {
        output::print_json(&out)?;
    } else {
        for submission in &out.submissions {
            print_submission(submission);
        }
    }
    Ok(exit)
}

fn record(submission: &mut SubmissionOut, response: &RegistryResponse) {
    submission.status = output::short_status(&response.status).to_owned();
    submission.status_urn = response.status.clone();
    submission.errors = output::errors_of(response);
}

fn print_submission(submission: &SubmissionOut) {
    println!("{} → {}", submission.files.join(", "), submission.url);
    if let Some(fault) = &submission.fault {
        println!("refused: {fault}");
        return;
    }
    println!("status: {}", submission.status);
    if !submission.documents.is_empty() {
        let stored = submission.status_urn == response_status::SUCCESS;
        println!(
            "{}",
            if stored {
                "documents:"
            } else {
                "documents (not stored):"
            }
        );
        let mut table = Table::new(&["uniqueId", "patient", "mimeType", "size", "title"]);
        for d in &submission.documents {
            table.row(vec![
                d.unique_id.clone(),
                d.patient_id
                    .as_deref()
                    .map(|p| p.split('^').next().unwrap_or(p).to_owned())
                    .unwrap_or_default(),
                d.mime_type.clone().unwrap_or_default(),
                d.size.map(|s| s.to_string()).unwrap_or_default(),
                d.title.clone().unwrap_or_default(),
            ]);
        }
        table.print();
    }
    output::print_errors(&submission.errors);
    println!();
}

fn message_name(message: &Message) -> &'static str {
    match message {
        Message::SubmitObjectsRequest(_) => "SubmitObjectsRequest",
        Message::ProvideAndRegisterDocumentSetRequest(_) => "ProvideAndRegisterDocumentSetRequest",
        Message::RegistryResponse(_) => "RegistryResponse",
        Message::AdhocQueryRequest(_) => "AdhocQueryRequest",
        Message::AdhocQueryResponse(_) => "AdhocQueryResponse",
        Message::RetrieveDocumentSetRequest(_) => "RetrieveDocumentSetRequest",
        Message::RetrieveDocumentSetResponse(_) => "RetrieveDocumentSetResponse",
        Message::RemoveObjectsRequest(_) => "RemoveObjectsRequest",
    }
}

/// What a file is.
#[derive(Debug)]
enum FileKind {
    Envelope,
    /// With the Content-Type from the sibling `.content-type` file.
    Mtom(String),
    /// A bare ebRS request body and the action it is sent with.
    Body(&'static str),
    Document,
}

fn classify(path: &Path, bytes: &[u8]) -> anyhow::Result<FileKind> {
    let head = &bytes[..bytes.len().min(4096)];
    let mtom_named = path.extension().is_some_and(|e| e == "multipart");
    if mtom_named || (head.starts_with(b"--") && memchr::memmem::find(head, b"Content-").is_some())
    {
        let sibling = path.with_extension("content-type");
        let content_type = std::fs::read_to_string(&sibling).with_context(|| {
            format!(
                "{} looks like an MTOM message; its Content-Type must be in {}",
                path.display(),
                sibling.display()
            )
        })?;
        return Ok(FileKind::Mtom(content_type.trim().to_owned()));
    }
    if memchr::memmem::find(head, b"Envelope").is_some()
        && memchr::memmem::find(head, soap::ns::SOAP12.as_bytes()).is_some()
    {
        return Ok(FileKind::Envelope);
    }
    Ok(match xds_model::message::parse_message(bytes) {
        Ok(Message::ProvideAndRegisterDocumentSetRequest(_)) => {
            FileKind::Body(action::PROVIDE_AND_REGISTER)
        }
        Ok(Message::SubmitObjectsRequest(_)) => FileKind::Body(action::REGISTER),
        Ok(Message::RemoveObjectsRequest(_)) => FileKind::Body(action::DELETE),
        _ => FileKind::Document,
    })
}

fn strip_declaration(xml: &str) -> &str {
    let xml = xml.trim_start_matches('\u{feff}').trim_start();
    if xml.starts_with("<?xml")
        && let Some(end) = xml.find("?>")
    {
        return xml[end + 2..].trim_start();
    }
    xml
}

/// The actions `dds submit` sends (the others have their own commands).
const SUBMIT_ACTIONS: &[&str] = &[
    action::PROVIDE_AND_REGISTER,
    action::REGISTER,
    action::UPDATE,
    action::DELETE,
];

/// A SOAP request file (plain, or MTOM with `content_type`) with the card put in.
fn prepare_envelope(
    client: &Client,
    path: &Path,
    bytes: &[u8],
    content_type: Option<&str>,
) -> anyhow::Result<Prepared> {
    let (root, attachments, content_type_action) = match content_type {
        None => (bytes.to_vec(), Vec::new(), None),
        Some(value) => {
            let ContentType::Multipart(related) = ContentType::parse(value)
                .with_context(|| format!("the Content-Type of {} is not valid", path.display()))?
            else {
                bail!(
                    "the Content-Type of {} is not multipart/related",
                    path.display()
                );
            };
            let (root, attachments) = super::client::split_mtom(&related, bytes)
                .with_context(|| format!("{} is not a valid MTOM message", path.display()))?;
            (root, attachments, related.action.map(|a| a.into_owned()))
        }
    };
    let root_text = String::from_utf8(root)
        .with_context(|| format!("the envelope in {} is not UTF-8", path.display()))?;
    let options = EnvelopeOptions::default();
    let envelope = soap::parse_envelope(root_text.as_bytes(), &options)
        .with_context(|| format!("{} is not a SOAP 1.2 envelope", path.display()))?;
    let request_action = envelope
        .action(content_type_action.as_deref())
        .map(str::to_owned)
        .with_context(|| format!("{} names no action (wsa:Action)", path.display()))?;
    if !SUBMIT_ACTIONS.contains(&request_action.as_str()) {
        bail!(
            "{} is a {request_action} request; `dds submit` sends ITI-41, ITI-42, ITI-57 and ITI-62 (use `dds query` or `dds retrieve` for the others)",
            path.display()
        );
    }
    let message = crate::edge::parse_body(&envelope.body)
        .with_context(|| format!("the SOAP body of {} is not an XDS request", path.display()))?;
    let with_card = if envelope.security.is_some() {
        eprintln!(
            "dds submit: {} carries its own wsse:Security; sent without a card of ours",
            path.display()
        );
        root_text.clone()
    } else {
        insert_security(&root_text, &envelope, &client.security_header())
            .with_context(|| format!("cannot put the ID card into {}", path.display()))?
    };
    let xml = strip_declaration(&with_card).to_owned();
    let framing = if content_type.is_some() {
        Framing::Mtom(
            attachments
                .into_iter()
                .map(|part| Attachment {
                    content_id: part.content_id,
                    mime_type: part
                        .content_type
                        .unwrap_or_else(|| "application/octet-stream".to_owned()),
                    bytes: part.bytes,
                })
                .collect(),
        )
    } else {
        Framing::Plain
    };
    Ok(Prepared {
        files: vec![path.display().to_string()],
        endpoint: Endpoint::for_action(&request_action),
        framed: Client::frame(&request_action, &xml, framing)?,
        action: request_action,
        documents: documents_in(&message),
    })
}

/// Puts `security` first into the envelope's header: before its first header block, or in a
/// new `Header` right before `Body` when it has none.
fn insert_security(
    text: &str,
    envelope: &soap::Envelope<'_>,
    security: &str,
) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len() + security.len() + 64);
    if let Some(block) = envelope.headers.first() {
        let at = block.element.range.start;
        out.push_str(&text[..at]);
        out.push_str(security);
        out.push_str(&text[at..]);
        return Ok(out);
    }
    let before_body_child = &text[..envelope.body.range.start];
    let body_tag = before_body_child
        .rfind('<')
        .context("cannot find the soap:Body start tag")?;
    let tag_name: String = text[body_tag + 1..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
        .collect();
    let Some(prefix) = tag_name.strip_suffix("Body") else {
        bail!("cannot find the soap:Body start tag");
    };
    out.push_str(&text[..body_tag]);
    out.push_str(&format!("<{prefix}Header>{security}</{prefix}Header>"));
    out.push_str(&text[body_tag..]);
    Ok(out)
}

/// The DocumentEntries a request submits, for the report.
fn documents_in(message: &Message) -> Vec<DocumentOut> {
    let list: &RegistryObjectList = match message {
        Message::ProvideAndRegisterDocumentSetRequest(r) => {
            &r.submit_objects_request.registry_object_list
        }
        Message::SubmitObjectsRequest(r) => &r.registry_object_list,
        _ => return Vec::new(),
    };
    let sizes: std::collections::HashMap<&str, (u64, String)> = match message {
        Message::ProvideAndRegisterDocumentSetRequest(r) => inline_sizes(r),
        _ => std::collections::HashMap::new(),
    };
    list.objects
        .iter()
        .filter_map(|o| match o {
            Identifiable::ExtrinsicObject(eo) => DocumentEntry::from_rim(eo).ok(),
            _ => None,
        })
        .map(|entry| {
            let known = sizes.get(entry.entry_uuid.as_str());
            DocumentOut {
                unique_id: entry
                    .unique_id
                    .as_ref()
                    .map(|u| u.value.clone())
                    .unwrap_or_default(),
                title: entry.title_text().map(str::to_owned),
                patient_id: entry.patient_id.as_ref().map(|p| p.value.clone()),
                mime_type: entry.mime_type.clone(),
                size: known.map(|k| k.0).or_else(|| entry.size_bytes()),
                sha1: known.map(|k| k.1.clone()).or_else(|| entry.hash.clone()),
                entry_uuid: entry.entry_uuid,
            }
        })
        .collect()
}

fn inline_sizes(
    request: &ProvideAndRegisterDocumentSetRequest,
) -> std::collections::HashMap<&str, (u64, String)> {
    request
        .documents
        .iter()
        .filter_map(|d| match &d.content {
            DocumentContent::Inline(bytes) => {
                Some((d.id.as_str(), (bytes.len() as u64, sha1_hex(bytes))))
            }
            DocumentContent::Include { .. } => None,
        })
        .collect()
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// One ITI-41 for all the document files.
fn prepare_documents(
    client: &Client,
    args: &SubmitArgs,
    files: Vec<(PathBuf, Vec<u8>)>,
) -> anyhow::Result<Prepared> {
    let mut metadata = Vec::with_capacity(files.len());
    let mut patient_cpr: Option<String> = None;
    for (path, bytes) in &files {
        let facts = read_facts(bytes);
        let document = document_metadata(args, path, &facts)
            .with_context(|| format!("cannot describe {}", path.display()))?;
        match &patient_cpr {
            None => patient_cpr = Some(document.patient.cpr.clone()),
            Some(cpr) if *cpr != document.patient.cpr => bail!(
                "{} is about patient {}, the other documents about {cpr}: one submission is about one patient",
                path.display(),
                document.patient.cpr
            ),
            Some(_) => {}
        }
        metadata.push(document);
    }
    let first = &metadata[0];
    let title = if metadata.len() == 1 {
        first.title.clone()
    } else {
        format!(
            "{} dokumenter fra {}",
            metadata.len(),
            first.institution.name
        )
    };
    let mut set = SubmissionMetadata::now(&title, first.type_code.clone());
    set.source_id = args.source_id.clone();
    let content_ids: Vec<ContentId> = metadata
        .iter()
        .enumerate()
        .map(|(i, _)| ContentId::new(&format!("document{i}.{}@dds", uuid::Uuid::new_v4())))
        .collect::<Result<_, _>>()
        .context("cannot name an MTOM part")?;
    let mut request = metadata::provide_and_register(&set, &metadata, &content_ids);
    let documents: Vec<DocumentOut> = metadata
        .iter()
        .zip(&files)
        .map(|(m, (_, bytes))| DocumentOut {
            unique_id: m.unique_id.clone(),
            entry_uuid: m.entry_uuid.clone(),
            title: Some(m.title.clone()),
            patient_id: Some(m.patient.cx()),
            mime_type: Some(m.mime_type.clone()),
            size: Some(bytes.len() as u64),
            sha1: Some(sha1_hex(bytes)),
        })
        .collect();
    let framing = if args.inline {
        for (document, (_, bytes)) in request.documents.iter_mut().zip(&files) {
            document.content = DocumentContent::Inline(bytes.clone());
        }
        Framing::Plain
    } else {
        Framing::Mtom(
            content_ids
                .into_iter()
                .zip(metadata.iter().zip(files.iter()))
                .map(|(content_id, (m, (_, bytes)))| Attachment {
                    content_id,
                    mime_type: m.mime_type.clone(),
                    bytes: bytes.clone(),
                })
                .collect(),
        )
    };
    let envelope = client.envelope(
        Endpoint::Repository,
        action::PROVIDE_AND_REGISTER,
        &request.to_xml(),
    );
    Ok(Prepared {
        files: files.iter().map(|(p, _)| p.display().to_string()).collect(),
        action: action::PROVIDE_AND_REGISTER.to_owned(),
        endpoint: Endpoint::Repository,
        framed: Client::frame(action::PROVIDE_AND_REGISTER, &envelope, framing)?,
        documents,
    })
}

/// The metadata of one document: flags first, then the CDA's facts, then defaults.
pub fn document_metadata(
    args: &SubmitArgs,
    path: &Path,
    facts: &CdaFacts,
) -> anyhow::Result<DocumentMetadata> {
    let cpr = match (&args.patient, &facts.patient_cpr) {
        (Some(flag), Some(cda)) if flag != cda => {
            bail!("the document's recordTarget is CPR {cda}, but --patient says {flag}")
        }
        (Some(flag), _) => flag.clone(),
        (None, Some(cda)) => cda.clone(),
        (None, None) => bail!("give the patient's CPR number with --patient"),
    };
    if cpr.len() != 10 || !cpr.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{cpr:?} is not a CPR number (10 digits, DDMMYY and four more)");
    }
    let patient = Patient {
        cpr: cpr.clone(),
        given: facts.patient_given.clone(),
        family: facts.patient_family.clone(),
        birth_date: facts.patient_birth_date.clone(),
        sex: facts.patient_sex,
    };
    let sor = args
        .author_institution
        .clone()
        .or_else(|| facts.author_sor.clone())
        .unwrap_or_else(|| card::DEV_ORG_SOR.to_owned());
    let department = DEPARTMENTS.iter().find(|d| d.sor == sor);
    let institution_name = args
        .author_institution_name
        .clone()
        .or_else(|| facts.author_organisation.clone())
        .or_else(|| department.map(|d| d.name.to_owned()))
        .unwrap_or_else(|| format!("SOR {sor}"));
    let practice = match (&args.practice_setting, department) {
        (Some(code), _) => metadata::code(code, dk::SNOMED_CT, None),
        (None, Some(d)) => Code::new(d.practice.0, dk::SNOMED_CT, Some(d.practice.1)),
        (None, None) => bail!(
            "SOR {sor} is not a department this command knows: give its SNOMED CT practice setting with --practice-setting"
        ),
    };
    let facility = match &args.facility_type {
        Some(code) => metadata::code(code, dk::SNOMED_CT, None),
        None => Code::new(HOSPITAL.0, dk::SNOMED_CT, Some(HOSPITAL.1)),
    };
    let event_codes: Vec<Code> = if !args.event_code.is_empty() {
        args.event_code
            .iter()
            .map(|c| metadata::code(c, dk::SKS, None))
            .collect()
    } else if !facts.event_codes.is_empty() {
        facts
            .event_codes
            .iter()
            .map(|(code, name)| metadata::code(code, dk::SKS, name.as_deref()))
            .collect()
    } else if let Some(d) = department {
        vec![Code::new(d.pathway.0, dk::SKS, Some(d.pathway.1))]
    } else {
        bail!(
            "the Danish profile needs an eventCode: give an SKS code with --event-code, e.g. ALAL02"
        )
    };
    let mime_type = args
        .mime_type
        .clone()
        .unwrap_or_else(|| mime_type_of(path, facts).to_owned());
    let type_code = match (&args.type_code, &facts.type_code) {
        (Some(code), _) => metadata::code(code, dk::LOINC, args.type_name.as_deref()),
        (None, Some((code, system, name))) if system == dk::LOINC => {
            metadata::code(code, dk::LOINC, name.as_deref())
        }
        _ => metadata::code(APD_TYPE_CODE, dk::LOINC, None),
    };
    let format_code = match &args.format_code {
        Some(code) if code == MIME_TYPE_SUFFICIENT => metadata::code(code, IHE_FORMAT_SYSTEM, None),
        Some(code) => metadata::code(code, dk::FORMAT_CODE_SYSTEM, None),
        None => match &facts.medcom_profile {
            Some(profile) if facts.is_cda => metadata::code(
                &format!("urn:ad:dk:medcom:{profile}:full"),
                dk::FORMAT_CODE_SYSTEM,
                None,
            ),
            _ if facts.is_apd => metadata::code(dk::APD_FORMAT_CODE, dk::FORMAT_CODE_SYSTEM, None),
            _ => metadata::code(MIME_TYPE_SUFFICIENT, IHE_FORMAT_SYSTEM, None),
        },
    };
    let author_person = args
        .author_person
        .clone()
        .or_else(|| facts.author_person.clone());
    Ok(DocumentMetadata {
        entry_uuid: metadata::urn_uuid(uuid::Uuid::new_v4()),
        unique_id: metadata::oid_of(uuid::Uuid::new_v4()),
        title: args
            .title
            .clone()
            .or_else(|| facts.title.clone())
            .unwrap_or_else(|| format!("Aftale for {cpr}")),
        patient,
        mime_type,
        creation_time: args
            .creation_time
            .clone()
            .or_else(|| facts.creation_time.clone())
            .unwrap_or_else(|| metadata::dtm(time::OffsetDateTime::now_utc())),
        service_start_time: args
            .service_start
            .clone()
            .or_else(|| facts.service_start_time.clone()),
        service_stop_time: args
            .service_stop
            .clone()
            .or_else(|| facts.service_stop_time.clone()),
        legal_authenticator: args
            .legal_authenticator
            .clone()
            .or_else(|| facts.legal_authenticator.clone())
            .or_else(|| author_person.clone()),
        author_person,
        author_role: args.author_role.clone(),
        author_specialty: department.map(|d| d.practice.1.to_owned()),
        institution: Institution {
            sor,
            name: institution_name,
            facility,
            practice,
        },
        type_code,
        format_code,
        event_codes,
        language_code: args.language.clone(),
    })
}

fn mime_type_of(path: &Path, facts: &CdaFacts) -> &'static str {
    if facts.is_cda {
        return "text/xml";
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("xml") => "text/xml",
        Some("txt") | Some("text") => "text/plain",
        Some("pdf") => "application/pdf",
        Some("html") | Some("htm") => "text/html",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SubmitArgs,
    }

    fn args(extra: &[&str]) -> SubmitArgs {
        let mut argv = vec!["dds"];
        argv.extend_from_slice(extra);
        argv.push("x");
        Wrapper::parse_from(argv).args
    }

    fn sample(name: &str) -> (PathBuf, Vec<u8>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples/documents")
            .join(name);
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes)
    }

    /// Every finding of the validator on the ITI-41 the command builds for these documents.
    fn findings(args: &SubmitArgs, names: &[&str]) -> Vec<String> {
        let documents: Vec<DocumentMetadata> = names
            .iter()
            .map(|name| {
                let (path, bytes) = sample(name);
                document_metadata(args, &path, &read_facts(&bytes)).unwrap()
            })
            .collect();
        let set = SubmissionMetadata::now("t", documents[0].type_code.clone());
        let ids: Vec<ContentId> = (0..documents.len())
            .map(|i| ContentId::new(&format!("d{i}@x")).unwrap())
            .collect();
        let request = metadata::provide_and_register(&set, &documents, &ids);
        let document_ids: Vec<&str> = request.documents.iter().map(|d| d.id.as_str()).collect();
        let report = xds_validate::validate_provide_and_register(
            &request.submit_objects_request.registry_object_list,
            &document_ids,
            &xds_validate::ValidationConfig::default(),
        );
        report.findings.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn an_apd_gets_metadata_without_a_single_finding() {
        assert_eq!(
            findings(&args(&[]), &["apd-0101700013-ekkokardiografi.xml"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_text_note_with_a_patient_gets_metadata_the_profile_accepts() {
        let found = findings(
            &args(&[
                "--patient",
                "2512489996",
                "--title",
                "Praktisk information",
                "--author-person",
                "Mette Kjær Lund",
            ]),
            &["note-2512489996-praktisk-information.txt"],
        );
        // A text/plain document draws only the profile's mimeType warning.
        assert!(
            found.iter().all(|f| f.contains("DK-MIMETYPE-VALUE")),
            "{found:?}"
        );
    }

    #[test]
    fn cda_facts_fill_the_metadata() {
        let (path, bytes) = sample("apd-0101700013-ekkokardiografi.xml");
        let m = document_metadata(&args(&[]), &path, &read_facts(&bytes)).unwrap();
        assert_eq!(m.patient.cpr, "0101700013");
        assert_eq!(m.institution.sor, "242621000016001");
        assert_eq!(m.service_start_time.as_deref(), Some("20270114120000"));
        assert_eq!(m.format_code.code, dk::APD_FORMAT_CODE);
        assert_eq!(m.event_codes[0].code, "ALAL02");
        assert!(m.unique_id.starts_with("2.25."));
    }

    #[test]
    fn a_patient_flag_that_contradicts_the_document_is_refused() {
        let (path, bytes) = sample("apd-0101700013-ekkokardiografi.xml");
        let error = document_metadata(
            &args(&["--patient", "2512489996"]),
            &path,
            &read_facts(&bytes),
        )
        .unwrap_err();
        assert!(error.to_string().contains("0101700013"), "{error}");
    }

    #[test]
    fn the_card_goes_first_into_the_header() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/iti-41/pnr-single-apd.xml"),
        )
        .unwrap();
        let envelope = soap::parse_envelope(text.as_bytes(), &EnvelopeOptions::default()).unwrap();
        let security = "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"/>";
        let out = insert_security(&text, &envelope, security).unwrap();
        let parsed = soap::parse_envelope(out.as_bytes(), &EnvelopeOptions::default()).unwrap();
        assert!(parsed.security.is_some());
        assert!(out.contains(&format!("<soap:Header>\n    {security}<wsa:Action")));

        let bare = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x xmlns=\"urn:x\"/></s:Body></s:Envelope>";
        let envelope = soap::parse_envelope(bare.as_bytes(), &EnvelopeOptions::default()).unwrap();
        let out = insert_security(bare, &envelope, security).unwrap();
        let parsed = soap::parse_envelope(out.as_bytes(), &EnvelopeOptions::default()).unwrap();
        assert!(parsed.security.is_some());
    }
}

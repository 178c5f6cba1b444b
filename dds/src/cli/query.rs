//! `dds query`: ITI-18 Registry Stored Query, FindDocuments by default, printed as a table of
//! DocumentEntries or as JSON.
//!
//! `--query-id` names any stored query (by name or `urn:uuid:`), and `--param '$Name=VALUE'`
//! adds parameters in the ITI-18 value syntax exactly as written (`'…'` strings, `(…)` lists).
//! `--patient`, `--status` and `--type` fill the parameters of the query that has them
//! (`$XDSDocumentEntryPatientId`, `$XDSSubmissionSetPatientId`, `$patientId`, …) unless a
//! `--param` gives the same one.

use anyhow::{Context, bail};
use identity::Role;
use serde::Serialize;
use xds_model::message::{AdhocQuery, AdhocQueryRequest, Message, ResponseOption, ReturnType};
use xds_model::rim::{Identifiable, RegistryObject, Slot};
use xds_model::vocabulary::{action, dk, response_status, status, stored_query};
use xds_model::xds::{DocumentEntry, Folder, SubmissionSet};

use super::client::{Client, Endpoint, Framing};
use super::output::{self, ErrorOut, Table};
use super::{ConnectArgs, EXIT_OK, EXIT_REFUSED, card, metadata};

/// Stored queries by name (ITI TF-2a 3.18.4.1.2.3.7, ITI-51 and ours).
pub const QUERIES: &[(&str, &str)] = &[
    ("FindDocuments", stored_query::FIND_DOCUMENTS),
    ("FindSubmissionSets", stored_query::FIND_SUBMISSION_SETS),
    ("FindFolders", stored_query::FIND_FOLDERS),
    ("GetAll", stored_query::GET_ALL),
    ("GetDocuments", stored_query::GET_DOCUMENTS),
    ("GetFolders", stored_query::GET_FOLDERS),
    ("GetAssociations", stored_query::GET_ASSOCIATIONS),
    (
        "GetDocumentsAndAssociations",
        stored_query::GET_DOCUMENTS_AND_ASSOCIATIONS,
    ),
    ("GetSubmissionSets", stored_query::GET_SUBMISSION_SETS),
    (
        "GetSubmissionSetAndContents",
        stored_query::GET_SUBMISSION_SET_AND_CONTENTS,
    ),
    (
        "GetFolderAndContents",
        stored_query::GET_FOLDER_AND_CONTENTS,
    ),
    (
        "GetFoldersForDocument",
        stored_query::GET_FOLDERS_FOR_DOCUMENT,
    ),
    ("GetRelatedDocuments", stored_query::GET_RELATED_DOCUMENTS),
    (
        "FindDocumentsByReferenceId",
        stored_query::FIND_DOCUMENTS_BY_REFERENCE_ID,
    ),
    ("FindDocumentsByText", stored_query::FIND_DOCUMENTS_BY_TEXT),
    (
        "FindDocumentsForMultiplePatients",
        stored_query::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS,
    ),
    (
        "FindFoldersForMultiplePatients",
        stored_query::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS,
    ),
];

/// `--status`: which availabilityStatus values the query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFilter {
    Approved,
    Deprecated,
    /// Approved and Deprecated.
    All,
}

impl StatusFilter {
    fn value(self) -> String {
        let list: &[&str] = match self {
            StatusFilter::Approved => &[status::APPROVED],
            StatusFilter::Deprecated => &[status::DEPRECATED],
            StatusFilter::All => &[status::APPROVED, status::DEPRECATED],
        };
        list_value(list)
    }
}

/// `--return-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReturnTypeArg {
    /// Full metadata.
    LeafClass,
    /// References (entryUUIDs) only.
    ObjectRef,
}

/// Options of `dds query`.
#[derive(Debug, clap::Args)]
#[command(after_help = QUERY_EXAMPLES)]
pub struct QueryArgs {
    /// The patient's CPR number (the query's patientId parameter).
    #[arg(long, value_name = "CPR")]
    pub patient: Option<String>,
    /// availabilityStatus of the objects asked for.
    #[arg(long, value_enum, default_value_t = StatusFilter::Approved)]
    pub status: StatusFilter,
    /// typeCode to match, CODE (LOINC) or CODE^^SCHEME; repeatable (any of them matches).
    #[arg(long = "type", value_name = "CODE")]
    pub type_codes: Vec<String>,
    /// The stored query, by name (FindDocuments, GetDocuments, GetAll, FindSubmissionSets,
    /// FindFolders, GetSubmissionSetAndContents, GetRelatedDocuments, …) or urn:uuid: id.
    #[arg(long, value_name = "QUERY", default_value = "FindDocuments")]
    pub query_id: String,
    /// A parameter as $Name=VALUE in ITI-18 syntax, e.g. "$XDSDocumentEntryUniqueId=('2.25.1')";
    /// repeatable (a repeated name is a repeated slot).
    #[arg(long = "param", value_name = "$NAME=VALUE")]
    pub params: Vec<String>,
    /// LeafClass (metadata) or ObjectRef (ids only).
    #[arg(long, value_enum, default_value_t = ReturnTypeArg::LeafClass)]
    pub return_type: ReturnTypeArg,
    #[command(flatten, next_help_heading = "Service and ID card")]
    pub connect: ConnectArgs,
}

const QUERY_EXAMPLES: &str = "Examples:
  dds query --patient 0101700013
  dds query --patient 2512489996 --status all --type 39289-4 --json
  dds query --query-id GetDocuments --param \"\\$XDSDocumentEntryUniqueId=('2.25.297860445735985469057769323429578268365')\"

Exit status: 0 on Success, 1 on Failure or PartialSuccess or a SOAP fault, 2 when the service
could not be asked.";

/// A DocumentEntry as `dds query` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRow {
    pub unique_id: String,
    pub entry_uuid: String,
    pub title: Option<String>,
    pub patient_id: Option<String>,
    pub availability_status: Option<String>,
    pub type_code: Option<CodeOut>,
    pub class_code: Option<CodeOut>,
    pub format_code: Option<CodeOut>,
    pub event_codes: Vec<CodeOut>,
    pub creation_time: Option<String>,
    pub service_start_time: Option<String>,
    pub service_stop_time: Option<String>,
    pub author_institutions: Vec<String>,
    pub author_persons: Vec<String>,
    pub repository_unique_id: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub hash: Option<String>,
    /// The passage that matched, for FindDocumentsByText answers (the `urn:dds:2026:snippet`
    /// slot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeOut {
    pub code: String,
    pub scheme: String,
    pub display_name: Option<String>,
}

impl CodeOut {
    fn of(code: &xds_model::xds::Code) -> CodeOut {
        CodeOut {
            code: code.code.clone(),
            scheme: code.scheme.clone(),
            display_name: code.display_name.clone(),
        }
    }
}

impl DocumentRow {
    pub fn of(entry: &DocumentEntry) -> DocumentRow {
        DocumentRow {
            unique_id: entry
                .unique_id
                .as_ref()
                .map(|u| u.value.clone())
                .unwrap_or_default(),
            entry_uuid: entry.entry_uuid.clone(),
            title: entry.title_text().map(str::to_owned),
            patient_id: entry.patient_id.as_ref().map(|p| p.value.clone()),
            availability_status: entry
                .availability_status
                .as_deref()
                .map(|s| output::short_status(s).to_owned()),
            type_code: entry.type_code.as_ref().map(|c| CodeOut::of(&c.value)),
            class_code: entry.class_code.as_ref().map(|c| CodeOut::of(&c.value)),
            format_code: entry.format_code.as_ref().map(|c| CodeOut::of(&c.value)),
            event_codes: entry
                .event_code_list
                .iter()
                .map(|c| CodeOut::of(&c.value))
                .collect(),
            creation_time: entry.creation_time.clone(),
            service_start_time: entry.service_start_time.clone(),
            service_stop_time: entry.service_stop_time.clone(),
            author_institutions: entry
                .author
                .iter()
                .flat_map(|a| a.value.institutions.iter().cloned())
                .collect(),
            author_persons: entry
                .author
                .iter()
                .filter_map(|a| a.value.person.clone())
                .collect(),
            repository_unique_id: entry.repository_unique_id.clone(),
            mime_type: entry.mime_type.clone(),
            size: entry.size_bytes(),
            hash: entry.hash.clone(),
            snippet: entry
                .extra_slots
                .iter()
                .find(|s| s.name == crate::edge::text_search::SNIPPET_SLOT)
                .and_then(|s| s.values.first().cloned()),
        }
    }
}

/// Any other object of a result.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectRow {
    pub kind: String,
    pub id: String,
    pub unique_id: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct QueryOut {
    pub query_id: String,
    pub status: String,
    pub status_urn: String,
    pub errors: Vec<ErrorOut>,
    pub documents: Vec<DocumentRow>,
    pub objects: Vec<ObjectRow>,
}

pub fn run(args: QueryArgs) -> i32 {
    super::run_command("query", query(args))
}

async fn query(args: QueryArgs) -> anyhow::Result<i32> {
    let request = build_request(&args)?;
    let card = card::card_for(&args.connect, Role::Doctor, args.patient.as_deref())?;
    let client = Client::new(&args.connect.url, card, args.connect.timeout())?;
    let out = ask(&client, &request).await?;
    if args.connect.json {
        output::print_json(&out)?;
    } else {
        print_query(&out);
    }
    Ok(if out.status_urn == response_status::SUCCESS {
        EXIT_OK
    } else {
        EXIT_REFUSED
    })
}

/// Sends one ITI-18 and reads its answer into rows.
pub async fn ask(client: &Client, request: &AdhocQueryRequest) -> anyhow::Result<QueryOut> {
    let envelope = client.envelope(
        Endpoint::Registry,
        action::REGISTRY_STORED_QUERY,
        &request.to_xml(),
    );
    let framed = Client::frame(action::REGISTRY_STORED_QUERY, &envelope, Framing::Plain)?;
    let answer = client.call(Endpoint::Registry, framed).await?;
    let Message::AdhocQueryResponse(response) = answer else {
        bail!("the registry answered the stored query with another kind of body");
    };
    let mut out = QueryOut {
        query_id: request.adhoc_query.object.id.clone(),
        status: output::short_status(&response.response.status).to_owned(),
        status_urn: response.response.status.clone(),
        errors: output::errors_of(&response.response),
        documents: Vec::new(),
        objects: Vec::new(),
    };
    for object in &response.registry_object_list.objects {
        match object {
            Identifiable::ExtrinsicObject(eo) => match DocumentEntry::from_rim(eo) {
                Ok(entry) => out.documents.push(DocumentRow::of(&entry)),
                Err(_) => out.objects.push(ObjectRow {
                    kind: "ExtrinsicObject".into(),
                    id: eo.object.id.clone(),
                    unique_id: None,
                    detail: eo.object.object_type.clone(),
                }),
            },
            Identifiable::RegistryPackage(package) => {
                out.objects.push(package_row(package));
            }
            Identifiable::Association(association) => out.objects.push(ObjectRow {
                kind: "Association".into(),
                id: association.object.id.clone(),
                unique_id: None,
                detail: Some(format!(
                    "{} {} → {}",
                    association
                        .association_type
                        .rsplit(':')
                        .next()
                        .unwrap_or(&association.association_type),
                    association.source_object,
                    association.target_object
                )),
            }),
            Identifiable::ObjectRef(reference) => out.objects.push(ObjectRow {
                kind: "ObjectRef".into(),
                id: reference.id.clone(),
                unique_id: None,
                detail: None,
            }),
            Identifiable::Classification(c) => out.objects.push(ObjectRow {
                kind: "Classification".into(),
                id: c.object.id.clone(),
                unique_id: None,
                detail: Some(format!("of {}", c.classified_object)),
            }),
            Identifiable::ExternalIdentifier(e) => out.objects.push(ObjectRow {
                kind: "ExternalIdentifier".into(),
                id: e.object.id.clone(),
                unique_id: Some(e.value.clone()),
                detail: Some(format!("of {}", e.registry_object)),
            }),
        }
    }
    Ok(out)
}

fn package_row(package: &xds_model::rim::RegistryPackage) -> ObjectRow {
    if let Ok(set) = SubmissionSet::from_rim(package) {
        return ObjectRow {
            kind: "SubmissionSet".into(),
            id: set.entry_uuid.clone(),
            unique_id: set.unique_id.as_ref().map(|u| u.value.clone()),
            detail: set
                .title
                .as_ref()
                .and_then(|t| t.first())
                .map(str::to_owned),
        };
    }
    if let Ok(folder) = Folder::from_rim(package) {
        return ObjectRow {
            kind: "Folder".into(),
            id: folder.entry_uuid.clone(),
            unique_id: folder.unique_id.as_ref().map(|u| u.value.clone()),
            detail: folder
                .title
                .as_ref()
                .and_then(|t| t.first())
                .map(str::to_owned),
        };
    }
    ObjectRow {
        kind: "RegistryPackage".into(),
        id: package.object.id.clone(),
        unique_id: None,
        detail: None,
    }
}

/// The stored query id of a name or `urn:uuid:`.
pub fn query_id(name: &str) -> anyhow::Result<&str> {
    if name.starts_with("urn:uuid:") {
        return Ok(name);
    }
    QUERIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, id)| *id)
        .with_context(|| {
            format!(
                "{name:?} is not a stored query; use a urn:uuid: id or one of {}",
                QUERIES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// `('a','b')`: an ITI-18 list of strings.
fn list_value(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("({})", quoted.join(","))
}

/// `'value'` with single quotes doubled (ITI TF-2a 3.18.4.1.2.3.5).
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Which parameters a stored query takes for --patient, --status and --type.
struct Shape {
    patient: Option<&'static str>,
    statuses: &'static [&'static str],
    type_code: Option<&'static str>,
}

fn shape_of(id: &str) -> Shape {
    const DOCUMENT_STATUS: &[&str] = &["$XDSDocumentEntryStatus"];
    match id {
        stored_query::FIND_DOCUMENTS
        | stored_query::FIND_DOCUMENTS_BY_REFERENCE_ID
        | stored_query::FIND_DOCUMENTS_BY_TEXT => Shape {
            patient: Some("$XDSDocumentEntryPatientId"),
            statuses: DOCUMENT_STATUS,
            type_code: Some("$XDSDocumentEntryTypeCode"),
        },
        stored_query::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS => Shape {
            patient: Some("$XDSDocumentEntryPatientId"),
            statuses: DOCUMENT_STATUS,
            type_code: Some("$XDSDocumentEntryTypeCode"),
        },
        stored_query::FIND_SUBMISSION_SETS => Shape {
            patient: Some("$XDSSubmissionSetPatientId"),
            statuses: &["$XDSSubmissionSetStatus"],
            type_code: None,
        },
        stored_query::FIND_FOLDERS | stored_query::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS => Shape {
            patient: Some("$XDSFolderPatientId"),
            statuses: &["$XDSFolderStatus"],
            type_code: None,
        },
        stored_query::GET_ALL => Shape {
            patient: Some("$patientId"),
            statuses: &[
                "$XDSDocumentEntryStatus",
                "$XDSSubmissionSetStatus",
                "$XDSFolderStatus",
            ],
            type_code: None,
        },
        _ => Shape {
            patient: None,
            statuses: &[],
            type_code: None,
        },
    }
}

/// The ITI-18 request the flags describe.
pub fn build_request(args: &QueryArgs) -> anyhow::Result<AdhocQueryRequest> {
    let id = query_id(&args.query_id)?.to_owned();
    let mut slots: Vec<Slot> = Vec::new();
    for param in &args.params {
        let (name, value) = param
            .split_once('=')
            .with_context(|| format!("--param {param:?} is not $Name=VALUE"))?;
        let name = name.trim();
        let name = if name.starts_with('$') {
            name.to_owned()
        } else {
            format!("${name}")
        };
        slots.push(Slot::new(name, [value.trim()]));
    }
    let given = |name: &str, slots: &[Slot]| slots.iter().any(|s| s.name == name);
    let shape = shape_of(&id);
    let multi_patient = matches!(
        id.as_str(),
        stored_query::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS
            | stored_query::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS
    );
    if let Some(cpr) = &args.patient {
        let Some(name) = shape.patient else {
            bail!(
                "--patient does not apply to {}; give its parameters with --param",
                args.query_id
            );
        };
        if !given(name, &slots) {
            let cx = metadata::cpr_cx(cpr);
            let value = if multi_patient {
                list_value(&[&cx])
            } else {
                quote(&cx)
            };
            slots.push(Slot::new(name, [value]));
        }
    } else if let Some(name) = shape.patient
        && !given(name, &slots)
        && !multi_patient
    {
        bail!("{} needs the patient: give --patient CPR", args.query_id);
    }
    for name in shape.statuses {
        if !given(name, &slots) {
            slots.push(Slot::new(*name, [args.status.value()]));
        }
    }
    if !args.type_codes.is_empty() {
        let Some(name) = shape.type_code else {
            bail!("--type does not apply to {}", args.query_id);
        };
        if !given(name, &slots) {
            let codes: Vec<String> = args
                .type_codes
                .iter()
                .map(|c| {
                    if c.contains("^^") {
                        c.clone()
                    } else {
                        format!("{c}^^{}", dk::LOINC)
                    }
                })
                .collect();
            let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
            slots.push(Slot::new(name, [list_value(&refs)]));
        }
    }
    Ok(AdhocQueryRequest {
        response_option: ResponseOption {
            return_type: match args.return_type {
                ReturnTypeArg::LeafClass => ReturnType::LeafClass,
                ReturnTypeArg::ObjectRef => ReturnType::ObjectRef,
            },
            return_composed_objects: true,
        },
        adhoc_query: AdhocQuery {
            object: RegistryObject {
                slots,
                ..RegistryObject::new(id)
            },
        },
        ..AdhocQueryRequest::default()
    })
}

/// A GetDocuments request for one uniqueId (LeafClass).
pub fn get_documents(unique_ids: &[&str]) -> AdhocQueryRequest {
    AdhocQueryRequest {
        response_option: ResponseOption {
            return_type: ReturnType::LeafClass,
            return_composed_objects: true,
        },
        adhoc_query: AdhocQuery {
            object: RegistryObject {
                slots: vec![Slot::new(
                    "$XDSDocumentEntryUniqueId",
                    [list_value(unique_ids)],
                )],
                ..RegistryObject::new(stored_query::GET_DOCUMENTS)
            },
        },
        ..AdhocQueryRequest::default()
    }
}

/// `2027-01-14 12:00` from a DTM (UTC), or the DTM as sent when it is shorter.
pub fn readable_dtm(dtm: &str) -> String {
    if !dtm.bytes().all(|b| b.is_ascii_digit()) {
        return dtm.to_owned();
    }
    match dtm.len() {
        12..=14 => format!(
            "{}-{}-{} {}:{}",
            &dtm[0..4],
            &dtm[4..6],
            &dtm[6..8],
            &dtm[8..10],
            &dtm[10..12]
        ),
        8 => format!("{}-{}-{}", &dtm[0..4], &dtm[4..6], &dtm[6..8]),
        _ => dtm.to_owned(),
    }
}

/// `Name (SOR)` from an authorInstitution XON.
pub fn readable_institution(xon: &str) -> String {
    let parts: Vec<&str> = xon.split('^').collect();
    let name = parts.first().copied().unwrap_or("");
    match parts.get(9).filter(|id| !id.is_empty()) {
        Some(id) => format!("{name} ({id})"),
        None => name.to_owned(),
    }
}

fn print_query(out: &QueryOut) {
    println!(
        "status: {} — {} document(s){}",
        out.status,
        out.documents.len(),
        if out.objects.is_empty() {
            String::new()
        } else {
            format!(", {} other object(s)", out.objects.len())
        }
    );
    if !out.documents.is_empty() {
        let show_status = out
            .documents
            .iter()
            .any(|d| d.availability_status.as_deref() != Some("Approved"));
        let mut headers = vec![
            "uniqueId",
            "title",
            "type",
            "created (UTC)",
            "author institution",
            "repositoryUniqueId",
            "size",
        ];
        if show_status {
            headers.push("status");
        }
        let mut table = Table::new(&headers);
        for d in &out.documents {
            let mut row = vec![
                d.unique_id.clone(),
                d.title.clone().unwrap_or_default(),
                d.type_code
                    .as_ref()
                    .map(|c| match &c.display_name {
                        Some(name) => output::shorten(&format!("{} {}", c.code, name), 32),
                        None => c.code.clone(),
                    })
                    .unwrap_or_default(),
                d.creation_time
                    .as_deref()
                    .map(readable_dtm)
                    .unwrap_or_default(),
                d.author_institutions
                    .first()
                    .map(|x| readable_institution(x))
                    .unwrap_or_default(),
                d.repository_unique_id.clone().unwrap_or_default(),
                d.size.map(|s| s.to_string()).unwrap_or_default(),
            ];
            if show_status {
                row.push(d.availability_status.clone().unwrap_or_default());
            }
            table.row(row);
        }
        println!();
        table.print();
    }
    if !out.objects.is_empty() {
        let mut table = Table::new(&["kind", "id", "uniqueId", "detail"]);
        for o in &out.objects {
            table.row(vec![
                o.kind.clone(),
                o.id.clone(),
                o.unique_id.clone().unwrap_or_default(),
                o.detail.clone().unwrap_or_default(),
            ]);
        }
        println!();
        table.print();
    }
    output::print_errors(&out.errors);
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: QueryArgs,
    }

    fn request(extra: &[&str]) -> anyhow::Result<AdhocQueryRequest> {
        let mut argv = vec!["dds"];
        argv.extend_from_slice(extra);
        build_request(&Wrapper::parse_from(argv).args)
    }

    fn slot<'a>(request: &'a AdhocQueryRequest, name: &str) -> Vec<&'a str> {
        request
            .adhoc_query
            .object
            .slot(name)
            .map(|s| s.values.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn find_documents_gets_patient_status_and_type() {
        let r = request(&["--patient", "0101700013", "--type", "39289-4"]).unwrap();
        assert_eq!(r.adhoc_query.object.id, stored_query::FIND_DOCUMENTS);
        assert_eq!(
            slot(&r, "$XDSDocumentEntryPatientId"),
            ["'0101700013^^^&1.2.208.176.1.2&ISO'"]
        );
        assert_eq!(
            slot(&r, "$XDSDocumentEntryStatus"),
            ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"]
        );
        assert_eq!(
            slot(&r, "$XDSDocumentEntryTypeCode"),
            ["('39289-4^^2.16.840.1.113883.6.1')"]
        );
        // What we build passes the service's own parameter checks.
        let report = xds_validate::validate_adhoc_query_request(
            &r,
            &xds_validate::ValidationConfig::default(),
        );
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn other_queries_take_params_as_written() {
        let r = request(&[
            "--query-id",
            "getdocuments",
            "--param",
            "$XDSDocumentEntryUniqueId=('2.25.1')",
        ])
        .unwrap();
        assert_eq!(r.adhoc_query.object.id, stored_query::GET_DOCUMENTS);
        assert_eq!(slot(&r, "$XDSDocumentEntryUniqueId"), ["('2.25.1')"]);
        assert!(slot(&r, "$XDSDocumentEntryStatus").is_empty());
    }

    #[test]
    fn get_all_asks_every_status() {
        let r = request(&[
            "--query-id",
            "GetAll",
            "--patient",
            "0101700013",
            "--status",
            "all",
        ])
        .unwrap();
        for name in [
            "$XDSDocumentEntryStatus",
            "$XDSSubmissionSetStatus",
            "$XDSFolderStatus",
        ] {
            assert_eq!(slot(&r, name).len(), 1, "{name}");
        }
        assert_eq!(
            slot(&r, "$patientId"),
            ["'0101700013^^^&1.2.208.176.1.2&ISO'"]
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(request(&[]).unwrap_err().to_string().contains("--patient"));
        assert!(
            request(&["--query-id", "FindEverything", "--patient", "0101700013"])
                .unwrap_err()
                .to_string()
                .contains("FindDocuments")
        );
        assert!(
            request(&["--patient", "x", "--param", "nonsense"])
                .unwrap_err()
                .to_string()
                .contains("$Name=VALUE")
        );
    }

    #[test]
    fn readable_values() {
        assert_eq!(readable_dtm("20270114120000"), "2027-01-14 12:00");
        assert_eq!(
            readable_institution(
                "Aarhus Universitetshospital, Hjertesygdomme^^^^^&1.2.208.176.1.1&ISO^^^^242621000016001"
            ),
            "Aarhus Universitetshospital, Hjertesygdomme (242621000016001)"
        );
    }
}

//! `dds search`: FindDocumentsByText, the full-text stored query, over SOAP like `dds query`;
//! prints the patient's DocumentEntries best match first, with the passage that matched.

use identity::Role;
use serde::Serialize;
use xds_model::vocabulary::response_status;

use super::client::Client;
use super::output::{self, ErrorOut, Table};
use super::query::{self, DocumentRow, QueryArgs, ReturnTypeArg, StatusFilter};
use super::{ConnectArgs, EXIT_OK, EXIT_REFUSED, card};

/// Options of `dds search`.
#[derive(Debug, clap::Args)]
#[command(after_help = SEARCH_EXAMPLES)]
pub struct SearchArgs {
    /// The patient's CPR number.
    #[arg(long, value_name = "CPR")]
    pub patient: String,
    /// availabilityStatus of the DocumentEntries searched.
    #[arg(long, value_enum, default_value_t = StatusFilter::Approved)]
    pub status: StatusFilter,
    /// The words to look for (in titles, codes, authors, institutions, comments and the
    /// documents' text); Danish inflections and spellings without æ, ø, å match too.
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<String>,
    #[command(flatten, next_help_heading = "Service and ID card")]
    pub connect: ConnectArgs,
}

const SEARCH_EXAMPLES: &str = "Examples:
  dds search --patient 0101700013 hjertet
  dds search --patient 2512489996 --status all kardiologisk ambulatorium --json

Exit status: 0 on Success, 1 on Failure or a SOAP fault, 2 when the service could not be asked.";

/// One result as `dds search` prints it.
#[derive(Debug, Serialize)]
pub struct SearchHit {
    /// 1 for the best match.
    pub rank: usize,
    #[serde(flatten)]
    pub document: DocumentRow,
}

#[derive(Debug, Serialize)]
pub struct SearchOut {
    pub status: String,
    pub status_urn: String,
    pub errors: Vec<ErrorOut>,
    pub results: Vec<SearchHit>,
}

pub fn run(args: SearchArgs) -> i32 {
    super::run_command("search", search(args))
}

async fn search(args: SearchArgs) -> anyhow::Result<i32> {
    let text = args.text.join(" ");
    let query_args = QueryArgs {
        patient: Some(args.patient.clone()),
        status: args.status,
        type_codes: Vec::new(),
        query_id: "FindDocumentsByText".to_owned(),
        params: vec![format!("$DdsText={}", query::quote(&text))],
        return_type: ReturnTypeArg::LeafClass,
        connect: args.connect.clone(),
    };
    let request = query::build_request(&query_args)?;
    let card = card::card_for(&args.connect, Role::Doctor, Some(&args.patient))?;
    let client = Client::new(&args.connect.url, card, args.connect.timeout())?;
    let answer = query::ask(&client, &request).await?;
    let out = SearchOut {
        status: answer.status,
        status_urn: answer.status_urn,
        errors: answer.errors,
        results: answer
            .documents
            .into_iter()
            .enumerate()
            .map(|(i, document)| SearchHit {
                rank: i + 1,
                document,
            })
            .collect(),
    };
    if args.connect.json {
        output::print_json(&out)?;
    } else {
        print_search(&out);
    }
    Ok(if out.status_urn == response_status::SUCCESS {
        EXIT_OK
    } else {
        EXIT_REFUSED
    })
}

fn print_search(out: &SearchOut) {
    println!("status: {} — {} document(s)", out.status, out.results.len());
    if !out.results.is_empty() {
        let mut table = Table::new(&["rank", "title", "created (UTC)", "snippet", "uniqueId"]);
        for hit in &out.results {
            let d = &hit.document;
            table.row(vec![
                hit.rank.to_string(),
                d.title.clone().unwrap_or_default(),
                d.creation_time
                    .as_deref()
                    .map(query::readable_dtm)
                    .unwrap_or_default(),
                d.snippet
                    .as_deref()
                    .map(|s| output::shorten(s, 80))
                    .unwrap_or_default(),
                d.unique_id.clone(),
            ]);
        }
        println!();
        table.print();
    }
    output::print_errors(&out.errors);
}

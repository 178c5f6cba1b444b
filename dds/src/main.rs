//! `dds`: the command line of the document-sharing service (see the `dds` library for the
//! service itself).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use clap::{Parser, Subcommand};
use dds::cli::{backup, query, retrieve, search, seed, submit};
use dds::{bench, config, idcard, serve, validate};

/// Request parsing allocates many small strings; mimalloc serves them faster than the system
/// allocator (measured by `cargo bench -p xds-model`, which uses it too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The IHE XDS.b document registry and repository with the Danish consent, MinLog and
/// treatment-relation follow-up rules.
#[derive(Debug, Parser)]
#[command(name = "dds", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (registry and repository in one process by default).
    Serve(config::ServeFlags),
    /// Check a SOAP message or metadata file against the XDS and Danish profile rules; exit
    /// status 0 when nothing is at reject, 1 otherwise, 2 when the file cannot be read or parsed.
    Validate(validate::ValidateArgs),
    /// Development ID cards.
    Idcard {
        #[command(subcommand)]
        command: IdcardCommand,
    },
    /// Submit documents (ITI-41) to a running service, with DK-profile metadata built from the
    /// flags and the document, or send prepared SOAP requests (ITI-41/42/57/62).
    Submit(Box<submit::SubmitArgs>),
    /// Find a patient's documents (ITI-18 FindDocuments, or any stored query) in a running
    /// service; prints a table or JSON.
    Query(query::QueryArgs),
    /// Search a patient's documents by text (the FindDocumentsByText stored query) in a running
    /// service; prints the best matches first, with the passage that matched.
    Search(search::SearchArgs),
    /// Rebuild the full-text search index of a data directory from its registry (with the
    /// service stopped).
    Reindex(dds::search::ReindexArgs),
    /// Retrieve documents (ITI-43 over MTOM) from a running service into files; prints their
    /// mime type, size and SHA-1.
    Retrieve(retrieve::RetrieveArgs),
    /// Load synthetic Danish patients and appointment documents into a data directory, through
    /// the service's own validation and stores, with a progress bar.
    Seed(seed::SeedArgs),
    /// Take a consistent snapshot of a data directory (databases, documents, development STS)
    /// while the service may keep running.
    Backup(backup::BackupArgs),
    /// Put a backup into a new data directory (offline: no service on it).
    Restore(backup::RestoreArgs),
    /// Benchmark: seed (or reuse) a store, start the service (or target --url), run a mixed
    /// ITI-18 / ITI-43 / ITI-41 workload over HTTP and compare every figure with its limit.
    Bench(Box<bench::BenchArgs>),
}

#[derive(Debug, Subcommand)]
enum IdcardCommand {
    /// Print a signed ID card (a saml:Assertion) from the data dir's development STS.
    Issue(idcard::IssueArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Validate(args) => std::process::exit(validate::run(args)),
        Command::Idcard {
            command: IdcardCommand::Issue(args),
        } => idcard::issue(args),
        Command::Submit(args) => std::process::exit(submit::run(*args)),
        Command::Query(args) => std::process::exit(query::run(args)),
        Command::Search(args) => std::process::exit(search::run(args)),
        Command::Reindex(args) => std::process::exit(dds::search::reindex(args)),
        Command::Retrieve(args) => std::process::exit(retrieve::run(args)),
        Command::Seed(args) => std::process::exit(seed::run(args)),
        Command::Backup(args) => std::process::exit(backup::backup(args)),
        Command::Restore(args) => std::process::exit(backup::restore(args)),
        Command::Bench(args) => std::process::exit(bench::run(*args)),
    }
}

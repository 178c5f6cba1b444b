//! `dds`: the command line of the document-sharing service (see the `dds` library for the
//! service itself).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use clap::{Parser, Subcommand};
use dds::{config, idcard, serve, validate};

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
    }
}

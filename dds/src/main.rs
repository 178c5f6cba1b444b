//! `dds`: the document-sharing service and its command-line tools.
//!
//! This binary is the only place that knows HTTP: it composes the registry, repository,
//! consent and MinLog crates behind the SOAP and JSON endpoints of INTERFACE.md.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod serve;

use clap::{Parser, Subcommand};

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
    }
}

//! The client and operations commands of `dds`.
//!
//! - Client commands talk SOAP 1.2 + WS-Addressing to a running service, like any XDS actor
//!   would ([`client`]), with an ID card from `--card` or minted by the development STS of the
//!   service's data directory ([`card`]): `dds submit` (ITI-41, [`submit`]), `dds query`
//!   (ITI-18, [`query`]), `dds search` (the full-text stored query, [`search`]), `dds retrieve`
//!   (ITI-43 over MTOM, [`retrieve`]).
//! - Operations commands work on a data directory: `dds seed` loads synthetic Danish data
//!   through the service's own validation and stores, in process ([`seed`], [`synthetic`]);
//!   `dds backup` takes an online snapshot and `dds restore` puts one into a new data
//!   directory ([`backup`]).
//! - [`metadata`] builds DK-profile metadata for a document (shared by `submit` and `seed`),
//!   [`cda`] reads the facts of a CDA document and writes synthetic appointment documents,
//!   [`output`] prints tables and JSON.
//!
//! Exit status of the client commands (INTERFACE.md "Command line"): [`EXIT_OK`] when the
//! service answered Success; [`EXIT_REFUSED`] when it answered Failure or PartialSuccess, or a
//! SOAP fault; [`EXIT_TROUBLE`] when the command could not ask at all (bad arguments, unreadable
//! file, service unreachable).

pub mod backup;
pub mod card;
pub mod cda;
pub mod client;
pub mod metadata;
pub mod output;
pub mod query;
pub mod retrieve;
pub mod search;
pub mod seed;
pub mod submit;
pub mod synthetic;

use std::path::PathBuf;
use std::time::Duration;

/// Everything the service was asked did what was asked.
pub const EXIT_OK: i32 = 0;
/// The service answered, and refused some or all of it (Failure, PartialSuccess, SOAP fault).
pub const EXIT_REFUSED: i32 = 1;
/// The command could not ask: bad arguments, an unreadable file, no service at the URL.
pub const EXIT_TROUBLE: i32 = 2;

/// Default `--url` of the client commands: where `dds serve` listens by default.
pub const URL_DEFAULT: &str = "http://127.0.0.1:8080";

/// How a client command reaches the service and who it says it is.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Base URL of the running service (the commands add /xds/registry or /xds/repository).
    #[arg(long, env = "DDS_URL", default_value = URL_DEFAULT)]
    pub url: String,
    /// Data directory of the running service: its development STS signs the ID card when no
    /// --card is given.
    #[arg(long, env = "DDS_DATA", default_value = crate::config::DATA_DEFAULT)]
    pub data: PathBuf,
    /// File with a signed ID card (a saml:Assertion, as `dds idcard issue` prints it), sent
    /// instead of a minted one.
    #[arg(long, value_name = "FILE")]
    pub card: Option<PathBuf>,
    /// Role of the minted card: doctor, nurse, secretary, system, citizen or admin
    /// [default: system for submit, doctor otherwise].
    #[arg(long)]
    pub role: Option<String>,
    /// CPR of the minted card's user [default: a development doctor; the patient for a
    /// citizen].
    #[arg(long, value_name = "CPR")]
    pub cpr: Option<String>,
    /// SOR code of the minted card's organisation [default: a development hospital department].
    #[arg(long, value_name = "SOR")]
    pub org_sor: Option<String>,
    /// CVR number of the minted card's organisation [default for system cards: 33257872].
    #[arg(long, value_name = "CVR")]
    pub org_cvr: Option<String>,
    /// Seconds to wait for the service's answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ConnectArgs {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

/// Runs an async command on a fresh runtime and turns its outcome into an exit status; an
/// error is printed as `dds <command>: <cause chain>` and exits with [`EXIT_TROUBLE`].
pub fn run_command<F>(command: &str, future: F) -> i32
where
    F: std::future::Future<Output = anyhow::Result<i32>>,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dds {command}: cannot start the async runtime: {error}");
            return EXIT_TROUBLE;
        }
    };
    match runtime.block_on(future) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dds {command}: {error:#}");
            match error.downcast_ref::<client::ClientError>() {
                Some(client::ClientError::Fault(_)) => EXIT_REFUSED,
                _ => EXIT_TROUBLE,
            }
        }
    }
}

//! `dds idcard issue`: mint a signed development ID card from a data dir's STS.

use std::path::PathBuf;

use anyhow::{Context, bail};
use identity::{CardRequest, DevSts, Role};

/// Options of `dds idcard issue` (INTERFACE.md "Identity: ID cards").
#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// Data directory whose development STS signs the card (created if it has none yet).
    #[arg(long, env = "DDS_DATA", default_value = crate::config::DATA_DEFAULT)]
    pub data: PathBuf,
    /// doctor, nurse, secretary (health professionals), system, citizen or admin.
    #[arg(long)]
    pub role: String,
    /// The user's CPR number (10 digits); required for every role but system.
    #[arg(long)]
    pub cpr: Option<String>,
    /// The user's name, "Given Surname".
    #[arg(long)]
    pub name: Option<String>,
    /// The organisation's SOR code.
    #[arg(long)]
    pub org_sor: Option<String>,
    /// The organisation's CVR number; required for system cards (it is their subject).
    #[arg(long)]
    pub org_cvr: Option<String>,
    /// The health professional's authorisation code.
    #[arg(long)]
    pub auth_code: Option<String>,
    /// CPR of the doctor on whose behalf the user acts (delegation).
    #[arg(long)]
    pub on_behalf_of: Option<String>,
    /// Lifetime in minutes, 1 to 1440 (24 hours).
    #[arg(long, default_value_t = 480)]
    pub valid_minutes: u32,
}

pub fn issue(args: IssueArgs) -> anyhow::Result<()> {
    let Some(role) = Role::parse(&args.role) else {
        bail!(
            "--role {:?} is not a role; use one of doctor, nurse, secretary, system, citizen, admin",
            args.role
        );
    };
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create the data directory {}", args.data.display()))?;
    let sts = DevSts::open_or_create(&args.data).context("cannot open the development STS")?;
    let mut request = CardRequest::new(role);
    request.cpr = args.cpr;
    request.name = args.name;
    request.org_sor = args.org_sor;
    request.org_cvr = args.org_cvr;
    request.auth_code = args.auth_code;
    request.on_behalf_of = args.on_behalf_of;
    request.valid_minutes = args.valid_minutes;
    let card = sts.issue(&request).context("cannot issue the card")?;
    println!("{card}");
    Ok(())
}

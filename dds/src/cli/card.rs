//! The ID card a client command sends: a file given with `--card`, or one minted on the spot by
//! the development STS of the service's data directory.
//!
//! Invariant: a card is minted only from an STS that already exists. Creating a fresh one would
//! produce a card the running service does not trust, and the user would get an authentication
//! fault instead of the hint to point `--data` at the service's data directory.

use std::path::Path;

use anyhow::{Context, bail};
use identity::{CardRequest, DevSts, Role};

use super::ConnectArgs;

/// The CPR of the development doctor whose card the client commands send by default (a
/// fictitious number with a valid date, like the samples' persons).
pub const DEV_DOCTOR_CPR: &str = "0807631537";
/// The development doctor's organisation: Rigshospitalet, Ortopædkirurgisk klinik in the
/// samples (invented SOR code).
pub const DEV_ORG_SOR: &str = "328081000016004";
/// The CVR of the development IT system whose system card `dds submit` sends by default (the
/// samples' EPJ).
pub const DEV_SYSTEM_CVR: &str = "33257872";
/// The IT system name written into minted system cards.
pub const DEV_IT_SYSTEM: &str = "dds command line";

/// The card to send: `--card FILE`, else minted for `--role` (or `default_role`). A citizen
/// card without `--cpr` is for `patient`, the CPR the command is about.
pub fn card_for(
    args: &ConnectArgs,
    default_role: Role,
    patient: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(path) = &args.card {
        let card = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the ID card in {}", path.display()))?;
        let card = card.trim();
        if !card.starts_with('<') {
            bail!(
                "{} does not hold a card: expected a saml:Assertion as `dds idcard issue` prints it",
                path.display()
            );
        }
        return Ok(card.to_owned());
    }
    let role = match &args.role {
        None => default_role,
        Some(name) => Role::parse(name).with_context(|| {
            format!(
                "--role {name:?} is not a role; use one of doctor, nurse, secretary, system, citizen, admin"
            )
        })?,
    };
    let sts = open_dev_sts(&args.data)?;
    let mut request = CardRequest::new(role);
    request.org_sor = args.org_sor.clone();
    request.org_cvr = args.org_cvr.clone();
    match role {
        Role::System => {
            if request.org_cvr.is_none() {
                request.org_cvr = Some(DEV_SYSTEM_CVR.to_owned());
            }
            request.it_system = Some(DEV_IT_SYSTEM.to_owned());
        }
        Role::Citizen => {
            request.cpr = args.cpr.clone().or_else(|| patient.map(str::to_owned));
            if request.cpr.is_none() {
                bail!("a citizen card needs the citizen's CPR: give --cpr");
            }
        }
        Role::Doctor | Role::Nurse | Role::Secretary | Role::Admin => {
            request.cpr = Some(
                args.cpr
                    .clone()
                    .unwrap_or_else(|| DEV_DOCTOR_CPR.to_owned()),
            );
            if request.org_sor.is_none() && request.org_cvr.is_none() {
                request.org_sor = Some(DEV_ORG_SOR.to_owned());
            }
        }
    }
    sts.issue(&request)
        .context("the development STS cannot issue that card")
}

/// Opens the development STS of `data`, which must exist (see the module invariant).
pub fn open_dev_sts(data: &Path) -> anyhow::Result<DevSts> {
    if !data.join(identity::STS_KEY_FILE).exists() {
        bail!(
            "{} has no development STS ({} is missing): point --data at the data directory of the running service, or give a card with --card",
            data.display(),
            identity::STS_KEY_FILE
        );
    }
    DevSts::open_or_create(data)
        .with_context(|| format!("cannot open the development STS in {}", data.display()))
}

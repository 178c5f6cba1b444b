//! Who is calling: the typed result of a verified ID card.
//!
//! Invariant: a `Caller` is only ever built from an ID card whose signature, issuer and
//! validity window were verified; every field comes from the signed assertion. Nothing
//! downstream re-reads card XML.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The caller's role (INTERFACE.md "Identity: ID cards").
///
/// How the role travels in the card: a system card (`sosi:IDCardType` = `system`) is always
/// [`Role::System`]; a user card names the role in `medcom:UserRole`, see
/// [`Role::from_user_role`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Doctor,
    Nurse,
    Secretary,
    /// An IT system acting without a person (system card).
    System,
    Citizen,
    Admin,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 6] = [
        Role::Doctor,
        Role::Nurse,
        Role::Secretary,
        Role::System,
        Role::Citizen,
        Role::Admin,
    ];

    /// The name used in cards we issue, in configuration and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Secretary => "secretary",
            Role::System => "system",
            Role::Citizen => "citizen",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name as given on the command line (`dds idcard issue --role`).
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Maps a `medcom:UserRole` value of a user card to a role.
    ///
    /// Accepted: our English names (`doctor`, `nurse`, `secretary`, `citizen`, `admin`) and
    /// the Danish words national STSs put there (`Læge`, `Sygeplejerske`, `Sekretær`,
    /// `Lægesekretær`, `Borger`), compared case-insensitively. `system` is refused here: a
    /// system is recognised only by `sosi:IDCardType=system`, so a user card cannot claim it.
    /// Numeric national education codes are not mapped (their table is not in our sources).
    pub fn from_user_role(value: &str) -> Option<Role> {
        match value.trim().to_lowercase().as_str() {
            "doctor" | "læge" => Some(Role::Doctor),
            "nurse" | "sygeplejerske" => Some(Role::Nurse),
            "secretary" | "sekretær" | "lægesekretær" => Some(Role::Secretary),
            "citizen" | "borger" => Some(Role::Citizen),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Doctors, nurses and secretaries: the roles whose accesses get a BRS follow-up.
    pub fn is_health_professional(self) -> bool {
        matches!(self, Role::Doctor | Role::Nurse | Role::Secretary)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The person a user card names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// CPR number, 10 digits (validated).
    pub cpr: String,
    pub given_name: String,
    pub surname: String,
}

impl Person {
    /// "Given Surname", as MinLog shows it.
    pub fn name(&self) -> String {
        match (self.given_name.is_empty(), self.surname.is_empty()) {
            (false, false) => format!("{} {}", self.given_name, self.surname),
            (false, true) => self.given_name.clone(),
            _ => self.surname.clone(),
        }
    }
}

/// The organisation the caller acts for (`medcom:CareProviderID` / `CareProviderName`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Organisation {
    /// SOR code (digits), when the card names the care provider by SOR.
    pub sor: Option<String>,
    /// CVR number (8 digits), when the card names the care provider by CVR.
    pub cvr: Option<String>,
    pub name: Option<String>,
}

/// The verified caller of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// The person; `None` for system cards.
    pub person: Option<Person>,
    pub role: Role,
    /// The health professional's authorisation code (`medcom:UserAuthorizationCode`).
    pub authorisation_code: Option<String>,
    pub organisation: Organisation,
    /// `medcom:ITSystemName`.
    pub it_system: Option<String>,
    /// The CPR of the professional this caller acts for (a delegate's principal).
    pub on_behalf_of: Option<String>,
    /// `sosi:IDCardID`.
    pub card_id: String,
    /// `saml:Issuer`: the STS name the card states (the signature proved it is trusted).
    pub issuer: String,
    /// `Conditions/@NotOnOrAfter`.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
}

impl Caller {
    /// The caller's own CPR, if the card names a person.
    pub fn cpr(&self) -> Option<&str> {
        self.person.as_ref().map(|p| p.cpr.as_str())
    }
}

/// True if `s` is a CPR number as the card must carry it: exactly 10 ASCII digits.
pub(crate) fn is_cpr(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())
}

/// True if `s` is a CVR number: exactly 8 ASCII digits.
pub(crate) fn is_cvr(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
}

/// True if `s` is a SOR code: 1 to 18 ASCII digits.
pub(crate) fn is_sor(s: &str) -> bool {
    (1..=18).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

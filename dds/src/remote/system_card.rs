//! The ID card this service presents when it calls another service (`[system_card]`).
//!
//! Two sources:
//! - **A card file** (`[system_card] file`, production): a system card the national STS issued
//!   for this service, kept fresh in place by whatever obtains it (cards live at most 24
//!   hours). The file is read again whenever it changes or its card is about to expire, and it
//!   is checked like any incoming card (signature by a trusted STS, validity window, a system
//!   card), so a bad or stale file is reported by name instead of sent.
//! - **Minted** (development, the default): a system card from the data dir's development STS,
//!   naming `[system_card] cvr`, `organisation_name` and `it_system`, renewed well before it
//!   expires. The services called must trust that STS (`trusted_sts_certs` = its
//!   `sts-cert.pem`).
//!
//! Invariant: the card handed out is valid for at least [`RENEW_BEFORE`] more (a file whose
//! card is not is refused with [`SystemCardError::Expired`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use identity::{CardRequest, DevSts, Rejection, Role, StsError, Verifier};
use time::OffsetDateTime;

use crate::config::SystemCardConfig;

/// A card is renewed (minted) or re-read (file) when it has less than this left, so a call
/// never goes out with a card that expires on the way.
pub const RENEW_BEFORE: time::Duration = time::Duration::minutes(30);
/// Lifetime of a minted development card.
const MINTED_MINUTES: u32 = 8 * 60;

/// Why no system card can be presented.
#[derive(Debug, thiserror::Error)]
pub enum SystemCardError {
    #[error("cannot mint the development system card: {0}")]
    Mint(#[from] StsError),
    #[error("cannot read the system card file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the system card file {path} does not hold a valid card: {rejection}")]
    Invalid { path: PathBuf, rejection: Rejection },
    #[error("the system card file {path} holds a {role} card, not a system card")]
    NotSystem { path: PathBuf, role: Role },
    #[error(
        "the system card in {path} expires at {valid_until} (less than {RENEW_BEFORE} from now); renew the file"
    )]
    Expired {
        path: PathBuf,
        valid_until: OffsetDateTime,
    },
}

enum Source {
    /// Boxed: one per service, and it keeps the enum small.
    Minted {
        sts: Box<DevSts>,
        request: CardRequest,
    },
    File {
        path: PathBuf,
        verifier: Verifier,
    },
}

/// The card in use and when to replace it.
struct Cached {
    card: Arc<str>,
    renew_at: OffsetDateTime,
    /// The file's modification time when it was read (file source).
    file_modified: Option<SystemTime>,
}

/// This service's own card; see the module documentation.
pub struct SystemCard {
    source: Source,
    /// The current card. A std mutex: held only to read or replace it (minting a card is a
    /// millisecond of RSA), never across an await.
    cached: Mutex<Option<Cached>>,
}

impl SystemCard {
    /// From the configuration: the card file if one is configured (checked now, so a bad file
    /// stops the start), else cards minted by the data dir's development STS.
    pub fn open(
        config: &SystemCardConfig,
        data: &std::path::Path,
        verifier: &Verifier,
    ) -> Result<SystemCard, SystemCardError> {
        let card = match &config.file {
            Some(path) => SystemCard {
                source: Source::File {
                    path: path.clone(),
                    verifier: verifier.clone(),
                },
                cached: Mutex::new(None),
            },
            None => {
                let sts = DevSts::open_or_create(data)?;
                let mut request = CardRequest::new(Role::System);
                request.org_cvr = Some(config.cvr.clone());
                request.org_name = Some(config.organisation_name.clone());
                request.it_system = Some(config.it_system.clone());
                request.valid_minutes = MINTED_MINUTES;
                SystemCard {
                    source: Source::Minted {
                        sts: Box::new(sts),
                        request,
                    },
                    cached: Mutex::new(None),
                }
            }
        };
        card.card()?;
        Ok(card)
    }

    /// The card (the `saml:Assertion` XML) to present now.
    pub fn card(&self) -> Result<Arc<str>, SystemCardError> {
        let now = OffsetDateTime::now_utc();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = cached.as_ref()
            && now < current.renew_at
            && !self.file_changed(current)
        {
            return Ok(current.card.clone());
        }
        let fresh = self.load(now)?;
        let card = fresh.card.clone();
        *cached = Some(fresh);
        Ok(card)
    }

    /// A `wsse:Security` header holding the card, with a fresh timestamp.
    pub fn security_header(&self) -> Result<String, SystemCardError> {
        Ok(identity::security_header(
            &self.card()?,
            OffsetDateTime::now_utc(),
        ))
    }

    fn file_changed(&self, current: &Cached) -> bool {
        match &self.source {
            Source::File { path, .. } => {
                std::fs::metadata(path).and_then(|m| m.modified()).ok() != current.file_modified
            }
            Source::Minted { .. } => false,
        }
    }

    fn load(&self, now: OffsetDateTime) -> Result<Cached, SystemCardError> {
        match &self.source {
            Source::Minted { sts, request } => {
                let card = sts.issue(request)?;
                Ok(Cached {
                    card: card.into(),
                    renew_at: now + time::Duration::minutes(i64::from(MINTED_MINUTES))
                        - RENEW_BEFORE,
                    file_modified: None,
                })
            }
            Source::File { path, verifier } => {
                let read = |source| SystemCardError::Read {
                    path: path.clone(),
                    source,
                };
                let file_modified = std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .map_err(read)?;
                let card = std::fs::read_to_string(path).map_err(read)?;
                let caller = verifier
                    .verify_card(card.as_bytes(), now)
                    .map_err(|rejection| SystemCardError::Invalid {
                        path: path.clone(),
                        rejection,
                    })?;
                if caller.role != Role::System {
                    return Err(SystemCardError::NotSystem {
                        path: path.clone(),
                        role: caller.role,
                    });
                }
                let renew_at = caller.valid_until - RENEW_BEFORE;
                if now >= renew_at {
                    return Err(SystemCardError::Expired {
                        path: path.clone(),
                        valid_until: caller.valid_until,
                    });
                }
                Ok(Cached {
                    card: card.trim().into(),
                    renew_at,
                    file_modified: Some(file_modified),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity::{TrustStore, VerifyConfig};

    fn verifier(sts: &DevSts) -> Verifier {
        Verifier::new(TrustStore::with_dev_sts(sts), VerifyConfig::default())
    }

    #[test]
    fn minted_card_is_a_system_card_and_is_reused() {
        let data = tempfile::tempdir().unwrap();
        let card = SystemCard::open(&SystemCardConfig::default(), data.path(), &{
            let sts = DevSts::open_or_create(data.path()).unwrap();
            verifier(&sts)
        })
        .unwrap();
        let first = card.card().unwrap();
        assert!(Arc::ptr_eq(&first, &card.card().unwrap()), "cached");
        let sts = DevSts::open_or_create(data.path()).unwrap();
        let caller = verifier(&sts)
            .verify_card(first.as_bytes(), OffsetDateTime::now_utc())
            .unwrap();
        assert_eq!(caller.role, Role::System);
        assert_eq!(caller.organisation.cvr.as_deref(), Some("00000000"));
    }

    #[test]
    fn card_file_is_checked_and_reread_when_it_changes() {
        let data = tempfile::tempdir().unwrap();
        let sts = DevSts::open_or_create(data.path()).unwrap();
        let path = data.path().join("system-card.xml");
        let mut request = CardRequest::new(Role::System);
        request.org_cvr = Some("12345678".into());
        std::fs::write(&path, sts.issue(&request).unwrap()).unwrap();
        let config = SystemCardConfig {
            file: Some(path.clone()),
            ..SystemCardConfig::default()
        };
        let card = SystemCard::open(&config, data.path(), &verifier(&sts)).unwrap();
        let first = card.card().unwrap();

        // Renewed in place: the new card is used.
        request.org_cvr = Some("87654321".into());
        let renewed = sts.issue(&request).unwrap();
        std::fs::write(&path, &renewed).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        assert_ne!(card.card().unwrap(), first);
        assert_eq!(&*card.card().unwrap(), renewed.trim());

        // A user card, an expiring card and a card of an untrusted STS are refused.
        let mut doctor = CardRequest::new(Role::Doctor);
        doctor.cpr = Some("0101011234".into());
        doctor.org_sor = Some("123456789012345".into());
        std::fs::write(&path, sts.issue(&doctor).unwrap()).unwrap();
        assert!(matches!(
            SystemCard::open(&config, data.path(), &verifier(&sts)),
            Err(SystemCardError::NotSystem { .. })
        ));
        request.valid_minutes = 10;
        std::fs::write(&path, sts.issue(&request).unwrap()).unwrap();
        assert!(matches!(
            SystemCard::open(&config, data.path(), &verifier(&sts)),
            Err(SystemCardError::Expired { .. })
        ));
        let other = tempfile::tempdir().unwrap();
        let other_sts = DevSts::open_or_create(other.path()).unwrap();
        request.valid_minutes = 60;
        std::fs::write(&path, other_sts.issue(&request).unwrap()).unwrap();
        assert!(matches!(
            SystemCard::open(&config, data.path(), &verifier(&sts)),
            Err(SystemCardError::Invalid { .. })
        ));
    }
}

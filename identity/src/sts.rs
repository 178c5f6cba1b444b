//! The development STS: a local key pair that issues signed ID cards, so that a fresh data dir
//! can be used without the national STS.
//!
//! Invariants:
//! - `sts-key.pem` (PKCS#8, mode 0600) and `sts-cert.pem` (self-signed X.509) are created
//!   together, once; an existing pair is never overwritten, and a data dir holding only one of
//!   them is an error rather than silently regenerated.
//! - A card is never issued with a lifetime over [`CARD_LIFETIME_MAX`]; the card layout is
//!   DK-PROFILE.md §2 (DGWS 1.0.1), signed like the national STS signs (enveloped, exclusive
//!   c14n, RSA-SHA256, SHA-256 digest, `ds:Signature id="OCESSignature"` last).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::caller::{Role, is_cpr, is_cvr, is_sor};
use crate::ns::{self, alg, card};
use crate::scan::{push_attr_escaped, push_text_escaped};
use crate::verify::CARD_LIFETIME_MAX;

/// File name of the development STS's private key in the data dir.
pub const STS_KEY_FILE: &str = "sts-key.pem";
/// File name of the development STS's certificate in the data dir.
pub const STS_CERT_FILE: &str = "sts-cert.pem";
/// The `saml:Issuer` of development cards and the certificate's common name.
pub const DEV_STS_NAME: &str = "DDS development STS";
/// How long the development certificate is valid.
const CERT_VALIDITY_DAYS: u64 = 10 * 365;
/// RSA modulus size of the development key.
const RSA_BITS: usize = 2048;

/// Why the development STS could not be opened or could not issue a card.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StsError {
    #[error("cannot use development STS file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the data dir holds {present} but not {missing}; restore it or remove both")]
    HalfAPair { present: PathBuf, missing: PathBuf },
    #[error("development STS file {path} is not usable: {why}")]
    BadFile { path: PathBuf, why: String },
    #[error("cannot create the development STS key or certificate: {0}")]
    Crypto(String),
    #[error("invalid card request: {0}")]
    InvalidRequest(&'static str),
    #[error("signing the card failed: {0}")]
    Signing(String),
}

/// What a card should say (`dds idcard issue` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRequest {
    pub role: Role,
    /// The user's CPR; required for every role but `system`, which must not have one.
    pub cpr: Option<String>,
    /// "Given Surname"; a default per role when absent.
    pub name: Option<String>,
    pub org_sor: Option<String>,
    /// For `system` cards the CVR is required: it is the card's subject.
    pub org_cvr: Option<String>,
    pub org_name: Option<String>,
    pub auth_code: Option<String>,
    pub on_behalf_of: Option<String>,
    /// Lifetime in minutes, 1 to 1440.
    pub valid_minutes: u32,
    pub it_system: Option<String>,
}

impl CardRequest {
    /// A request for `role` with every optional field empty and a lifetime of 8 hours.
    pub fn new(role: Role) -> Self {
        CardRequest {
            role,
            cpr: None,
            name: None,
            org_sor: None,
            org_cvr: None,
            org_name: None,
            auth_code: None,
            on_behalf_of: None,
            valid_minutes: 8 * 60,
            it_system: None,
        }
    }
}

/// The development STS of one data dir.
pub struct DevSts {
    key_pem: String,
    cert_der: Vec<u8>,
    cert_pem: String,
    dir: PathBuf,
}

impl fmt::Debug for DevSts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("DevSts")
            .field("dir", &self.dir)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl DevSts {
    /// Opens the development STS in `data_dir`, creating the directory, the RSA-2048 key
    /// (`sts-key.pem`, mode 0600) and a self-signed certificate (`sts-cert.pem`) on first use.
    pub fn open_or_create(data_dir: &Path) -> Result<DevSts, StsError> {
        let key_path = data_dir.join(STS_KEY_FILE);
        let cert_path = data_dir.join(STS_CERT_FILE);
        match (key_path.exists(), cert_path.exists()) {
            (true, true) => DevSts::open(data_dir, &key_path, &cert_path),
            (false, false) => DevSts::create(data_dir, &key_path, &cert_path),
            (true, false) => Err(StsError::HalfAPair {
                present: key_path,
                missing: cert_path,
            }),
            (false, true) => Err(StsError::HalfAPair {
                present: cert_path,
                missing: key_path,
            }),
        }
    }

    fn open(dir: &Path, key_path: &Path, cert_path: &Path) -> Result<DevSts, StsError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StsError::Io { path, source }
        };
        let key_pem = std::fs::read_to_string(key_path).map_err(io(key_path))?;
        let cert_pem = std::fs::read_to_string(cert_path).map_err(io(cert_path))?;
        bergshamra_keys::loader::load_rsa_private_pem(key_pem.as_bytes()).map_err(|e| {
            StsError::BadFile {
                path: key_path.to_owned(),
                why: e.to_string(),
            }
        })?;
        let (label, cert_der) =
            der::pem::decode_vec(cert_pem.as_bytes()).map_err(|e| StsError::BadFile {
                path: cert_path.to_owned(),
                why: e.to_string(),
            })?;
        if label != "CERTIFICATE" {
            return Err(StsError::BadFile {
                path: cert_path.to_owned(),
                why: format!("PEM label {label}, expected CERTIFICATE"),
            });
        }
        Ok(DevSts {
            key_pem,
            cert_der,
            cert_pem,
            dir: dir.to_owned(),
        })
    }

    fn create(dir: &Path, key_path: &Path, cert_path: &Path) -> Result<DevSts, StsError> {
        use der::{EncodePem, pem::LineEnding};
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
        use x509_cert::builder::{Builder, CertificateBuilder, profile};

        std::fs::create_dir_all(dir).map_err(|source| StsError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let crypto = |e: &dyn fmt::Display| StsError::Crypto(e.to_string());

        // The OS RNG; UnwrapErr panics only if the OS cannot provide randomness at all.
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let private = rsa::RsaPrivateKey::new(&mut rng, RSA_BITS).map_err(|e| crypto(&e))?;
        let key_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| crypto(&e))?
            .to_string();
        let public_der = private
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| crypto(&e))?;
        let spki = spki::SubjectPublicKeyInfoOwned::try_from(public_der.as_bytes())
            .map_err(|e| crypto(&e))?;

        let subject = x509_cert::name::Name::from_str(&format!("CN={DEV_STS_NAME},O=DDS,C=DK"))
            .map_err(|e| crypto(&e))?;
        let profile = profile::cabf::Root::new(false, subject).map_err(|e| crypto(&e))?;
        let validity = x509_cert::time::Validity::from_now(std::time::Duration::from_secs(
            CERT_VALIDITY_DAYS * 24 * 60 * 60,
        ))
        .map_err(|e| crypto(&e))?;
        let mut serial = [0u8; 16];
        getrandom::fill(&mut serial).map_err(|e| crypto(&e))?;
        serial[0] &= 0x7f; // positive
        serial[0] |= 0x01; // no leading zero byte
        let serial =
            x509_cert::serial_number::SerialNumber::new(&serial).map_err(|e| crypto(&e))?;
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private);
        let cert = CertificateBuilder::new(profile, serial, validity, spki)
            .map_err(|e| crypto(&e))?
            .build::<_, rsa::pkcs1v15::Signature>(&signer)
            .map_err(|e| crypto(&e))?;
        let cert_pem = cert.to_pem(LineEnding::LF).map_err(|e| crypto(&e))?;
        let cert_der = der::Encode::to_der(&cert).map_err(|e| crypto(&e))?;

        write_new(key_path, key_pem.as_bytes(), 0o600)?;
        write_new(cert_path, cert_pem.as_bytes(), 0o644)?;
        Ok(DevSts {
            key_pem,
            cert_der,
            cert_pem,
            dir: dir.to_owned(),
        })
    }

    /// The certificate in DER, as the trust store holds it.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate in PEM, as `sts-cert.pem` holds it (to hand to another service's
    /// `trusted_sts_certs`).
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The data dir this STS lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Issues a signed card valid from now for `request.valid_minutes`.
    pub fn issue(&self, request: &CardRequest) -> Result<String, StsError> {
        self.issue_at(request, OffsetDateTime::now_utc())
    }

    /// Issues a signed card valid from `not_before` (tests use past or future instants).
    pub fn issue_at(
        &self,
        request: &CardRequest,
        not_before: OffsetDateTime,
    ) -> Result<String, StsError> {
        let minutes = u64::from(request.valid_minutes);
        if minutes == 0 || minutes * 60 > CARD_LIFETIME_MAX.as_secs() {
            return Err(StsError::InvalidRequest(
                "valid_minutes must be between 1 and 1440 (24 hours)",
            ));
        }
        let not_on_or_after =
            not_before + time::Duration::minutes(i64::from(request.valid_minutes));
        let template = self.card_template(request, not_before, not_on_or_after)?;
        self.sign_template(&template)
    }

    /// The unsigned card: the assertion with an empty signature template. Public for the
    /// attack tests, which change it before signing; use [`DevSts::issue`] otherwise.
    #[doc(hidden)]
    pub fn card_template(
        &self,
        r: &CardRequest,
        not_before: OffsetDateTime,
        not_on_or_after: OffsetDateTime,
    ) -> Result<String, StsError> {
        let bad = StsError::InvalidRequest;
        let system = r.role == Role::System;
        fn opt(v: &Option<String>) -> Option<&str> {
            v.as_deref().filter(|s| !s.is_empty())
        }
        if let Some(sor) = opt(&r.org_sor)
            && !is_sor(sor)
        {
            return Err(bad("org_sor must be a SOR code (digits)"));
        }
        if let Some(cvr) = opt(&r.org_cvr)
            && !is_cvr(cvr)
        {
            return Err(bad("org_cvr must be a CVR number (8 digits)"));
        }
        if let Some(cpr) = opt(&r.on_behalf_of)
            && !is_cpr(cpr)
        {
            return Err(bad("on_behalf_of must be a CPR number (10 digits)"));
        }
        if (r.role.is_health_professional() || system)
            && opt(&r.org_sor).is_none()
            && opt(&r.org_cvr).is_none()
        {
            return Err(bad("this role needs an organisation (org_sor or org_cvr)"));
        }
        let (name_id, name_id_format) = if system {
            if opt(&r.cpr).is_some() {
                return Err(bad("a system card names no person (no cpr)"));
            }
            let cvr = opt(&r.org_cvr).ok_or(bad("a system card needs org_cvr"))?;
            (cvr, card::FORMAT_CVR)
        } else {
            let cpr = opt(&r.cpr).ok_or(bad("a user card needs a cpr"))?;
            if !is_cpr(cpr) {
                return Err(bad("cpr must be a CPR number (10 digits)"));
            }
            (cpr, card::FORMAT_CPR)
        };
        let full_name = opt(&r.name).unwrap_or(match r.role {
            Role::Doctor => "Lene Læge",
            Role::Nurse => "Sofie Sygeplejerske",
            Role::Secretary => "Sanne Sekretær",
            Role::Citizen => "Bo Borger",
            Role::Admin => "Alma Administrator",
            Role::System => "",
        });
        let (given, surname) = match full_name.trim().rsplit_once(' ') {
            Some((g, s)) if !g.trim().is_empty() && !s.is_empty() => (g.trim(), s),
            _ if system => ("", ""),
            _ => return Err(bad("name must be \"Given Surname\"")),
        };

        let ts = |t: OffsetDateTime| -> Result<String, StsError> {
            t.replace_nanosecond(0)
                .unwrap_or(t)
                .format(&Rfc3339)
                .map_err(|e| StsError::Signing(e.to_string()))
        };
        let mut x = String::with_capacity(4096);
        x.push_str("<saml:Assertion xmlns:saml=\"");
        x.push_str(ns::SAML2);
        x.push_str("\" xmlns:ds=\"");
        x.push_str(ns::DS);
        // Only the prefixes used in element and attribute names are declared. `medcom:` and
        // `sosi:` occur only inside attribute values (DGWS attribute names are plain strings),
        // and exclusive c14n would not sign declarations nobody uses.
        x.push_str("\" IssueInstant=\"");
        x.push_str(&ts(OffsetDateTime::now_utc())?);
        x.push_str("\" Version=\"2.0\" id=\"IDCard\">");
        x.push_str("<saml:Issuer>");
        push_text_escaped(&mut x, DEV_STS_NAME);
        x.push_str("</saml:Issuer><saml:Subject><saml:NameID Format=\"");
        x.push_str(name_id_format);
        x.push_str("\">");
        push_text_escaped(&mut x, name_id);
        x.push_str("</saml:NameID><saml:SubjectConfirmation><saml:ConfirmationMethod>");
        x.push_str(card::HOLDER_OF_KEY);
        x.push_str(
            "</saml:ConfirmationMethod><saml:SubjectConfirmationData><ds:KeyInfo>\
             <ds:KeyName>OCESSignature</ds:KeyName></ds:KeyInfo>\
             </saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>",
        );
        x.push_str("<saml:Conditions NotBefore=\"");
        x.push_str(&ts(not_before)?);
        x.push_str("\" NotOnOrAfter=\"");
        x.push_str(&ts(not_on_or_after)?);
        x.push_str("\"/>");

        x.push_str("<saml:AttributeStatement id=\"IDCardData\">");
        let card_id = uuid::Uuid::new_v4().to_string();
        attribute(&mut x, card::ID_CARD_ID, Some("medcom:other"), &card_id);
        attribute(
            &mut x,
            card::ID_CARD_VERSION,
            None,
            card::ID_CARD_VERSION_VALUE,
        );
        attribute(
            &mut x,
            card::ID_CARD_TYPE,
            None,
            if system { "system" } else { "user" },
        );
        attribute(
            &mut x,
            card::AUTHENTICATION_LEVEL,
            None,
            if system { "3" } else { "4" },
        );
        x.push_str("</saml:AttributeStatement>");

        if !system {
            x.push_str("<saml:AttributeStatement id=\"UserLog\">");
            attribute(&mut x, card::USER_CPR, None, name_id);
            attribute(&mut x, card::USER_GIVEN_NAME, None, given);
            attribute(&mut x, card::USER_SURNAME, None, surname);
            attribute(&mut x, card::USER_ROLE, None, r.role.as_str());
            if let Some(code) = opt(&r.auth_code) {
                attribute(&mut x, card::USER_AUTHORIZATION_CODE, None, code);
            }
            if let Some(principal) = opt(&r.on_behalf_of) {
                attribute(&mut x, card::ON_BEHALF_OF, None, principal);
            }
            x.push_str("</saml:AttributeStatement>");
        }

        x.push_str("<saml:AttributeStatement id=\"SystemLog\">");
        attribute(
            &mut x,
            card::IT_SYSTEM_NAME,
            None,
            opt(&r.it_system).unwrap_or("DDS development client"),
        );
        if let Some(sor) = opt(&r.org_sor) {
            attribute(&mut x, card::CARE_PROVIDER_ID, Some(card::FORMAT_SOR), sor);
        }
        if let Some(cvr) = opt(&r.org_cvr) {
            attribute(&mut x, card::CARE_PROVIDER_ID, Some(card::FORMAT_CVR), cvr);
        }
        if let Some(name) = opt(&r.org_name) {
            attribute(&mut x, card::CARE_PROVIDER_NAME, None, name);
        }
        x.push_str("</saml:AttributeStatement>");

        x.push_str(&signature_template(
            alg::RSA_SHA256,
            alg::SHA256,
            &base64::engine::general_purpose::STANDARD.encode(&self.cert_der),
        ));
        x.push_str("</saml:Assertion>");
        Ok(x)
    }

    /// Signs a template (fills `DigestValue` and `SignatureValue`). Public for the attack
    /// tests; use [`DevSts::issue`] otherwise.
    #[doc(hidden)]
    pub fn sign_template(&self, template: &str) -> Result<String, StsError> {
        let key = bergshamra_keys::loader::load_rsa_private_pem(self.key_pem.as_bytes())
            .map_err(|e| StsError::Signing(e.to_string()))?;
        let mut manager = bergshamra_keys::KeysManager::new();
        manager.add_key(key);
        let ctx = bergshamra_dsig::DsigContext::new(manager);
        bergshamra_dsig::sign::sign(&ctx, template).map_err(|e| StsError::Signing(e.to_string()))
    }
}

/// The `ds:Signature` template DGWS cards end with.
#[doc(hidden)]
pub fn signature_template(signature_method: &str, digest_method: &str, cert_b64: &str) -> String {
    format!(
        "<ds:Signature id=\"OCESSignature\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{c14n}\"/>\
         <ds:SignatureMethod Algorithm=\"{signature_method}\"/>\
         <ds:Reference URI=\"#IDCard\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{enveloped}\"/><ds:Transform Algorithm=\"{c14n}\"/>\
         </ds:Transforms><ds:DigestMethod Algorithm=\"{digest_method}\"/>\
         <ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
         <ds:SignatureValue></ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate>\
         </ds:X509Data></ds:KeyInfo></ds:Signature>",
        c14n = alg::EXC_C14N,
        enveloped = alg::ENVELOPED,
    )
}

fn attribute(x: &mut String, name: &str, name_format: Option<&str>, value: &str) {
    x.push_str("<saml:Attribute Name=\"");
    push_attr_escaped(x, name);
    x.push('"');
    if let Some(format) = name_format {
        x.push_str(" NameFormat=\"");
        push_attr_escaped(x, format);
        x.push('"');
    }
    x.push_str("><saml:AttributeValue>");
    push_text_escaped(x, value);
    x.push_str("</saml:AttributeValue></saml:Attribute>");
}

/// Wraps a card in a `wsse:Security` header element with a `wsu:Timestamp`, as a client puts
/// it into the SOAP header.
pub fn security_header(card: &str, created: OffsetDateTime) -> String {
    let created = created
        .replace_nanosecond(0)
        .unwrap_or(created)
        .format(&Rfc3339)
        .unwrap_or_default();
    format!(
        "<wsse:Security xmlns:wsse=\"{wsse}\" xmlns:wsu=\"{wsu}\">\
         <wsu:Timestamp><wsu:Created>{created}</wsu:Created></wsu:Timestamp>{card}</wsse:Security>",
        wsse = ns::WSSE,
        wsu = ns::WSU,
    )
}

/// Creates `path` (which must not exist) with `mode` and writes `bytes`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StsError> {
    let io = |source| StsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}

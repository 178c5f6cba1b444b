//! The STS certificates whose ID cards are accepted.
//!
//! Invariant: a card is accepted only if its signature verifies with the public key of one of
//! these certificates. The certificate a card carries in its `ds:KeyInfo` is never trusted by
//! itself; it is looked at only to tell "signed by an unknown STS" from "tampered with" when a
//! card is already being rejected.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::sts::DevSts;

/// Why a trust store could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustStoreError {
    #[error("cannot read trusted STS certificate {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no PEM CERTIFICATE block")]
    NoCertificate { path: PathBuf },
    #[error("{path}: certificate {index} is not a usable RSA certificate: {why}")]
    BadCertificate {
        path: PathBuf,
        index: usize,
        why: String,
    },
}

/// One trusted STS certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCert {
    /// Where it came from (file path or `dev-sts`), for logs.
    pub source: String,
    /// The DER encoding.
    pub der: Vec<u8>,
    /// The certificate's validity period: outside it, its key verifies nothing.
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl TrustedCert {
    fn from_der(source: &str, der: Vec<u8>) -> Result<TrustedCert, String> {
        use der::Decode;
        let cert = x509_cert::Certificate::from_der(&der).map_err(|e| e.to_string())?;
        let validity = cert.tbs_certificate().validity();
        let instant = |t: x509_cert::time::Time| {
            let secs = i64::try_from(t.to_unix_duration().as_secs()).map_err(|e| e.to_string())?;
            OffsetDateTime::from_unix_timestamp(secs).map_err(|e| e.to_string())
        };
        Ok(TrustedCert {
            source: source.to_owned(),
            not_before: instant(validity.not_before)?,
            not_after: instant(validity.not_after)?,
            der,
        })
    }

    /// Whether the certificate is within its validity period at `now`.
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// The set of trusted STS certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustStore {
    certs: Vec<TrustedCert>,
}

impl TrustStore {
    /// An empty store: trusts nobody, so every card is rejected.
    pub fn empty() -> Self {
        TrustStore::default()
    }

    /// Every `CERTIFICATE` block of every file (config `trusted_sts_certs`).
    pub fn from_pem_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, TrustStoreError> {
        let mut store = TrustStore::default();
        for path in paths {
            let path = path.as_ref();
            let pem = std::fs::read(path).map_err(|source| TrustStoreError::Read {
                path: path.to_owned(),
                source,
            })?;
            store.add_pem(&pem, &path.display().to_string())?;
        }
        Ok(store)
    }

    /// A store trusting only the development STS.
    pub fn with_dev_sts(sts: &DevSts) -> Self {
        let mut store = TrustStore::default();
        store.add_dev_sts(sts);
        store
    }

    /// Adds the development STS's certificate.
    pub fn add_dev_sts(&mut self, sts: &DevSts) {
        // The STS parsed its own certificate when it was opened or created.
        if let Ok(cert) = TrustedCert::from_der("dev-sts", sts.certificate_der().to_vec()) {
            self.certs.push(cert);
        }
    }

    /// Adds every `CERTIFICATE` block of a PEM text; `source` names it in errors and logs.
    pub fn add_pem(&mut self, pem: &[u8], source: &str) -> Result<(), TrustStoreError> {
        let path = PathBuf::from(source);
        let text = String::from_utf8_lossy(pem);
        let mut found = 0usize;
        let mut rest = text.as_ref();
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        while let Some(start) = rest.find(BEGIN) {
            let Some(end_rel) = rest[start..].find(END) else {
                break;
            };
            let block = &rest[start..start + end_rel + END.len()];
            rest = &rest[start + end_rel + END.len()..];
            let index = found;
            found += 1;
            let key =
                bergshamra_keys::loader::load_x509_cert_pem(block.as_bytes()).map_err(|e| {
                    TrustStoreError::BadCertificate {
                        path: path.clone(),
                        index,
                        why: e.to_string(),
                    }
                })?;
            if key.algorithm_name() != "RSA" {
                return Err(TrustStoreError::BadCertificate {
                    path,
                    index,
                    why: format!(
                        "key algorithm {} (ID cards are RSA-signed)",
                        key.algorithm_name()
                    ),
                });
            }
            let (_, der) = der::pem::decode_vec(block.as_bytes()).map_err(|e| {
                TrustStoreError::BadCertificate {
                    path: path.clone(),
                    index,
                    why: e.to_string(),
                }
            })?;
            let cert = TrustedCert::from_der(source, der).map_err(|why| {
                TrustStoreError::BadCertificate {
                    path: path.clone(),
                    index,
                    why,
                }
            })?;
            self.certs.push(cert);
        }
        if found == 0 {
            return Err(TrustStoreError::NoCertificate { path });
        }
        Ok(())
    }

    pub fn certs(&self) -> &[TrustedCert] {
        &self.certs
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The bergshamra key manager holding every trusted public key whose certificate is valid
    /// at `now`, named `trusted-<index>`.
    pub(crate) fn keys_manager(&self, now: OffsetDateTime) -> bergshamra_keys::KeysManager {
        let mut manager = bergshamra_keys::KeysManager::new();
        for (index, cert) in self.certs.iter().enumerate() {
            if !cert.is_valid_at(now) {
                continue;
            }
            // Every certificate was parsed when it was added, so this only fails if the
            // library changed its mind; such a certificate then simply trusts nothing.
            if let Ok(key) = bergshamra_keys::loader::load_x509_cert_der(&cert.der) {
                manager.add_key(key.with_name(format!("trusted-{index}")));
            }
        }
        manager
    }
}

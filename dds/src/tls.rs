//! TLS for `dds serve`: rustls (ring provider) from configured PEM files, optionally requiring
//! client certificates signed by a configured CA, as the national platform's organisations and
//! systems authenticate with certificates besides their ID cards.
//!
//! Everything is loaded and checked at start, so a wrong path, an unreadable key or a
//! certificate that does not match its key stops the service with a message naming the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The `[tls]` settings, after precedence (flags > environment > file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA certificates; when given, every client must present a certificate they signed.
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS {what} from {}: {detail}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("{} holds no {what}", path.display())]
    Empty { what: &'static str, path: PathBuf },
    #[error("the TLS certificate and key do not make a server configuration: {0}")]
    Config(String),
}

/// The rustls server configuration (HTTP/1.1; SOAP clients do not need HTTP/2).
pub fn server_config(settings: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    crate::http_client::install_crypto_provider();
    let chain = certificates(&settings.cert, "certificate chain")?;
    let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|e| TlsError::Read {
        what: "private key",
        path: settings.key.clone(),
        detail: e.to_string(),
    })?;
    let builder = rustls::ServerConfig::builder();
    let builder = match &settings.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in certificates(path, "client CA certificate")? {
                roots.add(ca).map_err(|e| TlsError::Read {
                    what: "client CA certificate",
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read_error = |detail: String| TlsError::Read {
        what,
        path: path.to_owned(),
        detail,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(e.to_string()))?;
    if certificates.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_owned(),
        });
    }
    Ok(certificates)
}

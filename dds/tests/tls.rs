//! HTTPS with rustls from PEM files, and client certificates when a client CA is configured.
mod support;

use std::path::Path;

use dds::config::ServeFlags;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use support::TestServer;

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`.
struct Pki {
    ca: String,
    client: String,
}

fn write_pki(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["epj.example.dk".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        ca: ca.pem(),
        client: format!("{}{}", client.pem(), client_key.serialize_pem()),
    }
}

fn https(server: &TestServer, path: &str) -> String {
    format!("{}{path}", server.base.replacen("http://", "https://", 1))
}

#[tokio::test]
async fn serves_https_from_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_pki(dir.path());
    let server = TestServer::start_with(ServeFlags {
        tls_cert: Some(dir.path().join("server.pem")),
        tls_key: Some(dir.path().join("server.key")),
        ..ServeFlags::default()
    })
    .await;
    let trusting = dds::http_client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let response = trusting
        .get(https(&server, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // Plain HTTP to the TLS port gets no answer, and a client that does not trust the CA fails.
    assert!(
        server
            .http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_err()
    );
    let untrusting = dds::http_client::builder().build().unwrap();
    assert!(
        untrusting
            .get(https(&server, "/healthz"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn requires_a_client_certificate_when_a_client_ca_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_pki(dir.path());
    let server = TestServer::start_with(ServeFlags {
        tls_cert: Some(dir.path().join("server.pem")),
        tls_key: Some(dir.path().join("server.key")),
        tls_client_ca: Some(dir.path().join("ca.pem")),
        ..ServeFlags::default()
    })
    .await;
    let root = reqwest::Certificate::from_pem(pki.ca.as_bytes()).unwrap();
    let anonymous = dds::http_client::builder()
        .add_root_certificate(root.clone())
        .build()
        .unwrap();
    assert!(
        anonymous
            .get(https(&server, "/healthz"))
            .send()
            .await
            .is_err()
    );
    let identified = dds::http_client::builder()
        .add_root_certificate(root)
        .identity(reqwest::Identity::from_pem(pki.client.as_bytes()).unwrap())
        .build()
        .unwrap();
    let response = identified
        .get(https(&server, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn a_certificate_without_its_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let error = dds::config::Config::load(ServeFlags {
        data: Some(dir.path().join("data")),
        tls_cert: Some(dir.path().join("server.pem")),
        ..ServeFlags::default()
    })
    .unwrap_err();
    assert!(error.to_string().contains("tls.key"), "{error}");
    let error = dds::config::Config::load(ServeFlags {
        data: Some(dir.path().join("data")),
        tls_cert: Some(dir.path().join("server.pem")),
        tls_key: Some(dir.path().join("missing.key")),
        ..ServeFlags::default()
    })
    .unwrap_err();
    assert!(error.to_string().contains("missing.key"), "{error}");
}

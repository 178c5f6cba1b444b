//! The one way this service builds outbound HTTP clients (BRS delivery, remote registries and
//! repositories, the client commands, tests).
//!
//! reqwest is built with rustls but without a default crypto provider (the default, aws-lc-rs,
//! is a long C build); ring is installed here as the process-wide provider before any client
//! exists, so no code path can build a client that would panic for want of one.

/// A client builder with the ring crypto provider installed.
pub fn builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// Installs ring as the process's rustls provider (idempotent; TLS servers need it too).
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

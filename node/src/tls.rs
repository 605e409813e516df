//! One process-wide rustls crypto provider. rustls refuses to pick one when several are compiled
//! in (the libp2p notes record a hang from exactly that clash), so the node chooses ring up front.

/// Installs ring as the default provider unless one is already installed.
pub fn install_crypto_provider() {
    // An error only means another provider was installed first, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

//! A minimal algod client: the one lookup the liquid extension needs, the `auth-addr` of a
//! rekeyed account, so a wallet whose spending key was rotated can still prove the account.

use std::time::Duration;

use serde::Deserialize;

use crate::algorand::decode_address;

/// Where algod is and how to authenticate to it (`ALGOD_SERVER`, `ALGOD_PORT`, `ALGOD_TOKEN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgodConfig {
    /// Base URL, e.g. `https://testnet-api.algonode.cloud`.
    pub server: String,
    /// Appended as `:port` when set, as the original does.
    pub port: Option<String>,
    /// Sent as `X-Algo-API-Token` when set.
    pub token: Option<String>,
}

/// Why an algod lookup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlgodError {
    #[error("algod request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("algod returned an auth-addr that is not an address")]
    BadAuthAddr,
}

/// A shared HTTP client bound to one algod.
#[derive(Debug, Clone)]
pub struct Algod {
    config: AlgodConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Account {
    #[serde(rename = "auth-addr")]
    auth_addr: Option<String>,
}

impl Algod {
    /// Builds the client; lookups time out after `timeout` so a slow algod cannot hold a ceremony.
    pub fn new(config: AlgodConfig, timeout: Duration) -> Result<Self, AlgodError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self { config, http })
    }

    /// The account's `auth-addr`, or `None` when it has not been rekeyed.
    pub async fn auth_addr(&self, address: &str) -> Result<Option<String>, AlgodError> {
        let base = self.config.server.trim_end_matches('/');
        let url = match &self.config.port {
            Some(port) => format!("{base}:{port}/v2/accounts/{address}?exclude=all"),
            None => format!("{base}/v2/accounts/{address}?exclude=all"),
        };
        let mut request = self.http.get(url);
        if let Some(token) = &self.config.token {
            request = request.header("X-Algo-API-Token", token);
        }
        let account: Account = request.send().await?.error_for_status()?.json().await?;
        match account.auth_addr {
            Some(addr) if decode_address(&addr).is_ok() => Ok(Some(addr)),
            Some(_) => Err(AlgodError::BadAuthAddr),
            None => Ok(None),
        }
    }
}

//! Node configuration: the library's [`Config`] (every field documented, `Default` is a working
//! development node), filled by [`Cli`] from flags, the original's environment variables and an
//! optional TOML file, in that order of precedence: a flag beats its variable, which beats the
//! file, which beats the default.
//!
//! - [`cli`]: the options, their help, and how they become a `Config`.
//! - [`file`]: the TOML file (`--config`), keyed like the flags.
//! - [`effective`]: the configuration in effect as TOML (`--print-config`).

mod cli;
mod effective;
mod file;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::algod::AlgodConfig;
use crate::assetlinks::{AndroidApp, AssetLinksError};
use crate::mesh::MeshConfig;
use liquid_mesh_web_bridge::BridgeConfig;
use liquid_mesh_web_bridge::rate_limit::RateLimit;

pub use cli::Cli;
pub use effective::to_toml;

/// How the node writes its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where HTTP and Socket.IO listen. Default `127.0.0.1:3000`.
    pub http_addr: SocketAddr,
    /// WebAuthn RP ID: the domain passkeys are bound to. Default `localhost`.
    pub rp_id: String,
    /// `rp.name` in creation options.
    pub rp_name: String,
    /// The web origin clientDataJSON must carry for browsers and iOS wallets. Its host must be the
    /// RP ID or a subdomain of it. Default `http://localhost:<port>`.
    pub origin: Url,
    /// Directory for the SQLite database and the session key. Default `./data`.
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres:…`. When `None`, SQLite at `<data_dir>/liquid-mesh.db`.
    pub database_url: Option<String>,
    /// An Android wallet app allowed to use the passkeys (`ANDROID_PACKAGENAME` +
    /// `ANDROID_SHA256HASH`), added to those of `assetlinks_file`.
    pub android_app: Option<AndroidApp>,
    /// A Digital Asset Links JSON file to serve and to take Android apps from.
    pub assetlinks_file: Option<PathBuf>,
    /// iOS app IDs (`TEAMID.bundle.id`) served in `apple-app-site-association`.
    pub apple_app_ids: Vec<String>,
    /// algod for the rekeyed-account fallback; `None` disables the fallback.
    pub algod: Option<AlgodConfig>,
    /// How long an algod lookup may take.
    pub algod_timeout: Duration,
    /// Cookie-signing secret. When `None`, a random key kept in `data_dir`. Nodes that share a
    /// database must share it.
    pub session_secret: Option<String>,
    /// Marks the session cookie `Secure` (set it behind HTTPS).
    pub session_secure: bool,
    /// Sessions expire after this long without a request. Default 14 days.
    pub session_ttl: Duration,
    /// How long a ceremony may take; also the options' `timeout`. Default 30 minutes, the
    /// original's 1,800,000 ms.
    pub ceremony_timeout: Duration,
    /// Largest accepted request body; larger ones get 413. Default 100 KiB, Express's limit.
    pub max_body_bytes: usize,
    /// The Socket.IO bridge's limits and timings.
    pub bridge: BridgeConfig,
    /// A directory of pages served at `/` (a website that uses this node, same-origin as the
    /// original requires). `None` serves no pages.
    pub static_dir: Option<PathBuf>,
    /// The libp2p mesh: listen addresses, bootstrap peers and its limits.
    pub mesh: MeshConfig,
    /// Requests per client IP to the four FIDO2 endpoints: default 60 a minute, bursts of 30;
    /// over it, 429. (The bridge's `link` quota is `bridge.link_rate`.)
    pub fido_rate: RateLimit,
    /// Serve the demo (a website page at `/`, a browser wallet at `/wallet`) when no
    /// `static_dir` takes `/`. Default true.
    pub demo: bool,
    /// Text or JSON log lines. Default text.
    pub log_format: LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        let http_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000);
        Self {
            http_addr,
            rp_id: "localhost".into(),
            rp_name: "Algorand Foundation FIDO2 Server".into(),
            origin: Url::parse("http://localhost:3000").expect("static URL"),
            data_dir: PathBuf::from("data"),
            database_url: None,
            android_app: None,
            assetlinks_file: None,
            apple_app_ids: Vec::new(),
            algod: None,
            algod_timeout: Duration::from_secs(5),
            session_secret: None,
            session_secure: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            ceremony_timeout: Duration::from_millis(1_800_000),
            max_body_bytes: 100 * 1024,
            bridge: BridgeConfig::default(),
            static_dir: None,
            mesh: MeshConfig::default(),
            fido_rate: RateLimit::per_minute(60),
            demo: true,
            log_format: LogFormat::Text,
        }
    }
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("liquid-mesh.db").display()))
    }
}

/// Why the command line, environment or file does not make a configuration. Each names the
/// option at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("HOST `{0}` is not an IP address")]
    Host(String),
    #[error("ORIGIN `{0}` is not a URL with a host")]
    Origin(String),
    #[error("ANDROID_PACKAGENAME and ANDROID_SHA256HASH must be given together")]
    AndroidPair,
    #[error(transparent)]
    Android(#[from] AssetLinksError),
    #[error("DATABASE_URL `{0}` must start with `sqlite:` or `postgres:`")]
    DatabaseUrl(String),
    #[error("{option} `{value}` is not a multiaddr: {reason}")]
    Multiaddr {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("BOOTSTRAP `{0}` must end in /p2p/<peer id>")]
    BootstrapPeer(String),
    #[error("{option} must be {expected}, got {value}")]
    OutOfRange {
        option: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

//! Node configuration: the library's `Config` (every field documented, `Default` is a working
//! development node) and the command line that fills it from flags or the original's
//! environment names. A flag beats its environment variable, which beats the default.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use url::Url;

use crate::algod::AlgodConfig;
use crate::assetlinks::{AndroidApp, AssetLinksError};
use crate::mesh::MeshConfig;
use liquid_mesh_web_bridge::BridgeConfig;
use liquid_mesh_web_bridge::rate_limit::RateLimit;

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where HTTP (and later Socket.IO) listens. Default `127.0.0.1:3000`.
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

/// Why the command line or environment does not make a configuration.
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
}

/// liquid-mesh: a Liquid Auth node.
#[derive(Debug, Parser)]
#[command(name = "liquid-mesh", version, about)]
pub struct Cli {
    /// HTTP port [default: 3000]
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,
    /// Bind address [default: 127.0.0.1]
    #[arg(long, env = "HOST")]
    pub host: Option<String>,
    /// WebAuthn RP ID; takes precedence over HOSTNAME, which container runtimes often set to the
    /// container's name [default: localhost]
    #[arg(long, env = "RP_ID")]
    pub rp_id: Option<String>,
    /// WebAuthn RP ID, the original's variable name
    #[arg(long, env = "HOSTNAME")]
    pub hostname: Option<String>,
    /// Origin browsers and iOS wallets report [default: http://localhost:<port>]
    #[arg(long, env = "ORIGIN")]
    pub origin: Option<String>,
    /// rp.name in creation options [default: Algorand Foundation FIDO2 Server]
    #[arg(long, env = "RP_NAME")]
    pub rp_name: Option<String>,
    /// Directory for the SQLite database and session key [default: ./data]
    #[arg(long, env = "DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite:PATH or postgres://… [default: sqlite:<data-dir>/liquid-mesh.db]
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Android wallet package allowed to use the passkeys (with --android-sha256hash)
    #[arg(long, env = "ANDROID_PACKAGENAME")]
    pub android_packagename: Option<String>,
    /// That package's signing-certificate SHA-256, colon-separated hex
    #[arg(long, env = "ANDROID_SHA256HASH")]
    pub android_sha256hash: Option<String>,
    /// Digital Asset Links file to serve and to take Android apps from
    #[arg(long, env = "ASSETLINKS_FILE")]
    pub assetlinks_file: Option<PathBuf>,
    /// iOS app IDs for apple-app-site-association, comma-separated
    #[arg(long, env = "IOS_APP_IDS", value_delimiter = ',')]
    pub ios_app_ids: Vec<String>,
    /// algod base URL for rekeyed accounts; unset disables the lookup
    #[arg(long, env = "ALGOD_SERVER")]
    pub algod_server: Option<String>,
    /// algod port, appended to ALGOD_SERVER
    #[arg(long, env = "ALGOD_PORT")]
    pub algod_port: Option<String>,
    /// algod API token (X-Algo-API-Token)
    #[arg(long, env = "ALGOD_TOKEN", hide_env_values = true)]
    pub algod_token: Option<String>,
    /// Cookie-signing secret; nodes sharing a database must share it [default: random, kept in data-dir]
    #[arg(long, env = "SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<String>,
    /// Mark the session cookie Secure (behind HTTPS)
    #[arg(long, env = "SESSION_SECURE")]
    pub session_secure: Option<bool>,
    /// Largest request body in bytes [default: 102400]
    #[arg(long, env = "MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds a WebAuthn ceremony may take [default: 1800]
    #[arg(long, env = "CEREMONY_TIMEOUT_SECS")]
    pub ceremony_timeout_secs: Option<u64>,
    /// Directory of pages to serve at / (a same-origin website)
    #[arg(long, env = "STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Seconds a Socket.IO `link` waits for its wallet (and a wallet for its link) [default: 600]
    #[arg(long, env = "LINK_TTL_SECS")]
    pub link_ttl_secs: Option<u64>,
    /// Mesh listen multiaddrs, repeatable or comma-separated [default: /ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/tcp/4002/ws]
    #[arg(long = "p2p-listen", env = "P2P_LISTEN", value_delimiter = ',')]
    pub p2p_listen: Vec<String>,
    /// Peers to join, multiaddrs ending in /p2p/<peer id>; repeatable or comma-separated
    #[arg(long, env = "BOOTSTRAP", value_delimiter = ',')]
    pub bootstrap: Vec<String>,
    /// Multiaddrs other peers reach this node at (NAT, proxy); repeatable or comma-separated
    #[arg(long = "p2p-external", env = "P2P_EXTERNAL", value_delimiter = ',')]
    pub p2p_external: Vec<String>,
    /// FIDO2 requests per client IP per minute (bursts of half); 0 disables [default: 60]
    #[arg(long, env = "FIDO_RATE_PER_MINUTE")]
    pub fido_rate_per_minute: Option<u32>,
    /// Socket.IO `link`s per client IP per minute (bursts of half); 0 disables [default: 30]
    #[arg(long, env = "LINK_RATE_PER_MINUTE")]
    pub link_rate_per_minute: Option<u32>,
    /// Take client IPs from X-Forwarded-For (only behind a proxy you trust)
    #[arg(long, env = "TRUST_PROXY")]
    pub trust_proxy: Option<bool>,
}

impl Cli {
    /// Applies the flags and environment over the defaults.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(host) = self.host {
            let ip = host.parse().map_err(|_| ConfigError::Host(host.clone()))?;
            config.http_addr.set_ip(ip);
        }
        if let Some(port) = self.port {
            config.http_addr.set_port(port);
        }
        if let Some(rp_id) = self.rp_id.or(self.hostname) {
            config.rp_id = rp_id;
        }
        config.origin = match self.origin {
            Some(origin) => parse_origin(&origin)?,
            None => parse_origin(&format!("http://localhost:{}", config.http_addr.port()))?,
        };
        if let Some(name) = self.rp_name {
            config.rp_name = name;
        }
        if let Some(dir) = self.data_dir {
            config.data_dir = dir;
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres:")
                || url.starts_with("postgresql:"))
        {
            return Err(ConfigError::DatabaseUrl(url.clone()));
        }
        config.database_url = self.database_url;
        config.android_app = match (self.android_packagename, self.android_sha256hash) {
            (Some(package), Some(hash)) => Some(AndroidApp::new(&package, &hash)?),
            (None, None) => None,
            _ => return Err(ConfigError::AndroidPair),
        };
        config.assetlinks_file = self.assetlinks_file;
        config.apple_app_ids = self
            .ios_app_ids
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        config.algod = self.algod_server.map(|server| AlgodConfig {
            server,
            port: self.algod_port.filter(|p| !p.is_empty()),
            token: self.algod_token.filter(|t| !t.is_empty()),
        });
        config.session_secret = self.session_secret.filter(|s| !s.is_empty());
        if let Some(secure) = self.session_secure {
            config.session_secure = secure;
        }
        if let Some(max) = self.max_body_bytes {
            config.max_body_bytes = max;
        }
        if let Some(secs) = self.ceremony_timeout_secs {
            config.ceremony_timeout = Duration::from_secs(secs);
        }
        config.static_dir = self.static_dir;
        if let Some(secs) = self.link_ttl_secs {
            config.bridge.link_ttl = Duration::from_secs(secs);
        }
        let listen = multiaddrs("P2P_LISTEN", self.p2p_listen)?;
        if !listen.is_empty() {
            config.mesh.listen = listen;
        }
        config.mesh.bootstrap = multiaddrs("BOOTSTRAP", self.bootstrap)?;
        if let Some(addr) = config
            .mesh
            .bootstrap
            .iter()
            .find(|a| !matches!(a.iter().last(), Some(libp2p::multiaddr::Protocol::P2p(_))))
        {
            return Err(ConfigError::BootstrapPeer(addr.to_string()));
        }
        config.mesh.external = multiaddrs("P2P_EXTERNAL", self.p2p_external)?;
        if let Some(n) = self.fido_rate_per_minute {
            config.fido_rate = RateLimit::per_minute(n);
        }
        if let Some(n) = self.link_rate_per_minute {
            config.bridge.link_rate = RateLimit::per_minute(n);
        }
        if let Some(trust) = self.trust_proxy {
            config.bridge.trust_proxy = trust;
        }
        Ok(config)
    }
}

fn multiaddrs(
    option: &'static str,
    values: Vec<String>,
) -> Result<Vec<libp2p::Multiaddr>, ConfigError> {
    values
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .map(|value| {
            value
                .trim()
                .parse()
                .map_err(|err: libp2p::multiaddr::Error| ConfigError::Multiaddr {
                    option,
                    value: value.clone(),
                    reason: err.to_string(),
                })
        })
        .collect()
}

fn parse_origin(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|_| ConfigError::Origin(text.to_owned()))?;
    if url.host_str().is_none() {
        return Err(ConfigError::Origin(text.to_owned()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["liquid-mesh"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().into_config()
    }

    #[test]
    fn rp_id_beats_hostname_and_origin_follows_the_port() {
        let config = parse(&[
            "--hostname",
            "a.example",
            "--rp-id",
            "b.example",
            "--port",
            "8080",
        ])
        .unwrap();
        assert_eq!(config.rp_id, "b.example");
        assert_eq!(config.origin.as_str(), "http://localhost:8080/");
    }

    #[test]
    fn invalid_values_name_their_option() {
        let err = parse(&["--android-packagename", "x"]).unwrap_err();
        assert!(err.to_string().contains("ANDROID_SHA256HASH"), "{err}");
        let err = parse(&["--database-url", "mysql://x"]).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        let err = parse(&["--host", "nope"]).unwrap_err();
        assert!(err.to_string().contains("HOST"), "{err}");
        let err = parse(&["--bootstrap", "/ip4/10.0.0.1/tcp/4001"]).unwrap_err();
        assert!(err.to_string().contains("/p2p/"), "{err}");
        let err = parse(&["--p2p-listen", "tcp:4001"]).unwrap_err();
        assert!(err.to_string().contains("P2P_LISTEN"), "{err}");
    }

    #[test]
    fn mesh_addresses_repeat_or_split_on_commas() {
        let peer = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let config = parse(&[
            "--p2p-listen",
            "/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/tcp/0/ws",
            "--bootstrap",
            &format!("/dns4/a.example/tcp/4001/p2p/{peer}"),
            "--bootstrap",
            &format!("/ip4/10.0.0.2/tcp/4001/p2p/{peer}"),
        ])
        .unwrap();
        assert_eq!(config.mesh.listen.len(), 2);
        assert_eq!(config.mesh.bootstrap.len(), 2);
        assert_eq!(parse(&[]).unwrap().mesh.listen.len(), 2, "defaults kept");
    }
}

//! The options: one field per flag, each with its environment variable (the original's names
//! where it had one) and its TOML key (the flag without dashes' prefix, e.g. `rp-id`), and how
//! they become a [`Config`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use url::Url;

use super::{Config, ConfigError, LogFormat};
use crate::algod::AlgodConfig;
use crate::assetlinks::AndroidApp;
use liquid_mesh_web_bridge::rate_limit::RateLimit;

/// liquid-mesh: a Liquid Auth node. Options come from flags, then environment variables, then
/// the TOML file given with --config (keys as the flags, e.g. `rp-id = "example.com"`), then
/// the defaults shown.
#[derive(Debug, Default, Parser, serde::Deserialize)]
#[command(name = "liquid-mesh", version, about)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cli {
    /// TOML file with any of the options below (flags and environment variables beat it)
    #[arg(long, env = "CONFIG_FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Print the configuration in effect, as TOML, and exit
    #[arg(long)]
    #[serde(skip)]
    pub print_config: bool,

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
    /// Directory for the SQLite database, session key and peer identity [default: ./data]
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
    /// Mark the session cookie Secure (behind HTTPS) [default: false]
    #[arg(long, env = "SESSION_SECURE")]
    pub session_secure: Option<bool>,
    /// Seconds a session lives without a request [default: 1209600, 14 days]
    #[arg(long, env = "SESSION_TTL_SECS")]
    pub session_ttl_secs: Option<u64>,
    /// Largest request body in bytes; larger ones get 413 [default: 102400]
    #[arg(long, env = "MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds a WebAuthn ceremony may take [default: 1800]
    #[arg(long, env = "CEREMONY_TIMEOUT_SECS")]
    pub ceremony_timeout_secs: Option<u64>,
    /// Directory of pages to serve at / (your website, same-origin with the node) instead of the demo
    #[arg(long, env = "STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Serve the demo website at / and browser wallet at /wallet [default: true]
    #[arg(long, env = "DEMO")]
    pub demo: Option<bool>,
    /// Log lines as text or json [default: text]
    #[arg(long, env = "LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Seconds a Socket.IO `link` waits for its wallet (and a wallet for its link) [default: 600]
    #[arg(long, env = "LINK_TTL_SECS")]
    pub link_ttl_secs: Option<u64>,
    /// Links one socket may have waiting [default: 8]
    #[arg(long, env = "MAX_LINKS_PER_SOCKET")]
    pub max_links_per_socket: Option<usize>,
    /// Links the node holds waiting [default: 100000]
    #[arg(long, env = "MAX_PARKED_LINKS")]
    pub max_parked_links: Option<usize>,
    /// Early signals kept per pair for a side that joins late [default: 64]
    #[arg(long, env = "SIGNAL_BUFFER_COUNT")]
    pub signal_buffer_count: Option<usize>,
    /// Bytes of early signals kept per pair [default: 65536]
    #[arg(long, env = "SIGNAL_BUFFER_BYTES")]
    pub signal_buffer_bytes: Option<usize>,
    /// Seconds early signals are kept [default: 60]
    #[arg(long, env = "SIGNAL_BUFFER_SECS")]
    pub signal_buffer_secs: Option<u64>,
    /// Largest signal payload relayed, serialised [default: 65536]
    #[arg(long, env = "MAX_SIGNAL_BYTES")]
    pub max_signal_bytes: Option<usize>,
    /// Largest Engine.IO payload; a larger one closes its connection [default: 100000]
    #[arg(long, env = "MAX_PAYLOAD_BYTES")]
    pub max_payload_bytes: Option<u64>,
    /// FIDO2 requests per client IP per minute (bursts of half); 0 disables [default: 60]
    #[arg(long, env = "FIDO_RATE_PER_MINUTE")]
    pub fido_rate_per_minute: Option<u32>,
    /// Socket.IO `link`s per client IP per minute (bursts of half); 0 disables [default: 30]
    #[arg(long, env = "LINK_RATE_PER_MINUTE")]
    pub link_rate_per_minute: Option<u32>,
    /// Take client IPs from X-Forwarded-For (only behind a proxy you trust) [default: false]
    #[arg(long, env = "TRUST_PROXY")]
    pub trust_proxy: Option<bool>,

    /// Mesh listen multiaddrs, repeatable or comma-separated [default: /ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/tcp/4002/ws]
    #[arg(long = "p2p-listen", env = "P2P_LISTEN", value_delimiter = ',')]
    pub p2p_listen: Vec<String>,
    /// Peers to join, multiaddrs ending in /p2p/<peer id>; repeatable or comma-separated
    #[arg(long, env = "BOOTSTRAP", value_delimiter = ',')]
    pub bootstrap: Vec<String>,
    /// Multiaddrs other peers reach this node at (NAT, proxy); repeatable or comma-separated
    #[arg(long = "p2p-external", env = "P2P_EXTERNAL", value_delimiter = ',')]
    pub p2p_external: Vec<String>,
    /// Connections one mesh peer may hold to this node [default: 4]
    #[arg(long, env = "P2P_MAX_CONNECTIONS_PER_PEER")]
    pub p2p_max_connections_per_peer: Option<u32>,
    /// Inbound mesh connections held at once [default: 1024]
    #[arg(long, env = "P2P_MAX_INCOMING")]
    pub p2p_max_incoming: Option<u32>,
    /// Seconds an idle mesh connection stays open [default: 3600]
    #[arg(long, env = "P2P_IDLE_TIMEOUT_SECS")]
    pub p2p_idle_timeout_secs: Option<u64>,
}

/// Fills the options the command line and environment left unset from the file's.
macro_rules! fill {
    ($cli:expr, $file:expr; options: $($option:ident),*; lists: $($list:ident),*) => {
        $( if $cli.$option.is_none() { $cli.$option = $file.$option; } )*
        $( if $cli.$list.is_empty() { $cli.$list = $file.$list; } )*
    };
}

impl Cli {
    /// Applies the flags and environment, then the file named by `--config`, over the defaults.
    pub fn into_config(mut self) -> Result<Config, ConfigError> {
        if let Some(path) = self.config.clone() {
            let file = super::file::load(&path)?;
            fill!(self, file;
                options: port, host, rp_id, hostname, origin, rp_name, data_dir, database_url,
                    android_packagename, android_sha256hash, assetlinks_file, algod_server,
                    algod_port, algod_token, session_secret, session_secure, session_ttl_secs,
                    max_body_bytes, ceremony_timeout_secs, static_dir, demo, log_format,
                    link_ttl_secs, max_links_per_socket, max_parked_links, signal_buffer_count,
                    signal_buffer_bytes, signal_buffer_secs, max_signal_bytes, max_payload_bytes,
                    fido_rate_per_minute, link_rate_per_minute, trust_proxy,
                    p2p_max_connections_per_peer, p2p_max_incoming, p2p_idle_timeout_secs;
                lists: ios_app_ids, p2p_listen, bootstrap, p2p_external);
        }
        self.apply()
    }

    fn apply(self) -> Result<Config, ConfigError> {
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
        if let Some(secs) = self.session_ttl_secs {
            config.session_ttl = at_least_one("SESSION_TTL_SECS", secs).map(Duration::from_secs)?;
        }
        if let Some(max) = self.max_body_bytes {
            config.max_body_bytes = at_least_one("MAX_BODY_BYTES", max)?;
        }
        if let Some(secs) = self.ceremony_timeout_secs {
            config.ceremony_timeout =
                at_least_one("CEREMONY_TIMEOUT_SECS", secs).map(Duration::from_secs)?;
        }
        config.static_dir = self.static_dir;
        if let Some(demo) = self.demo {
            config.demo = demo;
        }
        if let Some(format) = self.log_format {
            config.log_format = format;
        }

        let bridge = &mut config.bridge;
        if let Some(secs) = self.link_ttl_secs {
            bridge.link_ttl = at_least_one("LINK_TTL_SECS", secs).map(Duration::from_secs)?;
        }
        if let Some(n) = self.max_links_per_socket {
            bridge.max_links_per_socket = at_least_one("MAX_LINKS_PER_SOCKET", n)?;
        }
        if let Some(n) = self.max_parked_links {
            bridge.max_parked_links = at_least_one("MAX_PARKED_LINKS", n)?;
        }
        if let Some(n) = self.signal_buffer_count {
            bridge.buffer.count = n;
        }
        if let Some(n) = self.signal_buffer_bytes {
            bridge.buffer.bytes = n;
        }
        if let Some(secs) = self.signal_buffer_secs {
            bridge.buffer.ttl = Duration::from_secs(secs);
        }
        if let Some(n) = self.max_signal_bytes {
            bridge.max_signal_bytes = at_least_one("MAX_SIGNAL_BYTES", n)?;
        }
        if let Some(n) = self.max_payload_bytes {
            bridge.max_payload_bytes = at_least_one("MAX_PAYLOAD_BYTES", n)?;
        }
        if let Some(n) = self.link_rate_per_minute {
            bridge.link_rate = RateLimit::per_minute(n);
        }
        if let Some(trust) = self.trust_proxy {
            bridge.trust_proxy = trust;
        }
        if let Some(n) = self.fido_rate_per_minute {
            config.fido_rate = RateLimit::per_minute(n);
        }

        let mesh = &mut config.mesh;
        let listen = multiaddrs("P2P_LISTEN", self.p2p_listen)?;
        if !listen.is_empty() {
            mesh.listen = listen;
        }
        mesh.bootstrap = multiaddrs("BOOTSTRAP", self.bootstrap)?;
        if let Some(addr) = mesh
            .bootstrap
            .iter()
            .find(|a| !matches!(a.iter().last(), Some(libp2p::multiaddr::Protocol::P2p(_))))
        {
            return Err(ConfigError::BootstrapPeer(addr.to_string()));
        }
        mesh.external = multiaddrs("P2P_EXTERNAL", self.p2p_external)?;
        if let Some(n) = self.p2p_max_connections_per_peer {
            mesh.max_connections_per_peer = at_least_one("P2P_MAX_CONNECTIONS_PER_PEER", n)?;
        }
        if let Some(n) = self.p2p_max_incoming {
            mesh.max_incoming_connections = at_least_one("P2P_MAX_INCOMING", n)?;
        }
        if let Some(secs) = self.p2p_idle_timeout_secs {
            mesh.idle_timeout =
                at_least_one("P2P_IDLE_TIMEOUT_SECS", secs).map(Duration::from_secs)?;
        }
        Ok(config)
    }
}

fn at_least_one<T: PartialOrd + From<u8> + ToString>(
    option: &'static str,
    value: T,
) -> Result<T, ConfigError> {
    if value < T::from(1) {
        return Err(ConfigError::OutOfRange {
            option,
            value: value.to_string(),
            expected: "at least 1",
        });
    }
    Ok(value)
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
        let err = parse(&["--max-parked-links", "0"]).unwrap_err();
        assert!(err.to_string().contains("MAX_PARKED_LINKS"), "{err}");
        let err = Cli::try_parse_from(["liquid-mesh", "--port", "http"]).unwrap_err();
        assert!(err.to_string().contains("--port"), "{err}");
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

    #[test]
    fn flags_beat_the_file_which_beats_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "port = 4000\nrp-id = \"file.example\"\nmax-parked-links = 7\nbootstrap = []\n\
             log-format = \"json\"\n",
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let config = parse(&["--config", file, "--rp-id", "flag.example"]).unwrap();
        assert_eq!(config.rp_id, "flag.example", "the flag wins");
        assert_eq!(
            config.http_addr.port(),
            4000,
            "the file fills what is unset"
        );
        assert_eq!(config.bridge.max_parked_links, 7);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.bridge.max_links_per_socket, 8, "defaults stay");
    }

    #[test]
    fn a_bad_file_names_itself_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "prot = 4000\n").unwrap();
        let err = parse(&["--config", path.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("node.toml"), "{err}");
        assert!(err.to_string().contains("prot"), "{err}");
        std::fs::write(&path, "port = \"many\"\n").unwrap();
        let err = parse(&["--config", path.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        let missing = dir.path().join("absent.toml");
        let err = parse(&["--config", missing.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("absent.toml"), "{err}");
    }
}

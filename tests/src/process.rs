//! `liquid-mesh` nodes in their own processes: the binary as operators run it, configured by the
//! original's environment variables, for tests of restarts, signals, and load that must not share
//! the test's process (its file descriptors, its memory figures).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use url::Url;

use crate::Endpoint;

/// The binary next to this test's directory; scripts/test.sh builds it before the tests.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("liquid-mesh");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p liquid-mesh` (scripts/test.sh does)",
        bin.display()
    );
    let built = bin.metadata().and_then(|m| m.modified()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let newest = ["node/src", "web-bridge/src", "proto/src"]
        .iter()
        .map(|dir| newest_file(&root.join(dir)))
        .max()
        .unwrap();
    assert!(
        built >= newest,
        "{} is older than the sources: rebuild it with `cargo build -p liquid-mesh`",
        bin.display()
    );
    bin
}

fn newest_file(dir: &Path) -> SystemTime {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                newest_file(&entry.path())
            } else {
                entry.metadata().unwrap().modified().unwrap()
            }
        })
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node in its own process, killed when dropped.
pub struct ProcessNode {
    child: Child,
    pub port: u16,
    pub p2p_port: u16,
    pub data_dir: PathBuf,
}

impl ProcessNode {
    pub async fn spawn(data_dir: &Path, p2p_port: u16, bootstrap: Option<&str>) -> Self {
        Self::spawn_on(free_port(), data_dir, p2p_port, bootstrap).await
    }

    /// As `spawn`, on a given HTTP port (a restart keeps its origin, so passkeys still match).
    pub async fn spawn_on(
        port: u16,
        data_dir: &Path,
        p2p_port: u16,
        bootstrap: Option<&str>,
    ) -> Self {
        Self::spawn_with(port, data_dir, p2p_port, bootstrap, &[]).await
    }

    /// As `spawn_on`, with more environment variables (limits, log levels).
    pub async fn spawn_with(
        port: u16,
        data_dir: &Path,
        p2p_port: u16,
        bootstrap: Option<&str>,
        env: &[(&str, &str)],
    ) -> Self {
        let mut command = Command::new(binary());
        for var in [
            "DATABASE_URL",
            "SESSION_SECRET",
            "HOSTNAME",
            "ORIGIN",
            "STATIC_DIR",
        ] {
            command.env_remove(var);
        }
        command
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("RP_ID", "localhost")
            .env("DATA_DIR", data_dir)
            .env("P2P_LISTEN", format!("/ip4/127.0.0.1/tcp/{p2p_port}"))
            .env("BOOTSTRAP", bootstrap.unwrap_or(""))
            .env("RUST_LOG", "warn")
            // Everything here comes from 127.0.0.1; rate limits have their own tests.
            .env("FIDO_RATE_PER_MINUTE", "0")
            .env("LINK_RATE_PER_MINUTE", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().expect("liquid-mesh starts");
        let node = Self {
            child,
            port,
            p2p_port,
            data_dir: data_dir.to_owned(),
        };
        node.wait_for_health(|_| true).await;
        node
    }

    /// The operating system's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// The process's resident memory and CPU time so far.
    pub fn usage(&self) -> crate::usage::Usage {
        crate::usage::Usage::of(self.child.id().expect("running"))
    }

    pub async fn health(&self) -> Option<Value> {
        reqwest::get(self.url("/health"))
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    /// Polls `/health` until it answers and `pred` holds.
    pub async fn wait_for_health(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let health = self.health().await;
            if let Some(health) = health.as_ref().filter(|h| pred(h)) {
                return health.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node on port {} not there within 30 s: {health:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_for_peers(&self, count: usize) {
        self.wait_for_health(|h| {
            let peers = h["mesh"]["peers"]
                .as_array()
                .map_or(&[][..], |p| p.as_slice());
            peers.len() == count
                && peers
                    .iter()
                    .all(|p| p["topics"] == json!(liquid_mesh::mesh::SHARDS))
        })
        .await;
    }

    /// What another node passes as BOOTSTRAP.
    pub async fn bootstrap_addr(&self) -> String {
        let health = self.wait_for_health(|_| true).await;
        let peer = health["mesh"]["peerId"].as_str().unwrap();
        format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", self.p2p_port)
    }

    /// SIGKILL: no shutdown code runs.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("exits within 15 s of SIGTERM")
            .unwrap()
    }
}

impl Endpoint for ProcessNode {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn origin(&self) -> Url {
        Url::parse(&format!("http://localhost:{}", self.port)).unwrap()
    }
}

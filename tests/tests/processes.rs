//! Two `liquid-mesh` processes, the second bootstrapping from the first, driven by the real
//! socket.io-client: a website on one and a wallet on the other pair, in both directions, and
//! again after the first restarts (same peer ID from its data directory, redialled by the second).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use liquid_mesh_tests::Endpoint;
use liquid_mesh_tests::pairing::pair;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use url::Url;

/// The binary next to this test's directory; scripts/test.sh builds it before the tests.
fn binary() -> PathBuf {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node in its own process, killed when dropped.
struct ProcessNode {
    child: Child,
    port: u16,
    p2p_port: u16,
    data_dir: PathBuf,
}

impl ProcessNode {
    async fn spawn(data_dir: &Path, p2p_port: u16, bootstrap: Option<&str>) -> Self {
        let port = free_port();
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

    async fn health(&self) -> Option<Value> {
        reqwest::get(self.url("/health"))
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    /// Polls `/health` until it answers and `pred` holds.
    async fn wait_for_health(&self, pred: impl Fn(&Value) -> bool) -> Value {
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

    async fn wait_for_peers(&self, count: usize) {
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
    async fn bootstrap_addr(&self) -> String {
        let health = self.wait_for_health(|_| true).await;
        let peer = health["mesh"]["peerId"].as_str().unwrap();
        format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", self.p2p_port)
    }

    async fn kill(mut self) {
        self.child.kill().await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_bootstrap_and_pair_across_them() {
    liquid_mesh::tls::install_crypto_provider();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = ProcessNode::spawn(dir_a.path(), free_port(), None).await;
    let bootstrap = a.bootstrap_addr().await;
    let b = ProcessNode::spawn(dir_b.path(), free_port(), Some(&bootstrap)).await;
    b.wait_for_peers(1).await;
    a.wait_for_peers(1).await;
    pair(&a, &b, json!(uuid::Uuid::new_v4().to_string()), false).await;
    pair(&b, &a, json!(uuid::Uuid::new_v4().to_string()), true).await;

    // A goes down and comes back on its address with its identity; B redials it.
    let (data_dir, p2p_port) = (a.data_dir.clone(), a.p2p_port);
    a.kill().await;
    b.wait_for_peers(0).await;
    let a = ProcessNode::spawn(&data_dir, p2p_port, None).await;
    assert_eq!(
        a.bootstrap_addr().await,
        bootstrap,
        "same peer ID after a restart"
    );
    b.wait_for_peers(1).await;
    pair(&b, &a, json!(uuid::Uuid::new_v4().to_string()), false).await;
}

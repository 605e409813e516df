//! Two `liquid-mesh` processes, the second bootstrapping from the first, driven by the real
//! socket.io-client: a website on one and a wallet on the other pair, in both directions, and
//! again after the first restarts (same peer ID from its data directory, redialled by the second).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use liquid_mesh_tests::js::JsSocket;
use liquid_mesh_tests::pairing::pair;
use liquid_mesh_tests::{Endpoint, Wallet};
use reqwest::StatusCode;
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
        Self::spawn_on(free_port(), data_dir, p2p_port, bootstrap).await
    }

    /// As `spawn`, on a given HTTP port (a restart keeps its origin, so passkeys still match).
    async fn spawn_on(port: u16, data_dir: &Path, p2p_port: u16, bootstrap: Option<&str>) -> Self {
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

    /// SIGKILL: no shutdown code runs.
    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, then the exit status.
    async fn terminate(mut self) -> std::process::ExitStatus {
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

/// SIGTERM: connected sockets are closed, the process exits 0, and what it stored is there after
/// a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_tells_sockets_flushes_the_store_and_exits_zero() {
    liquid_mesh::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (port, p2p_port) = (free_port(), free_port());
    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    let mut wallet = Wallet::web(&node);
    let (status, user) = wallet.register(None).await;
    assert_eq!(status, StatusCode::CREATED);
    let cred_id = user["credentials"][0]["credId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = JsSocket::connect(&node.url(""), Some(&wallet.cookie())).await;
    // A server that goes away in the middle of the polling-to-WebSocket upgrade (after the probe,
    // while polling is paused) leaves engine.io-client waiting for its ping timeout, 45 s, whatever
    // the server does: that is the client's race, not the one under test here.
    socket.wait_for(|m| m["type"] == "upgrade").await;

    let exit = node.terminate().await;
    assert!(exit.success(), "{exit:?}");
    // Closed at the transport, not with a Socket.IO DISCONNECT: socket.io-client then reconnects
    // by itself, to another node behind the same origin during a rolling restart.
    let disconnect = socket.wait_for(|m| m["type"] == "disconnect").await;
    let reason = disconnect["reason"].as_str().unwrap();
    assert!(reason.starts_with("transport "), "{disconnect}");

    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    let (status, user) = wallet.login(&cred_id, None).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let _ = node.terminate().await;
}

/// SIGKILL in the middle of concurrent registrations: after a restart the SQLite file passes
/// its integrity check, the node serves, and every registration that was answered 201 logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_registrations_leaves_a_consistent_store() {
    const REGISTRATIONS: usize = 200;
    liquid_mesh::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (port, p2p_port) = (free_port(), free_port());
    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    // Requests cut off by the kill count as unanswered. The kill comes once ten registrations
    // have finished, with the rest in flight.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..REGISTRATIONS)
        .map(|_| {
            let mut wallet = Wallet::web(&node);
            let done = done.clone();
            tokio::spawn(async move {
                let outcome = wallet.try_register().await;
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (status, user) = outcome.unwrap_or((StatusCode::BAD_GATEWAY, Value::Null));
                let cred_id = user["credentials"][0]["credId"].as_str().map(str::to_owned);
                (wallet, status, cred_id)
            })
        })
        .collect();
    while done.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    node.kill().await;
    let mut answered = Vec::new();
    for task in tasks {
        if let Ok((wallet, StatusCode::CREATED, Some(cred_id))) = task.await {
            answered.push((wallet, cred_id));
        }
    }
    println!(
        "{} of {REGISTRATIONS} registrations answered 201 before SIGKILL",
        answered.len()
    );
    assert!(
        answered.len() < REGISTRATIONS,
        "the kill came after every registration"
    );

    let db = format!("sqlite:{}", dir.path().join("liquid-mesh.db").display());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let check: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check.0, "ok");
    pool.close().await;

    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    for (wallet, cred_id) in &mut answered {
        let (status, user) = wallet.login(cred_id, None).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "a stored credential logs in: {user}"
        );
    }
    let _ = node.terminate().await;
}

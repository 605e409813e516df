//! Nodes for tests: each on its own loopback port and fresh database, stopped when dropped.

use std::net::SocketAddr;
use std::time::Duration;

use liquid_mesh::rate_limit::RateLimit;
use liquid_mesh::{Config, Node};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// Which database a test node uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `backends!(name, body_fn)` makes `name::sqlite` and
/// `name::postgres`. The PostgreSQL variant needs `LIQUID_MESH_TEST_POSTGRES` (the test script
/// starts a server and sets it) and fails when it is missing.
#[macro_export]
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// A node serving on loopback until dropped.
pub struct TestNode {
    pub addr: SocketAddr,
    pub config: Config,
    pub hub: liquid_mesh::hub::Hub,
    pub store: liquid_mesh::store::Store,
    pub mesh: liquid_mesh::mesh::Mesh,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestNode {
    /// Starts a node with `rp_id` `localhost` and origin `http://localhost:<port>`; `tweak` may
    /// change anything else before it starts.
    pub async fn start(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_on_hub(backend, liquid_mesh::hub::Hub::new(), tweak).await
    }

    /// Starts a node on a hub shared with other nodes of this process: they signal as one.
    pub async fn start_on_hub(
        backend: Backend,
        hub: liquid_mesh::hub::Hub,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let mut config = Config {
            http_addr: addr,
            origin: Url::parse(&format!("http://localhost:{}", addr.port())).unwrap(),
            data_dir: dir.path().to_owned(),
            database_url: Some(database_url(backend, dir.path()).await),
            mesh: test_mesh_config(),
            // Suites send hundreds of requests from 127.0.0.1; the rate-limit tests turn these on.
            fido_rate: RateLimit::OFF,
            ..Config::default()
        };
        config.bridge.link_rate = RateLimit::OFF;
        tweak(&mut config);
        Self::serve(config, listener, dir, hub).await
    }

    /// Stops the node and starts a new one on the same port, data directory and database.
    pub async fn restart(mut self) -> Self {
        let config = self.config.clone();
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        self.stop_in_place().await;
        let listener = TcpListener::bind(config.http_addr).await.expect("rebind");
        Self::serve(config, listener, dir, self.hub.clone()).await
    }

    async fn serve(
        config: Config,
        listener: TcpListener,
        dir: tempfile::TempDir,
        hub: liquid_mesh::hub::Hub,
    ) -> Self {
        liquid_mesh::tls::install_crypto_provider();
        let addr = listener.local_addr().unwrap();
        let node = Node::start_with_hub(config.clone(), hub)
            .await
            .expect("node starts");
        let hub = node.hub().clone();
        let store = node.store().clone();
        let mesh = node.mesh().clone();
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            node.serve(listener, async {
                let _ = rx.await;
            })
            .await
            .expect("node serves");
        });
        Self {
            addr,
            config,
            hub,
            store,
            mesh,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// The mesh address another node bootstraps from (`/ip4/127.0.0.1/tcp/…/p2p/…`).
    pub fn p2p_addr(&self) -> liquid_mesh::mesh::Multiaddr {
        self.mesh.listening()[0].clone()
    }

    /// The base URL clients use.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    /// A `connect.sid` cookie as a browser gets it: from a cookie-less Engine.IO handshake.
    pub async fn socket_cookie(&self) -> String {
        socket_cookie(self).await
    }

    /// Stops the node and waits for it to finish.
    pub async fn stop(mut self) {
        self.stop_in_place().await;
    }

    async fn stop_in_place(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("node stops within 10 s")
                .expect("node task");
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// What a client needs of a node, in-process or a separate process: where it serves and the web
/// origin its passkeys are for.
pub trait Endpoint: Sync {
    fn url(&self, path: &str) -> String;
    fn origin(&self) -> Url;
}

impl Endpoint for TestNode {
    fn url(&self, path: &str) -> String {
        TestNode::url(self, path)
    }

    fn origin(&self) -> Url {
        self.config.origin.clone()
    }
}

/// A `connect.sid` cookie as a browser gets it: from a cookie-less Engine.IO handshake.
pub async fn socket_cookie(node: &impl Endpoint) -> String {
    let response = reqwest::get(node.url("/socket.io/?EIO=4&transport=polling"))
        .await
        .expect("handshake");
    assert!(response.status().is_success());
    let header = response
        .headers()
        .get("set-cookie")
        .expect("the handshake sets the session cookie")
        .to_str()
        .unwrap();
    header.split(';').next().unwrap().to_owned()
}

/// Loopback only, and quick to notice and repair: tests heal partitions in well under a second.
fn test_mesh_config() -> liquid_mesh::mesh::MeshConfig {
    liquid_mesh::mesh::MeshConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        redial_min: Duration::from_millis(100),
        redial_max: Duration::from_secs(2),
        heartbeat: Duration::from_millis(250),
        ..Default::default()
    }
}

/// A fresh database: a SQLite file in the test's directory, or a new PostgreSQL database on the
/// server named by `LIQUID_MESH_TEST_POSTGRES`.
async fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite:{}", dir.join("test.db").display()),
        Backend::Postgres => new_postgres_database().await,
    }
}

/// Creates an empty database on the server named by `LIQUID_MESH_TEST_POSTGRES` and returns its URL
/// (for nodes of one origin, which share it).
pub async fn new_postgres_database() -> String {
    let base = std::env::var("LIQUID_MESH_TEST_POSTGRES").expect(
        "LIQUID_MESH_TEST_POSTGRES is not set: run the suite with scripts/test.sh, which \
         starts PostgreSQL, or point it at a server where this user may CREATE DATABASE",
    );
    let name = format!("lm_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("connect to LIQUID_MESH_TEST_POSTGRES");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = Url::parse(&base).expect("LIQUID_MESH_TEST_POSTGRES is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

//! A running node: opens the store, builds the relying party and the router, and serves on a
//! listener the caller bound (port 0 in tests) until the shutdown future resolves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower_sessions::session_store::ExpiredDeletion;

use crate::algod::{Algod, AlgodError};
use crate::assetlinks::{AssetLinks, AssetLinksError};
use crate::config::Config;
use crate::fido::{RelyingParty, RelyingPartyError};
use crate::http::{self, AppState, HttpOptions};
use crate::hub::Hub;
use crate::mesh::{Mesh, MeshError, Retention};
use crate::metrics::Metrics;
use crate::session::{self, CookieSettings, SessionBackend};
use crate::store::{Store, StoreError};
use liquid_mesh_web_bridge::Bridge;
use liquid_mesh_web_bridge::rate_limit::ClientLimiter;

/// How often expired sessions and ceremonies are swept.
const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// Why a node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("session store: {0}")]
    Sessions(#[source] sqlx::Error),
    #[error(transparent)]
    RelyingParty(#[from] RelyingPartyError),
    #[error(transparent)]
    AssetLinks(#[from] AssetLinksError),
    #[error("algod client: {0}")]
    Algod(#[from] AlgodError),
    #[error("session key in the data directory: {0}")]
    SessionKey(#[source] std::io::Error),
    #[error("creating the data directory: {0}")]
    DataDir(#[source] std::io::Error),
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Mesh(#[from] MeshError),
}

/// A node ready to serve.
pub struct Node {
    state: AppState,
    router: Router,
    sessions: SessionBackend,
    bridge: Bridge,
    fido_limiter: Option<ClientLimiter>,
}

impl Node {
    /// Opens the database (running migrations) and prepares everything that can fail, so a
    /// misconfigured node stops before it listens.
    pub async fn start(config: Config) -> Result<Self, NodeError> {
        Self::start_with_hub(config, Hub::new()).await
    }

    /// Starts a node on an existing hub: nodes sharing one hub in a process signal as one, which
    /// is how the bridge's interface is tested before the mesh carries it between processes.
    pub async fn start_with_hub(config: Config, hub: Hub) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(NodeError::DataDir)?;
        let store = Store::connect(&config.database_url()).await?;
        let sessions = SessionBackend::open(store.pool(), hub.clone())
            .await
            .map_err(NodeError::Sessions)?;
        let key = session::signing_key(config.session_secret.as_deref(), &config.data_dir)
            .map_err(NodeError::SessionKey)?;
        let links = AssetLinks::load(
            config.assetlinks_file.as_deref(),
            config.android_app.clone(),
        )?;
        let rp = RelyingParty::new(
            &config.rp_id,
            &config.rp_name,
            &config.origin,
            &links,
            config.ceremony_timeout,
        )?;
        let algod = config
            .algod
            .clone()
            .map(|c| Algod::new(c, config.algod_timeout))
            .transpose()?;
        let cookie = CookieSettings {
            secure: config.session_secure,
            ttl: time::Duration::try_from(config.session_ttl).unwrap_or(time::Duration::WEEK),
        };
        let retention = Retention {
            authenticated: config.bridge.link_ttl,
            signals: config.bridge.buffer.ttl,
        };
        let mesh = Mesh::start(&config.mesh, retention, hub.clone(), &config.data_dir).await?;
        let mut bridge = Bridge::new(
            hub.clone(),
            config.bridge.clone(),
            session::opener(sessions.clone(), &cookie),
        );
        let metrics = Metrics::new(&store, bridge.stats(), mesh.clone());
        let state = AppState {
            store,
            rp: Arc::new(rp),
            links: Arc::new(links),
            apple_app_ids: Arc::new(config.apple_app_ids.clone()),
            algod,
            hub: hub.clone(),
            metrics,
            mesh,
            bridge: bridge.stats(),
            cookie: cookie.clone(),
        };
        let socket_layer = bridge.take_layer().expect("a new bridge has its layer");
        // Outermost last: sessions, then a session for cookie-less sockets, then Socket.IO.
        let fido_limiter = ClientLimiter::new(config.fido_rate, config.bridge.trust_proxy);
        let options = HttpOptions {
            max_body_bytes: config.max_body_bytes,
            static_dir: config.static_dir.clone(),
            fido_limiter: fido_limiter.clone(),
            demo: config.demo,
        };
        let router = http::router(state.clone(), &options)
            .layer(socket_layer)
            .layer(axum::middleware::from_fn(
                liquid_mesh_web_bridge::session::compact_handshake,
            ))
            .layer(axum::middleware::from_fn(
                liquid_mesh_web_bridge::session::ensure_session,
            ))
            .layer(session::layer(sessions.clone(), key, &cookie));
        Ok(Self {
            state,
            router,
            sessions,
            bridge,
            fido_limiter,
        })
    }

    /// The hub on which link events and signals travel.
    pub fn hub(&self) -> &Hub {
        &self.state.hub
    }

    /// The node's part in the mesh.
    pub fn mesh(&self) -> &Mesh {
        &self.state.mesh
    }

    /// The Socket.IO bridge.
    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    /// The node's store.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish and closes the store.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        // Dropping the set aborts the sweepers, so nothing outlives the node.
        let mut background = JoinSet::new();
        let sessions = self.sessions.clone();
        background.spawn(async move {
            if let Err(err) = sessions.continuously_delete_expired(SWEEP_PERIOD).await {
                tracing::error!(%err, "expired-session sweeper stopped");
            }
        });
        let store = self.state.store.clone();
        background.spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_PERIOD);
            loop {
                tick.tick().await;
                if let Err(err) = store.delete_expired_ceremonies().await {
                    tracing::warn!(%err, "sweeping expired ceremonies failed");
                }
            }
        });
        if let Some(limiter) = self.fido_limiter.clone() {
            background.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(10));
                loop {
                    tick.tick().await;
                    limiter.retain_recent();
                }
            });
        }
        // Open sockets would hold graceful shutdown forever; tell them the server is going away.
        let bridge = self.bridge;
        let closing = async move {
            shutdown.await;
            bridge.close().await;
        };
        // Connection info gives the rate limits their client IP.
        let app = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        // Without TCP_NODELAY a small write that follows another unacknowledged one (a link ack
        // after a presence update) waits for the client's delayed ACK: 40 ms on Linux.
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(closing)
            .await;
        background.shutdown().await;
        self.state.store.close().await;
        served.map_err(NodeError::Serve)
    }
}

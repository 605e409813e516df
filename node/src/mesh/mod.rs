//! The federation: a libp2p swarm beside the HTTP server that carries the hub's link events,
//! signals and presence to and from every other node over gossipsub, so a website on one node and
//! a wallet on another pair as if they shared one server (the original's Redis, replaced).
//!
//! One task owns the swarm ([`event_loop`]); the rest of the node talks to it through [`Mesh`].
//! The swarm and its connections run on a thread of their own, on a single-threaded runtime.

mod batch;
mod behaviour;
mod counters;
mod event_loop;
mod identity;
pub(crate) mod recent;
mod shards;
pub(crate) mod sync_codec;
pub(crate) mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
pub use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::hub::Hub;

pub(crate) use behaviour::gossipsub_config;
pub use behaviour::score_thresholds;
pub use counters::{MeshCounters, MeshSnapshot};
pub use shards::{SHARDS, shard_of, shard_topic};
pub use wire::sealed_shard_key;

/// How the node takes part in the mesh. The defaults suit a small federation of public nodes.
#[derive(Debug, Clone)]
pub struct MeshConfig {
    /// Where to accept peers: TCP and WebSocket multiaddrs. Default TCP 4001 and WebSocket 4002 on
    /// every interface.
    pub listen: Vec<Multiaddr>,
    /// Peers to join, each ending in `/p2p/<peer id>`; redialled whenever they drop.
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses other peers can reach this node at (behind NAT or a proxy); a relay needs one.
    pub external: Vec<Multiaddr>,
    /// First wait before redialling a lost bootstrap peer; doubles up to `redial_max`. Default 1 s.
    pub redial_min: Duration,
    /// Longest wait between redials. Default 60 s.
    pub redial_max: Duration,
    /// Connections with nothing to do close after this long. Default 1 hour: federation links
    /// should stay up between pairings.
    pub idle_timeout: Duration,
    /// The gossipsub heartbeat. Default 250 ms: each beat scans the messages of the beats it
    /// gossips about once per shard, so a short beat keeps that pause short (see
    /// [`gossipsub_config`]).
    pub heartbeat: Duration,
    /// How long a signal whose pair is wholly on this node may wait before it goes to the other
    /// nodes ([`crate::hub::Signal::pair_here`]). They only keep it, for a socket that moves
    /// there, so waiting costs no one time and lets such signals share one gossip message: at
    /// 2,000 a second, 100 per message instead of one. Default 50 ms; zero sends them at once.
    pub pair_here_delay: Duration,
    /// Envelopes kept for peers that connect later (see [`recent`]): default 10,000 or 6 MiB.
    pub recent_count: usize,
    pub recent_bytes: usize,
    /// Connections one peer may hold to this node at once. Default 4: a direct connection, a
    /// relayed one being upgraded, and both sides dialling at once.
    pub max_connections_per_peer: u32,
    /// Inbound connections (nodes and native peers) held at once. Default 1,024.
    pub max_incoming_connections: u32,
    /// Inbound connections still in their Noise handshake at once. Default 128: a flood of
    /// half-open handshakes is refused instead of costing memory.
    pub max_pending_incoming: u32,
}

impl Default for MeshConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                "/ip4/0.0.0.0/tcp/4001".parse().expect("static multiaddr"),
                "/ip4/0.0.0.0/tcp/4002/ws"
                    .parse()
                    .expect("static multiaddr"),
            ],
            bootstrap: Vec::new(),
            external: Vec::new(),
            redial_min: Duration::from_secs(1),
            redial_max: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(3600),
            heartbeat: Duration::from_millis(250),
            pair_here_delay: Duration::from_millis(50),
            recent_count: 10_000,
            recent_bytes: 6 * 1024 * 1024,
            max_connections_per_peer: 4,
            max_incoming_connections: 1024,
            max_pending_incoming: 128,
        }
    }
}

/// How long the mesh keeps what it relays for late peers: link events as long as a link waits,
/// signals as long as the bridge buffers them.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub authenticated: Duration,
    pub signals: Duration,
}

/// Why the mesh could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeshError {
    #[error("peer identity in the data directory: {0}")]
    Identity(#[source] std::io::Error),
    #[error("peer identity file is not a libp2p key: {0}")]
    IdentityFormat(String),
    #[error("building the libp2p transports: {0}")]
    Transport(String),
    #[error("listening on {addr}: {reason}")]
    Listen { addr: Multiaddr, reason: String },
    #[error("bootstrap address {0} must end in /p2p/<peer id>")]
    BootstrapPeer(Multiaddr),
    #[error("starting the mesh thread: {0}")]
    Thread(String),
}

/// The mesh task has stopped (the node is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the mesh has stopped")]
pub struct MeshStopped;

/// What the mesh looks like from this node, for `/health` and operators.
#[derive(Debug, Clone)]
pub struct MeshStatus {
    pub peer_id: PeerId,
    pub listen: Vec<Multiaddr>,
    pub external: Vec<Multiaddr>,
    pub peers: Vec<PeerStatus>,
}

/// A connected peer.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    pub peer_id: PeerId,
    /// Its gossipsub score (negative after invalid messages).
    pub score: f64,
    /// How many of the shard topics it subscribes to.
    pub topics: usize,
    /// In how many of them it is in this node's gossip mesh (forwards go to mesh members only).
    pub meshed: usize,
}

fn is_specific(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => !ip.is_unspecified(),
        Some(Protocol::Ip6(ip)) => !ip.is_unspecified(),
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_)) => true,
        _ => false,
    }
}

enum Command {
    Status(oneshot::Sender<MeshStatus>),
    Block(PeerId),
    Unblock(PeerId),
}

/// A handle on the running mesh; the mesh stops when the last handle and the node are dropped.
#[derive(Clone)]
pub struct Mesh {
    peer_id: PeerId,
    listening: Arc<Vec<Multiaddr>>,
    commands: mpsc::Sender<Command>,
    counters: Arc<MeshCounters>,
    /// Dropped with the last handle, which stops the mesh thread.
    _stop: Arc<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Mesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mesh")
            .field("peer_id", &self.peer_id)
            .finish()
    }
}

pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Mesh {
    /// Loads (or creates) the node's identity in `data_dir`, listens, and starts the task that
    /// joins `hub` to the mesh. Returns once every listener has an address.
    ///
    /// The swarm, its connections and its timers run on a thread of their own with a
    /// single-threaded runtime. On the node's runtime every gossip message woke the other worker
    /// thread for tasks the first had already run. Measured A/B across two nodes (five runs at
    /// 2,000 msg/s, two at 20,000): p99 2.22 → 1.57 ms and 0.214 → 0.206 server CPU-s per 1,000
    /// messages at 2,000 msg/s; p50 115 → 62 ms and p99 380–654 → 210–217 ms at 20,000.
    pub async fn start(
        config: &MeshConfig,
        retention: Retention,
        hub: Hub,
        data_dir: &Path,
    ) -> Result<Self, MeshError> {
        let (started_tx, started) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let (config, data_dir) = (config.clone(), data_dir.to_owned());
        let thread = move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = started_tx.send(Err(MeshError::Thread(err.to_string())));
                    return;
                }
            };
            runtime.block_on(async move {
                let prepared = Self::prepare(&config, retention, hub, &data_dir, stop).await;
                let event_loop = match prepared {
                    Ok((event_loop, mesh)) => {
                        let _ = started_tx.send(Ok(mesh));
                        event_loop
                    }
                    Err(err) => {
                        let _ = started_tx.send(Err(err));
                        return;
                    }
                };
                tokio::select! {
                    () = event_loop.run() => {}
                    _ = stopped => {}
                }
            });
        };
        std::thread::Builder::new()
            .name("mesh".into())
            .spawn(thread)
            .map_err(|err| MeshError::Thread(err.to_string()))?;
        started
            .await
            .map_err(|_| MeshError::Thread("the mesh thread ended while starting".into()))?
    }

    /// Everything [`Mesh::start`] does on the mesh thread before the event loop runs; `stop`
    /// goes into the handles, whose last one drops it.
    async fn prepare(
        config: &MeshConfig,
        retention: Retention,
        hub: Hub,
        data_dir: &Path,
        stop: oneshot::Sender<()>,
    ) -> Result<(event_loop::EventLoop, Self), MeshError> {
        let keypair = identity::load_or_create(data_dir)?;
        let peer_id = keypair.public().to_peer_id();
        let bootstrap = config
            .bootstrap
            .iter()
            .map(|addr| match addr.iter().last() {
                Some(Protocol::P2p(peer)) => Ok((peer, addr.clone())),
                _ => Err(MeshError::BootstrapPeer(addr.clone())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut swarm = behaviour::build_swarm(keypair, config).await?;
        let listening = event_loop::listen(&mut swarm, &config.listen).await?;
        // A relay must know an address peers reach it at. Without configured ones, a listener on
        // a specific IP (not 0.0.0.0) is that address.
        let external: Vec<Multiaddr> = if config.external.is_empty() {
            listening
                .iter()
                .filter(|a| is_specific(a))
                .cloned()
                .collect()
        } else {
            config.external.clone()
        };
        for addr in external {
            swarm.add_external_address(addr);
        }
        let listening: Vec<Multiaddr> = listening
            .into_iter()
            .map(|addr| addr.with(Protocol::P2p(peer_id)))
            .collect();
        tracing::info!(%peer_id, addrs = ?listening, "mesh listening");
        let (commands, commands_rx) = mpsc::channel(64);
        let counters = Arc::new(MeshCounters::default());
        let event_loop = event_loop::EventLoop::new(
            swarm,
            hub,
            config,
            retention,
            bootstrap,
            commands_rx,
            counters.clone(),
        );
        let mesh = Self {
            peer_id,
            listening: Arc::new(listening),
            commands,
            counters,
            _stop: Arc::new(stop),
        };
        Ok((event_loop, mesh))
    }

    /// This node's peer ID.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the listeners had at start, each ending in `/p2p/<peer id>`: what another
    /// node passes as `--bootstrap`.
    pub fn listening(&self) -> &[Multiaddr] {
        &self.listening
    }

    /// What the mesh has done so far.
    pub fn counters(&self) -> MeshSnapshot {
        self.counters.snapshot()
    }

    /// The mesh as it is now.
    pub async fn status(&self) -> Result<MeshStatus, MeshStopped> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Status(tx))
            .await
            .map_err(|_| MeshStopped)?;
        rx.await.map_err(|_| MeshStopped)
    }

    /// Disconnects a peer and refuses it until [`Mesh::unblock`].
    pub async fn block(&self, peer: PeerId) -> Result<(), MeshStopped> {
        self.commands
            .send(Command::Block(peer))
            .await
            .map_err(|_| MeshStopped)
    }

    pub async fn unblock(&self, peer: PeerId) -> Result<(), MeshStopped> {
        self.commands
            .send(Command::Unblock(peer))
            .await
            .map_err(|_| MeshStopped)
    }
}

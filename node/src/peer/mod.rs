//! Native peers: a wallet or website that joins the mesh itself instead of speaking Socket.IO.
//! It connects to any node, learns of its wallet's authentication from the mesh, exchanges
//! end-to-end sealed hellos with the other peer over the pairing's shard, then dials it directly
//! (libp2p WebRTC) or through a relay circuit on its node, upgraded by DCUtR hole punching when
//! possible, and talks over `/liquid/channel/1` with the mesh out of the data path.
//!
//! ```no_run
//! # async fn demo(node: libp2p::Multiaddr) -> Result<(), liquid_mesh::peer::PeerError> {
//! use liquid_mesh::peer::{Invitation, Peer, PeerConfig, Role};
//! let website = Peer::start(PeerConfig::new(node)).await?;
//! let invitation = Invitation::new(); // shown as a QR code: invitation.to_json()
//! let linked = website.wait_authenticated(&invitation.request_id).await?;
//! let mut channel = website.pair(&invitation, Role::Website).await?;
//! channel.send(format!("hello {}", linked.wallet).as_bytes()).await?;
//! # Ok(()) }
//! ```

mod channel;
mod dials;
mod event_loop;
pub(crate) mod seal;

use std::sync::Arc;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use liquid_mesh_proto::{self as proto, Hello};
use tokio::sync::{Mutex, broadcast, mpsc, oneshot};
use tokio::time::Instant;

pub use channel::{Channel, ChannelReceiver, ChannelSender, Path};
pub use seal::Invitation;

use crate::hub::Authenticated;
use crate::mesh::wire::sealed_shard_key;
use dials::{Dials, Next};
use event_loop::{Command, PeerEvent};
use seal::PairingKeys;

/// The stream protocol of the direct channel.
pub const CHANNEL_PROTOCOL: StreamProtocol = StreamProtocol::new("/liquid/channel/1");

/// Which side of a pairing a peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    Website = 1,
    Wallet = 2,
}

impl Role {
    fn other(self) -> Self {
        match self {
            Self::Website => Self::Wallet,
            Self::Wallet => Self::Website,
        }
    }
}

/// How a native peer reaches its node and the other peer.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The node to join, ending in `/p2p/<peer id>`.
    pub node: Multiaddr,
    /// Offer and try direct WebRTC connections. Default on.
    pub direct: bool,
    /// Reserve a relay circuit on the node and offer it. Default on.
    pub relay: bool,
    /// Try DCUtR hole punching on a relayed connection. Default on.
    pub hole_punch: bool,
    /// A TCP address to accept connections on, which hole punching needs (it upgrades relayed
    /// connections over TCP). Default none.
    pub tcp_listen: Option<Multiaddr>,
    /// Where to accept direct connections, a UDP socket each. libp2p-webrtc sometimes leaves a
    /// handshake unanswered, and its socket then routes every later dial from the same address
    /// to that handshake until it times out (10 s): a redial can only be answered by another
    /// socket (see `direct_stall`). Default twice `/ip4/127.0.0.1/udp/0/webrtc-direct`; a public
    /// peer uses its public IP.
    pub webrtc_listen: Vec<Multiaddr>,
    /// How long pairing may take before it gives up. Default 60 s.
    pub pair_timeout: Duration,
    /// How long a relayed connection waits for hole punching before it is used as it is.
    pub hole_punch_wait: Duration,
    /// Rounds of direct dials (each of the other peer's direct addresses once) before the relay:
    /// a WebRTC handshake whose packets are delayed on a busy host fails once and then succeeds.
    /// Default 2.
    pub direct_attempts: u32,
    /// How long a direct dial may go unanswered before the next direct address is dialled
    /// beside it. A bare libp2p-webrtc dial on loopback takes ~210 ms (p99 ~215 ms). Dialling
    /// every address at once would answer as fast, but costs a second handshake per pairing
    /// and leaves the wallet a second connection the website dropped. Default 500 ms.
    pub direct_stall: Duration,
}

impl PeerConfig {
    pub fn new(node: Multiaddr) -> Self {
        Self {
            node,
            direct: true,
            relay: true,
            hole_punch: true,
            tcp_listen: None,
            webrtc_listen: vec![loopback_webrtc(), loopback_webrtc()],
            pair_timeout: Duration::from_secs(60),
            hole_punch_wait: Duration::from_secs(3),
            direct_attempts: 2,
            direct_stall: Duration::from_millis(500),
        }
    }
}

fn loopback_webrtc() -> Multiaddr {
    "/ip4/127.0.0.1/udp/0/webrtc-direct"
        .parse()
        .expect("static multiaddr")
}

/// Why a native peer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    #[error("node address {0} must end in /p2p/<peer id>")]
    NodeAddress(Multiaddr),
    #[error("building the peer: {0}")]
    Transport(String),
    #[error("could not join the node: {0}")]
    Join(String),
    #[error("invitation: {0}")]
    Invitation(String),
    /// Signaling was altered, replayed from another pairing, or a third peer claimed a role.
    #[error("signaling was tampered with: {0}")]
    Tampered(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("the channel failed: {0}")]
    Channel(#[from] std::io::Error),
    /// The website could not connect to the wallet by any address it offered.
    #[error("the other peer is unreachable: {0}")]
    Unreachable(String),
    #[error("the peer has stopped")]
    Stopped,
}

/// A running native peer.
pub struct Peer {
    peer_id: PeerId,
    config: PeerConfig,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<PeerEvent>,
    control: libp2p_stream::Control,
    incoming: Mutex<libp2p_stream::IncomingStreams>,
    addrs: Vec<Multiaddr>,
    _task: Arc<crate::mesh::AbortOnDrop>,
}

impl Peer {
    /// Joins the node, listens for direct connections and reserves a relay circuit (as
    /// configured); returns once the node relays the shard topics to it.
    pub async fn start(config: PeerConfig) -> Result<Self, PeerError> {
        let Some(Protocol::P2p(node)) = config.node.iter().last() else {
            return Err(PeerError::NodeAddress(config.node.clone()));
        };
        // WebRTC's DTLS and any rustls use in the process must agree on one crypto provider.
        crate::tls::install_crypto_provider();
        let started = event_loop::start(&config, node).await?;
        Ok(Self {
            peer_id: started.peer_id,
            commands: started.commands,
            events: started.events,
            control: started.control.clone(),
            incoming: Mutex::new(started.incoming),
            addrs: started.addrs,
            config,
            _task: Arc::new(crate::mesh::AbortOnDrop(started.task)),
        })
    }

    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses this peer offers: direct ones, then relayed circuits.
    pub fn addrs(&self) -> &[Multiaddr] {
        &self.addrs
    }

    /// Waits for the mesh to report that a wallet authenticated with `request_id` (what a
    /// website's `link` waits for), including one reported before this call.
    pub async fn wait_authenticated(
        &self,
        request_id: &crate::request_id::RequestId,
    ) -> Result<Authenticated, PeerError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::WaitAuthenticated(request_id.key(), tx))
            .await
            .map_err(|_| PeerError::Stopped)?;
        tokio::time::timeout(self.config.pair_timeout, rx)
            .await
            .map_err(|_| PeerError::Timeout("no wallet authenticated"))?
            .map_err(|_| PeerError::Stopped)
    }

    /// Pairs with the other side of `invitation` and returns the direct channel to it.
    pub async fn pair(&self, invitation: &Invitation, role: Role) -> Result<Channel, PeerError> {
        tokio::time::timeout(self.config.pair_timeout, self.pair_inner(invitation, role))
            .await
            .map_err(|_| PeerError::Timeout("pairing"))?
    }

    async fn pair_inner(&self, invitation: &Invitation, role: Role) -> Result<Channel, PeerError> {
        let keys = PairingKeys::derive(invitation);
        let mut events = self.events.subscribe();
        let hello = keys.seal_hello(&Hello {
            role: role as u32,
            peer_id: self.peer_id.to_bytes(),
            addrs: self.addrs.iter().map(ToString::to_string).collect(),
        });
        let shard_key = sealed_shard_key(&keys.tag);
        let mut other: Option<(PeerId, Vec<Multiaddr>)> = None;
        // The website's dials of the wallet, once its hello names its addresses.
        let mut dials: Option<Dials> = None;
        let mut connected: Option<bool> = None;
        // Connections that opened before we knew who the other peer is (its hello may reach us
        // after it already dialled us).
        let mut early: std::collections::HashMap<PeerId, bool> = Default::default();
        let mut punched: std::collections::HashSet<PeerId> = Default::default();
        // Announce until the pairing ends, not just until this side is connected: a hello that
        // is lost (published before the other peer was in its node's mesh) must be repeated for
        // as long as the other side may still be waiting for it. Measured: with announcing
        // stopped at connection, 4 of 100 pairings timed out with the wallet never hearing the
        // website, which had connected to it on the wallet's hello alone.
        let _announcing = crate::mesh::AbortOnDrop(tokio::spawn(announce(
            self.commands.clone(),
            shard_key,
            proto::Body::Sealed(hello),
        )));
        while connected.is_none() {
            let stall_at = dials.as_ref().and_then(Dials::stall_deadline);
            tokio::select! {
                _ = sleep_until_some(stall_at) => {
                    let (Some(dials), Some((peer, _))) = (dials.as_mut(), &other) else { continue };
                    if let Some(addrs) = dials.stalled(Instant::now()) {
                        tracing::debug!(%peer, "direct dial stalled; dialling the next socket beside it");
                        self.command(Command::Dial(*peer, addrs)).await?;
                    }
                }
                event = events.recv() => match event {
                    Ok(PeerEvent::Sealed(sealed)) if sealed.tag == keys.tag => {
                        let Some((peer, addrs)) = self.check_hello(&keys, &sealed, role)? else {
                            continue;
                        };
                        tracing::debug!(%peer, ?role, "hello from the other peer");
                        if let Some((known, _)) = &other {
                            if *known != peer {
                                return Err(PeerError::Tampered("two peers claim the other role".into()));
                            }
                            continue;
                        }
                        if role == Role::Website {
                            let (direct, relayed) = self.dial_plan(&addrs);
                            let plan = dials.insert(Dials::new(
                                direct,
                                relayed,
                                self.config.direct_attempts,
                                self.config.direct_stall,
                            ));
                            if let Some(first) = plan.first(Instant::now()) {
                                self.command(Command::Dial(peer, first)).await?;
                            } else if !early.contains_key(&peer) {
                                return Err(PeerError::Unreachable("it offers no address we may dial".into()));
                            }
                        }
                        connected = early.get(&peer).copied();
                        other = Some((peer, addrs));
                    }
                    Ok(PeerEvent::Connected { peer, relayed })
                        if other.as_ref().is_some_and(|(p, _)| *p == peer) => {
                        connected = Some(relayed);
                    }
                    Ok(PeerEvent::Connected { peer, relayed }) => {
                        early.insert(peer, relayed);
                    }
                    Ok(PeerEvent::HolePunched { peer }) => {
                        punched.insert(peer);
                    }
                    Ok(PeerEvent::DialFailed { peer })
                        if other.as_ref().is_some_and(|(p, _)| *p == peer) => {
                        let Some(dials) = dials.as_mut() else { continue };
                        match dials.failed(Instant::now()) {
                            Next::Wait => tracing::debug!(%peer, "a dial failed; another is under way"),
                            Next::Dial(addrs) => {
                                tracing::debug!(%peer, "a dial failed; trying the next address");
                                self.command(Command::Dial(peer, addrs)).await?;
                            }
                            // Nothing left to try: say so now rather than at the pairing timeout.
                            Next::GiveUp => {
                                return Err(PeerError::Unreachable("every dial of it failed".into()));
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Err(PeerError::Stopped),
                },
            }
        }
        let (other, _) = other.expect("connected to the other peer");
        tracing::debug!(%other, ?role, relayed = ?connected, "connected to the other peer");
        let mut path = if connected == Some(true) {
            Path::Relayed
        } else {
            Path::Direct
        };
        if path == Path::Relayed && self.config.hole_punch {
            path = if punched.contains(&other) {
                Path::HolePunched
            } else {
                self.await_hole_punch(&mut events, other).await
            };
        }
        let stream = match role {
            Role::Website => self
                .control
                .clone()
                .open_stream(other, CHANNEL_PROTOCOL)
                .await
                .map_err(|err| PeerError::Channel(std::io::Error::other(err.to_string())))?,
            Role::Wallet => self.accept_from(other).await?,
        };
        tracing::debug!(%other, ?role, "channel stream open; confirming");
        Channel::confirm(stream, path, &keys, role, self.peer_id, other).await
    }

    /// Opens a hello; `None` for our own (which a node may relay back to us).
    fn check_hello(
        &self,
        keys: &PairingKeys,
        sealed: &proto::Sealed,
        role: Role,
    ) -> Result<Option<(PeerId, Vec<Multiaddr>)>, PeerError> {
        let hello = keys.open_hello(sealed)?;
        let peer = PeerId::from_bytes(&hello.peer_id)
            .map_err(|_| PeerError::Tampered("peer ID".into()))?;
        if peer == self.peer_id {
            return Ok(None);
        }
        if hello.role != role.other() as u32 {
            return Err(PeerError::Tampered("a third peer claims our role".into()));
        }
        let addrs = hello
            .addrs
            .iter()
            .filter_map(|a| a.parse::<Multiaddr>().ok())
            .collect();
        Ok(Some((peer, addrs)))
    }

    /// The other peer's addresses in the order to try them: direct ones (when direct is on),
    /// then relayed circuits, dialled only if every direct one failed.
    fn dial_plan(&self, addrs: &[Multiaddr]) -> (Vec<Multiaddr>, Vec<Multiaddr>) {
        let (relayed, direct): (Vec<_>, Vec<_>) = addrs
            .iter()
            .cloned()
            .partition(|a| a.iter().any(|p| p == Protocol::P2pCircuit));
        let direct = if self.config.direct {
            direct
        } else {
            Vec::new()
        };
        (direct, relayed)
    }

    async fn await_hole_punch(
        &self,
        events: &mut broadcast::Receiver<PeerEvent>,
        other: PeerId,
    ) -> Path {
        let wait = tokio::time::sleep(self.config.hole_punch_wait);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => return Path::Relayed,
                event = events.recv() => match event {
                    // The side that did not start the upgrade sees only the new direct connection.
                    Ok(PeerEvent::HolePunched { peer } | PeerEvent::Connected { peer, relayed: false })
                        if peer == other => return Path::HolePunched,
                    Err(broadcast::error::RecvError::Closed) => return Path::Relayed,
                    _ => {}
                },
            }
        }
    }

    async fn accept_from(&self, other: PeerId) -> Result<libp2p::Stream, PeerError> {
        use futures::StreamExt;
        let mut incoming = self.incoming.lock().await;
        while let Some((peer, stream)) = incoming.next().await {
            if peer == other {
                return Ok(stream);
            }
            tracing::debug!(%peer, "channel stream from a peer we are not pairing with dropped");
        }
        Err(PeerError::Stopped)
    }

    async fn command(&self, command: Command) -> Result<(), PeerError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| PeerError::Stopped)
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Gaps between a peer's hellos: the first ones close together, because a hello published before
/// the other peer's node has this one in its gossip mesh is lost, and the other side then waits
/// for the next. Measured, 100 pairings at a time beside a 208 ms dial: p99 303–304 ms with a
/// 300 ms period from the start (in one benchmark run, one pairing in ten), 214–216 ms with these.
const ANNOUNCE_GAPS_MS: [u64; 3] = [50, 100, 150];
/// The gap after those, until the pairing ends.
const ANNOUNCE_PERIOD: Duration = Duration::from_millis(300);

/// Publishes a hello at once, 50, 150 and 300 ms later, then every 300 ms until aborted (or the
/// peer stops).
async fn announce(commands: mpsc::Sender<Command>, shard_key: String, hello: proto::Body) {
    let gaps = ANNOUNCE_GAPS_MS
        .into_iter()
        .map(Duration::from_millis)
        .chain(std::iter::repeat(ANNOUNCE_PERIOD));
    let mut next = tokio::time::Instant::now();
    for gap in std::iter::once(Duration::ZERO).chain(gaps) {
        next += gap;
        tokio::time::sleep_until(next).await;
        if commands
            .send(Command::Publish(shard_key.clone(), hello.clone()))
            .await
            .is_err()
        {
            return;
        }
    }
}

//! The native peer's swarm and the task that owns it: TCP to its node, WebRTC-direct to the other
//! peer, relay client and DCUtR, gossipsub on the shard topics, the sync protocol to catch up on
//! what the node saw before the peer joined, and raw streams for the channel.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, MessageAcceptance, MessageAuthenticity};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, Swarm, dcutr, identify, identity, noise, ping, relay, request_response, tcp,
    yamux,
};
use liquid_mesh_proto as proto;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::{CHANNEL_PROTOCOL, PeerConfig, PeerError};
use crate::hub::{Authenticated, Origin};
use crate::mesh::sync_codec::{self, SyncCodec};
use crate::mesh::wire::{self, Incoming};
use crate::mesh::{SHARDS, gossipsub_config, shard_of, shard_topic};

/// How long joining the node may take.
const JOIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Link events remembered for a late `wait_authenticated`.
const REMEMBERED: usize = 1024;

pub(super) enum Command {
    Publish(String, proto::Body),
    Dial(PeerId, Vec<Multiaddr>),
    WaitAuthenticated(String, oneshot::Sender<Authenticated>),
}

#[derive(Debug, Clone)]
pub(super) enum PeerEvent {
    Sealed(proto::Sealed),
    Connected { peer: PeerId, relayed: bool },
    DialFailed { peer: PeerId },
    HolePunched { peer: PeerId },
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    relay_client: relay::client::Behaviour,
    dcutr: Toggle<dcutr::Behaviour>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
    stream: libp2p_stream::Behaviour,
}

pub(super) struct Started {
    pub(super) peer_id: PeerId,
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) events: broadcast::Sender<PeerEvent>,
    pub(super) control: libp2p_stream::Control,
    pub(super) incoming: libp2p_stream::IncomingStreams,
    pub(super) addrs: Vec<Multiaddr>,
    pub(super) task: tokio::task::JoinHandle<()>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn build(keypair: identity::Keypair, hole_punch: bool) -> Result<Swarm<Behaviour>, PeerError> {
    let transport = |err: &dyn std::fmt::Display| PeerError::Transport(err.to_string());
    let certificate = libp2p_webrtc::tokio::Certificate::generate(&mut rand10::rng())
        .map_err(|e| transport(&e))?;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| transport(&e))?
        .with_other_transport(|key| {
            Ok::<_, BoxError>(libp2p_webrtc::tokio::Transport::new(
                key.clone(),
                certificate,
            ))
        })
        .map_err(|e| transport(&e))?
        .with_dns()
        .map_err(|e| transport(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| transport(&e))?
        .with_behaviour(|key, relay_client| {
            let peer_id = key.public().to_peer_id();
            let gossipsub = gossipsub::Behaviour::new(
                MessageAuthenticity::Author(peer_id),
                gossipsub_config(Duration::from_millis(250))?,
            )?;
            Ok::<_, BoxError>(Behaviour {
                relay_client,
                dcutr: Toggle::from(hole_punch.then(|| dcutr::Behaviour::new(peer_id))),
                identify: identify::Behaviour::new(identify::Config::new(
                    "/liquid-mesh/1".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::default(),
                gossipsub,
                sync: request_response::Behaviour::new(
                    [(
                        sync_codec::PROTOCOL,
                        request_response::ProtocolSupport::Outbound,
                    )],
                    request_response::Config::default(),
                ),
                stream: libp2p_stream::Behaviour::new(),
            })
        })
        .map_err(|e| transport(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}

/// Builds the swarm, joins the node and waits until it is ready to pair.
pub(super) async fn start(config: &PeerConfig, node: PeerId) -> Result<Started, PeerError> {
    let mut swarm = build(identity::Keypair::generate_ed25519(), config.hole_punch)?;
    let peer_id = *swarm.local_peer_id();
    for n in 0..SHARDS {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&shard_topic(n))
            .map_err(|e| PeerError::Join(e.to_string()))?;
    }
    let mut control = swarm.behaviour().stream.new_control();
    let incoming = control
        .accept(CHANNEL_PROTOCOL)
        .map_err(|e| PeerError::Join(e.to_string()))?;
    let listen_err = |e: &dyn std::fmt::Display| PeerError::Join(e.to_string());
    let mut webrtc = Vec::new();
    if config.direct {
        for addr in &config.webrtc_listen {
            webrtc.push(swarm.listen_on(addr.clone()).map_err(|e| listen_err(&e))?);
        }
    }
    if let Some(addr) = &config.tcp_listen {
        swarm.listen_on(addr.clone()).map_err(|e| listen_err(&e))?;
    }
    swarm
        .dial(config.node.clone())
        .map_err(|e| listen_err(&e))?;
    let mut state = EventLoop {
        swarm,
        node,
        events: broadcast::channel(1024).0,
        authenticated: VecDeque::new(),
        waiters: HashMap::new(),
        node_topics: HashSet::new(),
    };
    let relay = config
        .relay
        .then(|| config.node.clone().with(Protocol::P2pCircuit));
    let addrs = state.join(webrtc, relay).await?;
    let (commands, commands_rx) = mpsc::channel(64);
    let events = state.events.clone();
    let task = tokio::spawn(state.run(commands_rx));
    Ok(Started {
        peer_id,
        commands,
        events,
        control,
        incoming,
        addrs,
        task,
    })
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    node: PeerId,
    events: broadcast::Sender<PeerEvent>,
    authenticated: VecDeque<(String, Authenticated)>,
    waiters: HashMap<String, Vec<oneshot::Sender<Authenticated>>>,
    node_topics: HashSet<gossipsub::TopicHash>,
}

impl EventLoop {
    /// Drives the swarm until the node relays every shard to us and our listeners have their
    /// addresses (direct first, then the relayed circuit).
    async fn join(
        &mut self,
        mut webrtc: Vec<ListenerId>,
        mut circuit: Option<Multiaddr>,
    ) -> Result<Vec<Multiaddr>, PeerError> {
        let me = *self.swarm.local_peer_id();
        let (mut direct, mut relayed) = (Vec::new(), Vec::new());
        let mut relay: Option<ListenerId> = None;
        let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
        while !webrtc.is_empty()
            || circuit.is_some()
            || relay.is_some()
            || self.node_topics.len() < SHARDS
        {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .map_err(|_| PeerError::Timeout("joining the node"))?;
            match &event {
                SwarmEvent::NewListenAddr {
                    listener_id,
                    address,
                } => {
                    let full = with_peer(address.clone(), me);
                    if let Some(i) = webrtc.iter().position(|id| id == listener_id) {
                        direct.push(full);
                        webrtc.swap_remove(i);
                    } else if Some(*listener_id) == relay {
                        relayed.push(full);
                        relay = None;
                    }
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } if webrtc.contains(listener_id) || Some(*listener_id) == relay => {
                    return Err(PeerError::Join(format!("listener closed: {reason:?}")));
                }
                // Reserve only once connected: a second dial to the node while the first is
                // pending would be refused, and the reservation with it.
                SwarmEvent::ConnectionEstablished { peer_id, .. } if *peer_id == self.node => {
                    if let Some(addr) = circuit.take() {
                        relay = Some(
                            self.swarm
                                .listen_on(addr)
                                .map_err(|e| PeerError::Join(e.to_string()))?,
                        );
                    }
                }
                SwarmEvent::OutgoingConnectionError {
                    peer_id: Some(peer),
                    error,
                    ..
                } if *peer == self.node => {
                    return Err(PeerError::Join(error.to_string()));
                }
                _ => {}
            }
            self.on_swarm_event(event);
        }
        direct.extend(relayed);
        Ok(direct)
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => return,
                },
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish(shard_key, body) => {
                let bytes = proto::encode(rand::random(), body);
                let topic = shard_topic(shard_of(&shard_key));
                if let Err(err) = self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                    tracing::debug!(%err, "peer publish failed");
                }
            }
            Command::Dial(peer, addrs) => {
                // Beside a dial still under way, too: a stalled one gets the next address.
                let opts = DialOpts::peer_id(peer)
                    .condition(PeerCondition::Disconnected)
                    .addresses(addrs)
                    .build();
                if let Err(err) = self.swarm.dial(opts) {
                    // A pairing waiting on this dial must hear that it will not come.
                    tracing::debug!(%peer, %err, "dialling the other peer failed");
                    let _ = self.events.send(PeerEvent::DialFailed { peer });
                }
            }
            Command::WaitAuthenticated(key, reply) => {
                match self.authenticated.iter().find(|(k, _)| *k == key) {
                    Some((_, auth)) => {
                        let _ = reply.send(auth.clone());
                    }
                    None => self.waiters.entry(key).or_default().push(reply),
                }
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let acceptance = if self.on_envelope(&message.data) {
                    MessageAcceptance::Accept
                } else {
                    MessageAcceptance::Reject
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed {
                peer_id,
                topic,
            })) if peer_id == self.node => {
                self.node_topics.insert(topic);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            })) => {
                for envelope in response {
                    self.on_envelope(&envelope);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result: Ok(_),
            })) => {
                let _ = self.events.send(PeerEvent::HolePunched {
                    peer: remote_peer_id,
                });
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if peer_id == self.node && num_established.get() == 1 {
                    self.swarm
                        .behaviour_mut()
                        .sync
                        .send_request(&peer_id, sync_codec::Wanted::Pairing);
                }
                let _ = self.events.send(PeerEvent::Connected {
                    peer: peer_id,
                    relayed: endpoint.is_relayed(),
                });
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "dial failed");
                let _ = self.events.send(PeerEvent::DialFailed { peer });
            }
            _ => {}
        }
    }

    /// Handles an envelope from the mesh; false if it is invalid.
    /// Handles an envelope or a batch of them; false if invalid. Nodes batch only signals today,
    /// which a peer ignores, but a link event or hello in a batch must not be lost.
    fn on_envelope(&mut self, bytes: &[u8]) -> bool {
        let body = match proto::decode(bytes) {
            Ok(proto::Body::Batch(batch)) => {
                // Every one, even after an invalid one: a peer only reads what concerns it.
                let mut valid = true;
                for envelope in &batch.envelopes {
                    valid &= self.on_one_envelope(envelope);
                }
                return valid;
            }
            Ok(body) => body,
            Err(_) => return false,
        };
        self.on_body(body)
    }

    fn on_one_envelope(&mut self, bytes: &[u8]) -> bool {
        match proto::decode(bytes) {
            Ok(proto::Body::Batch(_)) | Err(_) => false,
            Ok(body) => self.on_body(body),
        }
    }

    fn on_body(&mut self, body: proto::Body) -> bool {
        let incoming = wire::incoming(body, Origin::Remote(0)).ok();
        match incoming {
            Some(Incoming::Authenticated(auth)) => {
                let key = auth.request_id.key();
                for waiter in self.waiters.remove(&key).unwrap_or_default() {
                    let _ = waiter.send(auth.clone());
                }
                self.authenticated.push_back((key, auth));
                if self.authenticated.len() > REMEMBERED {
                    self.authenticated.pop_front();
                }
                true
            }
            Some(Incoming::Sealed(sealed)) => {
                let _ = self.events.send(PeerEvent::Sealed(sealed));
                true
            }
            Some(_) => true,
            None => false,
        }
    }
}

fn with_peer(addr: Multiaddr, peer: PeerId) -> Multiaddr {
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr
    } else {
        addr.with(Protocol::P2p(peer))
    }
}

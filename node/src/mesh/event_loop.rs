//! The task that owns the swarm. It publishes what this node's HTTP API and bridges put on the hub
//! to the shard topics, validates what peers publish before putting it on the hub, answers and
//! sends sync requests when connections open, and redials bootstrap peers with backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify};
use liquid_mesh_proto as proto;
use sha2::Digest;
use tokio::sync::{broadcast, mpsc};

use super::batch::Batches;
use super::behaviour::{Behaviour, BehaviourEvent};
use super::counters::MeshCounters;
use super::recent::{Recent, content_id};
use super::shards::{SHARDS, shard_of, shard_topic};
use super::sync_codec::Wanted;
use super::wire::{self, Incoming, WireError};
use super::{Command, MeshConfig, MeshError, MeshStatus, PeerStatus, Retention};
use crate::hub::{Hub, Origin};

/// How often redials and expiry are considered.
const TICK: Duration = Duration::from_millis(200);

/// Most signals gathered from the hub into one round of gossip: enough to share the mesh's costs
/// under load, few enough that the swarm is polled again soon.
const MAX_GATHERED: usize = 256;

/// How long listeners may take to report an address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts every listener and waits until each has an address; returns the first of each.
pub(super) async fn listen(
    swarm: &mut Swarm<Behaviour>,
    addrs: &[Multiaddr],
) -> Result<Vec<Multiaddr>, MeshError> {
    let mut pending: HashMap<ListenerId, Multiaddr> = HashMap::new();
    for addr in addrs {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|err| MeshError::Listen {
                addr: addr.clone(),
                reason: err.to_string(),
            })?;
        pending.insert(id, addr.clone());
    }
    let mut found = Vec::new();
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    while !pending.is_empty() {
        let event = tokio::time::timeout_at(deadline, swarm.select_next_some()).await;
        let failed = match event {
            Ok(SwarmEvent::NewListenAddr {
                listener_id,
                address,
            }) => {
                if pending.remove(&listener_id).is_some() {
                    found.push(address);
                }
                continue;
            }
            Ok(SwarmEvent::ListenerError { listener_id, error }) => {
                pending.remove(&listener_id).map(|a| (a, error.to_string()))
            }
            Ok(SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            }) => pending.remove(&listener_id).map(|a| {
                let reason = reason.err().map_or("closed".into(), |e| e.to_string());
                (a, reason)
            }),
            Ok(_) => continue,
            Err(_) => {
                let addr = pending.into_values().next().expect("pending is not empty");
                return Err(MeshError::Listen {
                    addr,
                    reason: format!("no address within {LISTEN_TIMEOUT:?}"),
                });
            }
        };
        if let Some((addr, reason)) = failed {
            return Err(MeshError::Listen { addr, reason });
        }
    }
    Ok(found)
}

struct Bootstrap {
    peer: PeerId,
    addr: Multiaddr,
    next: Instant,
    backoff: Duration,
}

/// Why a message from a peer was rejected (and its sender's score lowered).
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(transparent)]
    Decode(#[from] proto::DecodeError),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("published on the wrong shard")]
    WrongShard,
}

/// A checked event from a peer and the envelope it came in (kept for peers that sync later).
type Accepted = (Incoming, Vec<u8>);

pub(super) struct EventLoop {
    swarm: Swarm<Behaviour>,
    hub: Hub,
    retention: Retention,
    recent: Recent,
    bootstrap: Vec<Bootstrap>,
    redial_min: Duration,
    redial_max: Duration,
    commands: mpsc::Receiver<Command>,
    counters: Arc<MeshCounters>,
    /// Signals whose pair is wholly here, waiting until `pair_here_delay` has passed or another
    /// signal goes out (they go first, so every room's signals leave in order).
    deferred: Batches,
    pair_here_delay: Duration,
}

impl EventLoop {
    pub(super) fn new(
        swarm: Swarm<Behaviour>,
        hub: Hub,
        config: &MeshConfig,
        retention: Retention,
        bootstrap: Vec<(PeerId, Multiaddr)>,
        commands: mpsc::Receiver<Command>,
        counters: Arc<MeshCounters>,
    ) -> Self {
        let now = Instant::now();
        let local = *swarm.local_peer_id();
        let bootstrap = bootstrap
            .into_iter()
            .filter(|(peer, _)| *peer != local)
            .map(|(peer, addr)| Bootstrap {
                peer,
                addr,
                next: now,
                backoff: config.redial_min,
            })
            .collect();
        let seen_for = retention.authenticated.max(retention.signals);
        Self {
            swarm,
            hub,
            retention,
            recent: Recent::new(config.recent_count, config.recent_bytes, seen_for),
            bootstrap,
            redial_min: config.redial_min,
            redial_max: config.redial_max,
            commands,
            counters,
            deferred: Batches::default(),
            pair_here_delay: config.pair_here_delay,
        }
    }

    pub(super) async fn run(mut self) {
        for n in 0..SHARDS {
            if let Err(err) = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&shard_topic(n))
            {
                tracing::error!(%err, shard = n, "subscribing to a shard failed");
            }
        }
        let mut authenticated = self.hub.subscribe_authenticated();
        let mut signals = self.hub.subscribe_outbound_signals();
        let mut presence = self.hub.subscribe_presence();
        let mut sessions = self.hub.subscribe_session_changes();
        let mut tick = tokio::time::interval(TICK);
        let deferred_due = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(deferred_due);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => return,
                },
                event = authenticated.recv() => {
                    if let Some(event) = local(event, |e| e.origin) {
                        let keep = self.retention.authenticated;
                        let (room, body) = wire::authenticated(&event);
                        self.publish_local(room.name(), body, Some(keep));
                    }
                }
                event = signals.recv() => {
                    if self.publish_signals(event, &mut signals) {
                        deferred_due
                            .as_mut()
                            .reset(tokio::time::Instant::now() + self.pair_here_delay);
                    }
                }
                () = &mut deferred_due, if !self.deferred.is_empty() => {
                    self.publish_deferred(Batches::default());
                }
                event = presence.recv() => {
                    if let Some(report) = local(event, |p| p.origin) {
                        let (room, body) = wire::presence(&report);
                        self.publish_local(room.name(), body, None);
                    }
                }
                event = sessions.recv() => {
                    if let Some(changed) = local(event, |c| c.origin) {
                        let (shard_key, body) = wire::session_changed(&changed);
                        self.publish_local(shard_key, body, None);
                    }
                }
                _ = tick.tick() => {
                    self.redial();
                    self.recent.expire(Instant::now());
                }
            }
        }
    }

    /// Sends an event from this node to every other, keeping it for peers that connect later.
    fn publish_local(&mut self, shard_key: String, body: proto::Body, keep_for: Option<Duration>) {
        if let Some(bytes) = self.record_local(body, keep_for) {
            self.gossip(shard_of(&shard_key), bytes);
        }
    }

    /// Publishes a local signal and every other one already waiting on the hub, a shard's worth
    /// at a time (see [`Batches`]); signals whose pair is here wait (see
    /// [`MeshConfig::pair_here_delay`]). Returns whether the first of those started waiting.
    fn publish_signals(
        &mut self,
        first: Result<crate::hub::Signal, broadcast::error::RecvError>,
        signals: &mut broadcast::Receiver<crate::hub::Signal>,
    ) -> bool {
        let keep = self.retention.signals;
        let was_waiting = !self.deferred.is_empty();
        let mut batches = Batches::default();
        let mut next = Some(first);
        let mut gathered = 0;
        while let Some(event) = next.take() {
            if let Some(signal) = local(event, |s| s.origin) {
                let (room, body) = wire::signal(&signal);
                if let Some(bytes) = self.record_local(body, Some(keep)) {
                    let shard = shard_of(&room.name());
                    if signal.pair_here && !self.pair_here_delay.is_zero() {
                        MeshCounters::add(&self.counters.deferred);
                        self.deferred.add(shard, bytes);
                    } else {
                        batches.add(shard, bytes);
                    }
                }
            }
            gathered += 1;
            if gathered < MAX_GATHERED {
                next = match signals.try_recv() {
                    Ok(signal) => Some(Ok(signal)),
                    Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                        Some(Err(broadcast::error::RecvError::Lagged(missed)))
                    }
                    Err(_) => None,
                };
            }
        }
        if !batches.is_empty() {
            self.publish_deferred(batches);
        }
        !was_waiting && !self.deferred.is_empty()
    }

    /// Publishes the waiting signals, then `after`.
    fn publish_deferred(&mut self, after: Batches) {
        let mut batches = std::mem::take(&mut self.deferred);
        batches.append(after);
        for (shard, message) in batches.into_messages() {
            self.gossip(shard, message);
        }
    }

    /// Encodes a local event and keeps it for peers that connect later; `None` if too large.
    fn record_local(&mut self, body: proto::Body, keep_for: Option<Duration>) -> Option<Vec<u8>> {
        let bytes = proto::encode(rand::random(), body);
        if bytes.len() > proto::MAX_MESSAGE_BYTES {
            tracing::warn!(
                bytes = bytes.len(),
                "event too large for the mesh; not sent"
            );
            return None;
        }
        self.recent
            .insert(content_id(&bytes), &bytes, keep_for, Instant::now());
        MeshCounters::add(&self.counters.published);
        Some(bytes)
    }

    fn gossip(&mut self, shard: usize, bytes: Vec<u8>) {
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(shard_topic(shard), bytes)
        {
            Ok(_) => MeshCounters::add(&self.counters.gossiped),
            // No peer yet: kept in `recent`, peers get it by sync when they connect.
            Err(PublishError::NoPeersSubscribedToTopic) => {
                tracing::debug!("no peer to gossip to; kept for sync");
            }
            Err(PublishError::Duplicate) => {}
            Err(err) => {
                MeshCounters::add(&self.counters.publish_failed);
                tracing::warn!(%err, "gossip publish failed");
            }
        }
    }

    /// Checks a message from the mesh, an event or a batch of them: all valid, or refused whole.
    /// A lone event must travel on its own shard; a batch's may be of any (see [`Batches`]).
    fn accept(&self, message: &gossipsub::Message) -> Result<Vec<Accepted>, Refused> {
        let origin = origin_of(message.source);
        let checked = |bytes: Vec<u8>| -> Result<Accepted, Refused> {
            Ok((wire::incoming(proto::decode(&bytes)?, origin)?, bytes))
        };
        if let proto::Body::Batch(batch) = proto::decode(&message.data)? {
            return batch.envelopes.into_iter().map(checked).collect();
        }
        let (incoming, bytes) = checked(message.data.clone())?;
        if shard_topic(shard_of(&incoming.shard_key())).hash() != message.topic {
            return Err(Refused::WrongShard);
        }
        Ok(vec![(incoming, bytes)])
    }

    /// Records a valid envelope; returns it if this node had not seen it before.
    fn first_sighting(&mut self, incoming: Incoming, bytes: &[u8]) -> Option<Incoming> {
        let keep_for = match incoming {
            Incoming::Authenticated(_) => Some(self.retention.authenticated),
            Incoming::Signal(_) | Incoming::Sealed(_) => Some(self.retention.signals),
            Incoming::Presence(_) | Incoming::SessionChanged(_) => None,
        };
        self.recent
            .insert(content_id(bytes), bytes, keep_for, Instant::now())
            .then_some(incoming)
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let acceptance = match self.accept(&message) {
                    Ok(events) => {
                        for (incoming, bytes) in events {
                            match self.first_sighting(incoming, &bytes) {
                                Some(incoming) => {
                                    MeshCounters::add(&self.counters.accepted);
                                    incoming.publish(&self.hub);
                                }
                                None => MeshCounters::add(&self.counters.duplicates),
                            }
                        }
                        MessageAcceptance::Accept
                    }
                    Err(refused) => {
                        MeshCounters::add(&self.counters.rejected);
                        tracing::debug!(peer = %propagation_source, %refused, "mesh message rejected");
                        MessageAcceptance::Reject
                    }
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                for addr in info.listen_addrs {
                    self.swarm.add_peer_address(peer_id, addr);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                self.count_peers();
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                    self.swarm
                        .behaviour_mut()
                        .sync
                        .send_request(&peer_id, Wanted::Everything);
                }
                for b in self.bootstrap.iter_mut().filter(|b| b.peer == peer_id) {
                    b.backoff = self.redial_min;
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                self.count_peers();
                tracing::info!(peer = %peer_id, cause = ?cause, "peer disconnected");
                let next = Instant::now() + self.redial_min;
                for b in self.bootstrap.iter_mut().filter(|b| b.peer == peer_id) {
                    b.next = next;
                }
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::debug!(%address, "mesh listening");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "dial failed");
            }
            _ => {}
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<Wanted, Vec<Vec<u8>>>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        channel, request, ..
                    },
                ..
            } => {
                let envelopes = self.recent.snapshot(
                    Instant::now(),
                    proto::MAX_SYNC_BYTES - 64 * 1024,
                    |bytes| request == Wanted::Everything || concerns_pairing(bytes),
                );
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, envelopes)
                    .is_err()
                {
                    tracing::debug!(%peer, "sync response not sent: connection gone");
                }
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { response, .. },
                ..
            } => self.on_sync_response(peer, response),
            request_response::Event::OutboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "sync request failed");
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "sync request not answered");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// What a peer saw while we were apart: new events go on the hub and on to our other peers.
    fn on_sync_response(&mut self, peer: PeerId, envelopes: Vec<Vec<u8>>) {
        let (mut fresh, mut invalid) = (0usize, 0usize);
        for bytes in envelopes {
            let incoming = proto::decode(&bytes)
                .map_err(Refused::from)
                .and_then(|body| Ok(wire::incoming(body, origin_of(Some(peer)))?));
            let incoming = match incoming {
                Ok(incoming) => incoming,
                Err(refused) => {
                    invalid += 1;
                    tracing::debug!(%peer, %refused, "synced envelope rejected");
                    continue;
                }
            };
            let shard_key = incoming.shard_key();
            if let Some(incoming) = self.first_sighting(incoming, &bytes) {
                fresh += 1;
                MeshCounters::add(&self.counters.synced);
                incoming.publish(&self.hub);
                self.gossip(shard_of(&shard_key), bytes);
            }
        }
        tracing::debug!(%peer, fresh, invalid, "synced");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Block(peer) => {
                self.swarm.behaviour_mut().blocked.block_peer(peer);
            }
            Command::Unblock(peer) => {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                let now = Instant::now();
                for b in self.bootstrap.iter_mut().filter(|b| b.peer == peer) {
                    b.next = now;
                    b.backoff = self.redial_min;
                }
            }
        }
    }

    fn status(&self) -> MeshStatus {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let topics: HashMap<PeerId, usize> = gossipsub
            .all_peers()
            .map(|(peer, topics)| (*peer, topics.len()))
            .collect();
        let peers = self
            .swarm
            .connected_peers()
            .map(|peer| PeerStatus {
                peer_id: *peer,
                score: gossipsub.peer_score(peer).unwrap_or(0.0),
                topics: topics.get(peer).copied().unwrap_or(0),
                meshed: (0..SHARDS)
                    .filter(|&n| {
                        gossipsub
                            .mesh_peers(&shard_topic(n).hash())
                            .any(|p| p == peer)
                    })
                    .count(),
            })
            .collect();
        MeshStatus {
            peer_id: *self.swarm.local_peer_id(),
            listen: self.swarm.listeners().cloned().collect(),
            external: self.swarm.external_addresses().cloned().collect(),
            peers,
        }
    }

    fn count_peers(&self) {
        let peers = self.swarm.connected_peers().count();
        self.counters
            .peers
            .store(u64::try_from(peers).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn redial(&mut self) {
        let now = Instant::now();
        for b in &mut self.bootstrap {
            if now < b.next || self.swarm.is_connected(&b.peer) {
                continue;
            }
            if let Err(err) = self.swarm.dial(b.addr.clone()) {
                tracing::debug!(addr = %b.addr, %err, "bootstrap dial refused");
            }
            b.next = now + b.backoff;
            b.backoff = (b.backoff * 2).min(self.redial_max);
        }
    }
}

/// An event the hub got from this process (not from the mesh), if any.
fn local<T>(
    received: Result<T, broadcast::error::RecvError>,
    origin: impl Fn(&T) -> Origin,
) -> Option<T> {
    match received {
        Ok(event) if origin(&event).is_local() => Some(event),
        Ok(_) => None,
        Err(broadcast::error::RecvError::Lagged(missed)) => {
            tracing::warn!(missed, "mesh fell behind the hub; events not sent");
            None
        }
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

/// Whether an envelope is one a native peer asks for: a link event or sealed signaling.
fn concerns_pairing(bytes: &[u8]) -> bool {
    matches!(
        proto::decode(bytes),
        Ok(proto::Body::Authenticated(_) | proto::Body::Sealed(_))
    )
}

/// A stable small id for the node that published a message.
fn origin_of(source: Option<PeerId>) -> Origin {
    let digest = source.map_or_else(
        || sha2::Sha256::digest([]),
        |peer| sha2::Sha256::digest(peer.to_bytes()),
    );
    Origin::Remote(u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")))
}

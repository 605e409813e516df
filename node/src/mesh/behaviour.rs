//! The swarm: transports (TCP and WebSocket, both with Noise and yamux, DNS for bootstrap names,
//! relayed circuits) and the protocols every node runs. Gossipsub is tuned for a federation of a
//! few to a few dozen nodes: messages named by content, unsigned and validated by the node, peers
//! scored on invalid messages only (signaling is too quiet for delivery-rate scoring, and a busy
//! member is not a hostile one).

use std::collections::HashMap;
use std::time::Duration;

use libp2p::gossipsub::{
    self, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds, TopicScoreParams,
    ValidationMode,
};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    Swarm, allow_block_list, connection_limits, dcutr, identify, noise, ping, relay,
    request_response, tcp, yamux,
};
use liquid_mesh_proto::MAX_MESSAGE_BYTES;

use super::recent::content_id;
use super::shards::{SHARDS, shard_topic};
use super::sync_codec::{self, SyncCodec};
use super::{MeshConfig, MeshError};

/// Protocols of a node.
#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(super) limits: connection_limits::Behaviour,
    pub(super) relay_client: relay::client::Behaviour,
    pub(super) relay: relay::Behaviour,
    pub(super) dcutr: dcutr::Behaviour,
    pub(super) identify: identify::Behaviour,
    pub(super) ping: ping::Behaviour,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) sync: request_response::Behaviour<SyncCodec>,
}

/// The score limits: below `graylist_threshold` a peer's messages are ignored.
pub fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds::default()
}

pub(super) async fn build_swarm(
    keypair: Keypair,
    config: &MeshConfig,
) -> Result<Swarm<Behaviour>, MeshError> {
    let transport = |err: &dyn std::fmt::Display| MeshError::Transport(err.to_string());
    let idle = config.idle_timeout;
    let heartbeat = config.heartbeat;
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established_per_peer(Some(config.max_connections_per_peer))
        .with_max_established_incoming(Some(config.max_incoming_connections))
        .with_max_pending_incoming(Some(config.max_pending_incoming));
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| transport(&e))?
        .with_dns()
        .map_err(|e| transport(&e))?
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .map_err(|e| transport(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| transport(&e))?
        .with_behaviour(|key, relay_client| behaviour(key, relay_client, heartbeat, limits))
        .map_err(|e| transport(&e))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(idle)
                .with_per_connection_event_buffer_size(RECEIVED_AHEAD)
        })
        .build();
    Ok(swarm)
}

fn behaviour(
    key: &Keypair,
    relay_client: relay::client::Behaviour,
    heartbeat: Duration,
    limits: connection_limits::ConnectionLimits,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let peer_id = key.public().to_peer_id();
    // Unsigned: every hop is a Noise-authenticated connection, so the peer that sent a message
    // is always known (and scored). A signature would add proof of the first publisher across
    // hops, which this federation of trusted operators does not rely on (any member can forge a
    // link event whatever it signs), at an Ed25519 signature per publish and a verification per
    // receipt on every node. Native peers' signaling is sealed end to end on its own.
    let mut gossipsub = gossipsub::Behaviour::new(
        MessageAuthenticity::Author(peer_id),
        gossipsub_config(heartbeat)?,
    )?;
    gossipsub.with_peer_score(score_params(), score_thresholds())?;
    let identify = identify::Behaviour::new(
        identify::Config::new("/liquid-mesh/1".into(), key.public())
            .with_agent_version(format!("liquid-mesh/{}", env!("CARGO_PKG_VERSION"))),
    );
    let sync = request_response::Behaviour::new(
        [(
            sync_codec::PROTOCOL,
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
    );
    Ok(Behaviour {
        blocked: allow_block_list::Behaviour::default(),
        limits: connection_limits::Behaviour::new(limits),
        relay_client,
        relay: relay::Behaviour::new(peer_id, relay::Config::default()),
        dcutr: dcutr::Behaviour::new(peer_id),
        identify,
        ping: ping::Behaviour::default(),
        gossipsub,
        sync,
    })
}

pub(crate) fn gossipsub_config(
    heartbeat: Duration,
) -> Result<gossipsub::Config, gossipsub::ConfigBuilderError> {
    gossipsub::ConfigBuilder::default()
        // Messages carry their author and sequence number but no signature; a signature that is
        // present is still checked.
        .validation_mode(ValidationMode::Permissive)
        // The node checks every message (decodes, right shard) before it is forwarded.
        .validate_messages()
        // Content ids: the same event reaching a node by two paths (gossip, and sync after a
        // partition heals) is one message. Envelopes carry a nonce, so repeats stay distinct.
        .message_id_fn(|message| MessageId::from(content_id(&message.data).to_vec()))
        // Room for the largest envelope and gossipsub's signature and framing.
        .max_transmit_size(MAX_MESSAGE_BYTES + 8 * 1024)
        // Each heartbeat gossipsub lists, for every shard, the ids of the messages of its gossip
        // window, scanning the window once per shard, and drops the messages of the beat that
        // leaves its cache. At 2,000 signals a second with gossipsub's defaults (1 s beats, a
        // window of 3, a cache of 5) that held the swarm task for ~8 ms a second and made the
        // cross-node p99 6.5 ms; quarter-second beats with a window of one beat make it 1.8 ms.
        // The cache still holds MESSAGE_CACHE_SPAN of messages for IWANT answers.
        .heartbeat_interval(heartbeat)
        .history_gossip(1)
        .history_length(beats_in(MESSAGE_CACHE_SPAN, heartbeat))
        // Under a burst, a message waiting in a connection's queue is still worth delivering for
        // longer than gossipsub's 1 s (forwards) and 5 s (own messages): an ICE candidate ten
        // seconds late still helps a pairing, a dropped one never does.
        .forward_queue_duration(QUEUE_PATIENCE)
        .publish_queue_duration(QUEUE_PATIENCE)
        .build()
}

/// How long gossipsub keeps a message to answer IWANTs: its defaults' 5 heartbeats of 1 s.
const MESSAGE_CACHE_SPAN: Duration = Duration::from_secs(5);

/// Heartbeats in `span`, at least one.
fn beats_in(span: Duration, heartbeat: Duration) -> usize {
    (span.as_millis() / heartbeat.as_millis().max(1)).max(1) as usize
}

/// Messages (gossip RPCs, each under the transmit limit) a connection may have read ahead of the
/// swarm task. libp2p's default, 7, made a connection stop reading whenever the swarm task fell
/// a few messages behind; under a burst the sender's queue then grew until gossipsub dropped
/// messages. Measured at 20,000 msg/s offered across two nodes, near what two cores carry: 7
/// delivered 88-90% (p99 5.8-7.2 s), 32 99%, 64 all of them (p99 0.64-1.4 s). Far past capacity
/// (40,000 offered) it does not help: 6,200 msg/s delivered against 8,200 with 7, twice each,
/// since the receiver then spends its CPU on more messages that are already late. At most
/// 64 × 80 KiB waits per connection.
const RECEIVED_AHEAD: usize = 64;

/// How long a message may wait in a connection's send queue before gossipsub drops it.
const QUEUE_PATIENCE: Duration = Duration::from_secs(10);

/// Scores that fall only for invalid messages: each squared, so a few garbage messages graylist
/// a peer, and slowly forgiven (half-life about 70 s).
fn score_params() -> PeerScoreParams {
    let topic = TopicScoreParams {
        topic_weight: 0.25,
        time_in_mesh_weight: 0.1,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 10.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.5,
        first_message_deliveries_cap: 10.0,
        // Quiet topics: an honest peer may forward nothing for minutes.
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -100.0,
        invalid_message_deliveries_decay: 0.99,
        ..TopicScoreParams::default()
    };
    let topics: HashMap<_, _> = (0..SHARDS)
        .map(|n| (shard_topic(n).hash(), topic.clone()))
        .collect();
    PeerScoreParams {
        topics,
        // Good behaviour may not outweigh a single invalid message.
        topic_score_cap: 10.0,
        // A node that is merely busy misses IWANT deadlines and lets queued messages expire.
        // Penalised (gossipsub's defaults), a federation under load graylisted its own members
        // and stopped relaying for a minute: 69% of a 2,000 msg/s stream lost, links unanswered.
        // Slowness is not hostility here; only invalid messages count.
        behaviour_penalty_weight: 0.0,
        slow_peer_weight: 0.0,
        ..PeerScoreParams::default()
    }
}

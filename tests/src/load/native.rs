//! Native direct-channel setup time: a website peer and a wallet peer, each joined to its own
//! mesh node, pair from scratch (sealed hellos over the mesh, a direct WebRTC dial, the channel's
//! key confirmation) until the first byte arrives; beside it, a bare libp2p-webrtc dial between
//! two swarms of the same process until the first byte of a stream. Fresh peers every run, so
//! no run reuses a connection; only the pairing (or the dial) is timed.

use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm};
use liquid_mesh::peer::{Invitation, Path, Peer, PeerConfig, PeerError, Role};
use serde::Serialize;

use super::stats::Summary;

/// Slower than this is a retransmission-timer tail, not a setup.
const TAIL: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize)]
pub struct NativeReport {
    pub runs: usize,
    /// Pairing through the mesh: first hello published → first byte on the direct channel, ms.
    pub pairing: Summary,
    pub pairing_over_one_second: usize,
    /// Pairings that ended on another path than direct.
    pub pairing_not_direct: usize,
    /// Pairings that failed (unreachable after its retries, or timed out), with their errors.
    pub pairing_failed: Vec<String>,
    /// A bare libp2p-webrtc dial → first byte of a stream, ms.
    pub raw_dial: Summary,
    pub raw_dial_over_one_second: usize,
    /// Bare dials that failed, with their errors.
    pub raw_dial_failed: Vec<String>,
}

/// Pairs `runs` times through `website_node` and `wallet_node`, then dials `runs` times bare.
pub async fn run(website_node: Multiaddr, wallet_node: Multiaddr, runs: usize) -> NativeReport {
    let mut pairing = Vec::with_capacity(runs);
    let mut not_direct = 0;
    let mut pairing_failed = Vec::new();
    for _ in 0..runs {
        match pair_once(&website_node, &wallet_node).await {
            Ok((elapsed, path)) => {
                pairing.push(elapsed);
                not_direct += usize::from(path != Path::Direct);
            }
            Err(err) => pairing_failed.push(err.to_string()),
        }
    }
    let mut raw = Vec::with_capacity(runs);
    let mut raw_dial_failed = Vec::new();
    for _ in 0..runs {
        match raw_dial_once().await {
            Ok(elapsed) => raw.push(elapsed),
            Err(err) => raw_dial_failed.push(err),
        }
    }
    let over = |samples: &[Duration]| samples.iter().filter(|d| **d > TAIL).count();
    NativeReport {
        runs,
        pairing_over_one_second: over(&pairing),
        raw_dial_over_one_second: over(&raw),
        pairing: summary(&pairing),
        raw_dial: summary(&raw),
        pairing_not_direct: not_direct,
        pairing_failed,
        raw_dial_failed,
    }
}

fn summary(samples: &[Duration]) -> Summary {
    Summary::of_micros(samples.iter().map(|d| d.as_micros() as u64).collect())
}

/// A peer that offers only its direct address: a node's relay allows 60 reservations a minute
/// per IP, which a hundred runs from one address would exceed, and the relay is not timed here.
fn direct_only(node: &Multiaddr) -> PeerConfig {
    let mut config = PeerConfig::new(node.clone());
    config.relay = false;
    config.pair_timeout = Duration::from_secs(20);
    config
}

async fn pair_once(
    website_node: &Multiaddr,
    wallet_node: &Multiaddr,
) -> Result<(Duration, Path), PeerError> {
    let website = Peer::start(direct_only(website_node))
        .await
        .expect("the website peer joins");
    let wallet = Peer::start(direct_only(wallet_node))
        .await
        .expect("the wallet peer joins");
    let invitation = Invitation::new();
    let started = Instant::now();
    let (website_channel, wallet_channel) = tokio::join!(
        website.pair(&invitation, Role::Website),
        wallet.pair(&invitation, Role::Wallet)
    );
    // The wallet cannot know the website gave up: its pairing ends at its timeout.
    let mut website_channel = website_channel?;
    let mut wallet_channel = wallet_channel?;
    wallet_channel.send(b"1").await?;
    let first = website_channel.recv().await?;
    assert_eq!(first.as_deref(), Some(&b"1"[..]));
    Ok((started.elapsed(), website_channel.path()))
}

const RAW_PROTOCOL: StreamProtocol = StreamProtocol::new("/liquid-mesh-bench/raw/1");

fn webrtc_swarm() -> Swarm<libp2p_stream::Behaviour> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(|key| {
            let certificate = libp2p_webrtc::tokio::Certificate::generate(&mut rand10::rng())
                .expect("a certificate");
            Ok(libp2p_webrtc::tokio::Transport::new(
                key.clone(),
                certificate,
            ))
        })
        .expect("the WebRTC transport")
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .expect("the stream behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Drives a swarm until the task is aborted.
fn drive(mut swarm: Swarm<libp2p_stream::Behaviour>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    })
}

/// Listens on a loopback WebRTC port and returns the address, as a native peer does.
async fn listen(swarm: &mut Swarm<libp2p_stream::Behaviour>) -> Multiaddr {
    let local: Multiaddr = "/ip4/127.0.0.1/udp/0/webrtc-direct"
        .parse()
        .expect("static multiaddr");
    swarm.listen_on(local).expect("listens");
    loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            return address.with(Protocol::P2p(*swarm.local_peer_id()));
        }
    }
}

async fn raw_dial_once() -> Result<Duration, String> {
    let mut listener = webrtc_swarm();
    let mut dialler = webrtc_swarm();
    let listener_id: PeerId = *listener.local_peer_id();
    let addr = listen(&mut listener).await;
    // libp2p-webrtc dials from a listening socket, as both native peers have one.
    listen(&mut dialler).await;
    let mut incoming = listener
        .behaviour()
        .new_control()
        .accept(RAW_PROTOCOL)
        .expect("accepts the protocol");
    let mut control = dialler.behaviour().new_control();
    let listening = drive(listener);
    let started = Instant::now();
    dialler.dial(addr).expect("dials");
    // A stream opened before the connection is up would dial by peer id alone, with no address.
    loop {
        match dialler.select_next_some().await {
            SwarmEvent::ConnectionEstablished { .. } => break,
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                return Err(format!("the raw dial failed: {error}"));
            }
            _ => {}
        }
    }
    let dialling = drive(dialler);
    let (_, mut inbound) = tokio::join!(
        async {
            let mut stream = control
                .open_stream(listener_id, RAW_PROTOCOL)
                .await
                .expect("opens a stream");
            stream.write_all(b"1").await.expect("writes");
            stream.flush().await.expect("flushes");
            stream
        },
        async {
            let (_, mut stream) = incoming.next().await.expect("a stream arrives");
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.expect("reads");
            stream
        }
    );
    let elapsed = started.elapsed();
    let _ = inbound.close().await;
    listening.abort();
    dialling.abort();
    Ok(elapsed)
}

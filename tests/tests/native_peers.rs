//! Native peers: a website and a wallet that join the mesh themselves, pair through different
//! nodes and talk over a direct libp2p channel (WebRTC, or a relay circuit when direct dialling is
//! off), with signaling sealed end to end so a node that tampers with it is detected.

use std::time::Duration;

use liquid_mesh::mesh::{sealed_shard_key, shard_of};
use liquid_mesh::peer::{
    Channel, ChannelReceiver, ChannelSender, Invitation, Path, Peer, PeerConfig, PeerError, Role,
};
use liquid_mesh_tests::mesh::start_mesh;
use liquid_mesh_tests::raw_peer::RawPeer;
use liquid_mesh_tests::{Backend, TestNode, Wallet};
use reqwest::StatusCode;

/// A passkey wallet registers on `node` naming the invitation's request ID, as a native wallet
/// app does after scanning the QR code.
async fn authenticate(node: &TestNode, invitation: &Invitation) -> String {
    let mut wallet = Wallet::web(node);
    let (status, _) = wallet
        .register(Some(invitation.request_id.as_json().clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    wallet.address.clone()
}

/// A website peer on `website_node` and a wallet peer on `wallet_node` pair; returns both channels.
async fn pair_natives(
    website_node: &TestNode,
    wallet_node: &TestNode,
    configure: impl Fn(&mut PeerConfig),
) -> (Peer, Channel, Peer, Channel) {
    let mut config = PeerConfig::new(website_node.p2p_addr());
    configure(&mut config);
    let website = Peer::start(config).await.expect("website peer joins");
    let mut config = PeerConfig::new(wallet_node.p2p_addr());
    configure(&mut config);
    let wallet = Peer::start(config).await.expect("wallet peer joins");

    let invitation = Invitation::new();
    // The QR code carries the invitation to the wallet.
    let scanned = Invitation::from_json(&invitation.to_json()).unwrap();
    let address = authenticate(wallet_node, &scanned).await;
    let linked = website
        .wait_authenticated(&invitation.request_id)
        .await
        .unwrap();
    assert_eq!(linked.wallet, address);

    let (website_channel, wallet_channel) = tokio::join!(
        website.pair(&invitation, Role::Website),
        wallet.pair(&scanned, Role::Wallet)
    );
    let (website_channel, wallet_channel) = (website_channel.unwrap(), wallet_channel.unwrap());
    assert_eq!(website_channel.peer(), wallet.peer_id());
    assert_eq!(wallet_channel.peer(), website.peer_id());
    (website, website_channel, wallet, wallet_channel)
}

/// Sends `count` numbered messages each way at once; every one arrives, in order.
async fn exchange(
    (a_tx, a_rx): &mut (ChannelSender, ChannelReceiver),
    (b_tx, b_rx): &mut (ChannelSender, ChannelReceiver),
    count: u32,
) {
    let a_sends = async {
        for n in 0..count {
            a_tx.send(format!("website {n}").as_bytes()).await.unwrap();
        }
    };
    let b_sends = async {
        for n in 0..count {
            b_tx.send(format!("wallet {n}").as_bytes()).await.unwrap();
        }
    };
    let a_receives = async {
        for n in 0..count {
            let message = a_rx.recv().await.unwrap().expect("channel open");
            assert_eq!(message, format!("wallet {n}").into_bytes());
        }
    };
    let b_receives = async {
        for n in 0..count {
            let message = b_rx.recv().await.unwrap().expect("channel open");
            assert_eq!(message, format!("website {n}").into_bytes());
        }
    };
    tokio::time::timeout(
        Duration::from_secs(60),
        futures::future::join4(a_sends, b_sends, a_receives, b_receives),
    )
    .await
    .expect("messages cross within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_peers_pair_across_the_mesh_and_keep_talking_without_it() {
    let nodes = start_mesh(3, &[(0, 1), (1, 2)], Backend::Sqlite, |_, _| {}).await;
    let (_website, website_channel, wallet, wallet_channel) =
        pair_natives(&nodes[0], &nodes[2], |_| {}).await;
    assert_eq!(website_channel.path(), Path::Direct);
    assert_eq!(wallet_channel.path(), Path::Direct);
    // Two direct sockets, so one stalled handshake does not hold the pairing up (see
    // `PeerConfig::webrtc_listen`).
    let direct: std::collections::HashSet<String> = wallet
        .addrs()
        .iter()
        .map(ToString::to_string)
        .filter(|a| a.contains("/webrtc-direct/"))
        .collect();
    assert_eq!(direct.len(), 2, "direct addresses: {direct:?}");
    let mut website = website_channel.split();
    let mut wallet = wallet_channel.split();
    exchange(&mut website, &mut wallet, 1_000).await;

    // The mesh goes away; the direct channel does not need it.
    for node in nodes {
        node.stop().await;
    }
    exchange(&mut website, &mut wallet, 100).await;
}

/// Nodes busy relaying browsers' signals send them to peers too, in batches; peers pair as on a
/// quiet mesh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_peers_pair_while_their_nodes_relay_batches() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let website = Peer::start(PeerConfig::new(nodes[0].p2p_addr()))
        .await
        .expect("website peer joins");
    let wallet = Peer::start(PeerConfig::new(nodes[1].p2p_addr()))
        .await
        .expect("wallet peer joins");
    for node in &nodes {
        liquid_mesh_tests::mesh::publish_burst(node, "busy", 2000);
    }
    let counters = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let counters = nodes[0].mesh.counters();
            if counters.published >= 2000 {
                return counters;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the burst was published");
    assert!(
        counters.gossiped * 4 < counters.published,
        "batches went out: {counters:?}"
    );

    let invitation = Invitation::new();
    authenticate(&nodes[1], &invitation).await;
    website
        .wait_authenticated(&invitation.request_id)
        .await
        .expect("the link event crossed");
    let paired = tokio::time::timeout(Duration::from_secs(15), async {
        tokio::join!(
            website.pair(&invitation, Role::Website),
            wallet.pair(&invitation, Role::Wallet)
        )
    })
    .await
    .expect("paired within 15 s");
    let (website_channel, wallet_channel) = (paired.0.unwrap(), paired.1.unwrap());
    assert_eq!(website_channel.path(), Path::Direct);
    let (mut a, mut b) = (website_channel.split(), wallet_channel.split());
    exchange(&mut a, &mut b, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_direct_dialling_blocked_the_channel_runs_through_a_relay() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let (_website, website_channel, _wallet, wallet_channel) =
        pair_natives(&nodes[0], &nodes[1], |c| {
            c.direct = false;
            c.hole_punch = false;
        })
        .await;
    assert_eq!(website_channel.path(), Path::Relayed);
    assert_eq!(wallet_channel.path(), Path::Relayed);
    let mut website = website_channel.split();
    let mut wallet = wallet_channel.split();
    exchange(&mut website, &mut wallet, 200).await;
}

/// A compromised node rewrites the wallet's sealed hello (one flipped byte), or replays a hello
/// from an earlier pairing under the new pairing's tag. Neither makes the website pair with
/// anyone: it reports tampering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_or_replayed_signaling_is_detected() {
    use liquid_mesh_proto as proto;
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let (a, c) = (&nodes[0], &nodes[1]);
    let wallet_hello = |invitation: &Invitation| {
        invitation.seal_hello(&proto::Hello {
            role: Role::Wallet as u32,
            peer_id: libp2p::PeerId::random().to_bytes(),
            addrs: vec!["/ip4/127.0.0.1/udp/9/webrtc-direct".into()],
        })
    };
    // A pairing the attacker watched earlier.
    let recorded = wallet_hello(&Invitation::new());
    let attacker = RawPeer::join(c.p2p_addr()).await;

    for attack in ["flipped byte", "replayed from another pairing"] {
        let website = Peer::start(PeerConfig::new(a.p2p_addr())).await.unwrap();
        let invitation = Invitation::new();
        let forged = if attack == "flipped byte" {
            let mut genuine = wallet_hello(&invitation);
            genuine.ciphertext[5] ^= 0x40;
            genuine
        } else {
            proto::Sealed {
                tag: invitation.tag().to_vec(),
                ..recorded.clone()
            }
        };
        let shard = shard_of(&sealed_shard_key(&invitation.tag()));
        let pairing = website.pair(&invitation, Role::Website);
        tokio::pin!(pairing);
        let mut resend = tokio::time::interval(Duration::from_millis(200));
        let outcome = loop {
            tokio::select! {
                outcome = &mut pairing => break outcome,
                _ = resend.tick() => {
                    let envelope = proto::encode(rand::random(), proto::Body::Sealed(forged.clone()));
                    attacker.publish(shard, envelope).await;
                }
            }
        };
        assert!(
            matches!(outcome, Err(PeerError::Tampered(_))),
            "{attack}: {:?}",
            outcome.map(|c| c.peer())
        );
    }
}

/// Direct WebRTC is off, so the peers meet on a relay circuit; both listen on TCP, and DCUtR
/// upgrades the relayed connection to a direct one before the channel opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_connection_is_upgraded_by_hole_punching() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let (_website, website_channel, _wallet, wallet_channel) =
        pair_natives(&nodes[0], &nodes[1], |c| {
            c.direct = false;
            c.tcp_listen = Some("/ip4/127.0.0.1/tcp/0".parse().unwrap());
            c.hole_punch_wait = Duration::from_secs(10);
        })
        .await;
    assert_eq!(website_channel.path(), Path::HolePunched);
    let mut website = website_channel.split();
    let mut wallet = wallet_channel.split();
    exchange(&mut website, &mut wallet, 200).await;
}

/// A wallet that offers no address the website may dial (no direct listener, no relay circuit):
/// the website says the wallet is unreachable as soon as it reads the hello, instead of waiting
/// for the pairing timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_with_no_dialable_address_is_reported_unreachable() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let website = Peer::start(PeerConfig::new(nodes[0].p2p_addr()))
        .await
        .expect("website peer joins");
    let mut config = PeerConfig::new(nodes[1].p2p_addr());
    config.direct = false;
    config.relay = false;
    let wallet = Peer::start(config).await.expect("wallet peer joins");
    let invitation = Invitation::new();
    let pairing = tokio::spawn({
        let invitation = invitation.clone();
        async move { wallet.pair(&invitation, Role::Wallet).await.map(|_| ()) }
    });
    let result = website.pair(&invitation, Role::Website).await;
    assert!(
        matches!(result, Err(PeerError::Unreachable(_))),
        "expected Unreachable, got {:?}",
        result.err()
    );
    pairing.abort();
}

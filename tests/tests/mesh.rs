//! Multi-node simulations: nodes in one process joined over loopback TCP by the libp2p mesh, with
//! real socket.io-client websites and passkey wallets on different nodes. Everything that works on
//! one node must work across nodes: link acks in either order, relays both ways in order, presence,
//! `/auth/session`; and keep working through node loss, partitions and hostile peers.

use std::time::Duration;

use liquid_mesh_tests::js::JsSocket;
use liquid_mesh_tests::mesh::{start_mesh, wait_for_peers};
use liquid_mesh_tests::node::new_postgres_database;
use liquid_mesh_tests::pairing::{
    ANSWER_SDP, OFFER_SDP, answer, candidate, expect_offer, pair, roomy_buffer, send_offer,
    session_of, stream_through_link_completion,
};
use liquid_mesh_tests::raw_peer::RawPeer;
use liquid_mesh_tests::{Backend, Wallet};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_pair_a_website_on_one_and_a_wallet_on_the_other() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    pair(a, b, json!("019097ff-bb8c-7514-a0c6-5209d2405a4a"), false).await;
    pair(a, b, json!("019097ff-bb8c-7514-a0c6-5209d2405a4b"), true).await;
    pair(b, a, json!(0.6050027432326752), false).await;
    pair(b, a, json!(424242), true).await;
    let deferred = a.mesh.counters().deferred + b.mesh.counters().deferred;
    assert_eq!(deferred, 0, "a pair split across nodes waits for nothing");
}

/// Signals that cross the mesh while the receiving node completes its side's link reach that
/// side once each and in order, whether the node relays them live or replays them from its buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_crossing_while_a_link_completes_arrive_once_and_in_order() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, c| {
        c.bridge.link_rate = liquid_mesh::rate_limit::RateLimit::per_minute(0);
        c.fido_rate = liquid_mesh::rate_limit::RateLimit::per_minute(0);
        c.bridge.buffer = roomy_buffer();
    })
    .await;
    for round in 0..10 {
        let id = format!("crossing-{round}");
        stream_through_link_completion(&nodes[0], &nodes[1], &id, 120).await;
    }
}

/// A pair wholly on node A gets its signals at once, and B gets them a moment later in one
/// gossip message. B keeps them, so a second socket of the website's session that lands on B (a
/// tab behind a load balancer) still gets the offer; from then on B is sent signals at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_on_one_node_sends_the_others_its_signals_later_in_one_message() {
    let shared = new_postgres_database().await;
    let nodes = start_mesh(2, &[(0, 1)], Backend::Postgres, |_, c| {
        c.database_url = Some(shared.clone());
        c.session_secret = Some("one origin, two nodes".into());
        c.mesh.pair_here_delay = Duration::from_millis(500);
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let request_id = json!("pair-on-one-node");
    let cookie = a.socket_cookie().await;
    let mut website = JsSocket::connect(&a.url(""), Some(&cookie)).await;
    let link = website
        .emit_ack("link", vec![json!({"requestId": request_id})])
        .await;
    let mut wallet = Wallet::web(a);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );
    website.ack(link).await;
    let mut wallet_socket = JsSocket::connect(&a.url(""), Some(&wallet.cookie())).await;
    let both = json!({"requestId": request_id, "deviceCount": 2, "online": true});
    website
        .wait_for(|m| m["event"] == "presence" && m["args"][0] == both)
        .await;
    // Let the presence reports of the joins go out first.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let before = a.mesh.counters();
    send_offer(&mut wallet_socket).await;
    expect_offer(&mut website).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = a.mesh.counters();
    assert_eq!(after.deferred - before.deferred, 4, "{before:?} {after:?}");
    assert_eq!(
        after.gossiped - before.gossiped,
        1,
        "the description and three candidates share one message: {before:?} {after:?}"
    );

    let mut second_tab = JsSocket::connect(&b.url(""), Some(&cookie)).await;
    expect_offer(&mut second_tab).await;
    wallet_socket
        .emit("offer-candidate", vec![candidate(7)])
        .await;
    assert_eq!(
        second_tab.event("offer-candidate").await,
        vec![candidate(7)]
    );
    assert_eq!(website.event("offer-candidate").await, vec![candidate(7)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_of_three_carries_pairs_through_a_node_with_no_client() {
    let nodes = start_mesh(3, &[(0, 1), (1, 2)], Backend::Sqlite, |_, _| {}).await;
    let (a, c) = (&nodes[0], &nodes[2]);
    pair(a, c, json!("line-website-first"), false).await;
    pair(a, c, json!("line-wallet-first"), true).await;
    pair(c, a, json!("line-reversed"), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_counts_the_devices_on_every_node() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let (a, c) = (&nodes[0], &nodes[1]);
    let request_id = json!("presence-across-nodes");
    let cookie = a.socket_cookie().await;
    let mut website = JsSocket::connect(&a.url(""), Some(&cookie)).await;
    let link = website
        .emit_ack("link", vec![json!({"requestId": request_id})])
        .await;
    assert_eq!(
        website.event("presence").await,
        vec![json!({"requestId": request_id, "deviceCount": 1, "online": false})]
    );
    let mut wallet = Wallet::web(c);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );
    website.ack(link).await;
    let mut wallet_socket = JsSocket::connect(&c.url(""), Some(&wallet.cookie())).await;
    let both = json!({"requestId": request_id, "deviceCount": 2, "online": true});
    assert_eq!(wallet_socket.event("presence").await, vec![both.clone()]);
    website
        .wait_for(|m| m["event"] == "presence" && m["args"][0] == both)
        .await;
    let ack = wallet_socket
        .emit_ack("presence", vec![json!({"requestId": request_id})])
        .await;
    assert_eq!(wallet_socket.ack(ack).await, vec![both]);
    wallet_socket.close().await;
    website
        .wait_for(|m| {
            m["event"] == "presence"
                && m["args"][0]
                    == json!({"requestId": request_id, "deviceCount": 1, "online": false})
        })
        .await;
}

/// `/health` shows the peer ID, listen addresses and the connected peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_mesh() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let health: Value = reqwest::get(nodes[0].url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mesh = &health["mesh"];
    assert_eq!(mesh["peerId"], json!(nodes[0].mesh.peer_id().to_string()));
    let listen = mesh["listen"][0].as_str().unwrap();
    assert!(listen.starts_with("/ip4/127.0.0.1/tcp/"), "{health}");
    let peers = mesh["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 1, "{health}");
    assert_eq!(
        peers[0]["peerId"],
        json!(nodes[1].mesh.peer_id().to_string())
    );
    assert_eq!(peers[0]["topics"], json!(liquid_mesh::mesh::SHARDS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_pairs_placed_at_random_on_five_nodes() {
    use rand::{Rng, SeedableRng};
    // A ring with one chord: every node has two or three neighbours, none sees all the others.
    let edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (1, 3)];
    let nodes = start_mesh(5, &edges, Backend::Sqlite, |_, _| {}).await;
    let seed: u64 = rand::random();
    println!("placement seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let pairs: Vec<_> = (0..20)
        .map(|n| {
            let website = rng.random_range(0..nodes.len());
            let wallet = rng.random_range(0..nodes.len());
            let request_id = json!(uuid::Uuid::new_v4().to_string());
            pair(&nodes[website], &nodes[wallet], request_id, n % 2 == 0)
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(120), futures::future::join_all(pairs))
        .await
        .unwrap_or_else(|_| panic!("20 pairs did not finish within 120 s (seed {seed})"));
}

/// Nodes A and B serve one origin (shared PostgreSQL and session secret, as behind a load
/// balancer); the wallet is on C. A dies after the wallet sent its offer; the website's socket
/// reconnects to B with the same cookie and the pairing completes there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_website_whose_node_dies_mid_pairing_completes_on_another_node() {
    let shared = new_postgres_database().await;
    let mut nodes = start_mesh(3, &[(0, 1), (1, 2), (0, 2)], Backend::Postgres, |i, c| {
        if i < 2 {
            c.database_url = Some(shared.clone());
            c.session_secret = Some("one origin, two nodes".into());
        }
    })
    .await;
    let request_id = json!("node-loss-1");
    let cookie = nodes[0].socket_cookie().await;
    let mut website = JsSocket::connect(&nodes[0].url(""), Some(&cookie)).await;
    let link = website
        .emit_ack("link", vec![json!({"requestId": request_id})])
        .await;
    let mut wallet = Wallet::web(&nodes[2]);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        website.ack(link).await[0]["data"]["wallet"],
        json!(wallet.address)
    );
    let mut wallet_socket = JsSocket::connect(&nodes[2].url(""), Some(&wallet.cookie())).await;
    send_offer(&mut wallet_socket).await;
    expect_offer(&mut website).await;

    let a = nodes.remove(0);
    a.stop().await;
    website.wait_for(|m| m["type"] == "disconnect").await;
    let b = &nodes[0];
    wait_for_peers(b, 1).await;
    // The same browser, its socket now served by B: it rejoins its pair from the shared session
    // and gets what it missed, in order.
    let mut website = JsSocket::connect(&b.url(""), Some(&cookie)).await;
    expect_offer(&mut website).await;
    answer(&mut website, &mut wallet_socket, 7).await;
    let session = session_of(b, &cookie).await;
    assert_eq!(
        session["session"]["wallet"],
        json!(wallet.address),
        "{session}"
    );
}

/// A and C are cut apart; a website links on A and a wallet authenticates and sends its offer on
/// C meanwhile. Nothing crosses until the partition heals; then the parked link completes and
/// the offer arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_links_complete_after_a_partition_heals() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let (a, c) = (&nodes[0], &nodes[1]);
    a.mesh.block(c.mesh.peer_id()).await.unwrap();
    c.mesh.block(a.mesh.peer_id()).await.unwrap();
    wait_for_peers(a, 0).await;
    wait_for_peers(c, 0).await;

    let request_id = json!("partition-1");
    let cookie = a.socket_cookie().await;
    let mut website = JsSocket::connect(&a.url(""), Some(&cookie)).await;
    let link = website
        .emit_ack("link", vec![json!({"requestId": request_id})])
        .await;
    let mut wallet = Wallet::web(c);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );
    let mut wallet_socket = JsSocket::connect(&c.url(""), Some(&wallet.cookie())).await;
    wallet_socket
        .emit("offer-description", vec![json!(OFFER_SDP)])
        .await;
    let apart = website
        .collect(Duration::from_millis(800), |m| {
            m["type"] == "ack" || m["event"] == "offer-description"
        })
        .await;
    assert!(apart.is_empty(), "crossed a partition: {apart:?}");

    a.mesh.unblock(c.mesh.peer_id()).await.unwrap();
    c.mesh.unblock(a.mesh.peer_id()).await.unwrap();
    let ack = website.ack(link).await;
    assert_eq!(ack[0]["data"]["wallet"], json!(wallet.address));
    assert_eq!(
        website.event("offer-description").await,
        vec![json!(OFFER_SDP)]
    );
    website
        .emit("answer-description", vec![json!(ANSWER_SDP)])
        .await;
    assert_eq!(
        wallet_socket.event("answer-description").await,
        vec![json!(ANSWER_SDP)]
    );
    // Synced once, delivered once.
    assert!(
        website
            .events_within("offer-description", Duration::from_millis(500))
            .await
            .is_empty()
    );
}

/// A burst of signals put on a node's hub faster than its mesh task runs leaves in batches, and
/// arrives at the far end of a line of three whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_signals_crosses_in_batches_whole_and_in_order() {
    use liquid_mesh_tests::mesh::{burst_candidate, publish_burst};
    const BURST: u64 = 3000;
    let nodes = start_mesh(3, &[(0, 1), (1, 2)], Backend::Sqlite, |_, _| {}).await;
    let (a, c) = (&nodes[0], &nodes[2]);
    let mut arriving = c.hub.subscribe_relayed_signals();
    let room = publish_burst(a, "burst", BURST);
    for n in 0..BURST {
        let signal = tokio::time::timeout(Duration::from_secs(20), arriving.recv())
            .await
            .unwrap_or_else(|_| panic!("signal {n} of {BURST} never arrived"))
            .expect("hub open");
        assert_eq!(signal.room, room);
        assert_eq!(*signal.payload, burst_candidate(n), "in order");
    }
    let sent = a.mesh.counters();
    println!("A: {sent:?}");
    assert_eq!(sent.published, BURST);
    assert!(
        sent.gossiped * 4 < sent.published,
        "a burst shares gossip messages: {sent:?}"
    );
    assert_eq!(sent.publish_failed, 0);
}

/// Messages a hostile peer publishes: garbage, a future version, an envelope over the size limit,
/// one over gossipsub's frame limit, an event on the wrong shard, a forged wallet address, a batch
/// inside a batch, and a batch whose valid event rides with garbage (refused whole).
fn hostile_messages() -> Vec<(usize, Vec<u8>)> {
    use liquid_mesh_proto as proto;
    let authenticated = |wallet: &str| {
        proto::Body::Authenticated(proto::Authenticated {
            request_id_json: "\"hostile\"".into(),
            wallet: wallet.into(),
            cred_id: "AQID".into(),
        })
    };
    let batch = |envelopes| {
        proto::encode(
            rand::random(),
            proto::Body::Batch(proto::Batch { envelopes }),
        )
    };
    let wallet = "2SPDE6XLJNXFTOO7OIGNRNKSEDOHJWVD3HBSEAPHONZQ4IQEYOGYTP6LXA";
    let future = prost::Message::encode_to_vec(&proto::Envelope {
        version: 2,
        nonce: 1,
        body: Some(authenticated(wallet)),
    });
    let oversized = proto::encode(
        2,
        proto::Body::Signal(proto::Signal {
            room: Some(proto::SignalRoom::RequestIdJson("\"hostile\"".into())),
            kind: proto::SignalKind::OfferDescription as i32,
            payload_json: format!("\"{}\"", "x".repeat(proto::MAX_MESSAGE_BYTES + 1024)),
        }),
    );
    let right_shard = liquid_mesh::mesh::shard_of("request:s:hostile");
    let wrong_shard = (right_shard + 1) % liquid_mesh::mesh::SHARDS;
    vec![
        (0, vec![0xff; 100]),
        (right_shard, future),
        (right_shard, oversized),
        (wrong_shard, proto::encode(3, authenticated(wallet))),
        (
            right_shard,
            proto::encode(4, authenticated("NOT-AN-ALGORAND-ADDRESS")),
        ),
        (right_shard, vec![0x0a; 200 * 1024]),
        (
            right_shard,
            batch(vec![batch(vec![proto::encode(5, authenticated(wallet))])]),
        ),
        (
            right_shard,
            batch(vec![
                proto::encode(6, authenticated(wallet)),
                vec![0xff; 10],
            ]),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_is_scored_down_and_harms_no_pair() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut authenticated = a.hub.subscribe_authenticated();
    let mut signals = a.hub.subscribe_relayed_signals();
    let hostile_peer = RawPeer::join(a.p2p_addr()).await;
    let hostile = hostile_peer.peer_id;
    for (shard, bytes) in hostile_messages() {
        hostile_peer.publish(shard, bytes).await;
    }
    // A pair runs across A and B after the hostile peer published.
    pair(a, b, json!("honest-during-attack"), false).await;
    let threshold = liquid_mesh::mesh::score_thresholds().graylist_threshold;
    let status = liquid_mesh_tests::mesh::wait_for_status(a, |s| {
        s.peers
            .iter()
            .any(|p| p.peer_id == hostile && p.score < threshold)
    })
    .await;
    println!("A's view after the attack: {status:?}");
    // Nothing the hostile peer sent reached A's hub: only the honest pair's events did.
    while let Ok(event) = authenticated.try_recv() {
        assert_eq!(event.request_id.as_json(), &json!("honest-during-attack"));
    }
    while let Ok(signal) = signals.try_recv() {
        assert_ne!(signal.room.name(), "request:s:hostile");
    }
    // A forwarded none of it: B still thinks well of A.
    let b_view = b.mesh.status().await.unwrap();
    let a_seen_by_b = b_view
        .peers
        .iter()
        .find(|p| p.peer_id == a.mesh.peer_id())
        .unwrap();
    assert!(a_seen_by_b.score >= 0.0, "{b_view:?}");
    // And pairing goes on.
    pair(b, a, json!("honest-after-attack"), true).await;
}

/// The WebSocket transport carries the mesh as well as TCP does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_join_over_the_websocket_transport() {
    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |i, c| {
        if i == 0 {
            c.mesh.listen = vec!["/ip4/127.0.0.1/tcp/0/ws".parse().unwrap()];
        }
    })
    .await;
    let via = nodes[1].config.mesh.bootstrap[0].to_string();
    assert!(via.contains("/ws/p2p/"), "{via}");
    pair(&nodes[0], &nodes[1], json!("over-websocket"), false).await;
}

/// One peer dialling a node eight times holds at most `max_connections_per_peer` connections;
/// the rest are refused, and the node goes on pairing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_holds_at_most_its_connection_limit() {
    use futures::StreamExt;
    use libp2p::swarm::SwarmEvent;
    use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};

    let nodes = start_mesh(2, &[(0, 1)], Backend::Sqlite, |_, _| {}).await;
    let limit = nodes[0].config.mesh.max_connections_per_peer;
    let mut addr = nodes[0].p2p_addr();
    let Some(libp2p::multiaddr::Protocol::P2p(node_id)) = addr.pop() else {
        panic!("listen address ends in /p2p/")
    };
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| libp2p::swarm::dummy::Behaviour)
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    for _ in 0..8 {
        let dial = DialOpts::peer_id(node_id)
            .condition(PeerCondition::Always)
            .addresses(vec![addr.clone()])
            .build();
        swarm.dial(dial).unwrap();
    }
    let (mut open, mut outcomes) = (0i64, 0);
    // Each dial ends established or failed; refused ones close right after they are established.
    let settle = tokio::time::sleep(Duration::from_secs(3));
    tokio::pin!(settle);
    loop {
        tokio::select! {
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { .. } => { open += 1; outcomes += 1; }
                SwarmEvent::ConnectionClosed { .. } => open -= 1,
                SwarmEvent::OutgoingConnectionError { .. } => outcomes += 1,
                _ => {}
            },
            () = &mut settle => break,
        }
    }
    assert_eq!(outcomes, 8, "every dial came to an end");
    assert_eq!(open, i64::from(limit), "connections left open");
    drop(swarm);
    pair(
        &nodes[0],
        &nodes[1],
        json!("after-a-connection-flood"),
        false,
    )
    .await;
}

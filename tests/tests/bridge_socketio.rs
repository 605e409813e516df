//! The Socket.IO bridge against the real socket.io-client and liquid-client from npm: a website
//! links, a wallet authenticates (in either order), both relay offers, answers and candidates
//! unchanged, presence is reported, early signals are replayed, and bad input harms nobody else.

use std::time::Duration;

use liquid_mesh_tests::eio::{Incoming, SocketIo};
use liquid_mesh_tests::js::{JsSocket, WAIT, run_script, spawn_script};
use liquid_mesh_tests::pairing::{
    ANSWER_SDP, OFFER_SDP, candidate, link, pair, roomy_buffer, session_of,
    stream_through_link_completion,
};
use liquid_mesh_tests::{Backend, TestNode, Wallet};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_website_and_a_wallet_pair_in_either_order() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    pair(
        &node,
        &node,
        json!("019097ff-bb8c-7514-a0c6-5209d2405a4a"),
        false,
    )
    .await;
    pair(
        &node,
        &node,
        json!("019097ff-bb8c-7514-a0c6-5209d2405a4b"),
        true,
    )
    .await;
    pair(&node, &node, json!(0.6050027432326752), false).await;
    pair(&node, &node, json!(424242), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sharing_a_hub_pair_a_website_and_a_wallet_across_them() {
    let hub = liquid_mesh::hub::Hub::new();
    let a = TestNode::start_on_hub(Backend::Sqlite, hub.clone(), |_| {}).await;
    let b = TestNode::start_on_hub(Backend::Sqlite, hub, |_| {}).await;
    pair(&a, &b, json!("cross-node-1"), false).await;
    pair(&a, &b, json!("cross-node-2"), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liquid_client_links_unmodified() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let cookie = node.socket_cookie().await;
    let request_id = json!("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    let website = spawn_script(
        "liquid_link.mjs",
        &[&node.url(""), &request_id.to_string()],
        Some(&cookie),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut wallet = Wallet::web(&node);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );
    let lines = website.await.unwrap();
    let link = lines
        .iter()
        .find(|l| l["type"] == "link")
        .expect("link resolved");
    assert_eq!(link["message"]["wallet"], json!(wallet.address));
    assert_eq!(link["message"]["requestId"], request_id);
    assert_eq!(link["authenticated"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_signals_are_replayed_and_presence_is_reported() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let request_id = json!("early-1");
    let mut wallet = Wallet::web(&node);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );

    // The wallet offers before any website is there.
    let mut wallet_socket = JsSocket::connect(&node.url(""), Some(&wallet.cookie())).await;
    wallet_socket
        .emit("offer-description", vec![json!(OFFER_SDP)])
        .await;
    wallet_socket
        .emit("offer-candidate", vec![candidate(1)])
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let website_cookie = node.socket_cookie().await;
    let mut website = JsSocket::connect(&node.url(""), Some(&website_cookie)).await;
    let link = website
        .emit_ack("link", vec![json!({"requestId": request_id})])
        .await;
    assert_eq!(
        website.ack(link).await[0]["data"]["wallet"],
        json!(wallet.address)
    );
    // liquid-client listens for the offer only once its link is acknowledged: a replayed offer
    // that overtook the ack would be lost (found by the demo's browser test).
    assert!(
        !website.seen(|m| m["type"] == "event" && m["event"] == "offer-description"),
        "the offer came before the link ack"
    );
    assert_eq!(
        website.event("offer-description").await,
        vec![json!(OFFER_SDP)]
    );
    assert_eq!(website.event("offer-candidate").await, vec![candidate(1)]);

    // Presence: pushed to the pair when the website joined, and answered on request.
    let pushed = wallet_socket
        .wait_for(|m| m["event"] == "presence" && m["args"][0]["deviceCount"] == 2)
        .await;
    assert_eq!(
        pushed["args"][0],
        json!({"requestId": "early-1", "deviceCount": 2, "online": true})
    );
    let query = website
        .emit_ack("presence", vec![json!({"requestId": "early-1"})])
        .await;
    assert_eq!(
        website.ack(query).await,
        vec![json!({"requestId": "early-1", "deviceCount": 2, "online": true})]
    );
    website.close().await;
    let left = wallet_socket
        .wait_for(|m| m["event"] == "presence" && m["args"][0]["deviceCount"] == 1)
        .await;
    assert_eq!(left["args"][0]["online"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_that_links_itself_like_the_ios_wallet_still_pairs() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let request_id = json!("ios-1");
    let website_cookie = node.socket_cookie().await;
    let mut website = JsSocket::connect(&node.url(""), Some(&website_cookie)).await;
    let website_link = website
        .emit_ack("link", vec![json!({"requestId": request_id})])
        .await;

    let mut wallet = Wallet::web(&node);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );
    let mut wallet_socket = JsSocket::connect(&node.url(""), Some(&wallet.cookie())).await;
    // The iOS SDK emits `link` as the offering wallet too; it completes with its own wallet.
    let own = wallet_socket
        .emit_ack("link", vec![json!({"requestId": request_id})])
        .await;
    assert_eq!(
        wallet_socket.ack(own).await[0]["data"]["wallet"],
        json!(wallet.address)
    );
    assert_eq!(
        website.ack(website_link).await[0]["data"]["wallet"],
        json!(wallet.address)
    );

    // Its offer arrives as a bare SDP string; an object-shaped answer is passed through as is.
    wallet_socket
        .emit("offer-description", vec![json!(OFFER_SDP)])
        .await;
    assert_eq!(
        website.event("offer-description").await,
        vec![json!(OFFER_SDP)]
    );
    let answer = json!({"type": "answer", "sdp": ANSWER_SDP});
    website
        .emit("answer-description", vec![answer.clone()])
        .await;
    assert_eq!(
        wallet_socket.event("answer-description").await,
        vec![answer]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_less_socket_gets_a_session_on_its_handshake() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let cookie = node.socket_cookie().await;
    assert!(cookie.starts_with("connect.sid="), "{cookie}");
    // A session made for a socket is a real session: HTTP with that cookie sees it.
    let session = session_of(&node, &cookie).await;
    assert_eq!(session["user"], Value::Null);
    assert!(
        session["session"]["cookie"]["expires"].is_string(),
        "{session}"
    );

    // A WebSocket-only client (no polling) also works and links.
    let mut socket = JsSocket::connect_with(&node.url(""), Some(&cookie), Some("websocket")).await;
    let link = socket
        .emit_ack("link", vec![json!({"requestId": "ws-only"})])
        .await;
    let mut wallet = Wallet::web(&node);
    assert_eq!(
        wallet.register(Some(json!("ws-only"))).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        socket.ack(link).await[0]["data"]["wallet"],
        json!(wallet.address)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_or_dropped_without_harming_others() {
    let node = TestNode::start(Backend::Sqlite, |c| c.bridge.max_links_per_socket = 4).await;
    let mut bystander = JsSocket::connect(&node.url(""), Some(&node.socket_cookie().await)).await;
    let bystander_link = bystander
        .emit_ack("link", vec![json!({"requestId": "bystander"})])
        .await;

    let mut hostile = JsSocket::connect(&node.url(""), None).await;
    // Unknown events, odd payloads and links without a usable requestId.
    hostile.emit("no-such-event", vec![json!({"x": 1})]).await;
    hostile.emit("offer-description", vec![]).await;
    hostile
        .emit("offer-candidate", vec![json!(null), json!(1), json!("two")])
        .await;
    for bad in [
        json!("not an object"),
        json!({}),
        json!({"requestId": {"nested": true}}),
        json!({"requestId": ""}),
    ] {
        let ack = hostile.emit_ack("link", vec![bad.clone()]).await;
        let reply = hostile.ack(ack).await;
        assert!(reply[0]["error"].is_string(), "{bad} -> {reply:?}");
    }
    // A flood of links: four wait, the other sixteen are refused at once.
    for n in 0..20 {
        hostile
            .emit_ack("link", vec![json!({"requestId": format!("flood-{n}")})])
            .await;
    }
    let answered = hostile
        .collect(Duration::from_secs(2), |m| m["type"] == "ack")
        .await;
    assert_eq!(answered.len(), 16, "{answered:?}");
    assert!(answered.iter().all(|m| m["reply"][0]["error"].is_string()));
    // An oversized payload closes only the sender's connection.
    hostile
        .emit("offer-description", vec![json!("x".repeat(200_000))])
        .await;
    let gone = hostile.wait_for(|m| m["type"] == "disconnect").await;
    assert_eq!(gone["type"], "disconnect");

    // The bystander still links.
    let mut wallet = Wallet::web(&node);
    assert_eq!(
        wallet.register(Some(json!("bystander"))).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        bystander.ack(bystander_link).await[0]["data"]["wallet"],
        json!(wallet.address)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sent_right_after_connecting_is_never_lost() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let count = 2000;
    let lines = run_script("burst.mjs", &[&node.url(""), &count.to_string()], None).await;
    assert_eq!(lines[0], json!({"sent": count, "acked": count}));
}

/// Signals a socket relays while its pair's link is being completed reach the pair once each and
/// in order: the pair joins the room and gets the room's buffer replayed at one moment, so a
/// signal is either replayed or relayed live, never both or neither. Repeated because the race
/// it guards against is narrow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_relayed_while_a_link_completes_arrive_once_and_in_order() {
    let node = TestNode::start(Backend::Sqlite, |c| {
        c.bridge.link_rate = liquid_mesh::rate_limit::RateLimit::per_minute(0);
        c.fido_rate = liquid_mesh::rate_limit::RateLimit::per_minute(0);
        c.bridge.buffer = roomy_buffer();
    })
    .await;
    for round in 0..20 {
        stream_through_link_completion(&node, &node, &format!("racing-{round}"), 120).await;
    }
}

/// A website that links after its wallet sent hundreds of signals is replayed all of them at
/// once, more than socketioxide queues per socket by default (128): the bridge sizes each
/// socket's queue to take a whole buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_website_is_replayed_a_whole_large_buffer() {
    const EARLY: u64 = 400;
    let node = TestNode::start(Backend::Sqlite, |c| {
        c.bridge.buffer.count = EARLY as usize;
        c.bridge.buffer.bytes = 1 << 20;
    })
    .await;
    let request_id = json!("large-replay");
    let mut wallet = Wallet::web(&node);
    assert_eq!(
        wallet.register(Some(request_id.clone())).await.0,
        StatusCode::CREATED
    );
    let wallet_socket = SocketIo::connect(&node.url(""), Some(&wallet.cookie()))
        .await
        .unwrap();
    for seq in 0..EARLY {
        wallet_socket.emit("offer-candidate", &[json!({"candidate": "c", "seq": seq})]);
        if seq % 10 == 9 {
            // Within the 256 signals a socket may have queued while its session is read.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let website_cookie = node.socket_cookie().await;
    let mut website = SocketIo::connect(&node.url(""), Some(&website_cookie))
        .await
        .unwrap();
    let link = website.emit_ack("link", &[json!({"requestId": request_id})]);
    assert!(website.ack(link).await.is_some());
    for expected in 0..EARLY {
        let seq = tokio::time::timeout(WAIT, async {
            loop {
                match website.incoming.recv().await {
                    Some(Incoming::Event(event, args)) if event == "offer-candidate" => {
                        return args[0]["seq"].as_u64();
                    }
                    Some(Incoming::Closed) | None => return None,
                    Some(_) => {}
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("only {expected} of {EARLY} replayed within {WAIT:?}"));
        assert_eq!(seq, Some(expected), "replayed in order");
    }
}

/// A burst of a wallet's socket, over long-polling and then its WebSocket, reaches the website
/// whole and in order while the wallet's session keeps changing: after each change the next
/// signal waits for the session to be read again, those behind it queue, later ones are relayed
/// as they are read, and none passes another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_across_session_changes_arrives_whole_and_in_order() {
    const BURST: u32 = 600;
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let (mut website, wallet) = link(&node, &node, json!("burst-across-changes"), true).await;
    let mut wallet_socket = JsSocket::connect(&node.url(""), Some(&wallet.cookie())).await;
    for n in 0..BURST {
        if n % 10 == 5 {
            // Writes a challenge into the wallet's session, which drops its sockets' views.
            let (status, _) = wallet
                .post("/attestation/request", &wallet.attestation_request_body())
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        wallet_socket
            .emit("offer-candidate", vec![candidate(n)])
            .await;
    }
    for n in 0..BURST {
        assert_eq!(
            website.event("offer-candidate").await,
            vec![candidate(n)],
            "candidate {n} of {BURST}"
        );
    }
    assert!(
        website
            .events_within("offer-candidate", Duration::from_millis(300))
            .await
            .is_empty(),
        "nothing twice"
    );
}

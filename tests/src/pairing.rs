//! A website and a wallet pairing through nodes, as the original protocol has them do: the
//! steps every bridge and mesh test shares, with real socket.io-client sockets and a passkey wallet.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::eio::{Incoming, SocketIo};
use crate::js::{JsSocket, WAIT};
use crate::{Endpoint, Wallet, socket_cookie};

pub const OFFER_SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Ab1/\r\na=sctp-port:5000\r\n";
pub const ANSWER_SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:active\r\n";

pub fn candidate(n: u32) -> Value {
    json!({
        "candidate": format!("candidate:{n} 1 udp 2122260223 127.0.0.1 5{n:04} typ host generation 0 ufrag Ab1/"),
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "Ab1/",
    })
}

pub async fn session_of(node: &impl Endpoint, cookie: &str) -> Value {
    reqwest::Client::new()
        .get(node.url("/auth/session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Website links on `website_node`; a wallet authenticates on `wallet_node` (after the link, or
/// before it when `wallet_first`); both sides relay a description and candidates each way, in
/// order, with no echo and no duplicate. The nodes may be one, two sharing a hub, or two meshed.
pub async fn pair(
    website_node: &impl Endpoint,
    wallet_node: &impl Endpoint,
    request_id: Value,
    wallet_first: bool,
) {
    let (mut website, wallet) = link(website_node, wallet_node, request_id, wallet_first).await;

    // The wallet's socket carries its HTTP session.
    let mut wallet_socket = JsSocket::connect(&wallet_node.url(""), Some(&wallet.cookie())).await;
    send_offer(&mut wallet_socket).await;
    expect_offer(&mut website).await;
    answer(&mut website, &mut wallet_socket, 9).await;

    // Nobody gets their own signals back, and nothing arrives twice.
    let quiet = Duration::from_millis(300);
    assert!(
        website
            .events_within("answer-description", quiet)
            .await
            .is_empty()
    );
    assert!(
        website
            .events_within("offer-candidate", quiet)
            .await
            .is_empty()
    );
    assert!(
        wallet_socket
            .events_within("offer-description", quiet)
            .await
            .is_empty()
    );
    assert!(
        wallet_socket
            .events_within("answer-candidate", quiet)
            .await
            .is_empty()
    );
    website.close().await;
    wallet_socket.close().await;
}

/// A website's socket on `website_node` links `request_id` and a web wallet on `wallet_node`
/// registers for it (first, or after the link is parked); checks the link's ack and the
/// website's session, and returns the linked website socket and the wallet.
pub async fn link(
    website_node: &impl Endpoint,
    wallet_node: &impl Endpoint,
    request_id: Value,
    wallet_first: bool,
) -> (JsSocket, Wallet) {
    let website_cookie = socket_cookie(website_node).await;
    let mut website = JsSocket::connect(&website_node.url(""), Some(&website_cookie)).await;
    // socket.io-client starts on long-polling and upgrades to a WebSocket.
    let upgraded = website.wait_for(|m| m["type"] == "upgrade").await;
    assert_eq!(upgraded["transport"], "websocket");
    let mut wallet = Wallet::web(wallet_node);

    let link = if wallet_first {
        let (status, _) = wallet.register(Some(request_id.clone())).await;
        assert_eq!(status, StatusCode::CREATED);
        website
            .emit_ack("link", vec![json!({"requestId": request_id})])
            .await
    } else {
        let link = website
            .emit_ack("link", vec![json!({"requestId": request_id})])
            .await;
        // The link is parked before the wallet shows up.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, _) = wallet.register(Some(request_id.clone())).await;
        assert_eq!(status, StatusCode::CREATED);
        link
    };
    let user = wallet.get("/auth/user").await.1;
    let cred_id = user["credentials"][0]["credId"].clone();
    let ack = website.ack(link).await;
    assert_eq!(
        ack,
        vec![
            json!({"data": {"credId": cred_id, "requestId": request_id, "wallet": wallet.address}})
        ],
        "the link ack has exactly the original's shape"
    );
    // The website's session now is the wallet's, as use-wallet checks.
    let session = session_of(website_node, &website_cookie).await;
    assert_eq!(
        session["session"]["wallet"],
        json!(wallet.address),
        "{session}"
    );
    if website_node.url("") == wallet_node.url("") {
        assert_eq!(
            session["user"]["wallet"],
            json!(wallet.address),
            "{session}"
        );
    }
    (website, wallet)
}

/// The wallet sends its offer: a description and three candidates.
pub async fn send_offer(wallet: &mut JsSocket) {
    wallet
        .emit("offer-description", vec![json!(OFFER_SDP)])
        .await;
    for n in 0..3 {
        wallet.emit("offer-candidate", vec![candidate(n)]).await;
    }
}

/// The website receives the offer [`send_offer`] sent, in order.
pub async fn expect_offer(website: &mut JsSocket) {
    assert_eq!(
        website.event("offer-description").await,
        vec![json!(OFFER_SDP)]
    );
    for n in 0..3 {
        assert_eq!(website.event("offer-candidate").await, vec![candidate(n)]);
    }
}

/// The website answers with a description and candidate `n`; the wallet receives both.
pub async fn answer(website: &mut JsSocket, wallet: &mut JsSocket, n: u32) {
    website
        .emit("answer-description", vec![json!(ANSWER_SDP)])
        .await;
    website.emit("answer-candidate", vec![candidate(n)]).await;
    assert_eq!(
        wallet.event("answer-description").await,
        vec![json!(ANSWER_SDP)]
    );
    assert_eq!(wallet.event("answer-candidate").await, vec![candidate(n)]);
}

/// Buffer limits for [`stream_through_link_completion`]: room for a whole stream (of at most
/// 120), so only a race between relaying and joining, not a bound, can lose a signal.
pub fn roomy_buffer() -> liquid_mesh::buffer::BufferLimits {
    liquid_mesh::buffer::BufferLimits {
        count: 120,
        bytes: 1 << 20,
        ttl: Duration::from_secs(60),
    }
}

/// Two sockets link `request_id`, the sender on `sender_node` first; once a wallet authenticates
/// on the sender's node, the sender streams `count` candidates, 10 a millisecond, from the moment
/// its own link is answered, while the receiver's link is still being completed. The receiver
/// must get every candidate once, in order: those relayed before it joined the pair's room by
/// replay, the rest live. The nodes' buffers must hold `count` signals (see [`roomy_buffer`]).
pub async fn stream_through_link_completion(
    sender_node: &impl Endpoint,
    receiver_node: &impl Endpoint,
    request_id: &str,
    count: u64,
) {
    let link = json!({"requestId": request_id});
    let mut sender = SocketIo::connect(&sender_node.url(""), None).await.unwrap();
    let sender_link = sender.emit_ack("link", std::slice::from_ref(&link));
    sender.wait_for_presence(1).await;
    let mut receiver = SocketIo::connect(&receiver_node.url(""), None)
        .await
        .unwrap();
    let receiver_link = receiver.emit_ack("link", std::slice::from_ref(&link));
    sender.wait_for_presence(2).await;
    receiver.wait_for_presence(2).await;

    let (status, _) = Wallet::web(sender_node)
        .register(Some(json!(request_id)))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let ack = tokio::time::timeout(WAIT, sender.ack(sender_link)).await;
    assert!(ack.expect("the sender's link is answered").is_some());
    // Paced, so that the stream spans the receiver's join and stays within the sender's queue.
    for seq in 0..count {
        sender.emit("offer-candidate", &[json!({"candidate": "c", "seq": seq})]);
        if seq % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let ack = tokio::time::timeout(WAIT, receiver.ack(receiver_link)).await;
    assert!(ack.expect("the receiver's link is answered").is_some());
    let mut got = Vec::new();
    let _ = tokio::time::timeout(WAIT, async {
        while let Some(incoming) = receiver.incoming.recv().await {
            match incoming {
                Incoming::Event(event, args) if event == "offer-candidate" => {
                    got.push(args[0]["seq"].as_u64().expect("a seq"));
                }
                Incoming::Closed => return,
                _ => {}
            }
            if got.len() as u64 == count {
                return;
            }
        }
    })
    .await;
    // Anything more would be a duplicate; give it a moment to show.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while let Ok(incoming) = receiver.incoming.try_recv() {
        if let Incoming::Event(event, args) = incoming
            && event == "offer-candidate"
        {
            got.push(args[0]["seq"].as_u64().unwrap_or(u64::MAX));
        }
    }
    let expected: Vec<u64> = (0..count).collect();
    if got != expected {
        let at = got
            .iter()
            .zip(&expected)
            .take_while(|(a, b)| a == b)
            .count();
        let shown = &got[at.saturating_sub(3)..got.len().min(at + 12)];
        panic!(
            "{request_id}: {} of {count} candidates arrived; the first {at} in order, then {shown:?}",
            got.len()
        );
    }
}

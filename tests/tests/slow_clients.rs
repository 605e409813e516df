//! Slow and stalled clients cannot hold others up: a socket that stops reading sits in a pair
//! beside a healthy one while 4 MB of signals flow past it, and hundreds of HTTP connections that
//! never finish their headers stay open while other clients are served.

use std::time::{Duration, Instant};

use liquid_mesh_tests::eio::{self, Incoming, SocketIo};
use liquid_mesh_tests::js::WAIT;
use liquid_mesh_tests::pairing::pair;
use liquid_mesh_tests::{Backend, TestNode, Wallet};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const SIGNALS: u64 = 2000;
const WINDOW: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_socket_does_not_slow_its_pair_or_the_node() {
    let node = TestNode::start(Backend::Sqlite, |c| {
        c.bridge.link_rate = liquid_mesh::rate_limit::RateLimit::per_minute(0);
    })
    .await;
    let base = node.url("");
    let link = json!({"requestId": "stalled-pair"});

    let mut sender = SocketIo::connect(&base, None).await.unwrap();
    let sender_link = sender.emit_ack("link", std::slice::from_ref(&link));
    let mut healthy = SocketIo::connect(&base, None).await.unwrap();
    let healthy_link = healthy.emit_ack("link", std::slice::from_ref(&link));
    // The stalled client links and then never reads again: what the node sends it piles up in
    // its TCP buffers and then in the node's per-socket queue.
    let (mut stalled, _) = eio::handshake(&base, None).await.unwrap();
    use futures::SinkExt;
    stalled
        .send(eio::event_frame("link", std::slice::from_ref(&link), Some(0)).into())
        .await
        .unwrap();
    sender.wait_for_presence(3).await;
    healthy.wait_for_presence(3).await;
    // Signals flow once a wallet has authenticated the request and the links are answered.
    let (status, _) = Wallet::web(&node)
        .register(Some(link["requestId"].clone()))
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    for (socket, id) in [(&mut sender, sender_link), (&mut healthy, healthy_link)] {
        let ack = tokio::time::timeout(WAIT, socket.ack(id)).await;
        let ack = ack.expect("the link is answered").expect("socket open");
        assert_eq!(ack[0]["data"]["requestId"], "stalled-pair");
    }

    let padding = "c".repeat(2048);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut next = 0;
    for window in 0..SIGNALS / WINDOW {
        let sent_at = Instant::now();
        for seq in window * WINDOW..(window + 1) * WINDOW {
            let candidate = json!({"candidate": padding, "sdpMid": "0", "seq": seq});
            sender.emit("offer-candidate", &[candidate]);
        }
        tokio::time::timeout(WAIT, async {
            while next < (window + 1) * WINDOW {
                match healthy.incoming.recv().await {
                    Some(Incoming::Event(event, args)) if event == "offer-candidate" => {
                        assert_eq!(args[0]["seq"], next, "in order, none missing");
                        next += 1;
                    }
                    Some(Incoming::Closed) | None => panic!("healthy socket closed"),
                    Some(_) => {}
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("window {window}: only {next} signals within {WAIT:?}"));
        slowest = slowest.max(sent_at.elapsed());
    }
    println!(
        "{SIGNALS} signals of 2 KiB past a stalled socket in {:?}; slowest window of {WINDOW}: {slowest:?}",
        started.elapsed()
    );
    // Another pair on the node is unaffected.
    pair(&node, &node, json!("beside-a-stalled-socket"), false).await;
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_headers_block_nobody() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        let mut stream = tokio::net::TcpStream::connect(node.addr).await.unwrap();
        stream
            .write_all(b"POST /attestation/request HTTP/1.1\r\nHost: localhost\r\nContent-Le")
            .await
            .unwrap();
        idle.push(stream);
    }
    let started = Instant::now();
    let health: Value = reqwest::get(node.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    println!(
        "/health answered in {:?} beside 300 half-sent requests",
        started.elapsed()
    );
    pair(&node, &node, json!("beside-slowloris"), false).await;
    drop(idle);
}

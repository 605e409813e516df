//! Multi-node simulations: nodes in one process joined over loopback TCP by the libp2p mesh, with
//! real socket.io-client websites and passkey wallets on different nodes. Everything that works on
//! one node must work across nodes: link acks in either order, relays both ways in order, presence,
//! `/auth/session`; and keep working through node loss, partitions and hostile peers.

use std::time::Duration;

use liquid_mesh_tests::js::JsSocket;
use liquid_mesh_tests::mesh::start_mesh;
use liquid_mesh_tests::pairing::pair;
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

//! Per-client-IP rate limits at their default values: the FIDO2 endpoints answer 429 with
//! Retry-After past the burst while another client is served, and `link` past its burst is
//! refused at once with an error ack.

use std::net::{IpAddr, Ipv4Addr};

use liquid_mesh::Config;
use liquid_mesh_tests::js::JsSocket;
use liquid_mesh_tests::{Backend, TestNode};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fido2_requests_past_the_burst_get_429_and_other_clients_do_not() {
    liquid_mesh::tls::install_crypto_provider();
    let defaults = Config::default().fido_rate;
    let node = TestNode::start(Backend::Sqlite, |c| c.fido_rate = defaults).await;
    let noisy = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let body = json!({"username": "x", "extensions": {"liquid": true}});
    for n in 0..defaults.burst {
        let response = noisy
            .post(node.url("/attestation/request"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_ne!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "request {n}"
        );
    }
    let refused = noisy
        .post(node.url("/assertion/response"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=2).contains(&retry),
        "retry after {retry} s at 60 a minute"
    );
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["reason"], json!("too_many_requests"), "{refused}");
    // Not every route is limited, and not every client.
    let health = noisy.get(node.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let quiet = client_from(Ipv4Addr::new(127, 0, 0, 2))
        .post(node.url("/attestation/request"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_ne!(quiet.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_past_the_burst_are_refused_at_once() {
    let defaults = liquid_mesh::config::Config::default().bridge.link_rate;
    let node = TestNode::start(Backend::Sqlite, |c| c.bridge.link_rate = defaults).await;
    let cookie = node.socket_cookie().await;
    let mut socket = JsSocket::connect(&node.url(""), Some(&cookie)).await;
    let mut acks = Vec::new();
    for n in 0..=defaults.burst {
        acks.push(
            socket
                .emit_ack("link", vec![json!({"requestId": format!("rate-{n}")})])
                .await,
        );
    }
    // Over the quota one is refused at once; the rest either wait for their wallets (the first
    // eight the socket may park) or are refused for parking too many. Events of one socket are
    // handled concurrently, so which one is over the quota is not fixed.
    let replies = socket
        .collect(std::time::Duration::from_secs(2), |m| m["type"] == "ack")
        .await;
    let errors: Vec<&str> = replies
        .iter()
        .filter_map(|m| m["reply"][0]["error"].as_str())
        .collect();
    let limited = errors
        .iter()
        .filter(|e| e.starts_with("rate limited"))
        .count();
    assert_eq!(limited, 1, "{replies:?}");
    assert_eq!(errors.len(), acks.len() - 8, "{replies:?}");
}

//! What operators and client generators rely on: the OpenAPI document matches the routes the
//! router registers and the statuses they answer; `/metrics` counts requests, links, signals and
//! store latency as they happen; `/ready` tells when the database is gone; the demo and its QR
//! code are served from the binary.

use std::collections::BTreeSet;

use liquid_mesh::http::{HttpOptions, OPENAPI, route_table};
use liquid_mesh_tests::pairing::pair;
use liquid_mesh_tests::{Backend, TestNode};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `{cred_id}` and `{credId}` name the same route.
fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn documented() -> Value {
    serde_json::from_str(OPENAPI).expect("the OpenAPI document is JSON")
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), normalise(path)))
        })
        .collect()
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_served() {
    let doc = documented();
    assert_eq!(doc["openapi"], "3.1.0");
    let served: BTreeSet<(String, String)> = route_table(&HttpOptions {
        demo: true,
        ..HttpOptions::default()
    })
    .into_iter()
    .map(|(method, path)| (method.to_string(), normalise(path)))
    .collect();
    assert_eq!(operations(&doc), served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_answers_with_a_documented_status() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let served: Value = reqwest::get(node.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served,
        documented(),
        "the node serves the checked-in document"
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, item) in served["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let url = node.url(&path.replace("{credId}", "AAAA").replace("{id}", "AAAA"));
            let url = url.replace("{asset}", "missing.js");
            let request = match method.as_str() {
                "get" => http.get(&url),
                "post" => http.post(&url).json(&json!({})),
                "delete" => http.delete(&url),
                other => panic!("undocumented method {other}"),
            };
            let status = request.send().await.unwrap().status();
            let allowed = &operation["responses"];
            assert!(
                allowed.get(status.as_str()).is_some(),
                "{method} {path} answered {status}, documented: {:?}",
                allowed.as_object().unwrap().keys().collect::<Vec<_>>()
            );
        }
    }
}

/// The value of one sample line of the exposition, e.g. `liquid_mesh_mesh_peers`.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name_and_labels} not in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_links_signals_and_store_latency() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let scrape = || async {
        let response = reqwest::get(node.url("/metrics")).await.unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        response.text().await.unwrap()
    };
    let before = scrape().await;
    assert_eq!(
        sample(&before, "liquid_mesh_bridge_links_completed_total"),
        0.0
    );
    pair(&node, &node, json!("metrics-pair"), false).await;
    let after = scrape().await;
    println!("{after}");
    let registered = r#"liquid_mesh_http_requests_total{method="POST",route="/attestation/response",status="201"}"#;
    assert_eq!(sample(&after, registered), 1.0);
    assert_eq!(
        sample(&after, "liquid_mesh_bridge_links_completed_total"),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"liquid_mesh_bridge_signals_relayed_total{kind="offer-description"}"#
        ),
        1.0
    );
    assert!(
        sample(
            &after,
            r#"liquid_mesh_bridge_signals_relayed_total{kind="answer-candidate"}"#
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            r#"liquid_mesh_store_operation_duration_seconds_count{op="register"}"#
        ) >= 1.0
    );
    assert_eq!(sample(&after, "liquid_mesh_mesh_peers"), 0.0);
    assert!(sample(&after, "liquid_mesh_mesh_published_total") >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_answers_503_once_the_database_is_gone() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let ready = reqwest::get(node.url("/ready")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    node.store.close().await;
    let ready = reqwest::get(node.url("/ready")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"], "database unreachable", "{body}");
    let health = reqwest::get(node.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "alive, though not ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_and_its_qr_code_are_served_from_the_binary() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    for (path, kind) in [
        ("/", "text/html; charset=utf-8"),
        ("/wallet", "text/html; charset=utf-8"),
        ("/demo/website.js", "text/javascript"),
        ("/demo/wallet.js", "text/javascript"),
        ("/demo/demo.css", "text/css"),
    ] {
        let response = reqwest::get(node.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], kind, "{path}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
    let link = "liquid://localhost:3000/?requestId=019097ff-bb8c-7514-a0c6-5209d2405a4a";
    let qr_url = |data: &str| {
        let mut url = url::Url::parse(&node.url("/demo/qr.svg")).unwrap();
        url.query_pairs_mut().append_pair("data", data);
        url
    };
    let qr = reqwest::get(qr_url(link)).await.unwrap();
    assert_eq!(qr.status(), StatusCode::OK);
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    let svg = qr.text().await.unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    for bad in ["", &"x".repeat(5000)] {
        let refused = reqwest::get(qr_url(bad)).await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["reason"], "bad_request", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_dir_takes_the_root_instead_of_the_demo() {
    let pages = tempfile::tempdir().unwrap();
    std::fs::write(pages.path().join("index.html"), "<p>my website</p>").unwrap();
    let dir = pages.path().to_owned();
    let node = TestNode::start(Backend::Sqlite, move |c| c.static_dir = Some(dir)).await;
    let root = reqwest::get(node.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(root, "<p>my website</p>");
    let wallet = reqwest::get(node.url("/wallet")).await.unwrap();
    assert_eq!(wallet.status(), StatusCode::NOT_FOUND);
}

//! End to end in a real browser: Debian's headless Chromium (driven by playwright-core) opens a
//! website page and a wallet page served by the node, in two browser contexts. The website calls
//! liquid-client `peer(requestId, "offer")`; the wallet registers through liquid-client
//! `attestation()` with a CDP virtual authenticator and an Ed25519 key in the page, then calls
//! `peer(requestId, "answer")`; the `liquid` data channel opens and messages flow both ways.

use std::path::{Path, PathBuf};

use liquid_mesh_tests::js::run_script;
use liquid_mesh_tests::{Backend, TestNode};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liquid_client_pages_pair_over_a_webrtc_data_channel() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium package"
    );
    let pages = tempfile::tempdir().unwrap();
    let pages_dir = pages.path().to_str().unwrap();
    run_script("build_browser.mjs", &[pages_dir], None).await;
    let node = TestNode::start(Backend::Sqlite, |c| {
        c.static_dir = Some(pages.path().to_owned())
    })
    .await;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser_e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let origin = node.config.origin.as_str().trim_end_matches('/').to_owned();
    let lines = run_script("browser_e2e.mjs", &[&origin, shots.to_str().unwrap()], None).await;
    let result = lines.last().expect("the driver reports");

    let wallet = result["wallet"]["address"].as_str().unwrap();
    assert_eq!(result["wallet"]["user"]["wallet"], json!(wallet));
    assert_eq!(
        result["credentials"],
        json!(1),
        "one passkey in the virtual authenticator"
    );
    let link = &result["website"]["linkMessage"];
    assert_eq!(link["wallet"], json!(wallet));
    assert_eq!(link["requestId"], result["requestId"]);
    assert_eq!(
        link["credId"],
        result["wallet"]["user"]["credentials"][0]["credId"]
    );
    assert_eq!(result["website"]["label"], json!("liquid"));
    assert_eq!(result["wallet"]["label"], json!("liquid"));
    assert_eq!(
        result["website"]["received"],
        json!(["hello from the wallet"])
    );
    assert_eq!(
        result["wallet"]["received"],
        json!(["hello from the website"])
    );
    let stored = node
        .store
        .user(wallet)
        .await
        .unwrap()
        .expect("the wallet is stored");
    assert_eq!(stored.credentials[0].device, "Headless Chromium");
}

/// The demo the node serves at `/` and `/wallet` (built into the binary from `demo/`), in
/// headless Chromium: the website shows its QR code (rendered by the node), the browser wallet
/// registers a passkey, both reach "connected" over WebRTC and chat; the wallet then logs in
/// with its stored passkey for a second website; a third website pairs although its link ack is
/// held back until after the wallet's offer. Screenshots of each state go to the test's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_pairs_two_tabs_and_chats() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium package"
    );
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo_e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let origin = node.config.origin.as_str().trim_end_matches('/').to_owned();
    let lines = run_script("demo_e2e.mjs", &[&origin, shots.to_str().unwrap()], None).await;
    let summary = lines.last().expect("the driver reports");
    println!("{summary:#}\nscreenshots in {}", shots.display());
    assert_eq!(summary["failures"], json!([]), "{summary}");
    let register = &summary["register"];
    assert!(
        register["qr"]["naturalWidth"].as_u64().unwrap() > 0,
        "QR shown"
    );
    assert_eq!(
        register["website"]["statuses"],
        json!(["waiting for a wallet", "linked", "connected"])
    );
    assert_eq!(
        register["wallet"]["statuses"],
        json!(["ready", "authenticated", "connected"])
    );
    let address = register["wallet"]["address"].as_str().unwrap();
    assert_eq!(register["website"]["wallet"], json!(address));
    assert_eq!(register["website"]["presence"], json!("2 devices, online"));
    for later in ["login", "lateAck"] {
        let statuses = summary[later]["website"]["statuses"].as_array().unwrap();
        assert_eq!(
            statuses.last(),
            Some(&json!("connected")),
            "{later}: {summary}"
        );
    }
    assert_eq!(
        summary["credentials"],
        json!(1),
        "the login reused the passkey"
    );
    let user = node.store.user(address).await.unwrap().expect("stored");
    assert_eq!(user.credentials.len(), 1);
    let taken = std::fs::read_dir(&shots).unwrap().count();
    assert!(taken >= 5, "{taken} screenshots");
}

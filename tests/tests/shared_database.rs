//! Two nodes of one relying party behind a load balancer share PostgreSQL and a session secret:
//! a ceremony started on one finishes on the other, exactly once, and a session is the same
//! session on both. (Signaling federates over the mesh; credentials stay per relying party.)

use liquid_mesh_tests::{Backend, TestNode, Wallet};
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

/// Two nodes of one relying party: one origin and session secret, A's PostgreSQL database;
/// `b_joins_a` also makes B bootstrap from A's mesh address.
async fn relying_party_of_two(b_joins_a: bool) -> (TestNode, TestNode) {
    let shared = |c: &mut liquid_mesh::Config| {
        c.origin = Url::parse("http://localhost:3000").unwrap();
        c.session_secret = Some("one secret for the whole relying party".into());
    };
    let a = TestNode::start(Backend::Postgres, shared).await;
    let database = a.config.database_url.clone();
    let bootstrap = if b_joins_a {
        vec![a.p2p_addr()]
    } else {
        Vec::new()
    };
    let b = TestNode::start(Backend::Postgres, |c| {
        shared(c);
        c.database_url = database;
        c.mesh.bootstrap = bootstrap;
    })
    .await;
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_and_sessions_span_nodes_sharing_postgres() {
    let (a, b) = relying_party_of_two(false).await;

    // Options from A, response to B.
    let mut wallet = Wallet::web(&a);
    let (body, _) = wallet.prepare_registration(Some(json!("r-1"))).await;
    wallet.base = b.url("");
    let (status, user) = wallet.post("/attestation/response", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let cred_id = user["credentials"][0]["credId"]
        .as_str()
        .unwrap()
        .to_owned();

    // The same response replayed on A: the challenge was spent on B.
    wallet.base = a.url("");
    let (status, reply) = wallet.post("/attestation/response", &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");

    // The cookie B logged in is the session A sees.
    let (_, session) = wallet.get("/auth/session").await;
    assert_eq!(session["user"]["wallet"], json!(wallet.address));

    // Login options from B, response to A; the counter moves once.
    wallet.base = b.url("");
    let login = wallet.prepare_login(&cred_id, Some(json!(7))).await;
    wallet.base = a.url("");
    let (status, user) = wallet.post("/assertion/response", &login).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["credentials"][0]["prevCounter"], json!(1));
    wallet.base = b.url("");
    let (status, _) = wallet.post("/assertion/response", &login).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The bridge caches what a socket's session says; a change made through another node of the
/// origin still reaches it at once (the store announces every write, and the mesh carries the
/// notice to the nodes sharing the store). A wallet whose socket stays on A logs in on B for a
/// new website: its next offer goes to the new website, not the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_follows_its_session_changed_on_another_node() {
    use liquid_mesh_tests::js::JsSocket;
    let (a, b) = relying_party_of_two(true).await;
    liquid_mesh_tests::mesh::wait_for_peers(&a, 1).await;
    liquid_mesh_tests::mesh::wait_for_peers(&b, 1).await;

    let mut wallet = Wallet::web(&a);
    let (status, user) = wallet.register(Some(json!("first-pairing"))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let cred_id = user["credentials"][0]["credId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut wallet_socket = JsSocket::connect(&a.url(""), Some(&wallet.cookie())).await;
    let mut first = JsSocket::connect(&a.url(""), Some(&a.socket_cookie().await)).await;
    let link = first
        .emit_ack("link", vec![json!({"requestId": "first-pairing"})])
        .await;
    first.ack(link).await;
    wallet_socket
        .emit("offer-description", vec![json!("offer one")])
        .await;
    assert_eq!(
        first.event("offer-description").await,
        vec![json!("offer one")]
    );

    let mut second = JsSocket::connect(&a.url(""), Some(&a.socket_cookie().await)).await;
    let link = second
        .emit_ack("link", vec![json!({"requestId": "second-pairing"})])
        .await;
    wallet.base = b.url("");
    let (status, user) = wallet.login(&cred_id, Some(json!("second-pairing"))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    second.ack(link).await;
    wallet_socket
        .emit("offer-description", vec![json!("offer two")])
        .await;
    assert_eq!(
        second.event("offer-description").await,
        vec![json!("offer two")]
    );
    let strays = first
        .collect(std::time::Duration::from_millis(500), |m| {
            m["event"] == "offer-description"
        })
        .await;
    assert!(strays.is_empty(), "the old website got {strays:?}");
}

//! Two nodes of one relying party behind a load balancer share PostgreSQL and a session secret:
//! a ceremony started on one finishes on the other, exactly once, and a session is the same
//! session on both. (Signaling federates over the mesh; credentials stay per relying party.)

use liquid_mesh_tests::{Backend, TestNode, Wallet};
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_and_sessions_span_nodes_sharing_postgres() {
    let origin = Url::parse("http://localhost:3000").unwrap();
    let shared = |c: &mut liquid_mesh::Config| {
        c.origin = origin.clone();
        c.session_secret = Some("one secret for the whole relying party".into());
    };
    let a = TestNode::start(Backend::Postgres, shared).await;
    let database = a.config.database_url.clone();
    let b = TestNode::start(Backend::Postgres, |c| {
        shared(c);
        c.database_url = database;
    })
    .await;

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

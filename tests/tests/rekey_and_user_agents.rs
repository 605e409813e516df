//! The rekeyed-account fallback against a local algod stand-in (algod is an external service we
//! call, not something we ship), and the expected-origin rule for missing User-Agents.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::get;
use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{Signer, SigningKey};
use liquid_mesh::algod::AlgodConfig;
use liquid_mesh::algorand::encode_address;
use liquid_mesh_tests::{Backend, TestNode, Wallet};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Serves `/v2/accounts/{address}` with `auth-addr` for the one rekeyed account it knows.
async fn algod(rekeyed: String, auth_addr: String) -> String {
    let app = axum::Router::new()
        .route(
            "/v2/accounts/{address}",
            get(
                |State((rekeyed, auth_addr)): State<(String, String)>,
                 Path(address): Path<String>,
                 headers: HeaderMap| async move {
                    if headers.get("x-algo-api-token").map(|v| v.as_bytes()) != Some(b"secret") {
                        return (
                            AxumStatus::UNAUTHORIZED,
                            Json(json!({"message": "bad token"})),
                        );
                    }
                    let mut account = json!({"address": address, "amount": 0});
                    if address == rekeyed {
                        account["auth-addr"] = json!(auth_addr);
                    }
                    (AxumStatus::OK, Json(account))
                },
            ),
        )
        .with_state((rekeyed, auth_addr));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Registers `wallet` with a liquid proof signed by `signer` instead of the address's own key.
async fn register_signed_by(wallet: &mut Wallet, signer: &SigningKey) -> (StatusCode, Value) {
    let (mut body, challenge) = wallet.prepare_registration(Some(json!("rekey"))).await;
    let bytes = BASE64URL_NOPAD.decode(challenge.as_bytes()).unwrap();
    body["clientExtensionResults"]["liquid"]["signature"] =
        json!(BASE64URL_NOPAD.encode(&signer.sign(&bytes).to_bytes()));
    wallet.post("/attestation/response", &body).await
}

fn algod_config(server: String, token: &str) -> AlgodConfig {
    AlgodConfig {
        server,
        port: None,
        token: Some(token.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekeyed_account_proves_itself_with_its_auth_addr_key() {
    let spending_key = SigningKey::from_bytes(&[3; 32]);
    let auth_addr = encode_address(spending_key.verifying_key().as_bytes());

    let account_key = SigningKey::from_bytes(&[4; 32]);
    let account = encode_address(account_key.verifying_key().as_bytes());
    let server = algod(account.clone(), auth_addr.clone()).await;

    let node = TestNode::start(Backend::Sqlite, |c| {
        c.algod = Some(algod_config(server.clone(), "secret"))
    })
    .await;
    let mut wallet = Wallet::web(&node);
    wallet.key = account_key;
    wallet.address = account;
    let (status, user) = register_signed_by(&mut wallet, &spending_key).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(
        user["wallet"],
        json!(wallet.address),
        "the account, not its auth-addr, is the user"
    );

    // An account that was not rekeyed to that key is refused.
    let mut other = Wallet::web(&node);
    let (status, body) = register_signed_by(&mut other, &spending_key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(node.store.user(&other.address).await.unwrap().is_none());

    // A wrong algod token, an unreachable algod and no algod at all are all a plain 401.
    for algod in [
        Some(algod_config(server.clone(), "wrong")),
        Some(algod_config("http://127.0.0.1:9".into(), "secret")),
        None,
    ] {
        let node = TestNode::start(Backend::Sqlite, |c| c.algod = algod).await;
        let mut wallet = Wallet::web(&node);
        let (status, body) = register_signed_by(&mut wallet, &spending_key).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_user_agent_expects_the_web_origin() {
    let node = TestNode::start(Backend::Sqlite, |_| {}).await;
    let mut wallet = Wallet::web(&node);
    // reqwest sends no User-Agent unless told to; the original crashed here and answered 401.
    wallet.http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let (status, user) = wallet.register(Some(json!(1))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
}

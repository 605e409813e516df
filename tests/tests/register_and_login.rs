//! Happy paths over real HTTP: a browser wallet and an Android wallet register with a passkey and
//! a liquid proof, log in again, and their sessions, user documents and link events are right.

use liquid_mesh::assetlinks::AndroidApp;
use liquid_mesh_tests::{Backend, TestNode, Wallet};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PACKAGE: &str = "foundation.algorand.demo";
const FINGERPRINT: &str = "47:CC:4E:EE:B9:50:59:A5:8B:E0:19:45:CA:0A:6D:59:16:F9:A9:C2:96:75:F8:F3:64:86:92:46:2B:7D:5D:5C";

liquid_mesh_tests::backends!(
    web_wallet_registers_logs_in_and_publishes_link_events,
    android_wallet_registers_and_logs_in_with_its_apk_key_hash_origin,
    session_endpoints_follow_the_wallet,
);

async fn web_wallet_registers_logs_in_and_publishes_link_events(backend: Backend) {
    let node = TestNode::start(backend, |_| {}).await;
    let mut events = node.hub.subscribe_authenticated();
    let mut wallet = Wallet::web(&node);
    let request_id = json!("019097ff-bb8c-7514-a0c6-5209d2405a4a");

    let (status, user) = wallet.register(Some(request_id.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["wallet"], json!(wallet.address));
    assert_eq!(user["__v"], json!(0));
    assert_eq!(user["_id"].as_str().unwrap().len(), 24);
    assert_eq!(user["id"].as_str().unwrap().len(), 43);
    let credential = &user["credentials"][0];
    assert_eq!(credential["device"], json!("Test Device"));
    assert_eq!(credential["prevCounter"], json!(0));
    let cred_id = credential["credId"].as_str().unwrap().to_owned();
    // The COSE key of an ES256 passkey: a CBOR map starting with kty=EC2, alg=ES256.
    assert!(
        credential["publicKey"]
            .as_str()
            .unwrap()
            .starts_with("pQECAyYgASFYI")
    );

    let event = events.try_recv().expect("registration publishes an event");
    assert_eq!(event.request_id.as_json(), &request_id);
    assert_eq!(event.wallet, wallet.address);
    assert_eq!(event.cred_id, cred_id);

    // Logging in with the credential, a numeric requestId this time (2024 Android builds).
    let numeric = json!(0.6050027432326752);
    let (status, user) = wallet.login(&cred_id, Some(numeric.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["credentials"][0]["prevCounter"], json!(1));
    let event = events.try_recv().expect("login publishes an event");
    assert_eq!(event.request_id.as_json(), &numeric);
    assert_eq!(event.cred_id, cred_id);

    // A login without requestId logs in but links nothing.
    let (status, user) = wallet.login(&cred_id, None).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["credentials"][0]["prevCounter"], json!(2));
    assert!(events.try_recv().is_err());

    // The credential and its counter survive a restart of the node on the same database.
    let stored = node.store.credential(&cred_id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 2);
    let node = node.restart().await;
    let (status, user) = wallet.login(&cred_id, None).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["credentials"][0]["prevCounter"], json!(3));
    let (_, session) = wallet.get("/auth/session").await;
    assert_eq!(
        session["user"]["wallet"],
        json!(wallet.address),
        "the session outlives the restart"
    );
    node.stop().await;
}

async fn android_wallet_registers_and_logs_in_with_its_apk_key_hash_origin(backend: Backend) {
    let node = TestNode::start(backend, |c| {
        c.rp_id = "liquid.example.com".into();
        c.origin = url::Url::parse("https://liquid.example.com").unwrap();
        c.android_app = Some(AndroidApp::new(PACKAGE, FINGERPRINT).unwrap());
    })
    .await;
    let mut events = node.hub.subscribe_authenticated();
    let mut wallet = Wallet::android(&node, PACKAGE, FINGERPRINT);

    let (status, user) = wallet.register(Some(json!(42))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let cred_id = user["credentials"][0]["credId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(events.try_recv().unwrap().request_id.as_json(), &json!(42));

    let (status, user) = wallet.login(&cred_id, Some(json!("after-login"))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(
        events.try_recv().unwrap().request_id.as_json(),
        &json!("after-login")
    );

    // The same app origin from a browser User-Agent is not what a browser may claim.
    let mut browser = Wallet::android(&node, PACKAGE, FINGERPRINT);
    browser.http = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/156.0 Mobile Safari/537.36")
        .build()
        .unwrap();
    let (status, body) = browser.register(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["reason"], json!("unauthorized"));
    assert!(node.store.user(&browser.address).await.unwrap().is_none());

    // The asset links name the app with its fingerprint.
    let (status, links) = wallet.get("/.well-known/assetlinks.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(links[0]["target"]["package_name"], json!(PACKAGE));
    assert_eq!(
        links[0]["target"]["sha256_cert_fingerprints"],
        json!([FINGERPRINT])
    );
}

async fn session_endpoints_follow_the_wallet(backend: Backend) {
    let node = TestNode::start(backend, |c| {
        c.apple_app_ids = vec!["TEAM.foundation.algorand.demo".into()]
    })
    .await;
    let mut wallet = Wallet::web(&node);

    let (status, body) = wallet.get("/auth/session").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"], Value::Null);
    assert_eq!(body["session"]["cookie"]["httpOnly"], json!(true));
    let (status, body) = wallet.get("/auth/user").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"message": "Forbidden resource", "error": "Forbidden", "statusCode": 403})
    );

    let (status, user) = wallet.register(Some(json!("r-1"))).await;
    assert_eq!(status, StatusCode::CREATED);
    let cred_id = user["credentials"][0]["credId"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, body) = wallet.get("/auth/session").await;
    assert_eq!(body["user"]["wallet"], json!(wallet.address));
    assert_eq!(body["session"]["wallet"], json!(wallet.address));
    assert_eq!(body["session"]["requestId"], json!("r-1"));
    assert_eq!(body["session"]["credId"], json!(cred_id));
    assert!(
        body["session"].get("challenge").is_none(),
        "the challenge is spent"
    );
    let (status, body) = wallet.get("/auth/user").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, user);

    // Deleting the key: once, then it is gone.
    let (status, body) = wallet.delete(&format!("/auth/keys/{cred_id}")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let (status, body) = wallet.delete(&format!("/auth/keys/{cred_id}")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"error": "Credential not found"})
        )
    );
    let (_, body) = wallet.get("/auth/user").await;
    assert_eq!(body["credentials"], json!([]));

    // Logout redirects home and forgets the wallet; the session itself lives on.
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(node.url("/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/");
    let no_redirect = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wallet.http = no_redirect;
    let (status, _) = wallet.get("/auth/logout").await;
    assert_eq!(status, StatusCode::FOUND);

    let (_, links) = wallet.get("/.well-known/apple-app-site-association").await;
    assert_eq!(
        links,
        json!({"webcredentials": {"apps": ["TEAM.foundation.algorand.demo"]}})
    );
    let (status, health) = wallet.get("/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], json!("ok"));
}

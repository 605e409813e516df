//! Every kind of bad input to the FIDO2 endpoints gets a 4xx with a `{reason, error}` body (or
//! 413) and leaves the store as it was: malformed JSON, base64 and CBOR, wrong liquid proofs,
//! wrong origin or RP ID, replayed, expired or foreign challenges, unknown credentials, counter
//! regressions, and a credential claimed for a second wallet.

use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{Signer, SigningKey};
use liquid_mesh_tests::{Backend, TestNode, Wallet};
use reqwest::StatusCode;
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

liquid_mesh_tests::backends!(
    malformed_bodies_get_400_or_413,
    bad_registrations_are_refused_and_store_nothing,
    challenges_are_single_use_and_expire,
    bad_assertions_are_refused_and_keep_the_counter,
    a_credential_cannot_be_claimed_by_a_second_wallet,
    the_session_cookie_is_signed_and_http_only,
);

fn reason(body: &Value) -> &str {
    body["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason in {body}"))
}

async fn malformed_bodies_get_400_or_413(backend: Backend) {
    let node = TestNode::start(backend, |_| {}).await;
    let wallet = Wallet::web(&node);
    for path in [
        "/attestation/request",
        "/attestation/response",
        "/assertion/request/abc",
        "/assertion/response",
    ] {
        for body in [
            &b"{not json"[..],
            b"[1,2]",
            b"\"text\"",
            b"{\"a\":1}}",
            b"\xff\xfe",
        ] {
            let (status, reply) = wallet.post_raw(path, body.to_vec()).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{path} {body:?} -> {reply}"
            );
            assert_eq!(reason(&reply), "bad_request");
            assert!(reply["error"].as_str().unwrap().len() > 5);
        }
        let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024));
        let (status, reply) = wallet.post_raw(path, huge.into_bytes()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path} -> {reply}");
        assert_eq!(reason(&reply), "payload_too_large");
    }
    // No challenge in this session yet.
    let (status, reply) = wallet.post("/attestation/response", &json!({})).await;
    assert_eq!(
        (status, reply),
        (
            StatusCode::UNAUTHORIZED,
            json!({"reason": "unauthorized", "error": "Challenge not found"})
        )
    );
    let (status, reply) = wallet.post("/assertion/response", &json!({})).await;
    assert_eq!(
        (status, reply),
        (
            StatusCode::UNAUTHORIZED,
            json!({"reason": "unauthorized", "error": "Challenge not found."})
        )
    );
    // Creation options need the liquid extension.
    let (status, reply) = wallet
        .post("/attestation/request", &json!({"username": wallet.address}))
        .await;
    assert_eq!(
        (status, reply),
        (
            StatusCode::NOT_IMPLEMENTED,
            json!({"reason": "not_implemented", "error": "Liquid extension is required"})
        )
    );
    let (status, reply) = wallet
        .post(
            "/attestation/request",
            &json!({"username": 5, "extensions": {"liquid": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
}

type Tamper = fn(&mut Value, &Wallet, &str);
type AssertionTamper = fn(&mut Value);

async fn bad_registrations_are_refused_and_store_nothing(backend: Backend) {
    let node = TestNode::start(backend, |_| {}).await;
    let cases: Vec<(&str, Tamper, StatusCode)> = vec![
        (
            "liquid type is not algorand",
            |b, _, _| b["clientExtensionResults"]["liquid"]["type"] = json!("solana"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "address checksum is wrong",
            |b, _, _| {
                let address = b["clientExtensionResults"]["liquid"]["address"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let last = if address.ends_with('A') { "B" } else { "A" };
                b["clientExtensionResults"]["liquid"]["address"] =
                    json!(format!("{}{last}", &address[..57]));
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "address is not base32",
            |b, _, _| b["clientExtensionResults"]["liquid"]["address"] = json!("!".repeat(58)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signature by another key",
            |b, _, challenge| {
                let other = SigningKey::from_bytes(&[9; 32]);
                let bytes = BASE64URL_NOPAD.decode(challenge.as_bytes()).unwrap();
                b["clientExtensionResults"]["liquid"]["signature"] =
                    json!(BASE64URL_NOPAD.encode(&other.sign(&bytes).to_bytes()));
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signature over the challenge text",
            |b, w, challenge| {
                b["clientExtensionResults"]["liquid"]["signature"] =
                    json!(BASE64URL_NOPAD.encode(&w.key.sign(challenge.as_bytes()).to_bytes()));
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signature is not base64",
            |b, _, _| b["clientExtensionResults"]["liquid"]["signature"] = json!("***"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "requestId is an object",
            |b, _, _| b["clientExtensionResults"]["liquid"]["requestId"] = json!({"a": 1}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "liquid result missing",
            |b, _, _| b["clientExtensionResults"] = json!({}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "clientDataJSON is not base64",
            |b, _, _| b["response"]["clientDataJSON"] = json!("@@@"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "attestationObject is not CBOR",
            |b, _, _| {
                b["response"]["attestationObject"] =
                    json!(BASE64URL_NOPAD.encode(b"\xff\x00not cbor"))
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "id differs from rawId",
            |b, _, _| b["id"] = json!("AAAA"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "response missing",
            |b, _, _| {
                b.as_object_mut().unwrap().remove("response");
            },
            StatusCode::BAD_REQUEST,
        ),
        (
            "origin of another site",
            |b, _, _| edit_client_data(b, |c| c["origin"] = json!("https://evil.example")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "origin on another port",
            |b, _, _| edit_client_data(b, |c| c["origin"] = json!("http://localhost:1")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "clientData type is webauthn.get",
            |b, _, _| edit_client_data(b, |c| c["type"] = json!("webauthn.get")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "challenge in clientData differs",
            |b, _, _| {
                edit_client_data(b, |c| {
                    c["challenge"] = json!(BASE64URL_NOPAD.encode(&[1; 32]))
                })
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "RP ID hash of another site",
            |b, _, _| {
                edit_auth_data(b, |auth| {
                    auth[..32].copy_from_slice(&Sha256::digest(b"evil.example"))
                })
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "android-safetynet attestation (not accepted)",
            |b, _, _| {
                set_attestation_statement(b, "android-safetynet", Cbor::Map(Default::default()))
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown attestation format",
            |b, _, _| set_attestation_statement(b, "x-custom", Cbor::Map(Default::default())),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "fmt none with a statement",
            |b, _, _| {
                let statement = [(Cbor::Text("sig".into()), Cbor::Bytes(vec![1; 64]))];
                set_attestation_statement(b, "none", Cbor::Map(statement.into_iter().collect()))
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "packed self-attestation with a bogus signature",
            |b, _, _| {
                let statement = [
                    (Cbor::Text("alg".into()), Cbor::Integer(-7)),
                    (Cbor::Text("sig".into()), Cbor::Bytes(vec![0x30, 2, 1, 1])),
                ];
                set_attestation_statement(b, "packed", Cbor::Map(statement.into_iter().collect()))
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "user not present",
            |b, _, _| edit_auth_data(b, |auth| auth[32] &= !0x01),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut wallet = Wallet::web(&node);
        let (mut body, challenge) = wallet.prepare_registration(Some(json!("r"))).await;
        tamper(&mut body, &wallet, &challenge);
        let (status, reply) = wallet.post("/attestation/response", &body).await;
        assert_eq!(status, expected, "{name}: {reply}");
        assert!(!reason(&reply).is_empty(), "{name}");
        assert!(
            node.store.user(&wallet.address).await.unwrap().is_none(),
            "{name}: user stored"
        );
        let (_, session) = wallet.get("/auth/session").await;
        assert_eq!(session["user"], Value::Null, "{name}: session logged in");
    }
}

async fn challenges_are_single_use_and_expire(backend: Backend) {
    let node = TestNode::start(backend, |_| {}).await;

    // Replaying a successful response.
    let mut wallet = Wallet::web(&node);
    let (body, _) = wallet.prepare_registration(None).await;
    let (status, _) = wallet.post("/attestation/response", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, reply) = wallet.post("/attestation/response", &body).await;
    assert_eq!(
        (status, reason(&reply)),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "{reply}"
    );
    let user = node.store.user(&wallet.address).await.unwrap().unwrap();
    assert_eq!(user.credentials.len(), 1);

    // A failed attempt spends the challenge too: the good body cannot follow it.
    let mut wallet = Wallet::web(&node);
    let (good, _) = wallet.prepare_registration(None).await;
    let mut bad = good.clone();
    bad["clientExtensionResults"]["liquid"]["signature"] = json!(BASE64URL_NOPAD.encode(&[0; 64]));
    assert_eq!(
        wallet.post("/attestation/response", &bad).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, reply) = wallet.post("/attestation/response", &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert!(node.store.user(&wallet.address).await.unwrap().is_none());

    // The same body from another session, which never had that challenge.
    let mut wallet = Wallet::web(&node);
    let (body, _) = wallet.prepare_registration(None).await;
    let stranger = Wallet::web(&node);
    let (status, _) = stranger.post("/attestation/response", &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(node.store.user(&wallet.address).await.unwrap().is_none());

    // An expired challenge.
    let node = TestNode::start(backend, |c| c.ceremony_timeout = Duration::from_millis(300)).await;
    let mut wallet = Wallet::web(&node);
    let (body, _) = wallet.prepare_registration(None).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, reply) = wallet.post("/attestation/response", &body).await;
    assert_eq!(
        (status, reply),
        (
            StatusCode::UNAUTHORIZED,
            json!({"reason": "unauthorized", "error": "Challenge expired"})
        )
    );
    assert!(node.store.user(&wallet.address).await.unwrap().is_none());
}

async fn bad_assertions_are_refused_and_keep_the_counter(backend: Backend) {
    let node = TestNode::start(backend, |_| {}).await;
    let mut wallet = Wallet::web(&node);
    let (status, user) = wallet.register(None).await;
    assert_eq!(status, StatusCode::CREATED);
    let cred_id = user["credentials"][0]["credId"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, reply) = wallet
        .post("/assertion/request/unknown-credential", &json!({}))
        .await;
    assert_eq!(
        (status, reply),
        (
            StatusCode::UNAUTHORIZED,
            json!({"reason": "not_found", "error": "User not found."})
        )
    );

    // An unknown credential id in the response.
    let mut body = wallet.prepare_login(&cred_id, None).await;
    body["id"] = json!("AAAA");
    body["rawId"] = json!("AAAA");
    let (status, reply) = wallet.post("/assertion/response", &body).await;
    assert_eq!(
        (status, reply),
        (
            StatusCode::UNAUTHORIZED,
            json!({"reason": "not_found", "error": "Credential not found."})
        )
    );

    let counter = || async {
        node.store
            .credential(&cred_id)
            .await
            .unwrap()
            .unwrap()
            .counter
    };
    let cases: Vec<(&str, AssertionTamper, StatusCode)> = vec![
        (
            "signature flipped",
            |b| {
                let mut sig = BASE64URL_NOPAD
                    .decode(b["response"]["signature"].as_str().unwrap().as_bytes())
                    .unwrap();
                let last = sig.len() - 1;
                sig[last] ^= 1;
                b["response"]["signature"] = json!(BASE64URL_NOPAD.encode(&sig));
            },
            StatusCode::UNAUTHORIZED,
        ),
        (
            "authenticatorData is not base64",
            |b| b["response"]["authenticatorData"] = json!("%%%"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "origin of another site",
            |b| edit_client_data(b, |c| c["origin"] = json!("https://evil.example")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "requestId is a boolean",
            |b| b["clientExtensionResults"] = json!({"liquid": {"requestId": true}}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut body = wallet.prepare_login(&cred_id, Some(json!("r"))).await;
        tamper(&mut body);
        let (status, reply) = wallet.post("/assertion/response", &body).await;
        assert_eq!(status, expected, "{name}: {reply}");
        assert!(!reason(&reply).is_empty());
        assert_eq!(counter().await, 0, "{name}: counter moved");
    }

    // Counter regression: an assertion signed earlier arrives after a later one was accepted.
    let stale = wallet.prepare_login(&cred_id, None).await;
    let stale_session = std::mem::replace(
        &mut wallet.http,
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
    );
    let (status, _) = wallet.login(&cred_id, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let after = counter().await;
    wallet.http = stale_session;
    let (status, reply) = wallet.post("/assertion/response", &stale).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert_eq!(counter().await, after);

    // A login challenge cannot finish a registration.
    let (status, _) = wallet
        .post(&format!("/assertion/request/{cred_id}"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (body, _) = Wallet::web(&node).prepare_registration(None).await;
    let (status, reply) = wallet.post("/attestation/response", &body).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{reply}");
}

async fn a_credential_cannot_be_claimed_by_a_second_wallet(backend: Backend) {
    let node = TestNode::start(backend, |_| {}).await;
    let mut owner = Wallet::web(&node);
    let (owner_body, _) = owner.prepare_registration(None).await;
    let (status, user) = owner.post("/attestation/response", &owner_body).await;
    assert_eq!(status, StatusCode::CREATED);
    let cred_id = user["credentials"][0]["credId"].clone();

    // fmt "none" signs nothing over clientDataJSON, so anyone holding the owner's attestation
    // object can wrap it in a fresh clientDataJSON for their own challenge and wallet.
    let thief = Wallet::web(&node);
    let (status, options) = thief
        .post("/attestation/request", &thief.attestation_request_body())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let challenge = options["challenge"].as_str().unwrap();
    let mut body = owner_body.clone();
    edit_client_data(&mut body, |c| c["challenge"] = json!(challenge));
    body["clientExtensionResults"] = json!({"liquid": thief.liquid(challenge, None)});
    let (status, reply) = thief.post("/attestation/response", &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert_eq!(reason(&reply), "conflict");
    assert!(node.store.user(&thief.address).await.unwrap().is_none());
    let owner_user = node.store.user(&owner.address).await.unwrap().unwrap();
    assert_eq!(json!(owner_user.credentials[0].cred_id), cred_id);
}

async fn the_session_cookie_is_signed_and_http_only(backend: Backend) {
    let node = TestNode::start(backend, |_| {}).await;
    let http = reqwest::Client::new();
    let response = http
        .post(node.url("/attestation/request"))
        .json(&json!({"extensions": {"liquid": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let options: Value = response.json().await.unwrap();
    assert_eq!(
        options["user"],
        json!({}),
        "liquid-client sends no username"
    );
    assert!(cookie.starts_with("connect.sid="), "{cookie}");
    for attribute in ["HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");

    // A forged cookie value is no session at all.
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("connect.sid=");
    let (signature, id) = value.split_once('=').unwrap();
    let forged = format!(
        "connect.sid={signature}={}",
        id.chars().rev().collect::<String>()
    );
    let reply = http
        .post(node.url("/attestation/response"))
        .header("cookie", forged)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);

    let secure = TestNode::start(backend, |c| c.session_secure = true).await;
    let response = http
        .post(secure.url("/attestation/request"))
        .json(&json!({"extensions": {"liquid": true}}))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
}

/// Rewrites the clientDataJSON of a credential response.
fn edit_client_data(body: &mut Value, edit: impl FnOnce(&mut Value)) {
    let raw = BASE64URL_NOPAD
        .decode(
            body["response"]["clientDataJSON"]
                .as_str()
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    let mut client_data: Value = serde_json::from_slice(&raw).unwrap();
    edit(&mut client_data);
    body["response"]["clientDataJSON"] =
        json!(BASE64URL_NOPAD.encode(&serde_json::to_vec(&client_data).unwrap()));
}

/// Rewrites the authenticator data inside an attestation object.
fn edit_auth_data(body: &mut Value, edit: impl FnOnce(&mut Vec<u8>)) {
    edit_attestation_object(body, |object| {
        let Some(Cbor::Bytes(auth)) = object.get_mut(&Cbor::Text("authData".into())) else {
            panic!("authData is bytes")
        };
        edit(auth);
    });
}

/// Rewrites the attestation object's `fmt` and `attStmt`.
fn set_attestation_statement(body: &mut Value, fmt: &str, statement: Cbor) {
    edit_attestation_object(body, |object| {
        object.insert(Cbor::Text("fmt".into()), Cbor::Text(fmt.into()));
        object.insert(Cbor::Text("attStmt".into()), statement);
    });
}

fn edit_attestation_object(
    body: &mut Value,
    edit: impl FnOnce(&mut std::collections::BTreeMap<Cbor, Cbor>),
) {
    let raw = BASE64URL_NOPAD
        .decode(
            body["response"]["attestationObject"]
                .as_str()
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    let Cbor::Map(mut object) = serde_cbor_2::from_slice(&raw).unwrap() else {
        panic!("attestation object is a map")
    };
    edit(&mut object);
    let encoded = serde_cbor_2::to_vec(&Cbor::Map(object)).unwrap();
    body["response"]["attestationObject"] = json!(BASE64URL_NOPAD.encode(&encoded));
}

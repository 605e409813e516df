//! Verification throughput on one core: the node's registration check (webauthn-rs's
//! `finish_passkey_registration` and the liquid proof's Ed25519 signature) and its assertion
//! check (an ES256 signature, verified with ring), each on credentials made
//! beforehand by passkey-rs so only the node's work is timed; beside them, the raw cost of one
//! P-256 ECDSA verification (ring, and RustCrypto's `p256`, webauthn-rs's backend) and one
//! Ed25519 verification (ed25519-dalek) on this machine.

use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

use super::BaseUrl;
use crate::Wallet;
use liquid_mesh::assetlinks::{AssetLinks, ExpectedOrigin};
use liquid_mesh::fido::RelyingParty;
use liquid_mesh::liquid::LiquidRegistration;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub registrations: usize,
    /// Registration verifications per second on one core (webauthn-rs + the liquid signature).
    pub registrations_per_second: f64,
    pub assertions: usize,
    /// Assertion verifications per second on one core.
    pub assertions_per_second: f64,
    /// The same assertions verified by webauthn-rs alone (RustCrypto P-256), for comparison.
    pub assertions_webauthn_rs_per_second: f64,
    /// One P-256 ECDSA verification with ring, microseconds.
    pub p256_ring_us: f64,
    /// One P-256 ECDSA verification with RustCrypto `p256`, microseconds.
    pub p256_rustcrypto_us: f64,
    /// One Ed25519 verification with ed25519-dalek, microseconds.
    pub ed25519_us: f64,
    /// The fastest P-256 (ring) plus one Ed25519 verification here, as verifications per second.
    pub floor_per_second: f64,
}

/// The relying party the benchmark verifies against: RP ID `localhost`, origin port 3000.
pub fn relying_party() -> RelyingParty {
    let origin = Url::parse("http://localhost:3000").expect("static URL");
    let links = AssetLinks::load(None, None).expect("no asset links");
    RelyingParty::new(
        "localhost",
        "bench",
        &origin,
        &links,
        Duration::from_secs(600),
    )
    .expect("a relying party")
}

/// Creation options as the node's `/attestation/request` answers them.
fn creation_options(challenge: &str) -> Value {
    json!({
        "challenge": challenge,
        "rp": {"name": "bench", "id": "localhost"},
        "user": {},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "timeout": 600_000,
        "attestation": "none",
        "excludeCredentials": [],
        "authenticatorSelection": {"userVerification": "required", "requireResidentKey": false},
    })
}

/// A registration made by `wallet` for `rp`, parsed as the node parses one: its ceremony state,
/// the credential, its liquid proof and the challenge's bytes.
pub async fn prepare_registration(
    rp: &RelyingParty,
    wallet: &mut Wallet,
) -> (
    PasskeyRegistration,
    RegisterPublicKeyCredential,
    LiquidRegistration,
    Vec<u8>,
) {
    let started = rp.start_registration().expect("registration starts");
    let mut body = wallet
        .create_credential(&creation_options(&started.challenge))
        .await;
    body["clientExtensionResults"] = json!({"liquid": wallet.liquid(&started.challenge, None)});
    let Value::Object(map) = body else {
        unreachable!("a credential is an object")
    };
    let (liquid, credential) =
        liquid_mesh::http::parse_attestation_response(map, true).expect("a valid body");
    let challenge = data_encoding::BASE64URL_NOPAD
        .decode(started.challenge.as_bytes())
        .expect("base64url");
    (started.state, credential, liquid, challenge)
}

/// Prepares `count` registrations and assertions, then times their verification on this thread.
pub async fn run(count: usize) -> VerifyReport {
    let rp = relying_party();
    let mut wallet = Wallet::web(&BaseUrl("http://127.0.0.1:3000".into()));
    let mut registrations = Vec::with_capacity(count);
    for _ in 0..count {
        registrations.push(prepare_registration(&rp, &mut wallet).await);
    }
    let timer = Instant::now();
    let mut passkey = None;
    for (state, credential, liquid, challenge) in &registrations {
        let key = rp
            .finish_registration(&ExpectedOrigin::Web, credential, state)
            .expect("registration verifies");
        liquid
            .verify(challenge, None)
            .await
            .expect("liquid proof verifies");
        passkey.get_or_insert(key);
    }
    let registrations_per_second = count as f64 / timer.elapsed().as_secs_f64();

    let passkey = passkey.expect("at least one registration");
    let cred_id = data_encoding::BASE64URL_NOPAD.encode(passkey.cred_id());
    let mut assertions = Vec::with_capacity(count);
    for _ in 0..count {
        let started = rp
            .start_authentication(&passkey)
            .expect("authentication starts");
        let options = json!({
            "challenge": started.challenge,
            "allowCredentials": [{"id": cred_id, "type": "public-key"}],
            "timeout": 600_000,
            "userVerification": "required",
            "rpId": "localhost",
        });
        let Value::Object(map) = wallet.get_assertion(&options).await else {
            unreachable!("an assertion is an object")
        };
        let (_, credential) =
            liquid_mesh::http::parse_assertion_response(map).expect("a valid body");
        assertions.push((started.challenge, started.state, credential));
    }
    let timer = Instant::now();
    for (challenge, state, credential) in &assertions {
        rp.finish_authentication(&ExpectedOrigin::Web, credential, challenge, &passkey, state)
            .expect("assertion verifies");
    }
    let assertions_per_second = count as f64 / timer.elapsed().as_secs_f64();
    let timer = Instant::now();
    for (_, state, credential) in &assertions {
        rp.finish_authentication_with_webauthn_rs(&ExpectedOrigin::Web, credential, state)
            .expect("assertion verifies with webauthn-rs");
    }
    let assertions_webauthn_rs_per_second = count as f64 / timer.elapsed().as_secs_f64();

    let p256_ring_us = p256_ring();
    let ed25519_us = ed25519();
    VerifyReport {
        registrations: count,
        registrations_per_second,
        assertions: count,
        assertions_per_second,
        assertions_webauthn_rs_per_second,
        p256_ring_us,
        p256_rustcrypto_us: p256_rustcrypto(),
        ed25519_us,
        floor_per_second: 1e6 / (p256_ring_us + ed25519_us),
    }
}

/// Microseconds per call of `verify`, over about a second.
fn time_per_call(mut verify: impl FnMut() -> bool) -> f64 {
    let mut calls = 0u32;
    let timer = Instant::now();
    while timer.elapsed() < Duration::from_secs(1) {
        assert!(verify(), "the signature verifies");
        calls += 1;
    }
    timer.elapsed().as_secs_f64() * 1e6 / f64::from(calls)
}

const MESSAGE: &[u8] = b"authenticator data and the client data hash, about this long.....";

fn p256_ring() -> f64 {
    use ring::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING};
    use ring::signature::{EcdsaKeyPair, KeyPair, UnparsedPublicKey};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .expect("key pair");
    let signature = pair.sign(&rng, MESSAGE).expect("signs");
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, pair.public_key().as_ref());
    time_per_call(|| public.verify(MESSAGE, signature.as_ref()).is_ok())
}

fn p256_rustcrypto() -> f64 {
    use p256::ecdsa::signature::{Signer as _, Verifier as _};
    use p256::ecdsa::{Signature, SigningKey as P256Key};
    let key = P256Key::from_slice(&[7u8; 32]).expect("a valid scalar");
    let signature: Signature = key.sign(MESSAGE);
    let public = *key.verifying_key();
    time_per_call(|| public.verify(MESSAGE, &signature).is_ok())
}

fn ed25519() -> f64 {
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let signature = key.sign(MESSAGE);
    let public = key.verifying_key();
    time_per_call(|| public.verify_strict(MESSAGE, &signature).is_ok())
}

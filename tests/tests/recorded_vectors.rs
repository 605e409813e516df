//! The six real Android passkey registrations and assertions recorded by liquid-auth-js
//! (`../shared/vectors/liquid-auth-js/`, read in place, never copied) verify end to end through
//! our relying party and liquid checks, and a tampered copy of each fails.

use std::path::PathBuf;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use liquid_mesh::assetlinks::{AndroidApp, AssetLinks, ExpectedOrigin};
use liquid_mesh::fido::RelyingParty;
use liquid_mesh::liquid::{LiquidRegistration, assertion_request_id};
use serde_json::{Value, json};
use url::Url;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PasskeyRegistration};

const RP_ID: &str = "catfish-pro-wolf.ngrok-free.app";
const PACKAGE: &str = "foundation.algorand.demo";
const FINGERPRINT: &str = "47:CC:4E:EE:B9:50:59:A5:8B:E0:19:45:CA:0A:6D:59:16:F9:A9:C2:96:75:F8:F3:64:86:92:46:2B:7D:5D:5C";

fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/liquid-auth-js");
    assert!(
        dir.is_dir(),
        "recorded vectors missing at {}: the shared/ directory must sit beside the project",
        dir.display()
    );
    dir
}

fn fixture(name: &str) -> Vec<Value> {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let Value::Array(items) = serde_json::from_str(&text).unwrap() else {
        panic!("{name} is not an array")
    };
    assert_eq!(items.len(), 6, "{name}");
    items
}

fn relying_party() -> RelyingParty {
    let app = AndroidApp::new(PACKAGE, FINGERPRINT).unwrap();
    let links = AssetLinks::load(None, Some(app)).unwrap();
    let origin = Url::parse(&format!("https://{RP_ID}")).unwrap();
    RelyingParty::new(RP_ID, "test", &origin, &links, Duration::from_secs(1800)).unwrap()
}

/// webauthn-rs always makes its own challenge; a recorded ceremony needs the recorded one, so
/// the serialised state gets it swapped in (the state is server-side data, not the client's).
fn with_challenge<T: serde::Serialize + serde::de::DeserializeOwned>(
    state: &T,
    challenge: &str,
) -> T {
    fn swap(value: &mut Value, challenge: &str) -> usize {
        match value {
            Value::Object(map) => map
                .iter_mut()
                .map(|(key, v)| {
                    if key == "challenge" {
                        *v = json!(challenge);
                        1
                    } else {
                        swap(v, challenge)
                    }
                })
                .sum(),
            Value::Array(items) => items.iter_mut().map(|v| swap(v, challenge)).sum(),
            _ => 0,
        }
    }
    let mut json = serde_json::to_value(state).unwrap();
    assert_eq!(swap(&mut json, challenge), 1, "one challenge in the state");
    serde_json::from_value(json).unwrap()
}

fn android() -> ExpectedOrigin {
    ExpectedOrigin::Android(PACKAGE.into())
}

/// The six recorded chains: options and responses of both ceremonies, and the stored users.
struct Chains {
    creation: Vec<Value>,
    registrations: Vec<Value>,
    users: Vec<Value>,
    requests: Vec<Value>,
    assertions: Vec<Value>,
}

impl Chains {
    fn load() -> Self {
        Self {
            creation: fixture("attestation.request.response.fixtures.json"),
            registrations: fixture("attestation.response.body.fixtures.json"),
            users: fixture("attestation.response.response.fixtures.json"),
            requests: fixture("assertion.request.response.fixtures.json"),
            assertions: fixture("assertion.response.body.fixtures.json"),
        }
    }

    /// Chain `i`'s registration challenge, and server state expecting it.
    fn registration_state(&self, rp: &RelyingParty, i: usize) -> (&str, PasskeyRegistration) {
        let challenge = self.creation[i]["challenge"].as_str().unwrap();
        let state = with_challenge(&rp.start_registration().unwrap().state, challenge);
        (challenge, state)
    }
}

#[tokio::test]
async fn all_six_recorded_android_chains_verify() {
    let chains = Chains::load();
    let rp = relying_party();
    let Chains {
        ref registrations,
        ref users,
        ref requests,
        ref assertions,
        ..
    } = chains;

    for i in 0..6 {
        let (challenge, state) = chains.registration_state(&rp, i);
        let credential = serde_json::from_value(registrations[i].clone()).unwrap();
        let passkey = rp
            .finish_registration(&android(), &credential, &state)
            .unwrap_or_else(|e| panic!("registration {i}: {e}"));
        assert_eq!(
            BASE64URL_NOPAD.encode(passkey.cred_id()),
            users[i]["credentials"][0]["credId"]
        );

        let liquid =
            LiquidRegistration::parse(&registrations[i]["clientExtensionResults"]["liquid"])
                .unwrap();
        assert_eq!(json!(liquid.address), users[i]["wallet"]);
        let challenge_bytes = BASE64URL_NOPAD.decode(challenge.as_bytes()).unwrap();
        liquid
            .verify(&challenge_bytes, None)
            .await
            .unwrap_or_else(|e| panic!("liquid {i}: {e}"));

        // The stored COSE key is the one the original stored.
        let attestation = BASE64URL_NOPAD
            .decode(
                registrations[i]["response"]["attestationObject"]
                    .as_str()
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap();
        let key = liquid_mesh::cose::credential_public_key(&attestation).unwrap();
        assert_eq!(
            json!(BASE64URL_NOPAD.encode(&key)),
            users[i]["credentials"][0]["publicKey"]
        );

        let challenge = requests[i]["challenge"].as_str().unwrap();
        let state: PasskeyAuthentication =
            with_challenge(&rp.start_authentication(&passkey).unwrap().state, challenge);
        let credential = serde_json::from_value(assertions[i].clone()).unwrap();
        let verified = rp
            .finish_authentication(&android(), &credential, challenge, &passkey, &state)
            .unwrap_or_else(|e| panic!("assertion {i}: {e}"));
        assert_eq!(verified.counter, 1);
        let reference = rp
            .finish_authentication_with_webauthn_rs(&android(), &credential, &state)
            .unwrap_or_else(|e| panic!("assertion {i}, webauthn-rs: {e}"));
        assert_eq!(verified, (&reference).into(), "{i}");
        let request_id =
            assertion_request_id(assertions[i]["clientExtensionResults"].get("liquid")).unwrap();
        assert_eq!(
            request_id.unwrap().as_json(),
            &assertions[i]["clientExtensionResults"]["liquid"]["requestId"]
        );
    }
}

#[tokio::test]
async fn a_tampered_copy_of_each_chain_fails() {
    let chains = Chains::load();
    let rp = relying_party();
    let Chains {
        ref registrations,
        ref requests,
        ref assertions,
        ..
    } = chains;

    for i in 0..6 {
        let (challenge, state) = chains.registration_state(&rp, i);

        // Registration under the wrong expected origin (a browser UA) fails.
        let credential = serde_json::from_value(registrations[i].clone()).unwrap();
        assert!(
            rp.finish_registration(&ExpectedOrigin::Web, &credential, &state)
                .is_err(),
            "{i}"
        );

        // Registration with one byte of the credential public key changed fails.
        let mut tampered = registrations[i].clone();
        flip_last_byte(&mut tampered["response"]["attestationObject"]);
        let credential = serde_json::from_value(tampered).unwrap();
        assert!(
            rp.finish_registration(&android(), &credential, &state)
                .is_err(),
            "{i}"
        );

        // The liquid signature with one bit flipped fails.
        let mut liquid = registrations[i]["clientExtensionResults"]["liquid"].clone();
        flip_last_byte(&mut liquid["signature"]);
        let challenge_bytes = BASE64URL_NOPAD.decode(challenge.as_bytes()).unwrap();
        let parsed = LiquidRegistration::parse(&liquid).unwrap();
        assert!(parsed.verify(&challenge_bytes, None).await.is_err(), "{i}");
        // And the genuine signature does not verify another challenge.
        let genuine =
            LiquidRegistration::parse(&registrations[i]["clientExtensionResults"]["liquid"])
                .unwrap();
        assert!(genuine.verify(&[0u8; 32], None).await.is_err(), "{i}");

        // The assertion with its signature altered fails.
        let credential = serde_json::from_value(registrations[i].clone()).unwrap();
        let passkey: Passkey = rp
            .finish_registration(&android(), &credential, &state)
            .unwrap();
        let challenge = requests[i]["challenge"].as_str().unwrap();
        let state: PasskeyAuthentication =
            with_challenge(&rp.start_authentication(&passkey).unwrap().state, challenge);
        let mut tampered = assertions[i].clone();
        flip_last_byte(&mut tampered["response"]["signature"]);
        let credential = serde_json::from_value(tampered).unwrap();
        assert!(
            rp.finish_authentication(&android(), &credential, challenge, &passkey, &state)
                .is_err(),
            "{i}"
        );
        // And the genuine assertion does not answer a different challenge.
        let other_challenge = BASE64URL_NOPAD.encode(&[7; 32]);
        let other: PasskeyAuthentication = with_challenge(
            &rp.start_authentication(&passkey).unwrap().state,
            &other_challenge,
        );
        let credential = serde_json::from_value(assertions[i].clone()).unwrap();
        assert!(
            rp.finish_authentication(&android(), &credential, &other_challenge, &passkey, &other)
                .is_err(),
            "{i}"
        );
    }
}

fn flip_last_byte(field: &mut Value) {
    let mut bytes = BASE64URL_NOPAD
        .decode(field.as_str().unwrap().as_bytes())
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    *field = json!(BASE64URL_NOPAD.encode(&bytes));
}

//! The node verifies ES256 assertions with ring (`liquid_mesh::fido::assertion`) instead of
//! webauthn-rs. Here both verify the same assertions, forged and signed afresh for each case
//! with a P-256 key put on a real passkey-rs registration, and must reach the same verdict, and
//! the verdict the case calls for: every check webauthn-rs makes refuses its case in both.

use data_encoding::BASE64URL_NOPAD;
use liquid_mesh::assetlinks::ExpectedOrigin;
use liquid_mesh::fido::RelyingParty;
use liquid_mesh::fido::assertion::Verified;
use liquid_mesh_tests::Wallet;
use liquid_mesh_tests::load::BaseUrl;
use liquid_mesh_tests::load::verify::{prepare_registration, relying_party};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    COSEEC2Key, COSEKeyType, Credential, ECDSACurve, Passkey, PasskeyAuthentication,
    PublicKeyCredential,
};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

/// One assertion to forge: what the authenticator and client say, and what the node stored.
#[derive(Clone)]
struct Case {
    rp_id: String,
    flags: u8,
    counter: u32,
    /// Bytes after the fixed 37 of authenticator data.
    auth_data_tail: Vec<u8>,
    client_data: serde_json::Value,
    /// Raw client data replacing the JSON above.
    client_data_raw: Option<Vec<u8>>,
    raw_id: Option<Vec<u8>>,
    stored_counter: u32,
    stored_backup_eligible: bool,
    /// Applied to the signature after signing.
    tamper_signature: bool,
    /// Applied to the authenticator data after signing.
    tamper_auth_data: bool,
    signed_by_another_key: bool,
}

struct Fixture {
    rp: RelyingParty,
    key: EcdsaKeyPair,
    other_key: EcdsaKeyPair,
    credential: Credential,
    challenge: String,
    state: PasskeyAuthentication,
}

fn key_pair(rng: &SystemRandom) -> EcdsaKeyPair {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), rng).unwrap()
}

impl Fixture {
    async fn new() -> Self {
        let rp = relying_party();
        let mut wallet = Wallet::web(&BaseUrl("http://127.0.0.1:3000".into()));
        let (state, credential, _, _) = prepare_registration(&rp, &mut wallet).await;
        let passkey = rp
            .finish_registration(&ExpectedOrigin::Web, &credential, &state)
            .unwrap();
        let rng = SystemRandom::new();
        let key = key_pair(&rng);
        let other_key = key_pair(&rng);
        let point = key.public_key().as_ref();
        let mut credential = Credential::from(passkey);
        credential.cred.key = COSEKeyType::EC_EC2(COSEEC2Key {
            curve: ECDSACurve::SECP256R1,
            x: point[1..33].to_vec(),
            y: point[33..65].to_vec(),
        });
        let started = rp
            .start_authentication(&Passkey::from(credential.clone()))
            .unwrap();
        Self {
            rp,
            key,
            other_key,
            credential,
            challenge: started.challenge,
            state: started.state,
        }
    }

    fn genuine(&self) -> Case {
        Case {
            rp_id: "localhost".into(),
            flags: UP | UV,
            counter: 0,
            auth_data_tail: Vec::new(),
            client_data: json!({
                "type": "webauthn.get",
                "challenge": self.challenge,
                "origin": "http://localhost:3000",
                "crossOrigin": false,
            }),
            client_data_raw: None,
            raw_id: None,
            stored_counter: 0,
            stored_backup_eligible: false,
            tamper_signature: false,
            tamper_auth_data: false,
            signed_by_another_key: false,
        }
    }

    fn forge(&self, case: &Case) -> (Passkey, PublicKeyCredential) {
        let mut auth_data = Sha256::digest(case.rp_id.as_bytes()).to_vec();
        auth_data.push(case.flags);
        auth_data.extend_from_slice(&case.counter.to_be_bytes());
        auth_data.extend_from_slice(&case.auth_data_tail);
        let client_data = case
            .client_data_raw
            .clone()
            .unwrap_or_else(|| serde_json::to_vec(&case.client_data).unwrap());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signer = if case.signed_by_another_key {
            &self.other_key
        } else {
            &self.key
        };
        let mut signature = signer
            .sign(&SystemRandom::new(), &signed)
            .unwrap()
            .as_ref()
            .to_vec();
        if case.tamper_signature {
            let at = signature.len() - 3;
            signature[at] ^= 0x10;
        }
        if case.tamper_auth_data {
            auth_data[33] ^= 0x01;
        }
        let raw_id = case
            .raw_id
            .clone()
            .unwrap_or_else(|| self.credential.cred_id.to_vec());
        let id = BASE64URL_NOPAD.encode(&raw_id);
        let response = serde_json::from_value(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": BASE64URL_NOPAD.encode(&auth_data),
                "clientDataJSON": BASE64URL_NOPAD.encode(&client_data),
                "signature": BASE64URL_NOPAD.encode(&signature),
                "userHandle": null,
            },
            "clientExtensionResults": {},
        }))
        .unwrap();
        let mut stored = self.credential.clone();
        stored.counter = case.stored_counter;
        stored.backup_eligible = case.stored_backup_eligible;
        (Passkey::from(stored), response)
    }

    /// Both verdicts on `case`; webauthn-rs is handed a ceremony state for the stored passkey.
    fn verdicts(&self, case: &Case) -> (Result<Verified, String>, Result<Verified, String>) {
        let (passkey, response) = self.forge(case);
        let fast = self
            .rp
            .finish_authentication(
                &ExpectedOrigin::Web,
                &response,
                &self.challenge,
                &passkey,
                &self.state_for(&passkey),
            )
            .map_err(|e| e.to_string());
        let reference = self
            .rp
            .finish_authentication_with_webauthn_rs(
                &ExpectedOrigin::Web,
                &response,
                &self.state_for(&passkey),
            )
            .map(|result| Verified::from(&result))
            .map_err(|e| e.to_string());
        (fast, reference)
    }

    /// The issued ceremony state with the stored passkey's counter and flags in it, as the
    /// node would have issued it for that passkey.
    fn state_for(&self, passkey: &Passkey) -> PasskeyAuthentication {
        let mut state = serde_json::to_value(&self.state).unwrap();
        let stored = serde_json::to_value(Credential::from(passkey.clone())).unwrap();
        state["ast"]["credentials"] = json!([stored]);
        serde_json::from_value(state).unwrap()
    }
}

#[tokio::test]
async fn ring_and_webauthn_rs_reach_the_same_verdict_on_every_case() {
    let fixture = Fixture::new().await;
    let genuine = fixture.genuine();
    let with = |change: &dyn Fn(&mut Case)| {
        let mut case = genuine.clone();
        change(&mut case);
        case
    };
    let cases: Vec<(&str, bool, Case)> = vec![
        ("genuine", true, genuine.clone()),
        (
            "counter moves on",
            true,
            with(&|c| {
                c.stored_counter = 5;
                c.counter = 6
            }),
        ),
        (
            "counter repeats",
            false,
            with(&|c| {
                c.stored_counter = 5;
                c.counter = 5
            }),
        ),
        (
            "counter goes back",
            false,
            with(&|c| {
                c.stored_counter = 5;
                c.counter = 4
            }),
        ),
        ("counter from zero", true, with(&|c| c.counter = 1)),
        ("becomes backup eligible", true, with(&|c| c.flags |= BE)),
        (
            "backed up, eligible",
            true,
            with(&|c| {
                c.stored_backup_eligible = true;
                c.flags |= BE | BS
            }),
        ),
        (
            "loses backup eligibility",
            false,
            with(&|c| c.stored_backup_eligible = true),
        ),
        (
            "backed up, never eligible",
            false,
            with(&|c| c.flags |= BE | BS),
        ),
        (
            "signed extensions",
            true,
            with(&|c| {
                c.flags |= ED;
                c.auth_data_tail = serde_cbor_2::to_vec(&json!({"credBlob": true})).unwrap()
            }),
        ),
        ("user not present", false, with(&|c| c.flags = UV)),
        ("user not verified", false, with(&|c| c.flags = UP)),
        (
            "attested data in an assertion",
            false,
            with(&|c| c.flags |= AT),
        ),
        (
            "another RP ID",
            false,
            with(&|c| c.rp_id = "example.com".into()),
        ),
        (
            "another challenge",
            false,
            with(&|c| c.client_data["challenge"] = json!(BASE64URL_NOPAD.encode(&[1; 32]))),
        ),
        (
            "registration type",
            false,
            with(&|c| c.client_data["type"] = json!("webauthn.create")),
        ),
        (
            "another origin",
            false,
            with(&|c| c.client_data["origin"] = json!("https://evil.example")),
        ),
        (
            "another port",
            false,
            with(&|c| c.client_data["origin"] = json!("http://localhost:3001")),
        ),
        (
            "client data not JSON",
            false,
            with(&|c| c.client_data_raw = Some(b"{\"type\":".to_vec())),
        ),
        (
            "client data without origin",
            false,
            with(&|c| c.client_data = json!({"type": "webauthn.get", "challenge": "AAAA"})),
        ),
        (
            "signature altered",
            false,
            with(&|c| c.tamper_signature = true),
        ),
        (
            "authenticator data altered after signing",
            false,
            with(&|c| c.tamper_auth_data = true),
        ),
        (
            "signed by another key",
            false,
            with(&|c| c.signed_by_another_key = true),
        ),
        (
            "another credential",
            false,
            with(&|c| c.raw_id = Some(vec![9; 16])),
        ),
    ];
    for (name, accept, case) in &cases {
        let (fast, reference) = fixture.verdicts(case);
        assert_eq!(fast.is_ok(), *accept, "{name}: ring path {fast:?}");
        assert_eq!(
            reference.is_ok(),
            *accept,
            "{name}: webauthn-rs {reference:?}"
        );
        if let (Ok(fast), Ok(reference)) = (&fast, &reference) {
            assert_eq!(fast, reference, "{name}");
        }
    }
}

#[tokio::test]
async fn short_authenticator_data_is_refused_by_both() {
    let fixture = Fixture::new().await;
    let (passkey, mut response) = fixture.forge(&fixture.genuine());
    response.response.authenticator_data = response.response.authenticator_data[..36].to_vec();
    let state = fixture.state_for(&passkey);
    let fast = fixture.rp.finish_authentication(
        &ExpectedOrigin::Web,
        &response,
        &fixture.challenge,
        &passkey,
        &state,
    );
    assert!(fast.is_err(), "{fast:?}");
    let reference =
        fixture
            .rp
            .finish_authentication_with_webauthn_rs(&ExpectedOrigin::Web, &response, &state);
    assert!(reference.is_err(), "{reference:?}");
}

#[tokio::test]
async fn a_verified_assertion_moves_the_passkey_on_as_webauthn_rs_does() {
    let fixture = Fixture::new().await;
    // (stored backup eligible, flags, counter) → (counter, backup eligible, backed up) stored after.
    let steps = [
        ((true, UP | UV | BE | BS), 3, (3, true, true)),
        ((false, UP | UV | BE), 7, (7, true, false)),
        ((false, UP | UV), 0, (0, false, false)),
    ];
    for ((stored_backup_eligible, flags), counter, after) in steps {
        let mut case = fixture.genuine();
        case.stored_backup_eligible = stored_backup_eligible;
        case.flags = flags;
        case.counter = counter;
        let (passkey, response) = fixture.forge(&case);
        let state = fixture.state_for(&passkey);
        let verified = fixture
            .rp
            .finish_authentication(
                &ExpectedOrigin::Web,
                &response,
                &fixture.challenge,
                &passkey,
                &state,
            )
            .unwrap();
        let ours = Credential::from(verified.update(passkey.clone()));
        let result = fixture
            .rp
            .finish_authentication_with_webauthn_rs(&ExpectedOrigin::Web, &response, &state)
            .unwrap();
        let mut theirs = passkey.clone();
        theirs.update_credential(&result);
        let theirs = Credential::from(theirs);
        let state_of = |c: &Credential| (c.counter, c.backup_eligible, c.backup_state);
        assert_eq!(state_of(&ours), state_of(&theirs), "{flags:#x} {counter}");
        assert_eq!(state_of(&ours), after, "{flags:#x} {counter}");
    }
}

//! Every decoder that takes bytes from a client or a peer, one entry point each, applied in the
//! order the node applies them: what the fuzz targets in `fuzz/` drive. Each returns quietly on
//! input the node refuses and panics only when a property the node relies on breaks.

use std::sync::OnceLock;
use std::time::Duration;

use liquid_mesh_proto as proto;
use serde_json::{Value, json};
use url::Url;
use webauthn_rs::prelude::PasskeyRegistration;

use crate::algorand::{decode_address, encode_address};
use crate::assetlinks::{AssetLinks, ExpectedOrigin};
use crate::fido::RelyingParty;
use crate::hub::Origin;
use crate::liquid::{LiquidRegistration, assertion_request_id};
use crate::request_id::RequestId;

/// The challenge of [`registration_state`], base64url: 32 bytes of 7. Seeds for the body target
/// carry it in their clientDataJSON, so mutations reach the attestation object.
pub const FIXED_CHALLENGE: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc";

fn relying_party() -> &'static RelyingParty {
    static RP: OnceLock<RelyingParty> = OnceLock::new();
    RP.get_or_init(|| {
        let origin = Url::parse("http://localhost:3000").expect("static URL");
        let links = AssetLinks::load(None, None).expect("no asset links to read");
        RelyingParty::new(
            "localhost",
            "fuzz",
            &origin,
            &links,
            Duration::from_secs(60),
        )
        .expect("a valid relying party")
    })
}

/// A registration state whose challenge is [`FIXED_CHALLENGE`].
fn registration_state() -> &'static PasskeyRegistration {
    static STATE: OnceLock<PasskeyRegistration> = OnceLock::new();
    STATE.get_or_init(|| {
        let started = relying_party()
            .start_registration()
            .expect("registration starts");
        let mut state = serde_json::to_value(&started.state).expect("state serialises");
        replace_challenge(&mut state, &started.challenge);
        serde_json::from_value(state).expect("patched state deserialises")
    })
}

fn replace_challenge(value: &mut Value, challenge: &str) {
    match value {
        Value::String(s) if s == challenge => *s = FIXED_CHALLENGE.to_owned(),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_challenge(v, challenge)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| replace_challenge(v, challenge)),
        _ => {}
    }
}

/// `POST /attestation/response` and `/assertion/response` bodies, through everything that needs
/// no database: the JSON, the liquid extension, the credential structure, the attestation
/// object, and webauthn-rs's verification against a fixed ceremony.
pub fn fido_body(bytes: &[u8]) {
    let Ok(body) = crate::http::json_object(bytes) else {
        return;
    };
    if let Ok((liquid, credential)) = crate::http::parse_attestation_response(body.clone(), true) {
        let object = &credential.response.attestation_object;
        let _ = crate::cose::check_statement(object);
        let _ = crate::cose::credential_public_key(object);
        let _ = relying_party().finish_registration(
            &ExpectedOrigin::Web,
            &credential,
            registration_state(),
        );
        let _ = liquid.request_id.map(|id| id.key());
    }
    let _ = crate::http::parse_assertion_response(body);
}

/// An attestation object's CBOR, as the node reads it itself.
pub fn attestation_object(bytes: &[u8]) {
    let _ = crate::cose::check_statement(bytes);
    if let Some(key) = crate::cose::credential_public_key(bytes) {
        assert!(key.len() <= bytes.len(), "the key is a part of the object");
    }
}

/// The `liquid` extension of either ceremony.
pub fn liquid_extension(bytes: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    if let Ok(registration) = LiquidRegistration::parse(&value) {
        decode_address(&registration.address).expect("a parsed extension has a valid address");
    }
    let _ = assertion_request_id(Some(&value));
}

/// Algorand addresses: whatever decodes re-encodes to the same text.
pub fn algorand_address(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(key) = decode_address(text) {
        assert_eq!(encode_address(&key), text, "one address per key");
    }
}

/// Socket.IO event payloads as the bridge reads them (`link`, `presence`): the request ID, and
/// the room key it becomes, which must name the same request back.
pub fn bridge_event(bytes: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let Some(Ok(id)) = body.get("requestId").cloned().map(RequestId::try_from) else {
        return;
    };
    let key = id.key();
    let back = RequestId::from_key(&key).expect("a key names its request");
    assert_eq!(back.key(), key, "keys are canonical");
}

/// A gossip message from a peer: the envelope, the checks that make it a hub event, its shard.
pub fn mesh_message(bytes: &[u8]) {
    if let Ok(body) = proto::decode(bytes)
        && let Ok(incoming) = crate::mesh::wire::incoming(body, Origin::Remote(1))
    {
        let _ = incoming.shard_key();
    }
    let _ = proto::decode_sync_request(bytes);
    if let Ok(envelopes) = proto::decode_sync_response(bytes) {
        for envelope in envelopes {
            let _ = proto::decode(&envelope);
        }
    }
}

/// Native peers' sealed hello, opened with a fixed pairing's keys.
pub fn sealed_hello(bytes: &[u8]) {
    static KEYS: OnceLock<crate::peer::seal::PairingKeys> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let invitation = crate::peer::seal::Invitation::from_json(&json!({
            "requestId": "fuzz",
            "secret": "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
        }))
        .expect("a valid invitation");
        crate::peer::seal::PairingKeys::derive(&invitation)
    });
    if let Ok(sealed) = <proto::Sealed as prost::Message>::decode(bytes) {
        let _ = keys.open_hello(&sealed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_point_takes_garbage() {
        let inputs: [&[u8]; 5] = [b"", b"{}", b"\xff\x00", b"[1,2", br#"{"requestId": 1.0}"#];
        for input in inputs {
            fido_body(input);
            attestation_object(input);
            liquid_extension(input);
            algorand_address(input);
            bridge_event(input);
            mesh_message(input);
            sealed_hello(input);
        }
    }

    #[test]
    fn the_fixed_ceremony_carries_the_fixed_challenge() {
        let state = serde_json::to_string(registration_state()).unwrap();
        assert!(state.contains(FIXED_CHALLENGE), "{state}");
    }
}

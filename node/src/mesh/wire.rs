//! Hub events to and from the mesh's protobuf messages. What arrives from a peer is checked as
//! strictly as what arrives from a client: request IDs by the bridge's rules, wallets as Algorand
//! addresses, payloads as JSON, so a hostile peer cannot put anything on the hub a client could not.

use std::sync::Arc;

use liquid_mesh_proto as proto;
use liquid_mesh_proto::Body;
use serde_json::Value;

use crate::hub::{Authenticated, Hub, Origin, Presence, Room, SessionChanged, Signal, SignalKind};
use crate::request_id::RequestId;

/// Longest credential ID accepted from a peer (base64url; authenticators use up to 1023 bytes).
const MAX_CRED_ID_CHARS: usize = 1400;

/// Why a well-formed envelope still does not make a hub event.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("request ID: {0}")]
    RequestId(String),
    #[error("wallet is not an Algorand address")]
    Wallet,
    #[error("credential ID is not base64url of a sane length")]
    CredId,
    #[error("signal payload is not JSON")]
    Payload,
    #[error("device count out of range")]
    Devices,
    #[error("a batch inside a batch")]
    NestedBatch,
}

/// A checked message from the mesh: a hub event, or native peers' sealed signaling (which nodes
/// only relay).
pub(crate) enum Incoming {
    Authenticated(Authenticated),
    Signal(Signal),
    Presence(Presence),
    Sealed(proto::Sealed),
    SessionChanged(SessionChanged),
}

impl Incoming {
    /// What decides its shard: the name of the room it concerns, or the sealed pairing's tag.
    pub(crate) fn shard_key(&self) -> String {
        match self {
            Self::Authenticated(a) => Room::Request(a.request_id.clone()).name(),
            Self::Signal(s) => s.room.name(),
            Self::Presence(p) => Room::Request(p.request_id.clone()).name(),
            Self::Sealed(s) => sealed_shard_key(&s.tag),
            Self::SessionChanged(c) => session_shard_key(&c.tag),
        }
    }

    pub(super) fn publish(self, hub: &Hub) {
        match self {
            Self::Authenticated(a) => hub.publish_authenticated(a),
            Self::Signal(s) => hub.publish_signal(s),
            Self::Presence(p) => hub.publish_presence(p),
            Self::SessionChanged(c) => hub.publish_session_changed(c),
            Self::Sealed(_) => {}
        }
    }
}

/// The shard key of a sealed pairing's tag.
pub fn sealed_shard_key(tag: &[u8]) -> String {
    format!("sealed:{}", data_encoding::HEXLOWER.encode(tag))
}

fn session_shard_key(tag: &[u8]) -> String {
    format!("session:{}", data_encoding::HEXLOWER.encode(tag))
}

pub(super) fn session_changed(changed: &SessionChanged) -> (String, Body) {
    let body = Body::SessionChanged(proto::SessionChanged {
        tag: changed.tag.to_vec(),
    });
    (session_shard_key(&changed.tag), body)
}

pub(super) fn authenticated(event: &Authenticated) -> (Room, Body) {
    let body = Body::Authenticated(proto::Authenticated {
        request_id_json: event.request_id.as_json().to_string(),
        wallet: event.wallet.clone(),
        cred_id: event.cred_id.clone(),
    });
    (Room::Request(event.request_id.clone()), body)
}

pub(super) fn signal(signal: &Signal) -> (Room, Body) {
    let room = match &signal.room {
        Room::Request(id) => proto::SignalRoom::RequestIdJson(id.as_json().to_string()),
        Room::Wallet(wallet) => proto::SignalRoom::Wallet(wallet.clone()),
    };
    let body = Body::Signal(proto::Signal {
        room: Some(room),
        kind: kind_to_wire(signal.kind) as i32,
        payload_json: signal.payload.to_string(),
    });
    (signal.room.clone(), body)
}

pub(super) fn presence(presence: &Presence) -> (Room, Body) {
    let body = Body::Presence(proto::Presence {
        request_id_json: presence.request_id.as_json().to_string(),
        devices: u32::try_from(presence.devices).unwrap_or(u32::MAX),
    });
    (Room::Request(presence.request_id.clone()), body)
}

/// Checks a decoded body from a peer and makes it a hub event tagged with `origin`.
pub(crate) fn incoming(body: Body, origin: Origin) -> Result<Incoming, WireError> {
    Ok(match body {
        Body::Authenticated(a) => {
            check_wallet(&a.wallet)?;
            check_cred_id(&a.cred_id)?;
            Incoming::Authenticated(Authenticated {
                request_id: request_id(&a.request_id_json)?,
                wallet: a.wallet,
                cred_id: a.cred_id,
                origin,
            })
        }
        Body::Signal(s) => {
            let room = match s.room {
                Some(proto::SignalRoom::RequestIdJson(json)) => Room::Request(request_id(&json)?),
                Some(proto::SignalRoom::Wallet(wallet)) => {
                    check_wallet(&wallet)?;
                    Room::Wallet(wallet)
                }
                None => return Err(WireError::Payload),
            };
            let payload: Value =
                serde_json::from_str(&s.payload_json).map_err(|_| WireError::Payload)?;
            let kind = proto::SignalKind::try_from(s.kind)
                .ok()
                .and_then(kind_from_wire)
                .ok_or(WireError::Payload)?;
            Incoming::Signal(Signal {
                room,
                kind,
                payload: Arc::new(payload),
                origin,
                sender: String::new(),
                pair_here: false,
            })
        }
        Body::Sealed(sealed) => Incoming::Sealed(sealed),
        Body::Batch(_) => return Err(WireError::NestedBatch),
        Body::SessionChanged(changed) => Incoming::SessionChanged(SessionChanged {
            tag: changed.tag.try_into().map_err(|_| WireError::Payload)?,
            origin,
        }),
        Body::Presence(p) => {
            // More devices than a node could hold sockets is a lie.
            if p.devices > 1_000_000 {
                return Err(WireError::Devices);
            }
            Incoming::Presence(Presence {
                request_id: request_id(&p.request_id_json)?,
                devices: p.devices as usize,
                origin,
            })
        }
    })
}

fn request_id(json: &str) -> Result<RequestId, WireError> {
    let value: Value =
        serde_json::from_str(json).map_err(|err| WireError::RequestId(err.to_string()))?;
    RequestId::try_from(value).map_err(|err| WireError::RequestId(err.to_string()))
}

fn check_wallet(wallet: &str) -> Result<(), WireError> {
    crate::algorand::decode_address(wallet)
        .map(|_| ())
        .map_err(|_| WireError::Wallet)
}

fn check_cred_id(cred_id: &str) -> Result<(), WireError> {
    let charset = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if cred_id.is_empty() || cred_id.len() > MAX_CRED_ID_CHARS || !cred_id.chars().all(charset) {
        return Err(WireError::CredId);
    }
    Ok(())
}

fn kind_to_wire(kind: SignalKind) -> proto::SignalKind {
    match kind {
        SignalKind::OfferDescription => proto::SignalKind::OfferDescription,
        SignalKind::OfferCandidate => proto::SignalKind::OfferCandidate,
        SignalKind::AnswerDescription => proto::SignalKind::AnswerDescription,
        SignalKind::AnswerCandidate => proto::SignalKind::AnswerCandidate,
    }
}

fn kind_from_wire(kind: proto::SignalKind) -> Option<SignalKind> {
    Some(match kind {
        proto::SignalKind::OfferDescription => SignalKind::OfferDescription,
        proto::SignalKind::OfferCandidate => SignalKind::OfferCandidate,
        proto::SignalKind::AnswerDescription => SignalKind::AnswerDescription,
        proto::SignalKind::AnswerCandidate => SignalKind::AnswerCandidate,
        proto::SignalKind::Unspecified => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WALLET: &str = "2SPDE6XLJNXFTOO7OIGNRNKSEDOHJWVD3HBSEAPHONZQ4IQEYOGYTP6LXA";

    fn round_trip(body: Body) -> Result<Incoming, WireError> {
        let decoded = proto::decode(&proto::encode(1, body)).expect("decodes");
        incoming(decoded, Origin::Remote(9))
    }

    #[test]
    fn events_cross_unchanged() {
        let id = RequestId::try_from(json!(0.605)).unwrap();
        let event = Authenticated {
            request_id: id.clone(),
            wallet: WALLET.into(),
            cred_id: "AYMPi2Rb-_".into(),
            origin: Origin::HTTP,
        };
        let Ok(Incoming::Authenticated(back)) = round_trip(authenticated(&event).1) else {
            panic!("authenticated event lost")
        };
        assert_eq!(back.request_id, id, "a number stays a number");
        assert_eq!(
            (back.wallet.as_str(), back.origin),
            (WALLET, Origin::Remote(9))
        );

        let payload = json!({"candidate": "candidate:1 1 udp 1 10.0.0.2 9 typ host", "sdpMid": "0", "z": 1, "a": 2});
        let sent = Signal {
            room: Room::Request(RequestId::try_from(json!("r-1")).unwrap()),
            kind: SignalKind::AnswerCandidate,
            payload: Arc::new(payload.clone()),
            origin: Origin::Local(5),
            sender: "sid".into(),
            pair_here: true,
        };
        let Ok(Incoming::Signal(back)) = round_trip(signal(&sent).1) else {
            panic!("signal lost")
        };
        assert_eq!(
            back.payload.to_string(),
            payload.to_string(),
            "key order kept"
        );
        assert_eq!((back.kind, back.room), (sent.kind, sent.room));
    }

    #[test]
    fn refuses_what_a_client_could_not_send() {
        let auth = |request_id_json: &str, wallet: &str, cred_id: &str| {
            Body::Authenticated(proto::Authenticated {
                request_id_json: request_id_json.into(),
                wallet: wallet.into(),
                cred_id: cred_id.into(),
            })
        };
        for bad in [
            auth("{}", WALLET, "AQ"),
            auth("\"\"", WALLET, "AQ"),
            auth("not json", WALLET, "AQ"),
            auth("\"r\"", "NOTANADDRESS", "AQ"),
            auth("\"r\"", WALLET, ""),
            auth("\"r\"", WALLET, "a+b/c="),
            Body::Signal(proto::Signal {
                room: Some(proto::SignalRoom::RequestIdJson("\"r\"".into())),
                kind: proto::SignalKind::OfferDescription as i32,
                payload_json: "{unterminated".into(),
            }),
            Body::Presence(proto::Presence {
                request_id_json: "\"r\"".into(),
                devices: u32::MAX,
            }),
        ] {
            assert!(incoming(bad.clone(), Origin::Remote(1)).is_err(), "{bad:?}");
        }
    }
}

//! Wire messages exchanged between liquid-mesh nodes, as protobuf (prost derives; no protoc).
//! Every message travels in an [`Envelope`] that carries the protocol version; [`decode`] refuses
//! oversized input before parsing and unknown versions after, so a hostile peer costs little.

/// The version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest encoded envelope accepted: a 64 KiB signal payload (the bridge's limit) and its framing.
pub const MAX_MESSAGE_BYTES: usize = 72 * 1024;

/// Largest encoded sync response accepted; a node sends at most this much of its recent history.
pub const MAX_SYNC_BYTES: usize = 8 * 1024 * 1024;

/// A wallet proved itself in a ceremony that named a request ID (the original's `auth` event).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Authenticated {
    /// The request ID as JSON text (`"0190…"` or `0.605…`), so strings and numbers stay distinct.
    #[prost(string, tag = "1")]
    pub request_id_json: String,
    /// The wallet's Algorand address.
    #[prost(string, tag = "2")]
    pub wallet: String,
    /// The base64url credential ID used.
    #[prost(string, tag = "3")]
    pub cred_id: String,
}

/// The four relayed Socket.IO signaling events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, prost::Enumeration)]
#[repr(i32)]
pub enum SignalKind {
    Unspecified = 0,
    OfferDescription = 1,
    OfferCandidate = 2,
    AnswerDescription = 3,
    AnswerCandidate = 4,
}

/// A signaling event for the members of one pair's room.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Signal {
    #[prost(oneof = "SignalRoom", tags = "1, 2")]
    pub room: Option<SignalRoom>,
    #[prost(enumeration = "SignalKind", tag = "3")]
    pub kind: i32,
    /// The payload exactly as the client sent it, as JSON text.
    #[prost(string, tag = "4")]
    pub payload_json: String,
}

/// Whose room a signal is for.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SignalRoom {
    /// A request ID as JSON text.
    #[prost(string, tag = "1")]
    RequestIdJson(String),
    /// A wallet address, for clients that signal before any link.
    #[prost(string, tag = "2")]
    Wallet(String),
}

/// How many sessions the sending node has in a pair's room (0 when its last one left).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Presence {
    #[prost(string, tag = "1")]
    pub request_id_json: String,
    #[prost(uint32, tag = "2")]
    pub devices: u32,
}

/// Signaling between two native peers, end-to-end encrypted: nodes relay it and learn only which
/// pairing it belongs to (an opaque tag derived from the pairing's secret).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sealed {
    /// 32 bytes naming the pairing; also decides the shard.
    #[prost(bytes = "vec", tag = "1")]
    pub tag: Vec<u8>,
    /// The AEAD nonce, 24 bytes (XChaCha20-Poly1305).
    #[prost(bytes = "vec", tag = "2")]
    pub nonce: Vec<u8>,
    /// An encrypted [`Hello`].
    #[prost(bytes = "vec", tag = "3")]
    pub ciphertext: Vec<u8>,
}

/// Largest sealed ciphertext accepted: a hello with a few dozen addresses.
pub const MAX_SEALED_BYTES: usize = 8 * 1024;

/// What a native peer tells the other, inside a [`Sealed`]: who it is and where to reach it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Hello {
    /// 1 = website, 2 = wallet.
    #[prost(uint32, tag = "1")]
    pub role: u32,
    /// The sender's libp2p peer ID, as bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub peer_id: Vec<u8>,
    /// Multiaddrs to dial it at: direct `/webrtc-direct` ones and relayed circuits.
    #[prost(string, repeated, tag = "3")]
    pub addrs: Vec<String>,
}

/// A versioned message. The nonce makes two identical events (the same candidate sent twice)
/// distinct messages, since the mesh identifies messages by their content.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(uint64, tag = "2")]
    pub nonce: u64,
    #[prost(oneof = "Body", tags = "3, 4, 5, 6, 7, 8")]
    pub body: Option<Body>,
}

/// A session record was written on a node; nodes sharing its store read it again.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionChanged {
    /// The session's tag (16 bytes of the SHA-256 of its id), never the id.
    #[prost(bytes = "vec", tag = "1")]
    pub tag: Vec<u8>,
}

/// What an envelope carries.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Body {
    #[prost(message, tag = "3")]
    Authenticated(Authenticated),
    #[prost(message, tag = "4")]
    Signal(Signal),
    #[prost(message, tag = "5")]
    Presence(Presence),
    #[prost(message, tag = "6")]
    Sealed(Sealed),
    #[prost(message, tag = "7")]
    SessionChanged(SessionChanged),
    #[prost(message, tag = "8")]
    Batch(Batch),
}

/// Envelopes of one shard sent as one message: under load a node gathers what its clients sent
/// meanwhile, so the mesh's costs per message (ids, caches, queues, frames) are paid per batch.
/// Each envelope is a whole encoded [`Envelope`], never itself a batch.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Batch {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub envelopes: Vec<Vec<u8>>,
}

/// Asks a peer for the envelopes it has seen recently (sent when a connection opens, so events
/// published while two nodes were apart still arrive).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SyncRequest {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    /// Asked by a native peer: only link events and sealed signaling. The signals a node keeps
    /// are for bridges; sent to a peer they were megabytes it had no use for.
    #[prost(bool, tag = "2")]
    pub pairing_only: bool,
}

/// The envelopes a node has seen recently, encoded, oldest first.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SyncResponse {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub envelopes: Vec<Vec<u8>>,
}

/// Why bytes from the mesh were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("message of {0} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(#[from] prost::DecodeError),
    #[error("protocol version {0} is not {PROTOCOL_VERSION}")]
    Version(u32),
    #[error("message has no body")]
    Empty,
    #[error("field out of range: {0}")]
    Invalid(&'static str),
}

/// Encodes a body in a current-version envelope.
pub fn encode(nonce: u64, body: Body) -> Vec<u8> {
    prost::Message::encode_to_vec(&Envelope {
        version: PROTOCOL_VERSION,
        nonce,
        body: Some(body),
    })
}

/// Decodes an envelope from the mesh.
pub fn decode(bytes: &[u8]) -> Result<Body, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let envelope: Envelope = prost::Message::decode(bytes)?;
    if envelope.version != PROTOCOL_VERSION {
        return Err(DecodeError::Version(envelope.version));
    }
    let body = envelope.body.ok_or(DecodeError::Empty)?;
    if let Body::Sealed(sealed) = &body
        && (sealed.tag.len() != 32
            || sealed.nonce.len() != 24
            || sealed.ciphertext.len() > MAX_SEALED_BYTES)
    {
        return Err(DecodeError::Invalid("sealed signal"));
    }
    if let Body::Batch(batch) = &body
        && batch.envelopes.is_empty()
    {
        return Err(DecodeError::Invalid("empty batch"));
    }
    if let Body::SessionChanged(changed) = &body
        && changed.tag.len() != 16
    {
        return Err(DecodeError::Invalid("session tag"));
    }
    if let Body::Signal(signal) = &body {
        if signal.room.is_none() {
            return Err(DecodeError::Invalid("signal without a room"));
        }
        if !matches!(
            SignalKind::try_from(signal.kind),
            Ok(kind) if kind != SignalKind::Unspecified
        ) {
            return Err(DecodeError::Invalid("signal kind"));
        }
    }
    Ok(body)
}

/// Encodes a sync request; `pairing_only` for a native peer (see [`SyncRequest`]).
pub fn encode_sync_request(pairing_only: bool) -> Vec<u8> {
    prost::Message::encode_to_vec(&SyncRequest {
        version: PROTOCOL_VERSION,
        pairing_only,
    })
}

/// Decodes a sync request (a few bytes; anything larger is refused) into its `pairing_only`.
pub fn decode_sync_request(bytes: &[u8]) -> Result<bool, DecodeError> {
    if bytes.len() > 64 {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let request: SyncRequest = prost::Message::decode(bytes)?;
    match request.version {
        PROTOCOL_VERSION => Ok(request.pairing_only),
        other => Err(DecodeError::Version(other)),
    }
}

/// Encodes a sync response; the caller keeps it under [`MAX_SYNC_BYTES`].
pub fn encode_sync_response(envelopes: Vec<Vec<u8>>) -> Vec<u8> {
    prost::Message::encode_to_vec(&SyncResponse {
        version: PROTOCOL_VERSION,
        envelopes,
    })
}

/// Decodes a sync response into its encoded envelopes (each still to be [`decode`]d).
pub fn decode_sync_response(bytes: &[u8]) -> Result<Vec<Vec<u8>>, DecodeError> {
    if bytes.len() > MAX_SYNC_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let response: SyncResponse = prost::Message::decode(bytes)?;
    match response.version {
        PROTOCOL_VERSION => Ok(response.envelopes),
        other => Err(DecodeError::Version(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Body {
        Body::Authenticated(Authenticated {
            request_id_json: "\"019097ff-bb8c-7514-a0c6-5209d2405a4a\"".into(),
            wallet: "2SPDE6XLJNXFTOO7OIGNRNKSEDOHJWVD3HBSEAPHONZQ4IQEYOGYTP6LXA".into(),
            cred_id: "AYMPi2Rb".into(),
        })
    }

    fn signal() -> Body {
        Body::Signal(Signal {
            room: Some(SignalRoom::RequestIdJson("0.605".into())),
            kind: SignalKind::OfferCandidate as i32,
            payload_json: r#"{"candidate":"candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host"}"#
                .into(),
        })
    }

    #[test]
    fn round_trips() {
        for body in [event(), signal()] {
            assert_eq!(decode(&encode(7, body.clone())).unwrap(), body);
        }
        assert_ne!(
            encode(1, signal()),
            encode(2, signal()),
            "the nonce tells repeats apart"
        );
        let sync = encode_sync_response(vec![encode(1, event()), encode(2, signal())]);
        let envelopes = decode_sync_response(&sync).unwrap();
        assert_eq!(decode(&envelopes[1]).unwrap(), signal());
        assert!(!decode_sync_request(&encode_sync_request(false)).unwrap());
        assert!(decode_sync_request(&encode_sync_request(true)).unwrap());
    }

    #[test]
    fn batches_carry_whole_envelopes_and_are_never_empty() {
        let inner = vec![encode(1, event()), encode(2, signal())];
        let batch = encode(
            3,
            Body::Batch(Batch {
                envelopes: inner.clone(),
            }),
        );
        let Body::Batch(back) = decode(&batch).unwrap() else {
            panic!("not a batch")
        };
        assert_eq!(back.envelopes, inner);
        assert_eq!(decode(&back.envelopes[1]).unwrap(), signal());
        let empty = encode(4, Body::Batch(Batch::default()));
        assert!(matches!(decode(&empty), Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn refuses_signals_without_room_or_kind() {
        let Body::Signal(mut no_room) = signal() else {
            unreachable!()
        };
        no_room.room = None;
        assert!(matches!(
            decode(&encode(1, Body::Signal(no_room))),
            Err(DecodeError::Invalid(_))
        ));
        let Body::Signal(mut bad_kind) = signal() else {
            unreachable!()
        };
        bad_kind.kind = 99;
        assert!(matches!(
            decode(&encode(1, Body::Signal(bad_kind))),
            Err(DecodeError::Invalid(_))
        ));
    }

    #[test]
    fn refuses_other_versions_garbage_and_oversized_input() {
        let future = prost::Message::encode_to_vec(&Envelope {
            version: 2,
            nonce: 1,
            body: Some(event()),
        });
        assert!(matches!(decode(&future), Err(DecodeError::Version(2))));
        assert!(matches!(
            decode(&[0xff, 0xff, 0xff]),
            Err(DecodeError::Malformed(_))
        ));
        let empty = prost::Message::encode_to_vec(&Envelope {
            version: PROTOCOL_VERSION,
            nonce: 1,
            body: None,
        });
        assert!(matches!(decode(&empty), Err(DecodeError::Empty)));
        let huge = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(decode(&huge), Err(DecodeError::TooLarge(_))));
    }

    use proptest::prelude::*;

    fn any_body() -> impl Strategy<Value = Body> {
        let text = || "\\PC{0,80}";
        prop_oneof![
            (text(), text(), text()).prop_map(|(r, w, c)| Body::Authenticated(Authenticated {
                request_id_json: r,
                wallet: w,
                cred_id: c,
            })),
            (text(), any::<bool>(), 1..5i32, text()).prop_map(|(room, by_wallet, kind, p)| {
                Body::Signal(Signal {
                    room: Some(if by_wallet {
                        SignalRoom::Wallet(room)
                    } else {
                        SignalRoom::RequestIdJson(room)
                    }),
                    kind,
                    payload_json: p,
                })
            }),
            (text(), any::<u32>()).prop_map(|(r, devices)| Body::Presence(Presence {
                request_id_json: r,
                devices,
            })),
            (
                proptest::collection::vec(any::<u8>(), 32),
                proptest::collection::vec(any::<u8>(), 24),
                proptest::collection::vec(any::<u8>(), 0..256),
            )
                .prop_map(|(tag, nonce, ciphertext)| Body::Sealed(Sealed {
                    tag,
                    nonce,
                    ciphertext,
                })),
            proptest::collection::vec(any::<u8>(), 16)
                .prop_map(|tag| Body::SessionChanged(SessionChanged { tag })),
        ]
    }

    proptest! {
        #[test]
        fn every_body_round_trips(nonce in any::<u64>(), body in any_body()) {
            prop_assert_eq!(decode(&encode(nonce, body.clone())).unwrap(), body);
        }

        #[test]
        fn sync_responses_round_trip(bodies in proptest::collection::vec(any_body(), 0..8)) {
            let envelopes: Vec<_> = bodies.iter().cloned().enumerate()
                .map(|(n, b)| encode(n as u64, b)).collect();
            prop_assert_eq!(decode_sync_response(&encode_sync_response(envelopes.clone())).unwrap(), envelopes);
        }

        #[test]
        fn arbitrary_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
            let _ = decode_sync_request(&bytes);
            let _ = decode_sync_response(&bytes);
        }
    }
}

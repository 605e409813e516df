//! Wire messages exchanged between liquid-mesh nodes, as protobuf (prost derives; no protoc).
//! Every message travels in an [`Envelope`] that carries the protocol version; [`decode`] refuses
//! oversized input before parsing and unknown versions after, so a hostile peer costs little.

/// The version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest encoded envelope accepted; signaling payloads (SDP, ICE candidates) fit many times over.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

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

/// A versioned message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(oneof = "Body", tags = "2")]
    pub body: Option<Body>,
}

/// What an envelope carries.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Body {
    #[prost(message, tag = "2")]
    Authenticated(Authenticated),
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
}

/// Encodes a body in a current-version envelope.
pub fn encode(body: Body) -> Vec<u8> {
    prost::Message::encode_to_vec(&Envelope {
        version: PROTOCOL_VERSION,
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
    envelope.body.ok_or(DecodeError::Empty)
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

    #[test]
    fn round_trips() {
        assert_eq!(decode(&encode(event())).unwrap(), event());
    }

    #[test]
    fn refuses_other_versions_garbage_and_oversized_input() {
        let future = prost::Message::encode_to_vec(&Envelope {
            version: 2,
            body: Some(event()),
        });
        assert!(matches!(decode(&future), Err(DecodeError::Version(2))));
        assert!(matches!(
            decode(&[0xff, 0xff, 0xff]),
            Err(DecodeError::Malformed(_))
        ));
        let empty = prost::Message::encode_to_vec(&Envelope {
            version: PROTOCOL_VERSION,
            body: None,
        });
        assert!(matches!(decode(&empty), Err(DecodeError::Empty)));
        let huge = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(decode(&huge), Err(DecodeError::TooLarge(_))));
    }
}

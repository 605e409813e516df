//! End-to-end protection of native signaling. From the pairing's secret (carried in the QR code
//! beside the request ID) both peers derive a tag that names the pairing on the mesh and a key
//! that seals their hellos with XChaCha20-Poly1305: relaying nodes see neither peer IDs nor
//! addresses, and cannot alter, substitute or carry over a hello from another pairing unnoticed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use libp2p::PeerId;
use liquid_mesh_proto::{Hello, Sealed};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{PeerError, Role};
use crate::request_id::RequestId;

/// What a website shows in its QR code for a native wallet: the request ID and a fresh secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Invitation {
    pub request_id: RequestId,
    pub secret: [u8; 32],
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl Invitation {
    /// A new pairing: a UUID request ID and 32 random bytes.
    pub fn new() -> Self {
        let id = RequestId::try_from(json!(uuid::Uuid::new_v4().to_string()))
            .expect("a UUID is a request ID");
        Self {
            request_id: id,
            secret: rand::random(),
        }
    }

    /// The QR payload: `{"requestId": …, "secret": <base64url>}`.
    pub fn to_json(&self) -> Value {
        json!({
            "requestId": self.request_id.as_json(),
            "secret": data_encoding::BASE64URL_NOPAD.encode(&self.secret),
        })
    }

    /// The 32 bytes that name this pairing on the mesh (visible to nodes; reveals nothing else).
    pub fn tag(&self) -> [u8; 32] {
        PairingKeys::derive(self).tag
    }

    /// Seals a hello for this pairing, as a native peer publishes it.
    pub fn seal_hello(&self, hello: &Hello) -> Sealed {
        PairingKeys::derive(self).seal_hello(hello)
    }

    pub fn from_json(value: &Value) -> Result<Self, PeerError> {
        let request_id = RequestId::try_from(value["requestId"].clone())
            .map_err(|err| PeerError::Invitation(err.to_string()))?;
        let secret = value["secret"]
            .as_str()
            .and_then(|s| data_encoding::BASE64URL_NOPAD.decode(s.as_bytes()).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| PeerError::Invitation("secret must be 32 bytes of base64url".into()))?;
        Ok(Self { request_id, secret })
    }
}

impl Default for Invitation {
    fn default() -> Self {
        Self::new()
    }
}

/// The tag and key of one pairing.
pub(crate) struct PairingKeys {
    pub(crate) tag: [u8; 32],
    cipher: XChaCha20Poly1305,
}

fn derive(label: &str, invitation: &Invitation) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(label.as_bytes());
    hash.update([0]);
    hash.update(invitation.secret);
    hash.update(invitation.request_id.key().as_bytes());
    hash.finalize().into()
}

impl PairingKeys {
    pub(crate) fn derive(invitation: &Invitation) -> Self {
        let key = derive("liquid-mesh/pairing-key/1", invitation);
        Self {
            tag: derive("liquid-mesh/pairing-tag/1", invitation),
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> ([u8; 24], Vec<u8>) {
        let nonce: [u8; 24] = rand::random();
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("XChaCha20-Poly1305 seals any length we send");
        (nonce, ciphertext)
    }

    fn open(&self, nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, PeerError> {
        if nonce.len() != 24 {
            return Err(PeerError::Tampered("nonce length".into()));
        }
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| PeerError::Tampered("signaling failed authentication".into()))
    }

    pub(crate) fn seal_hello(&self, hello: &Hello) -> Sealed {
        let plaintext = prost::Message::encode_to_vec(hello);
        let (nonce, ciphertext) = self.seal(&plaintext, &self.tag);
        Sealed {
            tag: self.tag.to_vec(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    pub(crate) fn open_hello(&self, sealed: &Sealed) -> Result<Hello, PeerError> {
        let plaintext = self.open(&sealed.nonce, &sealed.ciphertext, &self.tag)?;
        prost::Message::decode(plaintext.as_slice())
            .map_err(|_| PeerError::Tampered("hello does not decode".into()))
    }

    /// Proof, sent first on the direct channel, that the sender knows the pairing key and means
    /// this connection (its role, itself, the receiver).
    pub(crate) fn confirmation(&self, sender: Role, from: &PeerId, to: &PeerId) -> Vec<u8> {
        let (nonce, tag) = self.seal(&[], &confirmation_aad(sender, from, to));
        [nonce.as_slice(), tag.as_slice()].concat()
    }

    pub(crate) fn check_confirmation(
        &self,
        bytes: &[u8],
        sender: Role,
        from: &PeerId,
        to: &PeerId,
    ) -> Result<(), PeerError> {
        if bytes.len() < 24 {
            return Err(PeerError::Tampered("short confirmation".into()));
        }
        let (nonce, tag) = bytes.split_at(24);
        self.open(nonce, tag, &confirmation_aad(sender, from, to))
            .map(|_| ())
    }
}

fn confirmation_aad(sender: Role, from: &PeerId, to: &PeerId) -> Vec<u8> {
    let mut aad = b"liquid-mesh/confirm/1".to_vec();
    aad.push(sender as u8);
    aad.extend(from.to_bytes());
    aad.extend(to.to_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Hello {
        Hello {
            role: Role::Wallet as u32,
            peer_id: PeerId::random().to_bytes(),
            addrs: vec!["/ip4/127.0.0.1/udp/1/webrtc-direct".into()],
        }
    }

    #[test]
    fn seals_for_the_pairing_only() {
        let invitation = Invitation::new();
        let keys = PairingKeys::derive(&invitation);
        let sealed = keys.seal_hello(&hello());
        assert_eq!(keys.open_hello(&sealed).unwrap().addrs, hello().addrs);

        let other = PairingKeys::derive(&Invitation::new());
        assert!(matches!(
            other.open_hello(&sealed),
            Err(PeerError::Tampered(_))
        ));
        let mut flipped = sealed.clone();
        flipped.ciphertext[3] ^= 1;
        assert!(matches!(
            keys.open_hello(&flipped),
            Err(PeerError::Tampered(_))
        ));

        let back = Invitation::from_json(&invitation.to_json()).unwrap();
        assert_eq!(PairingKeys::derive(&back).tag, keys.tag);
    }

    #[test]
    fn a_confirmation_is_bound_to_its_direction() {
        let keys = PairingKeys::derive(&Invitation::new());
        let (a, b) = (PeerId::random(), PeerId::random());
        let proof = keys.confirmation(Role::Website, &a, &b);
        keys.check_confirmation(&proof, Role::Website, &a, &b)
            .unwrap();
        assert!(
            keys.check_confirmation(&proof, Role::Wallet, &a, &b)
                .is_err()
        );
        assert!(
            keys.check_confirmation(&proof, Role::Website, &b, &a)
                .is_err()
        );
    }

    proptest::proptest! {
        #[test]
        fn hellos_open_for_their_pairing_and_any_flipped_bit_is_refused(
            role in 0u32..3,
            addrs in proptest::collection::vec("\\PC{1,60}", 0..4),
            flip in proptest::num::usize::ANY,
            bit in 0u8..8,
        ) {
            let keys = PairingKeys::derive(&Invitation::new());
            let hello = Hello { role, peer_id: PeerId::random().to_bytes(), addrs };
            let sealed = keys.seal_hello(&hello);
            proptest::prop_assert_eq!(keys.open_hello(&sealed).unwrap(), hello);
            let mut flipped = sealed.clone();
            let at = flip % (flipped.nonce.len() + flipped.ciphertext.len());
            if at < flipped.nonce.len() {
                flipped.nonce[at] ^= 1 << bit;
            } else {
                flipped.ciphertext[at - flipped.nonce.len()] ^= 1 << bit;
            }
            proptest::prop_assert!(keys.open_hello(&flipped).is_err());
        }
    }
}

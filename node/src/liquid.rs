//! The `liquid` WebAuthn client-extension result: the wallet's proof that the Algorand account
//! it names signed this ceremony's challenge, and the request ID that links it to a website.

use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::Value;

use crate::algod::Algod;
use crate::algorand::{AddressError, decode_address};
use crate::request_id::{RequestId, RequestIdError};

/// Why a `liquid` extension result was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiquidError {
    #[error("liquid extension must be an object")]
    NotAnObject,
    #[error("liquid extension field `{0}` is missing or not a string")]
    MissingField(&'static str),
    #[error("liquid type `{0}` is not supported (only `algorand`)")]
    UnsupportedType(String),
    #[error("liquid address: {0}")]
    Address(#[from] AddressError),
    #[error("liquid signature is not base64 of 64 bytes")]
    SignatureEncoding,
    #[error("liquid signature does not verify for the address or its auth-addr")]
    BadSignature,
    #[error("liquid requestId: {0}")]
    RequestId(#[from] RequestIdError),
}

/// The registration-time extension: `{type, address, signature, requestId?, device?}`.
#[derive(Debug, Clone)]
pub struct LiquidRegistration {
    pub address: String,
    signature: [u8; 64],
    pub request_id: Option<RequestId>,
    pub device: Option<String>,
}

impl LiquidRegistration {
    /// Parses the extension object; the checks that need no key material happen here so that a
    /// malformed body is refused before its challenge is spent.
    pub fn parse(value: &Value) -> Result<Self, LiquidError> {
        let obj = value.as_object().ok_or(LiquidError::NotAnObject)?;
        let text = |name: &'static str| {
            obj.get(name)
                .and_then(Value::as_str)
                .ok_or(LiquidError::MissingField(name))
        };
        let kind = text("type")?;
        if kind != "algorand" {
            return Err(LiquidError::UnsupportedType(
                kind.chars().take(64).collect(),
            ));
        }
        let address = text("address")?;
        decode_address(address)?;
        let signature = decode_signature(text("signature")?)?;
        Ok(Self {
            address: address.to_owned(),
            signature,
            request_id: RequestId::from_extension(obj.get("requestId"))?,
            device: obj
                .get("device")
                .and_then(Value::as_str)
                .map(|d| d.chars().take(128).collect()),
        })
    }

    /// Checks the Ed25519 signature over the raw challenge bytes, falling back to the account's
    /// `auth-addr` on algod for rekeyed accounts.
    pub async fn verify(&self, challenge: &[u8], algod: Option<&Algod>) -> Result<(), LiquidError> {
        if verify_with_address(&self.address, challenge, &self.signature) {
            return Ok(());
        }
        let Some(algod) = algod else {
            return Err(LiquidError::BadSignature);
        };
        match algod.auth_addr(&self.address).await {
            Ok(Some(auth_addr)) if verify_with_address(&auth_addr, challenge, &self.signature) => {
                Ok(())
            }
            Ok(_) => Err(LiquidError::BadSignature),
            Err(err) => {
                tracing::warn!(%err, "algod lookup for a rekeyed account failed");
                Err(LiquidError::BadSignature)
            }
        }
    }
}

/// The assertion-time extension: only `requestId` is read; wallets may send more.
pub fn assertion_request_id(extension: Option<&Value>) -> Result<Option<RequestId>, LiquidError> {
    match extension {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(obj)) => Ok(RequestId::from_extension(obj.get("requestId"))?),
        Some(_) => Err(LiquidError::NotAnObject),
    }
}

fn verify_with_address(address: &str, message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(public_key) = decode_address(address) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&public_key) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

/// Wallets disagree on the base64 flavour, so accept both alphabets with or without padding.
fn decode_signature(text: &str) -> Result<[u8; 64], LiquidError> {
    let bytes = [BASE64URL_NOPAD, BASE64URL, BASE64_NOPAD, BASE64]
        .iter()
        .find_map(|encoding| encoding.decode(text.as_bytes()).ok())
        .ok_or(LiquidError::SignatureEncoding)?;
    bytes.try_into().map_err(|_| LiquidError::SignatureEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorand::encode_address;
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    fn signed(challenge: &[u8]) -> (SigningKey, Value) {
        let key = SigningKey::from_bytes(&[42; 32]);
        let address = encode_address(key.verifying_key().as_bytes());
        let signature = BASE64URL_NOPAD.encode(&key.sign(challenge).to_bytes());
        let ext = json!({"type": "algorand", "address": address, "signature": signature,
                         "requestId": 7, "device": "Test"});
        (key, ext)
    }

    #[tokio::test]
    async fn accepts_a_signature_over_the_raw_challenge_only() {
        let (_, ext) = signed(b"challenge-bytes");
        let parsed = LiquidRegistration::parse(&ext).unwrap();
        parsed.verify(b"challenge-bytes", None).await.unwrap();
        assert!(matches!(
            parsed.verify(b"other-bytes", None).await,
            Err(LiquidError::BadSignature)
        ));
    }

    #[test]
    fn refuses_malformed_extensions() {
        let (_, ext) = signed(b"c");
        let mut wrong_type = ext.clone();
        wrong_type["type"] = json!("solana");
        assert!(matches!(
            LiquidRegistration::parse(&wrong_type),
            Err(LiquidError::UnsupportedType(_))
        ));
        let mut short_sig = ext.clone();
        short_sig["signature"] = json!("AAAA");
        assert!(matches!(
            LiquidRegistration::parse(&short_sig),
            Err(LiquidError::SignatureEncoding)
        ));
        let mut no_address = ext.clone();
        no_address.as_object_mut().unwrap().remove("address");
        assert!(matches!(
            LiquidRegistration::parse(&no_address),
            Err(LiquidError::MissingField("address"))
        ));
        assert!(LiquidRegistration::parse(&json!([1, 2])).is_err());
    }
}

//! What the node reads from an attestation object itself: the credential public key exactly as
//! the authenticator encoded it (COSE_Key CBOR), so the user document can show it as the original
//! does, and the checks webauthn-rs leaves out.

use serde::Deserialize;
use serde_cbor_2::Value;

const RP_ID_HASH_LEN: usize = 32;
const FLAGS_AND_COUNTER_LEN: usize = 5;
const AAGUID_LEN: usize = 16;
const FLAG_ATTESTED_CREDENTIAL_DATA: u8 = 0x40;

#[derive(Deserialize)]
struct AttestationObject {
    #[serde(rename = "authData")]
    auth_data: serde_cbor_2::value::Value,
}

#[derive(Deserialize)]
struct Statement {
    fmt: String,
    #[serde(rename = "attStmt")]
    att_stmt: Value,
}

/// WebAuthn §8.7: a `none` attestation carries an empty statement. webauthn-rs ignores what a
/// `none` statement holds; SimpleWebAuthn, which the original ran, refuses it, and so do we.
pub fn check_statement(attestation_object: &[u8]) -> Result<(), &'static str> {
    let statement: Statement = serde_cbor_2::from_slice(attestation_object)
        .map_err(|_| "attestation object is not a CBOR map with fmt and attStmt")?;
    match (statement.fmt.as_str(), &statement.att_stmt) {
        ("none", Value::Map(map)) if !map.is_empty() => {
            Err("attestation format none carries a statement")
        }
        (_, Value::Map(_)) => Ok(()),
        _ => Err("attStmt is not a map"),
    }
}

/// Returns the COSE_Key bytes of an attestation object, or `None` when it has no attested
/// credential data (webauthn-rs refuses such objects before this is called).
pub fn credential_public_key(attestation_object: &[u8]) -> Option<Vec<u8>> {
    let object: AttestationObject = serde_cbor_2::from_slice(attestation_object).ok()?;
    let Value::Bytes(auth_data) = object.auth_data else {
        return None;
    };
    let flags = *auth_data.get(RP_ID_HASH_LEN)?;
    if flags & FLAG_ATTESTED_CREDENTIAL_DATA == 0 {
        return None;
    }
    let id_len_at = RP_ID_HASH_LEN + FLAGS_AND_COUNTER_LEN + AAGUID_LEN;
    let id_len = u16::from_be_bytes([*auth_data.get(id_len_at)?, *auth_data.get(id_len_at + 1)?]);
    let key_at = id_len_at + 2 + usize::from(id_len);
    let rest = auth_data.get(key_at..)?;
    // Extensions may follow the key, so read exactly one CBOR item to find where it ends.
    let mut reader = serde_cbor_2::Deserializer::from_slice(rest);
    Value::deserialize(&mut reader).ok()?;
    Some(rest[..reader.byte_offset()].to_vec())
}

//! Assertion verification (WebAuthn L2 §7.2) for ES256 passkeys, with ring for the signature.
//! webauthn-rs 0.6 verifies P-256 with RustCrypto's `p256`, about four times slower than ring
//! here and nearly all of an assertion's cost. The checks are webauthn-rs's for a passkey
//! ceremony, in its order; `tests/tests/assertion_parity.rs` holds the two to the same verdicts.

use ring::digest::{SHA256, digest};
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use url::Url;
use webauthn_rs::prelude::{
    AuthenticationResult, COSEAlgorithm, COSEKeyType, Credential, ECDSACurve, Passkey,
    PublicKeyCredential,
};
use webauthn_rs_proto::CollectedClientData;
use webauthn_rs_proto::origin::origins_match;

const RP_ID_HASH_LEN: usize = 32;
const FIXED_LEN: usize = RP_ID_HASH_LEN + 1 + 4;
const FLAG_USER_PRESENT: u8 = 0x01;
const FLAG_USER_VERIFIED: u8 = 0x04;
const FLAG_BACKUP_ELIGIBLE: u8 = 0x08;
const FLAG_BACKUP_STATE: u8 = 0x10;
const FLAG_ATTESTED_CREDENTIAL_DATA: u8 = 0x40;

/// Why an assertion was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionError {
    #[error("the assertion is for another credential")]
    CredentialNotFound,
    #[error("authenticator data is malformed: {0}")]
    AuthenticatorData(&'static str),
    #[error("client data is not JSON of the WebAuthn shape")]
    ClientData,
    #[error("client data type is not webauthn.get")]
    ClientDataType,
    #[error("the challenge does not match")]
    Challenge,
    #[error("the origin is not allowed")]
    Origin,
    #[error("the RP ID hash does not match")]
    RpIdHash,
    #[error("the user was not present")]
    UserNotPresent,
    #[error("the user was not verified")]
    UserNotVerified,
    #[error("the credential's backup eligibility changed")]
    BackupEligibility,
    #[error("the credential says it is backed up but was not backup eligible")]
    BackupStateWithoutEligibility,
    #[error("the signature does not verify")]
    Signature,
    #[error("the signature counter did not increase")]
    Counter,
    #[error("{0}")]
    Webauthn(String),
}

/// What a verified assertion says about its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub counter: u32,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

impl From<&AuthenticationResult> for Verified {
    fn from(result: &AuthenticationResult) -> Self {
        Self {
            counter: result.counter(),
            user_verified: result.user_verified(),
            backup_eligible: result.backup_eligible(),
            backup_state: result.backup_state(),
        }
    }
}

impl Verified {
    /// The passkey as it is to be stored after this assertion, as webauthn-rs's
    /// `Passkey::update_credential` moves it on.
    pub fn update(&self, passkey: Passkey) -> Passkey {
        let mut credential = Credential::from(passkey);
        credential.counter = credential.counter.max(self.counter);
        credential.backup_state = self.backup_state;
        credential.backup_eligible |= self.backup_eligible;
        Passkey::from(credential)
    }
}

/// The uncompressed SEC1 point of an ES256 passkey, or `None` for any other key.
pub fn es256_point(passkey: &Passkey) -> Option<Vec<u8>> {
    let key = passkey.get_public_key();
    match &key.key {
        COSEKeyType::EC_EC2(ec)
            if key.type_ == COSEAlgorithm::ES256
                && ec.curve == ECDSACurve::SECP256R1
                && ec.x.len() == 32
                && ec.y.len() == 32 =>
        {
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&ec.x);
            point.extend_from_slice(&ec.y);
            Some(point)
        }
        _ => None,
    }
}

/// What the relying party expects of an assertion.
pub struct Expected<'a> {
    pub rp_id_hash: &'a [u8; 32],
    pub origins: &'a [Url],
    pub challenge: &'a [u8],
}

/// Verifies `response` for `passkey`, whose ES256 point is `point`, with user verification
/// required (the only policy the node asks for).
pub fn verify(
    expected: &Expected<'_>,
    response: &PublicKeyCredential,
    passkey: &Passkey,
    point: &[u8],
) -> Result<Verified, AssertionError> {
    if response.raw_id.as_slice() != passkey.cred_id().as_slice() {
        return Err(AssertionError::CredentialNotFound);
    }
    let raw = &response.response;
    let auth_data = raw.authenticator_data.as_slice();
    let flags = parse_flags(auth_data)?;
    let client: CollectedClientData = serde_json::from_slice(raw.client_data_json.as_slice())
        .map_err(|_| AssertionError::ClientData)?;
    if client.type_ != "webauthn.get" {
        return Err(AssertionError::ClientDataType);
    }
    if client.challenge != expected.challenge {
        return Err(AssertionError::Challenge);
    }
    if !expected
        .origins
        .iter()
        .any(|allowed| origins_match(false, false, &client.origin, allowed))
    {
        return Err(AssertionError::Origin);
    }
    if auth_data[..RP_ID_HASH_LEN] != expected.rp_id_hash[..] {
        return Err(AssertionError::RpIdHash);
    }
    if flags & FLAG_USER_PRESENT == 0 {
        return Err(AssertionError::UserNotPresent);
    }
    if flags & FLAG_USER_VERIFIED == 0 {
        return Err(AssertionError::UserNotVerified);
    }
    let stored = Credential::from(passkey.clone());
    let backup_eligible = flags & FLAG_BACKUP_ELIGIBLE != 0;
    let backup_state = flags & FLAG_BACKUP_STATE != 0;
    // A credential may become backup eligible (webauthn-rs allows that upgrade for passkeys);
    // one that loses eligibility may have been tampered with.
    if stored.backup_eligible != backup_eligible && stored.backup_eligible {
        return Err(AssertionError::BackupEligibility);
    }
    if backup_state && !stored.backup_eligible {
        return Err(AssertionError::BackupStateWithoutEligibility);
    }

    let client_data_hash = digest(&SHA256, raw.client_data_json.as_slice());
    let mut signed = Vec::with_capacity(auth_data.len() + client_data_hash.as_ref().len());
    signed.extend_from_slice(auth_data);
    signed.extend_from_slice(client_data_hash.as_ref());
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
        .verify(&signed, raw.signature.as_slice())
        .map_err(|_| AssertionError::Signature)?;

    let counter = u32::from_be_bytes(
        auth_data[RP_ID_HASH_LEN + 1..FIXED_LEN]
            .try_into()
            .expect("four bytes"),
    );
    if (counter > 0 || stored.counter > 0) && counter <= stored.counter {
        return Err(AssertionError::Counter);
    }
    Ok(Verified {
        counter,
        user_verified: true,
        backup_eligible,
        backup_state,
    })
}

/// The flags byte of authenticator data at least as long as its fixed part. Attested credential
/// data belongs to registrations: an assertion that claims some is refused. Extensions after
/// the fixed part are covered by the signature and read by nobody, so they are not parsed.
fn parse_flags(auth_data: &[u8]) -> Result<u8, AssertionError> {
    if auth_data.len() < FIXED_LEN {
        return Err(AssertionError::AuthenticatorData("shorter than 37 bytes"));
    }
    let flags = auth_data[RP_ID_HASH_LEN];
    if flags & FLAG_ATTESTED_CREDENTIAL_DATA != 0 {
        return Err(AssertionError::AuthenticatorData(
            "an assertion carries attested credential data",
        ));
    }
    Ok(flags)
}

/// SHA-256 of an RP ID, as authenticator data carries it.
pub fn rp_id_hash(rp_id: &str) -> [u8; 32] {
    digest(&SHA256, rp_id.as_bytes())
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

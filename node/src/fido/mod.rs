//! The WebAuthn relying party: ceremony options and verification on webauthn-rs, with one verifier
//! per expected origin (the web `ORIGIN`, and each Android app's apk-key-hash origin beside it).
//! ES256 assertions, the hot path, are verified in [`assertion`] with ring.

pub mod assertion;

use std::collections::HashMap;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use url::Url;
use webauthn_rs::prelude::{
    AuthenticationResult, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use self::assertion::{AssertionError, Expected, Verified};
use crate::assetlinks::{AssetLinks, ExpectedOrigin};

/// Why the relying party could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelyingPartyError {
    #[error(
        "ORIGIN `{origin}` is not on RP ID `{rp_id}` (its host must be the RP ID or a subdomain of it)"
    )]
    OriginNotOnRpId { origin: String, rp_id: String },
    #[error("Android origin `{0}` is not a valid URL")]
    AndroidOrigin(String),
    #[error("webauthn configuration: {0}")]
    Webauthn(WebauthnError),
}

/// A ceremony's challenge (base64url, as the client sees it) and its server-side state.
pub struct Started<S> {
    pub challenge: String,
    pub state: S,
}

/// Registration and authentication for one RP ID.
pub struct RelyingParty {
    rp_id: String,
    rp_id_hash: [u8; 32],
    rp_name: String,
    timeout: Duration,
    web: Verifier,
    android: HashMap<String, Verifier>,
}

/// webauthn-rs for one set of allowed origins, and those origins for the ES256 fast path.
struct Verifier {
    webauthn: Webauthn,
    origins: Vec<Url>,
}

impl RelyingParty {
    /// Builds the verifiers. `timeout` is both what the options advertise and how long a
    /// challenge stays valid.
    pub fn new(
        rp_id: &str,
        rp_name: &str,
        origin: &Url,
        links: &AssetLinks,
        timeout: Duration,
    ) -> Result<Self, RelyingPartyError> {
        let builder = || {
            WebauthnBuilder::new(rp_id, origin)
                .map_err(|_| RelyingPartyError::OriginNotOnRpId {
                    origin: origin.to_string(),
                    rp_id: rp_id.to_owned(),
                })
                .map(|b| b.rp_name(rp_name).timeout(timeout))
        };
        let web = Verifier {
            webauthn: builder()?.build().map_err(RelyingPartyError::Webauthn)?,
            origins: vec![origin.clone()],
        };
        let mut android = HashMap::new();
        for app in links.apps() {
            let app_origin = Url::parse(&app.origin())
                .map_err(|_| RelyingPartyError::AndroidOrigin(app.origin()))?;
            let webauthn = builder()?
                .append_allowed_origin(&app_origin)
                .build()
                .map_err(RelyingPartyError::Webauthn)?;
            let origins = vec![origin.clone(), app_origin];
            android.insert(app.package_name.clone(), Verifier { webauthn, origins });
        }
        Ok(Self {
            rp_id: rp_id.to_owned(),
            rp_id_hash: assertion::rp_id_hash(rp_id),
            rp_name: rp_name.to_owned(),
            timeout,
            web,
            android,
        })
    }

    /// The RP ID (`HOSTNAME`).
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// The RP name (`RP_NAME`).
    pub fn rp_name(&self) -> &str {
        &self.rp_name
    }

    /// How long a ceremony may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn verifier(&self, origin: &ExpectedOrigin) -> &Verifier {
        match origin {
            ExpectedOrigin::Web => &self.web,
            ExpectedOrigin::Android(package) => self.android.get(package).unwrap_or(&self.web),
        }
    }

    /// Starts a registration. The user handle webauthn-rs wants is never sent: the Liquid options
    /// carry the wallet address as `user.id` instead, so a fresh UUID stands in.
    pub fn start_registration(&self) -> Result<Started<PasskeyRegistration>, WebauthnError> {
        let (ccr, state) = self.web.webauthn.start_passkey_registration(
            Uuid::new_v4(),
            "liquid",
            "liquid",
            None,
        )?;
        Ok(Started {
            challenge: BASE64URL_NOPAD.encode(&ccr.public_key.challenge),
            state,
        })
    }

    /// Verifies a registration against its state and the origin the User-Agent calls for.
    pub fn finish_registration(
        &self,
        origin: &ExpectedOrigin,
        credential: &RegisterPublicKeyCredential,
        state: &PasskeyRegistration,
    ) -> Result<Passkey, WebauthnError> {
        self.verifier(origin)
            .webauthn
            .finish_passkey_registration(credential, state)
    }

    /// Starts an authentication for exactly one stored credential.
    pub fn start_authentication(
        &self,
        passkey: &Passkey,
    ) -> Result<Started<PasskeyAuthentication>, WebauthnError> {
        let (rcr, state) = self
            .web
            .webauthn
            .start_passkey_authentication(std::slice::from_ref(passkey))?;
        Ok(Started {
            challenge: BASE64URL_NOPAD.encode(&rcr.public_key.challenge),
            state,
        })
    }

    /// Verifies an assertion for `passkey` against the ceremony that issued `challenge`
    /// (base64url, as [`Started::challenge`]) with `state`, and refuses a counter that did not
    /// grow. ES256 passkeys take the ring path in [`assertion`]; any other key, webauthn-rs's.
    pub fn finish_authentication(
        &self,
        origin: &ExpectedOrigin,
        credential: &PublicKeyCredential,
        challenge: &str,
        passkey: &Passkey,
        state: &PasskeyAuthentication,
    ) -> Result<Verified, AssertionError> {
        let Some(point) = assertion::es256_point(passkey) else {
            return self
                .finish_authentication_with_webauthn_rs(origin, credential, state)
                .map(|result| Verified::from(&result))
                .map_err(|err| AssertionError::Webauthn(err.to_string()));
        };
        let challenge = BASE64URL_NOPAD
            .decode(challenge.as_bytes())
            .map_err(|_| AssertionError::Challenge)?;
        let expected = Expected {
            rp_id_hash: &self.rp_id_hash,
            origins: &self.verifier(origin).origins,
            challenge: &challenge,
        };
        assertion::verify(&expected, credential, passkey, &point)
    }

    /// webauthn-rs's own verification of an assertion: the path for keys other than ES256, and
    /// the reference the parity test holds the ring path to.
    pub fn finish_authentication_with_webauthn_rs(
        &self,
        origin: &ExpectedOrigin,
        credential: &PublicKeyCredential,
        state: &PasskeyAuthentication,
    ) -> Result<AuthenticationResult, WebauthnError> {
        self.verifier(origin)
            .webauthn
            .finish_passkey_authentication(credential, state)
    }
}

//! The WebAuthn relying party: ceremony options and verification on webauthn-rs, with one verifier
//! per expected origin (the web `ORIGIN`, and each Android app's apk-key-hash origin beside it).

use std::collections::HashMap;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use url::Url;
use webauthn_rs::prelude::{
    AuthenticationResult, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

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
    rp_name: String,
    timeout: Duration,
    web: Webauthn,
    android: HashMap<String, Webauthn>,
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
        let web = builder()?.build().map_err(RelyingPartyError::Webauthn)?;
        let mut android = HashMap::new();
        for app in links.apps() {
            let app_origin = Url::parse(&app.origin())
                .map_err(|_| RelyingPartyError::AndroidOrigin(app.origin()))?;
            let verifier = builder()?
                .append_allowed_origin(&app_origin)
                .build()
                .map_err(RelyingPartyError::Webauthn)?;
            android.insert(app.package_name.clone(), verifier);
        }
        Ok(Self {
            rp_id: rp_id.to_owned(),
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

    fn verifier(&self, origin: &ExpectedOrigin) -> &Webauthn {
        match origin {
            ExpectedOrigin::Web => &self.web,
            ExpectedOrigin::Android(package) => self.android.get(package).unwrap_or(&self.web),
        }
    }

    /// Starts a registration. The user handle webauthn-rs wants is never sent: the Liquid options
    /// carry the wallet address as `user.id` instead, so a fresh UUID stands in.
    pub fn start_registration(&self) -> Result<Started<PasskeyRegistration>, WebauthnError> {
        let (ccr, state) =
            self.web
                .start_passkey_registration(Uuid::new_v4(), "liquid", "liquid", None)?;
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
            .finish_passkey_registration(credential, state)
    }

    /// Starts an authentication for exactly one stored credential.
    pub fn start_authentication(
        &self,
        passkey: &Passkey,
    ) -> Result<Started<PasskeyAuthentication>, WebauthnError> {
        let (rcr, state) = self
            .web
            .start_passkey_authentication(std::slice::from_ref(passkey))?;
        Ok(Started {
            challenge: BASE64URL_NOPAD.encode(&rcr.public_key.challenge),
            state,
        })
    }

    /// Verifies an assertion; webauthn-rs rejects a counter that did not grow.
    pub fn finish_authentication(
        &self,
        origin: &ExpectedOrigin,
        credential: &PublicKeyCredential,
        state: &PasskeyAuthentication,
    ) -> Result<AuthenticationResult, WebauthnError> {
        self.verifier(origin)
            .finish_passkey_authentication(credential, state)
    }
}

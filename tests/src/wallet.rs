//! A wallet as the Android app or liquid-client behaves: an Algorand Ed25519 key, a passkey in
//! passkey-rs's software authenticator, and an HTTP client with a cookie jar and a User-Agent.

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{Signer, SigningKey};
use liquid_mesh::algorand::encode_address;
use passkey_authenticator::{Authenticator, MemoryStore, UiHint, UserCheck, UserValidationMethod};
use passkey_client::{Client, DefaultClientDataWithExtra};
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::{Passkey, webauthn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

/// A user who approves every prompt and is always verified (a platform authenticator with
/// biometrics).
pub struct AlwaysVerified;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysVerified {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

type SoftClient = Client<
    MemoryStore,
    AlwaysVerified,
    passkey::crypto::AvailableBackend,
    public_suffix::PublicSuffixList,
    (),
>;

/// Where the wallet's ceremonies claim to come from.
#[derive(Clone)]
pub enum WalletOrigin {
    /// A browser or iOS wallet at this origin.
    Web(Url),
    /// An Android app: package, `AB:CD:…` fingerprint, and the RP host its asset links are on.
    Android {
        package: String,
        fingerprint: String,
        host: String,
    },
}

/// A wallet talking to one node.
pub struct Wallet {
    pub key: SigningKey,
    pub address: String,
    pub http: reqwest::Client,
    pub base: String,
    pub origin: WalletOrigin,
    pub user_agent: String,
    /// The wallet's cookies, so its Socket.IO connection can carry its session.
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    client: SoftClient,
}

impl Wallet {
    /// A browser wallet (liquid-client in a page) for the node's origin.
    pub fn web(node: &impl crate::Endpoint) -> Self {
        let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        Self::new(node.url(""), WalletOrigin::Web(node.origin()), ua)
    }

    /// An Android wallet app.
    pub fn android(node: &crate::TestNode, package: &str, fingerprint: &str) -> Self {
        let ua = format!("{package}/1.0 (Android 14; Pixel 8 Pro; google)");
        let origin = WalletOrigin::Android {
            package: package.into(),
            fingerprint: fingerprint.into(),
            host: node.config.rp_id.clone(),
        };
        Self::new(node.url(""), origin, &ua)
    }

    pub fn new(base: String, origin: WalletOrigin, user_agent: &str) -> Self {
        liquid_mesh::tls::install_crypto_provider();
        let key = SigningKey::from_bytes(&rand_bytes());
        let address = encode_address(key.verifying_key().as_bytes());
        let mut authenticator = Authenticator::new(
            Aaguid::new_empty(),
            MemoryStore::new(),
            AlwaysVerified,
            passkey::crypto::AvailableBackend,
        );
        authenticator.set_make_credentials_with_signature_counter(true);
        let client = Client::new(authenticator).allows_insecure_localhost(true);
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .user_agent(user_agent)
            .build()
            .unwrap();
        Self {
            key,
            address,
            http,
            base,
            origin,
            user_agent: user_agent.into(),
            jar,
            client,
        }
    }

    /// The `Cookie` header this wallet sends to its node.
    pub fn cookie(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&self.base).unwrap();
        self.jar
            .cookies(&url)
            .expect("the wallet has a session")
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// POSTs JSON and returns the status and the JSON body (`Null` when it is not JSON).
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// As [`Self::post`], returning transport errors.
    pub async fn try_post(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// POSTs raw bytes with a JSON content type.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.http
                .delete(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The Android wallet's `/attestation/request` body.
    pub fn attestation_request_body(&self) -> Value {
        json!({
            "username": self.address,
            "displayName": "Liquid Auth User",
            "authenticatorSelection": {"userVerification": "required"},
            "extensions": {"liquid": true},
        })
    }

    /// Runs the authenticator on creation options, as liquid-client does: `user.id` becomes the
    /// wallet's public key. Returns the RegistrationResponseJSON without the liquid result.
    pub async fn create_credential(&mut self, options: &Value) -> Value {
        let mut public_key = options.clone();
        public_key["user"] = json!({
            "id": BASE64URL_NOPAD.encode(self.key.verifying_key().as_bytes()),
            "name": self.address,
            "displayName": self.address,
        });
        public_key.as_object_mut().unwrap().remove("extensions");
        let request: webauthn::CredentialCreationOptions =
            serde_json::from_value(json!({"publicKey": public_key})).expect("options parse");
        let (origin, client_data) = self.client_origin();
        let created = self
            .client
            .register(origin, request, client_data)
            .await
            .expect("authenticator registers");
        serde_json::to_value(created).unwrap()
    }

    /// Runs the authenticator on request options.
    pub async fn get_assertion(&mut self, options: &Value) -> Value {
        let request: webauthn::CredentialRequestOptions =
            serde_json::from_value(json!({"publicKey": options})).expect("options parse");
        let (origin, client_data) = self.client_origin();
        let asserted = self
            .client
            .authenticate(origin, request, client_data)
            .await
            .expect("authenticator asserts");
        serde_json::to_value(asserted).unwrap()
    }

    /// The origin the authenticator reports, and the extra clientDataJSON keys: Android adds
    /// `androidPackageName`, a browser nothing.
    fn client_origin(
        &self,
    ) -> (
        passkey_client::Origin<'static>,
        DefaultClientDataWithExtra<Value>,
    ) {
        match &self.origin {
            WalletOrigin::Web(url) => (
                passkey_client::Origin::Web(std::borrow::Cow::Owned(url.clone())),
                DefaultClientDataWithExtra(json!({})),
            ),
            WalletOrigin::Android {
                package,
                fingerprint,
                host,
            } => {
                let url =
                    Url::parse(&format!("https://{host}/.well-known/assetlinks.json")).unwrap();
                let link = passkey_client::UnverifiedAssetLink::new(
                    package.clone(),
                    fingerprint,
                    host.clone(),
                    url,
                )
                .expect("valid asset link");
                (
                    passkey_client::Origin::Android(link),
                    DefaultClientDataWithExtra(json!({"androidPackageName": package})),
                )
            }
        }
    }

    /// The `liquid` extension result for a challenge, signed by this wallet's key.
    pub fn liquid(&self, challenge: &str, request_id: Option<Value>) -> Value {
        let bytes = BASE64URL_NOPAD.decode(challenge.as_bytes()).unwrap();
        let signature = BASE64URL_NOPAD.encode(&self.key.sign(&bytes).to_bytes());
        let mut liquid = json!({
            "type": "algorand",
            "address": self.address,
            "signature": signature,
            "device": "Test Device",
        });
        if let Some(id) = request_id {
            liquid["requestId"] = id;
        }
        liquid
    }

    /// The whole registration; returns the `/attestation/response` status and body.
    pub async fn register(&mut self, request_id: Option<Value>) -> (StatusCode, Value) {
        let (body, _) = self.prepare_registration(request_id).await;
        self.post("/attestation/response", &body).await
    }

    /// The whole registration, with a failed connection as an error instead of a panic (for
    /// tests that kill the node under it).
    pub async fn try_register(&mut self) -> Result<(StatusCode, Value), reqwest::Error> {
        let (status, options) = self
            .try_post("/attestation/request", &self.attestation_request_body())
            .await?;
        if status != StatusCode::CREATED {
            return Ok((status, options));
        }
        let challenge = options["challenge"].as_str().unwrap().to_owned();
        let mut body = self.create_credential(&options).await;
        body["clientExtensionResults"] = json!({"liquid": self.liquid(&challenge, None)});
        self.try_post("/attestation/response", &body).await
    }

    /// Everything up to the `/attestation/response` POST: its body and the challenge.
    pub async fn prepare_registration(&mut self, request_id: Option<Value>) -> (Value, String) {
        let (status, options) = self
            .post("/attestation/request", &self.attestation_request_body())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{options}");
        let challenge = options["challenge"].as_str().unwrap().to_owned();
        let mut body = self.create_credential(&options).await;
        body["clientExtensionResults"] = json!({"liquid": self.liquid(&challenge, request_id)});
        (body, challenge)
    }

    /// The whole login with a registered credential; returns the `/assertion/response` reply.
    pub async fn login(&mut self, cred_id: &str, request_id: Option<Value>) -> (StatusCode, Value) {
        let body = self.prepare_login(cred_id, request_id).await;
        self.post("/assertion/response", &body).await
    }

    /// Everything up to the `/assertion/response` POST.
    pub async fn prepare_login(&mut self, cred_id: &str, request_id: Option<Value>) -> Value {
        let (status, options) = self
            .post(&format!("/assertion/request/{cred_id}"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{options}");
        let mut body = self.get_assertion(&options).await;
        if let Some(id) = request_id {
            body["clientExtensionResults"] = json!({"liquid": {"requestId": id}});
        }
        body
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn rand_bytes() -> [u8; 32] {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

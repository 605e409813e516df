//! Registration: `POST /attestation/request` hands out creation options in the exact shape the
//! original's SimpleWebAuthn 0.10 produced; `POST /attestation/response` verifies the passkey and
//! the `liquid` proof, binds the credential to the wallet and logs the session in.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, Value, json};
use tower_sessions::Session;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

use super::AppState;
use super::body::JsonBody;
use crate::assetlinks::ExpectedOrigin;
use crate::cose;
use crate::error::ApiError;
use crate::hub::{Authenticated, Origin};
use crate::liquid::LiquidRegistration;
use crate::session::LiquidSession;
use crate::store::{CeremonyKind, NewCredential, StoreError, User};

const MAX_USERNAME_LEN: usize = 256;
const ATTESTATION_PREFERENCES: [&str; 4] = ["none", "indirect", "direct", "enterprise"];

/// `POST /attestation/request`
pub async fn request(
    State(state): State<AppState>,
    session: Session,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(extensions) = body.get("extensions").and_then(Value::as_object) else {
        return Err(ApiError::liquid_required());
    };
    if !extensions.contains_key("liquid") {
        return Err(ApiError::liquid_required());
    }
    let username = match body.get("username") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if !name.is_empty() && name.len() <= MAX_USERNAME_LEN => {
            Some(name.as_str())
        }
        Some(_) => return Err(ApiError::bad_request("username must be a non-empty string")),
    };
    let attestation = match body.get("attestationType") {
        None | Some(Value::Null) => "none",
        Some(Value::String(kind)) if ATTESTATION_PREFERENCES.contains(&kind.as_str()) => kind,
        Some(_) => {
            return Err(ApiError::bad_request(
                "attestationType is not a known preference",
            ));
        }
    };
    let selection = match body.get("authenticatorSelection") {
        None | Some(Value::Null) => json!({"requireResidentKey": false}),
        Some(Value::Object(selection)) => Value::Object(selection.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "authenticatorSelection must be an object",
            ));
        }
    };

    let started = state.rp.start_registration().map_err(ApiError::internal)?;
    let state_json = serde_json::to_string(&started.state).map_err(ApiError::internal)?;
    state
        .store
        .put_ceremony(
            &started.challenge,
            CeremonyKind::Registration,
            &state_json,
            None,
            timeout_ms(&state),
        )
        .await?;
    LiquidSession(&session)
        .begin_ceremony(&started.challenge, true)
        .await?;

    let user = username.map_or_else(
        || json!({}),
        |name| json!({"id": name, "name": name, "displayName": name}),
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "challenge": started.challenge,
            "rp": {"name": state.rp.rp_name(), "id": state.rp.rp_id()},
            "user": user,
            "pubKeyCredParams": [
                {"type": "public-key", "alg": -7},
                {"type": "public-key", "alg": -257},
            ],
            "timeout": timeout_ms(&state),
            "attestation": attestation,
            "excludeCredentials": [],
            // Verification requires user verification, so say so whatever the client asked;
            // the later upstream server forces the same value.
            "authenticatorSelection": with_required_uv(selection),
            "extensions": extensions,
        })),
    ))
}

/// `POST /attestation/response`
pub async fn response(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let session = LiquidSession(&session);
    let Some(challenge) = session.challenge().await? else {
        return Err(ApiError::unauthorized("Challenge not found"));
    };
    let liquid_expected = session.liquid_extension().await?;
    // Everything that can be checked without the ceremony is checked first, so a malformed
    // body does not spend the challenge.
    let (liquid, credential) = parse_response(body, liquid_expected)?;

    let Some(ceremony) = state
        .store
        .take_ceremony(&challenge, CeremonyKind::Registration)
        .await?
    else {
        session.end_ceremony().await?;
        return Err(ApiError::unauthorized("Challenge not found"));
    };
    session.end_ceremony().await?;
    if ceremony.expired {
        return Err(ApiError::unauthorized("Challenge expired"));
    }
    let ceremony_state: PasskeyRegistration =
        serde_json::from_str(&ceremony.state_json).map_err(ApiError::internal)?;

    let origin = expected_origin(&state, &headers);
    cose::check_statement(&credential.response.attestation_object).map_err(verification_failed)?;
    let passkey = state
        .rp
        .finish_registration(&origin, &credential, &ceremony_state)
        .map_err(verification_failed)?;
    let challenge_bytes = BASE64URL_NOPAD
        .decode(challenge.as_bytes())
        .map_err(ApiError::internal)?;
    liquid
        .verify(&challenge_bytes, state.algod.as_ref())
        .await
        .map_err(verification_failed)?;

    let public_key = cose::credential_public_key(&credential.response.attestation_object)
        .ok_or_else(|| ApiError::internal("verified attestation has no credential public key"))?;
    let cred_id = BASE64URL_NOPAD.encode(passkey.cred_id());
    let new_credential = NewCredential {
        cred_id: cred_id.clone(),
        device: liquid
            .device
            .clone()
            .unwrap_or_else(|| "Unknown Device".into()),
        public_key: BASE64URL_NOPAD.encode(&public_key),
        passkey_json: serde_json::to_string(&passkey).map_err(ApiError::internal)?,
        counter: 0,
    };
    let user = match state.store.register(&liquid.address, &new_credential).await {
        Ok(user) => user,
        Err(StoreError::CredentialTaken) => {
            return Err(ApiError::Reason {
                status: StatusCode::CONFLICT,
                reason: "conflict",
                message: "Credential is registered to another wallet".into(),
            });
        }
        Err(other) => return Err(other.into()),
    };

    session
        .log_in(&liquid.address, &cred_id, liquid.request_id.as_ref())
        .await?;
    if let Some(request_id) = liquid.request_id {
        state.hub.publish_authenticated(Authenticated {
            request_id,
            wallet: liquid.address,
            cred_id,
            origin: Origin::HTTP,
        });
    }
    Ok((StatusCode::CREATED, Json(user)))
}

/// The parts of a registration response checked before its ceremony is touched: the liquid
/// proof's shape and the credential's structure. `liquid_expected` is whether the session's
/// options asked for the extension.
pub fn parse_response(
    body: Map<String, Value>,
    liquid_expected: bool,
) -> Result<(LiquidRegistration, RegisterPublicKeyCredential), ApiError> {
    let Some(liquid) = body
        .get("clientExtensionResults")
        .and_then(|results| results.get("liquid"))
    else {
        return Err(if liquid_expected {
            ApiError::unauthorized("Liquid extension not found")
        } else {
            ApiError::liquid_required()
        });
    };
    if !liquid_expected {
        return Err(ApiError::liquid_required());
    }
    let liquid = LiquidRegistration::parse(liquid).map_err(verification_failed)?;
    super::assertion::check_ids(&body)?;
    let credential = serde_json::from_value(Value::Object(body))
        .map_err(|err| ApiError::bad_request(format!("malformed registration response: {err}")))?;
    Ok((liquid, credential))
}

fn with_required_uv(mut selection: Value) -> Value {
    selection["userVerification"] = json!("required");
    selection
}

pub(super) fn timeout_ms(state: &AppState) -> i64 {
    i64::try_from(state.rp.timeout().as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn expected_origin(state: &AppState, headers: &HeaderMap) -> ExpectedOrigin {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok());
    ExpectedOrigin::from_user_agent(user_agent, &state.links)
}

fn verification_failed(err: impl std::fmt::Display) -> ApiError {
    ApiError::unauthorized(format!("User verification failed: {err}"))
}

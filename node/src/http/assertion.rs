//! Login with a registered passkey: `POST /assertion/request/:credId` for exactly that
//! credential, `POST /assertion/response` to verify it, move its counter forward and log the
//! session in. The original re-checks no Algorand signature here; neither do we.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};
use tower_sessions::Session;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PublicKeyCredential};

use super::AppState;
use super::attestation::{expected_origin, timeout_ms};
use super::body::JsonBody;
use crate::error::ApiError;
use crate::hub::{Authenticated, Origin};
use crate::liquid::assertion_request_id;
use crate::request_id::RequestId;
use crate::session::LiquidSession;
use crate::store::{CeremonyKind, User};

/// `POST /assertion/request/:credId`
pub async fn request(
    State(state): State<AppState>,
    session: Session,
    Path(cred_id): Path<String>,
    // Read so that a malformed body is refused; no field of it changes the options.
    JsonBody(_body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(stored) = state.store.credential(&cred_id).await? else {
        return Err(ApiError::not_found("User not found."));
    };
    let passkey: Passkey =
        serde_json::from_str(&stored.passkey_json).map_err(ApiError::internal)?;
    let started = state
        .rp
        .start_authentication(&passkey)
        .map_err(ApiError::internal)?;
    let state_json = serde_json::to_string(&started.state).map_err(ApiError::internal)?;
    state
        .store
        .put_ceremony(
            &started.challenge,
            CeremonyKind::Authentication,
            &state_json,
            Some(&cred_id),
            timeout_ms(&state),
        )
        .await?;
    LiquidSession(&session)
        .begin_ceremony(&started.challenge, false)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "challenge": started.challenge,
            "allowCredentials": [{"id": cred_id, "type": "public-key"}],
            "timeout": timeout_ms(&state),
            "userVerification": "required",
            "rpId": state.rp.rp_id(),
        })),
    ))
}

/// `POST /assertion/response`
pub async fn response(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let session = LiquidSession(&session);
    let Some(challenge) = session.challenge().await? else {
        return Err(ApiError::unauthorized("Challenge not found."));
    };
    let (request_id, credential) = parse_response(body)?;
    let Some(stored) = state.store.credential(&credential.id).await? else {
        return Err(ApiError::not_found("Credential not found."));
    };

    let Some(ceremony) = state
        .store
        .take_ceremony(&challenge, CeremonyKind::Authentication)
        .await?
    else {
        session.end_ceremony().await?;
        return Err(ApiError::unauthorized("Challenge not found."));
    };
    session.end_ceremony().await?;
    if ceremony.expired {
        return Err(ApiError::unauthorized("Challenge expired."));
    }
    if ceremony.cred_id.as_deref() != Some(credential.id.as_str()) {
        return Err(verification_failed(
            "challenge was issued for another credential",
        ));
    }
    let ceremony_state: PasskeyAuthentication =
        serde_json::from_str(&ceremony.state_json).map_err(ApiError::internal)?;
    let passkey: Passkey =
        serde_json::from_str(&stored.passkey_json).map_err(ApiError::internal)?;
    let verified = state
        .rp
        .finish_authentication(
            &expected_origin(&state, &headers),
            &credential,
            &challenge,
            &passkey,
            &ceremony_state,
        )
        .map_err(verification_failed)?;

    // The ring path compared the counter with the passkey read above, webauthn-rs's with the one
    // stored when the challenge was issued; either way another assertion may have landed since,
    // which the compare-and-set below refuses.
    let counter = i64::from(verified.counter);
    if (counter != 0 || stored.counter != 0) && counter <= stored.counter {
        return Err(verification_failed("signature counter did not increase"));
    }
    let passkey = verified.update(passkey);
    let passkey_json = serde_json::to_string(&passkey).map_err(ApiError::internal)?;
    if !state
        .store
        .record_assertion(&credential.id, stored.counter, &passkey_json, counter)
        .await?
    {
        return Err(verification_failed(
            "a concurrent assertion used this counter",
        ));
    }

    session
        .log_in(&stored.wallet, &credential.id, request_id.as_ref())
        .await?;
    let user = state
        .store
        .user(&stored.wallet)
        .await?
        .ok_or_else(|| ApiError::internal("credential without user"))?;
    if let Some(request_id) = request_id {
        state.hub.publish_authenticated(Authenticated {
            request_id,
            wallet: stored.wallet,
            cred_id: credential.id,
            origin: Origin::HTTP,
        });
    }
    Ok((StatusCode::CREATED, Json(user)))
}

/// The parts of an assertion response checked before anything is looked up: the request ID its
/// liquid extension may carry, and the credential's structure.
pub fn parse_response(
    body: Map<String, Value>,
) -> Result<(Option<RequestId>, PublicKeyCredential), ApiError> {
    let request_id = assertion_request_id(
        body.get("clientExtensionResults")
            .and_then(|results| results.get("liquid")),
    )
    .map_err(|err| ApiError::bad_request(err.to_string()))?;
    check_ids(&body)?;
    let credential = serde_json::from_value(Value::Object(body))
        .map_err(|err| ApiError::bad_request(format!("malformed assertion response: {err}")))?;
    Ok((request_id, credential))
}

/// The original requires `id === rawId`; a credential whose two ids differ is malformed.
pub(super) fn check_ids(body: &Map<String, Value>) -> Result<(), ApiError> {
    match (body.get("id"), body.get("rawId")) {
        (Some(Value::String(id)), Some(Value::String(raw))) if id == raw => Ok(()),
        (Some(Value::String(_)), Some(Value::String(_))) => {
            Err(ApiError::bad_request("id and rawId differ"))
        }
        _ => Err(ApiError::bad_request("id and rawId must be strings")),
    }
}

fn verification_failed(err: impl std::fmt::Display) -> ApiError {
    ApiError::unauthorized(format!("User verification failed. {err}"))
}

//! Session endpoints: who this session is, the stored user, removing a key, logging out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use tower_sessions::Session;

use super::AppState;
use crate::algorand::ADDRESS_LEN;
use crate::error::ApiError;
use crate::session::LiquidSession;
use crate::store::{DeleteOutcome, User};

/// `GET /auth/session`: `{user, session}`; `user` is null until the session holds a wallet.
pub async fn session(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Value>, ApiError> {
    let fields = LiquidSession(&session).fields().await?;
    let user = match fields.get("wallet").and_then(Value::as_str) {
        Some(wallet) => state.store.user(wallet).await?,
        None => None,
    };
    let expires = session
        .id()
        .map(|_| session.expiry_date().format(&Rfc3339).unwrap_or_default());
    let mut session_json = serde_json::Map::new();
    session_json.insert(
        "cookie".into(),
        json!({
            "originalMaxAge": state.cookie.ttl.whole_milliseconds(),
            "expires": expires,
            "secure": state.cookie.secure,
            "httpOnly": true,
            "path": "/",
        }),
    );
    session_json.extend(fields);
    Ok(Json(json!({"user": user, "session": session_json})))
}

/// `GET /auth/user`
pub async fn user(State(state): State<AppState>, session: Session) -> Result<Json<User>, ApiError> {
    let wallet = guard(&session).await?;
    match state.store.user(&wallet).await? {
        Some(user) => Ok(Json(user)),
        None => Err(ApiError::Plain {
            status: StatusCode::NOT_FOUND,
            message: "User not found".into(),
        }),
    }
}

/// `DELETE /auth/keys/:id`
pub async fn delete_key(
    State(state): State<AppState>,
    session: Session,
    Path(cred_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let wallet = guard(&session).await?;
    let missing = |what: &str| ApiError::Plain {
        status: StatusCode::NOT_FOUND,
        message: format!("{what} not found"),
    };
    match state.store.delete_credential(&wallet, &cred_id).await? {
        DeleteOutcome::Removed => Ok(Json(json!({"success": true}))),
        DeleteOutcome::NoUser => Err(missing("User")),
        DeleteOutcome::NoCredential => Err(missing("Credential")),
    }
}

/// `GET /auth/logout`: forgets the wallet and redirects home.
pub async fn logout(session: Session) -> Result<Response, ApiError> {
    LiquidSession(&session).log_out().await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, "/")]).into_response())
}

/// The original's AuthGuard: the session must hold a 58-character wallet.
async fn guard(session: &Session) -> Result<String, ApiError> {
    match LiquidSession(session).wallet().await? {
        Some(wallet) if wallet.len() == ADDRESS_LEN => Ok(wallet),
        _ => Err(ApiError::Forbidden),
    }
}

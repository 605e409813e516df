//! HTTP errors in the original's shapes: `{reason, error}` from the FIDO2 controllers, Nest's
//! `{message, error, statusCode}` for guards and unknown routes. Client errors are logged at debug;
//! only server faults reach the error log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A FIDO2 controller error: `{reason, error}`.
    #[error("{status} {reason}: {message}")]
    Reason {
        status: StatusCode,
        reason: &'static str,
        message: String,
    },
    /// The session guard refused (`{message:"Forbidden resource", …}`).
    #[error("forbidden")]
    Forbidden,
    /// A `{error}` body, as `/auth/keys/:id` answers.
    #[error("{status}: {message}")]
    Plain { status: StatusCode, message: String },
    /// A fault of ours; the details are logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn payload_too_large() -> Self {
        Self::Reason {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            reason: "payload_too_large",
            message: "request body is larger than the node accepts".into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Reason {
            status: StatusCode::BAD_REQUEST,
            reason: "bad_request",
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Reason {
            status: StatusCode::UNAUTHORIZED,
            reason: "unauthorized",
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::Reason {
            status: StatusCode::UNAUTHORIZED,
            reason: "not_found",
            message: message.into(),
        }
    }

    pub fn liquid_required() -> Self {
        Self::Reason {
            status: StatusCode::NOT_IMPLEMENTED,
            reason: "not_implemented",
            message: "Liquid extension is required".into(),
        }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<tower_sessions::session_store::Error> for ApiError {
    fn from(err: tower_sessions::session_store::Error) -> Self {
        Self::internal(format!("session store: {err}"))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Reason {
                status,
                reason,
                message,
            } => {
                tracing::debug!(%status, reason, %message, "request refused");
                (status, Json(json!({"reason": reason, "error": message}))).into_response()
            }
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                Json(json!({"message": "Forbidden resource", "error": "Forbidden", "statusCode": 403})),
            )
                .into_response(),
            Self::Plain { status, message } => {
                (status, Json(json!({"error": message}))).into_response()
            }
            Self::Internal(details) => {
                tracing::error!(%details, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({"statusCode": 500, "message": "Internal server error"})),
                )
                    .into_response()
            }
        }
    }
}

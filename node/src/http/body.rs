//! Request bodies: JSON parsed by us so that every malformed or oversized body gets the
//! original's `{reason, error}` shape instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A JSON body; an empty body reads as `{}` because liquid-client posts
/// `/assertion/request/:credId` with no body at all.
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::Reason {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    reason: "payload_too_large",
                    message: "request body is larger than the node accepts".into(),
                }
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })?;
        json_object(&bytes).map(Self)
    }
}

/// A request body as the FIDO2 endpoints read it: a JSON object, or nothing at all.
pub fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("body must be a JSON object")),
        Err(err) => Err(ApiError::bad_request(format!("malformed JSON: {err}"))),
    }
}

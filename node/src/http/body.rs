//! Request bodies: JSON parsed by us so that every malformed or oversized body gets the
//! original's `{reason, error}` shape instead of axum's plain-text rejections.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
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
                ApiError::payload_too_large()
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

/// Most of an oversized body the node reads and throws away before answering 413, and for how
/// long. Closing a connection with unread bytes makes the kernel send a reset that can reach
/// the client before the 413 does; reading on to a bound lets an honest client see the answer
/// while a hostile one still cannot make the node read forever.
const DRAIN_MAX_BYTES: usize = 4 << 20;
const DRAIN_MAX_TIME: Duration = Duration::from_secs(5);

/// Answers 413 to a request whose declared length is over `limit`, after draining its body.
/// Bodies without a length still meet the limit in [`JsonBody`].
pub async fn refuse_oversized(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            let drained = drain(request.into_body()).await;
            tracing::debug!(length, drained, "oversized request body refused");
            let mut response = ApiError::payload_too_large().into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        _ => next.run(request).await,
    }
}

async fn drain(body: Body) -> usize {
    let mut stream = body.into_data_stream();
    let mut drained = 0;
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            drained += chunk.len();
            if drained >= DRAIN_MAX_BYTES {
                break;
            }
        }
    })
    .await;
    drained
}

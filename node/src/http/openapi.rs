//! `GET /openapi.json`: the OpenAPI 3.1 document of this API, kept beside the code
//! (`node/api/openapi.json`) and checked by the test suite against the routes the router
//! registers and the answers they give, so clients can be generated from it.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("../../api/openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

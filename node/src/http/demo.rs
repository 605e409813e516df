//! The demo a newcomer opens in a browser: a website page at `/` that shows its pairing QR code
//! and chats with a wallet once paired, and a browser wallet at `/wallet` that registers a
//! passkey for an Ed25519 key kept in the page. Both are built from liquid-client by
//! `demo/build.mjs` when the node is compiled and served from the binary, so they work offline.
//! `/demo/qr.svg` renders any short text as a QR code.

use axum::extract::{Path, Query};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;

use super::{AppState, Routes};
use crate::error::ApiError;

/// Longest text the QR endpoint renders: a deep link with a request ID is about 100 bytes.
const MAX_QR_BYTES: usize = 1024;

macro_rules! built {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/demo/", $file))
    };
}

const WEBSITE_PAGE: &[u8] = built!("index.html");
const WALLET_PAGE: &[u8] = built!("wallet.html");

/// The bundled assets under `/demo/`, with their content types.
const ASSETS: [(&str, &str, &[u8]); 3] = [
    ("website.js", "text/javascript", built!("demo/website.js")),
    ("wallet.js", "text/javascript", built!("demo/wallet.js")),
    ("demo.css", "text/css", built!("demo/demo.css")),
];

pub(super) fn routes() -> Routes<AppState> {
    Routes::new()
        .add(Method::GET, "/", get(|| page(WEBSITE_PAGE)))
        .add(Method::GET, "/wallet", get(|| page(WALLET_PAGE)))
        .add(Method::GET, "/demo/qr.svg", get(qr))
        .add(Method::GET, "/demo/{asset}", get(asset))
}

async fn page(html: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

async fn asset(Path(name): Path<String>, uri: Uri) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, kind, bytes)) => ([(header::CONTENT_TYPE, *kind)], *bytes).into_response(),
        None => super::not_found(Method::GET, uri).await.into_response(),
    }
}

#[derive(Deserialize)]
struct QrQuery {
    data: Option<String>,
}

/// `GET /demo/qr.svg?data=…`
async fn qr(Query(query): Query<QrQuery>) -> Result<Response, ApiError> {
    let data = query
        .data
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::bad_request("data is required"))?;
    if data.len() > MAX_QR_BYTES {
        return Err(ApiError::bad_request(format!(
            "data is longer than {MAX_QR_BYTES} bytes"
        )));
    }
    let code = QrCode::new(data.as_bytes())
        .map_err(|err| ApiError::bad_request(format!("data does not fit a QR code: {err}")))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        image,
    )
        .into_response())
}

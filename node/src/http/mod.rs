//! The HTTP API of a node: the original's FIDO2 link endpoints, session endpoints, well-known
//! files and health, as one axum router over shared state.

mod assertion;
mod attestation;
mod auth;
mod body;
mod health;
mod well_known;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use serde_json::json;

use crate::algod::Algod;
use crate::assetlinks::AssetLinks;
use crate::fido::RelyingParty;
use crate::hub::Hub;
use crate::mesh::Mesh;
use crate::session::CookieSettings;
use crate::store::Store;
use liquid_mesh_web_bridge::BridgeStats;
use liquid_mesh_web_bridge::rate_limit::ClientLimiter;

pub use assertion::parse_response as parse_assertion_response;
pub use attestation::parse_response as parse_attestation_response;
pub use body::json_object;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub rp: Arc<RelyingParty>,
    pub links: Arc<AssetLinks>,
    pub apple_app_ids: Arc<Vec<String>>,
    pub algod: Option<Algod>,
    pub hub: Hub,
    pub mesh: Mesh,
    pub bridge: BridgeStats,
    pub cookie: CookieSettings,
}

/// The routes, without the session layer (the node adds it around this and the bridge).
pub fn router(
    state: AppState,
    max_body_bytes: usize,
    static_dir: Option<&std::path::Path>,
    fido_limiter: Option<ClientLimiter>,
) -> Router {
    let mut fido = Router::new()
        .route("/attestation/request", post(attestation::request))
        .route("/attestation/response", post(attestation::response))
        .route("/assertion/request/{cred_id}", post(assertion::request))
        .route("/assertion/response", post(assertion::response));
    if let Some(limiter) = fido_limiter {
        fido = fido.route_layer(axum::middleware::from_fn_with_state(limiter, rate_limited));
    }
    let router = fido
        .route("/auth/session", get(auth::session))
        .route("/auth/user", get(auth::user))
        .route("/auth/keys/{id}", delete(auth::delete_key))
        .route("/auth/logout", get(auth::logout))
        .route("/.well-known/assetlinks.json", get(well_known::assetlinks))
        .route(
            "/.well-known/apple-app-site-association",
            get(well_known::apple_app_site_association),
        )
        .route("/health", get(health::health));
    let router = match static_dir {
        Some(dir) => {
            router.fallback_service(tower_http::services::ServeDir::new(dir).not_found_service(
                axum::handler::HandlerWithoutStateExt::into_service(not_found),
            ))
        }
        None => router.fallback(not_found),
    };
    router
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// 429 with `Retry-After` for a client over its FIDO2 quota, in the controllers' error shape.
async fn rate_limited(
    axum::extract::State(limiter): axum::extract::State<ClientLimiter>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    if let Err(wait) = limiter.check(&parts) {
        let retry = wait.as_secs() + 1;
        tracing::debug!(path = %parts.uri.path(), retry, "FIDO2 request rate-limited");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, retry.to_string())],
            axum::Json(json!({
                "reason": "too_many_requests",
                "error": format!("rate limited; retry in {retry} s"),
            })),
        )
            .into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

/// Nest's answer for an unknown route.
async fn not_found(method: axum::http::Method, uri: Uri) -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({
            "message": format!("Cannot {method} {}", uri.path()),
            "error": "Not Found",
            "statusCode": 404,
        })),
    )
}

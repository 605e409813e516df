//! The HTTP API of a node: the original's FIDO2 link endpoints, session endpoints, well-known
//! files, health, readiness, metrics, its OpenAPI document and the demo, as one axum router over
//! shared state. Routes are registered through one table, which the OpenAPI document is checked
//! against.

mod assertion;
mod attestation;
mod auth;
mod body;
mod demo;
mod health;
mod openapi;
mod well_known;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, post};
use serde_json::json;

use crate::algod::Algod;
use crate::assetlinks::AssetLinks;
use crate::fido::RelyingParty;
use crate::hub::Hub;
use crate::mesh::Mesh;
use crate::metrics::Metrics;
use crate::session::CookieSettings;
use crate::store::Store;
use liquid_mesh_web_bridge::BridgeStats;
use liquid_mesh_web_bridge::rate_limit::ClientLimiter;

pub use assertion::parse_response as parse_assertion_response;
pub use attestation::parse_response as parse_attestation_response;
pub use body::json_object;
pub use openapi::DOCUMENT as OPENAPI;

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
    pub metrics: Metrics,
    pub cookie: CookieSettings,
}

/// How the router is built, beside the state.
#[derive(Clone, Default)]
pub struct HttpOptions {
    /// Largest accepted body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Pages served at `/` in place of the demo.
    pub static_dir: Option<std::path::PathBuf>,
    /// The FIDO2 endpoints' per-client quota, if any.
    pub fido_limiter: Option<ClientLimiter>,
    /// Serve the demo pages (when `static_dir` does not take `/`).
    pub demo: bool,
}

/// Routes as they are registered, with their method and path: what the OpenAPI document is
/// checked against.
struct Routes<S> {
    router: Router<S>,
    table: Vec<(Method, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add(mut self, method: Method, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.table.push((method, path));
        self.router = self.router.route(path, handler);
        self
    }

    fn merge(mut self, other: Self) -> Self {
        self.table.extend(other.table);
        self.router = self.router.merge(other.router);
        self
    }
}

fn fido_routes() -> Routes<AppState> {
    Routes::new()
        .add(
            Method::POST,
            "/attestation/request",
            post(attestation::request),
        )
        .add(
            Method::POST,
            "/attestation/response",
            post(attestation::response),
        )
        .add(
            Method::POST,
            "/assertion/request/{cred_id}",
            post(assertion::request),
        )
        .add(
            Method::POST,
            "/assertion/response",
            post(assertion::response),
        )
}

fn other_routes(demo: bool) -> Routes<AppState> {
    let routes = Routes::new()
        .add(Method::GET, "/auth/session", get(auth::session))
        .add(Method::GET, "/auth/user", get(auth::user))
        .add(Method::DELETE, "/auth/keys/{id}", delete(auth::delete_key))
        .add(Method::GET, "/auth/logout", get(auth::logout))
        .add(
            Method::GET,
            "/.well-known/assetlinks.json",
            get(well_known::assetlinks),
        )
        .add(
            Method::GET,
            "/.well-known/apple-app-site-association",
            get(well_known::apple_app_site_association),
        )
        .add(Method::GET, "/health", get(health::health))
        .add(Method::GET, "/ready", get(health::ready))
        .add(Method::GET, "/metrics", get(crate::metrics::serve))
        .add(Method::GET, "/openapi.json", get(openapi::document));
    if demo {
        routes.merge(demo::routes())
    } else {
        routes
    }
}

impl axum::extract::FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// Every route the node serves with these options, as `(method, path)`; path parameters keep
/// axum's `{name}` form.
pub fn route_table(options: &HttpOptions) -> Vec<(Method, &'static str)> {
    let demo = options.demo && options.static_dir.is_none();
    let mut table = fido_routes().table;
    table.extend(other_routes(demo).table);
    table
}

/// The routes, without the session layer (the node adds it around this and the bridge).
pub fn router(state: AppState, options: &HttpOptions) -> Router {
    let mut fido = fido_routes().router;
    if let Some(limiter) = options.fido_limiter.clone() {
        fido = fido.route_layer(axum::middleware::from_fn_with_state(limiter, rate_limited));
    }
    let demo = options.demo && options.static_dir.is_none();
    let router = fido.merge(other_routes(demo).router);
    let router = match &options.static_dir {
        Some(dir) => {
            router.fallback_service(tower_http::services::ServeDir::new(dir).not_found_service(
                axum::handler::HandlerWithoutStateExt::into_service(not_found),
            ))
        }
        None => router.fallback(not_found),
    };
    let metrics = state.metrics.clone();
    router
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            options.max_body_bytes,
            body::refuse_oversized,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
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

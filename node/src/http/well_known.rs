//! Files that let Android and iOS wallets use this relying party's passkeys.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;

/// `GET /.well-known/assetlinks.json`
pub async fn assetlinks(State(state): State<AppState>) -> Json<Value> {
    Json(Value::Array(state.links.statements().to_vec()))
}

/// `GET /.well-known/apple-app-site-association`
pub async fn apple_app_site_association(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"webcredentials": {"apps": state.apple_app_ids.as_slice()}}))
}

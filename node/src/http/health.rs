//! `GET /health`: liveness and what this node is (its bridge's sockets and waiting links, its
//! place in the mesh); `GET /ready`: whether it can serve.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mesh = match state.mesh.status().await {
        Ok(status) => json!({
            "peerId": status.peer_id.to_string(),
            "listen": status.listen.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "external": status.external.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "peers": status.peers.iter().map(|p| json!({
                "peerId": p.peer_id.to_string(),
                "score": p.score,
                "topics": p.topics,
                "meshed": p.meshed,
            })).collect::<Vec<_>>(),
        }),
        Err(stopped) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "error", "error": stopped.to_string()})),
            );
        }
    };
    let body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "rpId": state.rp.rp_id(),
        "bridge": {
            "sockets": state.bridge.sockets(),
            "parkedLinks": state.bridge.parked_links(),
        },
        "mesh": mesh,
    });
    (StatusCode::OK, Json(body))
}

/// `GET /ready`: 200 once the node can serve (its database answers and its mesh task runs), 503
/// with the reason otherwise, for load balancers and orchestrators.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if let Err(err) = state.store.ping().await {
        tracing::warn!(%err, "not ready: database");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": "database unreachable"})),
        );
    }
    if let Err(stopped) = state.mesh.status().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": stopped.to_string()})),
        );
    }
    (StatusCode::OK, Json(json!({"status": "ready"})))
}

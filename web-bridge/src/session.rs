//! The socket's view of its HTTP session. A socket is its `connect.sid` session, as in the
//! original: the session layer runs on the Engine.IO handshake, and the bridge reloads the
//! record before acting because HTTP requests (a wallet's attestation) change it meanwhile.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;
use tower_sessions::Session;

use crate::hub::{Authenticated, Room};
use crate::request_id::RequestId;

/// Session field names shared with the node's HTTP handlers (the original's names).
pub mod keys {
    pub const CHALLENGE: &str = "challenge";
    pub const LIQUID_EXTENSION: &str = "liquidExtension";
    pub const WALLET: &str = "wallet";
    pub const REQUEST_ID: &str = "requestId";
    pub const CRED_ID: &str = "credId";
    /// Set on a session created for a cookie-less socket, so that it is saved and its cookie sent.
    pub const SOCKET: &str = "socket";
}

/// A session's name outside its store: the first 16 bytes of the SHA-256 of its id. It tells
/// which session changed without carrying the id (half of what a cookie holds) over the mesh.
pub type SessionTag = [u8; 16];

pub fn session_tag(id: &tower_sessions::session::Id) -> SessionTag {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.to_string().as_bytes());
    digest[..16]
        .try_into()
        .expect("a SHA-256 digest has 32 bytes")
}

/// Opens a session by its ID, with the node's store and expiry. A socket keeps only its session's
/// ID once it has one, and opens the session through this when it reads or writes it: the
/// tower-sessions handle and its loaded record (about 1 KiB) need not live as long as the socket.
pub type SessionOpener = std::sync::Arc<dyn Fn(Id) -> Session + Send + Sync>;

pub use tower_sessions::session::Id;

/// The handshake's session, for the socket to take (see [`compact_handshake`]). A slot rather
/// than the handle itself: socketioxide keeps the handshake's extensions for the socket's life,
/// and a handle in them could never be dropped.
#[derive(Clone)]
pub struct HandshakeSession(std::sync::Arc<std::sync::Mutex<Option<Session>>>);

impl HandshakeSession {
    fn new(session: Session) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(Some(session))))
    }

    /// The handle while the socket has not settled on its session's ID.
    pub fn handle(&self) -> Option<Session> {
        self.slot().clone()
    }

    /// Drops the handle: the socket goes on with the ID alone.
    pub fn release(&self) {
        self.slot().take();
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why the session store failed a socket.
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct SessionError(#[from] tower_sessions::session::Error);

/// What a socket's session says now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionView {
    pub wallet: Option<String>,
    pub request_id: Option<RequestId>,
}

impl SessionView {
    /// Reloads the record and reads the fields that decide the socket's rooms.
    pub async fn load(session: &Session) -> Result<Self, SessionError> {
        if session.id().is_some() {
            session.load().await?;
        }
        let wallet = session.get::<String>(keys::WALLET).await?;
        let request_id = session
            .get_value(keys::REQUEST_ID)
            .await?
            .and_then(|v| RequestId::try_from(v).ok());
        Ok(Self { wallet, request_id })
    }

    /// Rooms the socket belongs in: its request's pair and, as in the original, its wallet's.
    pub fn rooms(&self) -> Vec<Room> {
        let mut rooms = Vec::with_capacity(2);
        if let Some(id) = &self.request_id {
            rooms.push(Room::Request(id.clone()));
        }
        if let Some(wallet) = &self.wallet {
            rooms.push(Room::Wallet(wallet.clone()));
        }
        rooms
    }

    /// Where the socket's signals go: its request's pair, else (baseline clients) its wallet's
    /// sockets. A socket with neither has nobody to talk to and its signals are dropped.
    pub fn signal_room(&self) -> Option<Room> {
        self.rooms().into_iter().next()
    }
}

/// Records the request a website links, before the wallet shows up.
pub async fn record_request(session: &Session, request_id: &RequestId) -> Result<(), SessionError> {
    if session.id().is_some() {
        session.load().await?;
    }
    session
        .insert(keys::REQUEST_ID, request_id.as_json())
        .await?;
    session.save().await?;
    Ok(())
}

/// Logs the linking website's session in as the wallet, as the original's link handler does.
pub async fn record_link(session: &Session, auth: &Authenticated) -> Result<(), SessionError> {
    if session.id().is_some() {
        session.load().await?;
    }
    session.insert(keys::WALLET, &auth.wallet).await?;
    session
        .insert(keys::REQUEST_ID, auth.request_id.as_json())
        .await?;
    session.save().await?;
    Ok(())
}

/// axum middleware for `/socket.io/`: an Engine.IO handshake without a session gets one, so its
/// response carries the `connect.sid` cookie (the original's `saveUninitialized`).
pub async fn ensure_session(session: Session, request: Request, next: Next) -> Response {
    let uri = request.uri();
    let is_handshake = uri.path().starts_with("/socket.io")
        && uri
            .query()
            .is_none_or(|q| !q.split('&').any(|pair| pair.starts_with("sid=")));
    if is_handshake
        && session.id().is_none()
        && let Err(err) = session.insert(keys::SOCKET, Value::Bool(true)).await
    {
        tracing::warn!(%err, "could not start a session for a socket");
    }
    next.run(request).await
}

/// The request headers a Socket.IO request keeps: the WebSocket key engineioxide answers an
/// upgrade with, the type of a polling body, and what the link rate limiter reads. hyper has
/// already decided the upgrade from the others; the rest (cookies, user agent, client hints:
/// 1–2 KiB from a browser) is read before this layer or never. Each kept header costs a socket
/// about 100 bytes for its life.
const KEPT_HEADERS: [axum::http::HeaderName; 3] = [
    axum::http::header::SEC_WEBSOCKET_KEY,
    axum::http::header::CONTENT_TYPE,
    axum::http::HeaderName::from_static("x-forwarded-for"),
];

/// axum middleware for `/socket.io/`, in front of the Socket.IO layer: hands it a copy of the
/// request's head. socketioxide keeps the handshake's head for the socket's lifetime, and the
/// header values hyper parsed point into its read buffers, which they would keep alive. So do
/// other layers' extensions (tower-cookies keeps the raw `Cookie` header values): only the
/// session, the peer address and the upgrade are kept, and only [`KEPT_HEADERS`]. Measured at
/// 10,000 idle connections: 30.6 KiB of RSS each with the head rebuilt and every extension
/// kept, 21.1 KiB with these extensions.
pub async fn compact_handshake(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/socket.io") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let mut head = Request::new(body);
    *head.method_mut() = parts.method;
    *head.version_mut() = parts.version;
    *head.uri_mut() = parts
        .uri
        .to_string()
        .parse()
        .unwrap_or_else(|_| axum::http::Uri::from_static("/socket.io/"));
    // Sized to what is kept: a map grown from empty reserves room for dozens (~650 bytes).
    let kept = KEPT_HEADERS
        .iter()
        .flat_map(|name| parts.headers.get_all(name).iter().map(move |v| (name, v)))
        .filter_map(|(name, value)| {
            let value = axum::http::HeaderValue::from_bytes(value.as_bytes()).ok()?;
            Some((name.clone(), value))
        })
        .collect::<Vec<_>>();
    let mut headers = axum::http::HeaderMap::with_capacity(kept.len());
    for (name, value) in kept {
        headers.append(name, value);
    }
    *head.headers_mut() = headers;
    // Only what the socket's life needs: anything else a layer put there may hold a slice of
    // the read buffer too.
    let mut extensions = parts.extensions;
    let kept = head.extensions_mut();
    if let Some(session) = extensions.remove::<Session>() {
        kept.insert(HandshakeSession::new(session));
    }
    if let Some(peer) = extensions.remove::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        kept.insert(peer);
    }
    if let Some(upgrade) = extensions.remove::<hyper::upgrade::OnUpgrade>() {
        kept.insert(upgrade);
    }
    next.run(head).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_kept_handshake_holds_only_the_headers_a_socket_needs() {
        let seen = |request: Request| async move {
            let mut names: Vec<String> = request
                .headers()
                .keys()
                .map(|name| name.to_string())
                .collect();
            names.sort();
            names.join(",")
        };
        let app = Router::new()
            .route("/socket.io/", get(seen))
            .route("/other", get(seen))
            .layer(axum::middleware::from_fn(compact_handshake));
        let request = |path: &str| {
            axum::http::Request::get(path)
                .header("cookie", "connect.sid=s%3Aabc")
                .header("user-agent", "Mozilla/5.0")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("sec-websocket-version", "13")
                .header("upgrade", "websocket")
                .header("x-forwarded-for", "203.0.113.7")
                .header("x-forwarded-for", "198.51.100.2")
                .body(Body::empty())
                .unwrap()
        };
        let body = |response: Response| async move {
            let bytes = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let kept = app
            .clone()
            .oneshot(request("/socket.io/?EIO=4&transport=websocket"))
            .await
            .unwrap();
        assert_eq!(body(kept).await, "sec-websocket-key,x-forwarded-for");
        let untouched = app.oneshot(request("/other")).await.unwrap();
        assert_eq!(
            body(untouched).await,
            "cookie,sec-websocket-key,sec-websocket-version,upgrade,user-agent,x-forwarded-for"
        );
    }
}

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

/// axum middleware for `/socket.io/`, in front of the Socket.IO layer: hands it a copy of the
/// request's head. socketioxide keeps the handshake's head for the socket's lifetime, and the
/// header values hyper parsed point into its read buffers, which they would keep alive. So do
/// other layers' extensions (tower-cookies keeps the raw `Cookie` header values): only the
/// session, the peer address and the upgrade are kept. Measured at 10,000 idle connections:
/// 30.6 KiB of RSS each with the head rebuilt and every extension kept, 21.1 KiB with these.
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
    let headers = head.headers_mut();
    for (name, value) in &parts.headers {
        if let Ok(value) = axum::http::HeaderValue::from_bytes(value.as_bytes()) {
            headers.append(name.clone(), value);
        }
    }
    // Only what the socket's life needs: anything else a layer put there may hold a slice of
    // the read buffer too.
    let mut extensions = parts.extensions;
    let kept = head.extensions_mut();
    if let Some(session) = extensions.remove::<Session>() {
        kept.insert(session);
    }
    if let Some(peer) = extensions.remove::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        kept.insert(peer);
    }
    if let Some(upgrade) = extensions.remove::<hyper::upgrade::OnUpgrade>() {
        kept.insert(upgrade);
    }
    next.run(head).await
}

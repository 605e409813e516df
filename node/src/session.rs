//! HTTP sessions: the `connect.sid` cookie (signed, HttpOnly) naming a server-side record in the
//! node's database, with the fields the original keeps there. The Socket.IO bridge reads the
//! same store through the same cookie, so a socket is its HTTP session.

use std::path::Path;

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest, Sha512};
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::service::SignedCookie;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::hub::{Hub, Origin, SessionChanged};
use crate::request_id::RequestId;
use crate::store::Pool;
use liquid_mesh_web_bridge::session::session_tag;

/// The cookie name express-session uses; iOS wallets look the cookie up by it.
pub const COOKIE_NAME: &str = "connect.sid";

/// Session field names, shared with the bridge.
pub use liquid_mesh_web_bridge::session::keys;

/// Every field `/auth/session` shows.
const SHOWN: [&str; 5] = [
    keys::CHALLENGE,
    keys::LIQUID_EXTENSION,
    keys::WALLET,
    keys::REQUEST_ID,
    keys::CRED_ID,
];

/// The session store on whichever database the node uses. Every write of a record is announced
/// on the hub (and so to the nodes sharing the store), so the bridge can cache what a socket's
/// session says and read it again only when it changed.
#[derive(Debug, Clone)]
pub struct SessionBackend {
    store: SqlStore,
    hub: Hub,
}

#[derive(Debug, Clone)]
enum SqlStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionBackend {
    /// Creates the session table if needed.
    pub async fn open(pool: &Pool, hub: Hub) -> Result<Self, sqlx::Error> {
        let store = match pool {
            Pool::Sqlite(p) => {
                let store = SqliteStore::new(p.clone());
                store.migrate().await?;
                SqlStore::Sqlite(store)
            }
            Pool::Postgres(p) => {
                let store = PostgresStore::new(p.clone());
                store.migrate().await?;
                SqlStore::Postgres(store)
            }
        };
        Ok(Self { store, hub })
    }

    fn changed(&self, id: &Id) {
        self.hub.publish_session_changed(SessionChanged {
            tag: session_tag(id),
            origin: Origin::HTTP,
        });
    }
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.store {
            SqlStore::Sqlite(s) => s.create(record).await?,
            SqlStore::Postgres(s) => s.create(record).await?,
        }
        self.changed(&record.id);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.store {
            SqlStore::Sqlite(s) => s.save(record).await?,
            SqlStore::Postgres(s) => s.save(record).await?,
        }
        self.changed(&record.id);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match &self.store {
            SqlStore::Sqlite(s) => s.load(id).await,
            SqlStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &self.store {
            SqlStore::Sqlite(s) => s.delete(id).await?,
            SqlStore::Postgres(s) => s.delete(id).await?,
        }
        self.changed(id);
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        // Expired sessions have no sockets left to tell.
        match &self.store {
            SqlStore::Sqlite(s) => s.delete_expired().await,
            SqlStore::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// Cookie attributes.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    /// Adds `Secure`; needed behind HTTPS, impossible on plain-HTTP development origins.
    pub secure: bool,
    /// Sessions expire after this long without a request.
    pub ttl: time::Duration,
}

/// The tower layer that loads and saves sessions around every request.
pub fn layer(
    backend: SessionBackend,
    key: Key,
    cookie: &CookieSettings,
) -> SessionManagerLayer<SessionBackend, SignedCookie> {
    SessionManagerLayer::new(backend)
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_secure(cookie.secure)
        .with_path("/")
        // The original sets no SameSite, which browsers treat as Lax; say so explicitly rather
        // than take tower-sessions' Strict, which drops the cookie when a wallet link opens the site.
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(cookie.ttl))
        .with_signed(key)
}

/// Opens a session by ID as the layer would: same store, same expiry. The bridge keeps only
/// its sockets' session IDs and opens them with this.
pub fn opener(
    backend: SessionBackend,
    cookie: &CookieSettings,
) -> liquid_mesh_web_bridge::session::SessionOpener {
    let backend = std::sync::Arc::new(backend);
    let expiry = Expiry::OnInactivity(cookie.ttl);
    std::sync::Arc::new(move |id| Session::new(Some(id), backend.clone(), Some(expiry)))
}

/// The cookie-signing key: derived from `SESSION_SECRET` when given (nodes sharing a database
/// must share it), else a random key kept in the data directory so restarts keep sessions.
pub fn signing_key(secret: Option<&str>, data_dir: &Path) -> std::io::Result<Key> {
    if let Some(secret) = secret {
        return Ok(Key::from(&Sha512::digest(secret.as_bytes())));
    }
    let path = data_dir.join("session.key");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 64 => Ok(Key::from(&bytes)),
        Ok(_) | Err(_) => {
            let key = Key::generate();
            std::fs::create_dir_all(data_dir)?;
            write_private(&path, key.master())?;
            Ok(key)
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Typed access to the fields of one session.
pub struct LiquidSession<'a>(pub &'a Session);

impl LiquidSession<'_> {
    pub async fn challenge(&self) -> session_store::Result<Option<String>> {
        self.0.get(keys::CHALLENGE).await.map_err(into_store)
    }

    pub async fn liquid_extension(&self) -> session_store::Result<bool> {
        Ok(self
            .0
            .get::<bool>(keys::LIQUID_EXTENSION)
            .await
            .map_err(into_store)?
            .unwrap_or(false))
    }

    pub async fn wallet(&self) -> session_store::Result<Option<String>> {
        self.0.get(keys::WALLET).await.map_err(into_store)
    }

    /// Starts a ceremony: the new challenge replaces any earlier one, as in the original.
    pub async fn begin_ceremony(&self, challenge: &str, liquid: bool) -> session_store::Result<()> {
        self.0
            .insert(keys::CHALLENGE, challenge)
            .await
            .map_err(into_store)?;
        if liquid {
            self.0
                .insert(keys::LIQUID_EXTENSION, true)
                .await
                .map_err(into_store)?;
        } else {
            self.0
                .remove_value(keys::LIQUID_EXTENSION)
                .await
                .map_err(into_store)?;
        }
        Ok(())
    }

    /// Forgets the challenge; it is spent whatever the outcome.
    pub async fn end_ceremony(&self) -> session_store::Result<()> {
        self.0
            .remove_value(keys::CHALLENGE)
            .await
            .map_err(into_store)?;
        self.0
            .remove_value(keys::LIQUID_EXTENSION)
            .await
            .map_err(into_store)?;
        Ok(())
    }

    /// Logs the session in as a wallet after a successful ceremony.
    pub async fn log_in(
        &self,
        wallet: &str,
        cred_id: &str,
        request_id: Option<&RequestId>,
    ) -> session_store::Result<()> {
        self.0
            .insert(keys::WALLET, wallet)
            .await
            .map_err(into_store)?;
        self.0
            .insert(keys::CRED_ID, cred_id)
            .await
            .map_err(into_store)?;
        if let Some(id) = request_id {
            self.0
                .insert(keys::REQUEST_ID, id.as_json())
                .await
                .map_err(into_store)?;
        }
        Ok(())
    }

    /// `/auth/logout`: the session survives, its identity does not.
    pub async fn log_out(&self) -> session_store::Result<()> {
        for key in [keys::WALLET, keys::CRED_ID, keys::REQUEST_ID, "active"] {
            self.0.remove_value(key).await.map_err(into_store)?;
        }
        Ok(())
    }

    /// The stored fields, for `/auth/session`.
    pub async fn fields(&self) -> session_store::Result<serde_json::Map<String, Value>> {
        let mut map = serde_json::Map::new();
        for key in SHOWN {
            if let Some(value) = self.0.get_value(key).await.map_err(into_store)? {
                map.insert(key.to_owned(), value);
            }
        }
        Ok(map)
    }
}

fn into_store(err: tower_sessions::session::Error) -> session_store::Error {
    match err {
        tower_sessions::session::Error::Store(e) => e,
        other => session_store::Error::Backend(other.to_string()),
    }
}

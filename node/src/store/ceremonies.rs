//! Pending WebAuthn ceremonies. The state stays on the server (webauthn-rs warns that client-held
//! state allows replay); taking a ceremony deletes it, which makes every challenge single-use.

use sqlx::Row;

use super::{Store, StoreError, now_ms, on_pool};

/// Which ceremony a challenge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    Registration,
    Authentication,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Authentication => "authentication",
        }
    }
}

/// A ceremony taken from the store.
#[derive(Debug, Clone)]
pub struct Ceremony {
    /// webauthn-rs state as JSON.
    pub state_json: String,
    /// For an authentication, the credential it was started for.
    pub cred_id: Option<String>,
    pub expired: bool,
}

impl Store {
    /// Stores a ceremony that expires `ttl_ms` from now.
    pub async fn put_ceremony(
        &self,
        challenge: &str,
        kind: CeremonyKind,
        state_json: &str,
        cred_id: Option<&str>,
        ttl_ms: i64,
    ) -> Result<(), StoreError> {
        let _timed = self.timed("put_ceremony");
        on_pool!(self.pool(), p => {
            sqlx::query(
                "INSERT INTO ceremonies (challenge, kind, state, cred_id, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(challenge)
            .bind(kind.as_str())
            .bind(state_json)
            .bind(cred_id)
            .bind(now_ms().saturating_add(ttl_ms))
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Atomically removes and returns the ceremony of this challenge and kind.
    pub async fn take_ceremony(
        &self,
        challenge: &str,
        kind: CeremonyKind,
    ) -> Result<Option<Ceremony>, StoreError> {
        let _timed = self.timed("take_ceremony");
        on_pool!(self.pool(), p => {
            let row = sqlx::query(
                "DELETE FROM ceremonies WHERE challenge = $1 AND kind = $2
                 RETURNING state, cred_id, expires_at",
            )
            .bind(challenge)
            .bind(kind.as_str())
            .fetch_optional(p)
            .await?;
            row.map(|r| -> Result<Ceremony, StoreError> {
                let expires_at: i64 = r.try_get("expires_at")?;
                Ok(Ceremony {
                    state_json: r.try_get("state")?,
                    cred_id: r.try_get("cred_id")?,
                    expired: expires_at <= now_ms(),
                })
            })
            .transpose()
        })
    }

    /// Drops ceremonies that can no longer complete; returns how many.
    pub async fn delete_expired_ceremonies(&self) -> Result<u64, StoreError> {
        let _timed = self.timed("delete_expired_ceremonies");
        on_pool!(self.pool(), p => {
            let done = sqlx::query("DELETE FROM ceremonies WHERE expires_at <= $1")
                .bind(now_ms())
                .execute(p)
                .await?;
            Ok(done.rows_affected())
        })
    }
}

//! Users (one per wallet) and the passkeys registered to them.

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use rand::RngCore;
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, now_ms, on_pool};

/// A wallet and its credentials, serialised in the original's user-document shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    #[serde(rename = "_id")]
    pub object_id: String,
    pub id: String,
    pub wallet: String,
    pub credentials: Vec<CredentialRecord>,
    #[serde(rename = "__v")]
    pub version: u32,
}

/// One credential as the user document shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRecord {
    pub device: String,
    pub public_key: String,
    pub cred_id: String,
    pub prev_counter: i64,
}

/// A credential to store after a successful registration.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub cred_id: String,
    pub device: String,
    pub public_key: String,
    pub passkey_json: String,
    pub counter: i64,
}

/// A stored credential with what an assertion needs.
#[derive(Debug, Clone)]
pub struct StoredCredential {
    pub wallet: String,
    pub passkey_json: String,
    pub counter: i64,
}

/// What `delete_credential` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Removed,
    NoUser,
    NoCredential,
}

impl Store {
    /// The user owning `wallet`, with its credentials in registration order.
    pub async fn user(&self, wallet: &str) -> Result<Option<User>, StoreError> {
        let _timed = self.timed("user");
        on_pool!(self.pool(), p => {
            let Some(row) = sqlx::query("SELECT object_id, id FROM users WHERE wallet = $1")
                .bind(wallet)
                .fetch_optional(p)
                .await?
            else {
                return Ok(None);
            };
            let credentials = sqlx::query(
                "SELECT device, public_key, cred_id, counter FROM credentials
                 WHERE wallet = $1 ORDER BY created_at, cred_id",
            )
            .bind(wallet)
            .fetch_all(p)
            .await?
            .iter()
            .map(|c| -> Result<CredentialRecord, sqlx::Error> {
                Ok(CredentialRecord {
                    device: c.try_get("device")?,
                    public_key: c.try_get("public_key")?,
                    cred_id: c.try_get("cred_id")?,
                    prev_counter: c.try_get("counter")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(User {
                object_id: row.try_get("object_id")?,
                id: row.try_get("id")?,
                wallet: wallet.to_owned(),
                credentials,
                version: 0,
            }))
        })
    }

    /// Creates the wallet's user if needed and binds the credential to it. Re-registering a
    /// credential to the same wallet keeps the stored one; a credential of another wallet is
    /// refused and nothing is written.
    pub async fn register(
        &self,
        wallet: &str,
        credential: &NewCredential,
    ) -> Result<User, StoreError> {
        let _timed = self.timed("register");
        let now = now_ms();
        let (id, object_id) = new_user_ids();
        on_pool!(self.pool(), p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO users (wallet, id, object_id, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (wallet) DO NOTHING",
            )
            .bind(wallet)
            .bind(&id)
            .bind(&object_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO credentials (cred_id, wallet, device, public_key, passkey, counter, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (cred_id) DO NOTHING",
            )
            .bind(&credential.cred_id)
            .bind(wallet)
            .bind(&credential.device)
            .bind(&credential.public_key)
            .bind(&credential.passkey_json)
            .bind(credential.counter)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let owner: String = sqlx::query("SELECT wallet FROM credentials WHERE cred_id = $1")
                .bind(&credential.cred_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("wallet")?;
            if owner != wallet {
                tx.rollback().await?;
                return Err(StoreError::CredentialTaken);
            }
            tx.commit().await?;
        });
        self.user(wallet)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// The credential with this id, if any.
    pub async fn credential(&self, cred_id: &str) -> Result<Option<StoredCredential>, StoreError> {
        let _timed = self.timed("credential");
        on_pool!(self.pool(), p => {
            let row = sqlx::query("SELECT wallet, passkey, counter FROM credentials WHERE cred_id = $1")
                .bind(cred_id)
                .fetch_optional(p)
                .await?;
            row.map(|r| -> Result<StoredCredential, StoreError> {
                Ok(StoredCredential {
                    wallet: r.try_get("wallet")?,
                    passkey_json: r.try_get("passkey")?,
                    counter: r.try_get("counter")?,
                })
            })
            .transpose()
        })
    }

    /// Records an assertion: the updated passkey and counter are written only if the counter is
    /// still the one the assertion was verified against, so of two racing assertions with the
    /// same counter exactly one succeeds. Returns whether the write happened.
    pub async fn record_assertion(
        &self,
        cred_id: &str,
        verified_against: i64,
        passkey_json: &str,
        counter: i64,
    ) -> Result<bool, StoreError> {
        let _timed = self.timed("record_assertion");
        on_pool!(self.pool(), p => {
            let done = sqlx::query(
                "UPDATE credentials SET passkey = $1, counter = $2, last_used_at = $3
                 WHERE cred_id = $4 AND counter = $5",
            )
            .bind(passkey_json)
            .bind(counter)
            .bind(now_ms())
            .bind(cred_id)
            .bind(verified_against)
            .execute(p)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Removes one credential of `wallet`.
    pub async fn delete_credential(
        &self,
        wallet: &str,
        cred_id: &str,
    ) -> Result<DeleteOutcome, StoreError> {
        let _timed = self.timed("delete_credential");
        on_pool!(self.pool(), p => {
            let user = sqlx::query("SELECT wallet FROM users WHERE wallet = $1")
                .bind(wallet)
                .fetch_optional(p)
                .await?;
            if user.is_none() {
                return Ok(DeleteOutcome::NoUser);
            }
            let done = sqlx::query("DELETE FROM credentials WHERE wallet = $1 AND cred_id = $2")
                .bind(wallet)
                .bind(cred_id)
                .execute(p)
                .await?;
            Ok(if done.rows_affected() == 1 {
                DeleteOutcome::Removed
            } else {
                DeleteOutcome::NoCredential
            })
        })
    }
}

fn new_user_ids() -> (String, String) {
    let mut rng = rand::rng();
    let mut id = [0u8; 32];
    rng.fill_bytes(&mut id);
    let mut object_id = [0u8; 12];
    rng.fill_bytes(&mut object_id);
    (BASE64URL_NOPAD.encode(&id), HEXLOWER.encode(&object_id))
}

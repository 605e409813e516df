-- Users are wallets; credentials are passkeys bound to one wallet for good.
CREATE TABLE IF NOT EXISTS users (
    wallet TEXT PRIMARY KEY,
    -- base64url of 32 random bytes, the original's user `id`
    id TEXT NOT NULL UNIQUE,
    -- 24 hex digits, shown as `_id` so the user document keeps the original's shape
    object_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS credentials (
    cred_id TEXT PRIMARY KEY,
    wallet TEXT NOT NULL REFERENCES users (wallet) ON DELETE CASCADE,
    device TEXT NOT NULL,
    -- base64url COSE_Key as the authenticator encoded it
    public_key TEXT NOT NULL,
    -- webauthn-rs Passkey as JSON; rewritten after every assertion
    passkey TEXT NOT NULL,
    counter BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX IF NOT EXISTS credentials_by_wallet ON credentials (wallet);

-- Pending WebAuthn ceremonies, keyed by their challenge. A row is deleted when a response
-- claims it, so a challenge answers at most one response on every node sharing the database.
CREATE TABLE IF NOT EXISTS ceremonies (
    challenge TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    cred_id TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ceremonies_by_expiry ON ceremonies (expires_at);

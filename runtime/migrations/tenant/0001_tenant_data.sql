-- A tenant's own data: users and API keys. Applied to each tenant's database (database
-- isolation), schema (schema isolation), or the shared tenant store (row isolation).
-- Every row carries tenant_id and every query filters on it, in all three modes.
-- The same SQL serves PostgreSQL and SQLite.

CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    email_index TEXT NOT NULL,
    email_enc TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    mfa_secret_enc TEXT,
    mfa_enabled_at BIGINT,
    mfa_last_step BIGINT,
    created_at BIGINT NOT NULL,
    deactivated_at BIGINT,
    UNIQUE (tenant_id, email_index)
);

CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    name_enc TEXT NOT NULL,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS users_tenant ON users (tenant_id, created_at);

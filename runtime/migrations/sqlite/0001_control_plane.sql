-- Control plane (dev, SQLite): tenants, platform operator keys and the audit log.
-- Mirrors migrations/postgres; times are unix seconds; PII is stored encrypted.

CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    industry TEXT NOT NULL,
    admin_email_enc TEXT NOT NULL,
    isolation TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS platform_keys (
    id TEXT PRIMARY KEY,
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    name_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    tenant_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    status BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_tenant ON audit_log (tenant_id, seq);

CREATE TABLE IF NOT EXISTS audit_checkpoint (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    purging BIGINT NOT NULL DEFAULT 0
);

CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoint WHERE purging = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Control plane: tenants, platform operator keys and the audit log.
-- Times are unix seconds; PII and key names are stored encrypted (enc:v1:...).

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

-- Retention is the only way rows leave the log: the purge holds a row here while it
-- deletes, and records the last purged hash so verification can start from it.
CREATE TABLE IF NOT EXISTS audit_checkpoint (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    purging BIGINT NOT NULL DEFAULT 0
);

CREATE OR REPLACE FUNCTION scf_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_checkpoint WHERE purging = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION scf_audit_append_only();

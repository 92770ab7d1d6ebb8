-- The audit log keyed and anchored: the retention checkpoint carries a seal (an HMAC with
-- the runtime's audit key, which the database never sees), so a forged checkpoint is
-- found; and TRUNCATE, which row triggers do not see, is refused like DELETE. The
-- timeouts keep a deploy from queueing every query behind a lock it waits for; they are
-- reset at the end, as the migrating session may be a pooled one.

SET lock_timeout = '10s';
SET statement_timeout = '60s';

ALTER TABLE audit_checkpoint ADD COLUMN IF NOT EXISTS seal TEXT;

CREATE OR REPLACE FUNCTION scf_audit_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION scf_audit_no_truncate();

RESET lock_timeout;
RESET statement_timeout;

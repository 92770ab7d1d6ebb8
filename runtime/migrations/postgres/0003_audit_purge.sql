-- Retention without DELETE. The runtime's role may only read and append to the audit log
-- (`scf db migrate`, run as the owner role, grants it no more); the purge is this function,
-- which runs with the rights of its owner, the role that ran the migrations. It moves the
-- sealed checkpoint past the purged entries and deletes them, inside the caller's
-- transaction. Nobody but the roles granted it may call it.

CREATE OR REPLACE FUNCTION scf_audit_purge(upto BIGINT, upto_hash TEXT, checkpoint_seal TEXT)
RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    deleted BIGINT;
BEGIN
    INSERT INTO audit_checkpoint (id, seq, hash, purging, seal)
    VALUES (1, upto, upto_hash, 1, checkpoint_seal)
    ON CONFLICT (id) DO UPDATE
        SET seq = excluded.seq, hash = excluded.hash, purging = 1, seal = excluded.seal;
    DELETE FROM audit_log WHERE seq <= upto;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    UPDATE audit_checkpoint SET purging = 0 WHERE id = 1;
    RETURN deleted;
END;
$$;

REVOKE ALL ON FUNCTION scf_audit_purge(BIGINT, TEXT, TEXT) FROM PUBLIC;

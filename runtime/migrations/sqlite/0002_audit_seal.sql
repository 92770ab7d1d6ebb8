-- The retention checkpoint carries a seal (an HMAC with the runtime's audit key, which
-- the database never sees), so a forged checkpoint is found.

ALTER TABLE audit_checkpoint ADD COLUMN seal TEXT;

-- One row per tenant, taken (upserted) as the first statement of every transaction that
-- checks a plan limit and then changes what the limit counts (users, active
-- implementations, admins). Upserting the row locks it until the transaction ends, on
-- PostgreSQL, and takes SQLite's write lock, so two requests never both pass a count
-- that only one of them may pass. The same SQL serves PostgreSQL and SQLite.

CREATE TABLE IF NOT EXISTS limit_locks (
    tenant_id TEXT PRIMARY KEY,
    locked_at BIGINT NOT NULL
);

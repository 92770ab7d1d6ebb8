-- Sign-in protection. `failed_logins` counts consecutive failed sign-ins and
-- `locked_until` (unix seconds) is the lock they earned; a successful sign-in clears both.
-- `token_generation` is stamped into every token issued; signing out or changing the
-- password advances it, which revokes every token issued before. Defaults are constants,
-- so adding the columns rewrites no rows. The same SQL serves PostgreSQL and SQLite, which
-- has no ADD COLUMN IF NOT EXISTS; sqlx applies a migration in one transaction, so a
-- failure part way leaves nothing to rerun over.

-- squawk-ignore prefer-robust-stmts
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE users ADD COLUMN locked_until BIGINT;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE users ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;

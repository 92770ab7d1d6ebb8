//! Least privilege on the PostgreSQL control plane. Its tables belong to an owner role,
//! which runs the migrations (`DATABASE_MIGRATION_URL`); the runtime's own role (the user
//! of `DATABASE_URL`) is then granted only what serving needs: reading and writing the app
//! tables, reading and appending to the audit log, reading its checkpoint and the
//! migrations table, and calling the audit purge. It cannot TRUNCATE, UPDATE or DELETE
//! the log, drop its triggers or change the schema, so neither can whoever steals its
//! password. Granting converges: it first revokes everything, in the same transaction.

use sqlx::{AnyConnection, AssertSqlSafe, Connection};

use super::DbError;
use super::ident::quote;

/// Tables the runtime's role may read and append to, never change or empty.
const APPEND_ONLY: &str = "audit_log";

/// Tables the runtime's role may only read.
const READ_ONLY: &str = "audit_checkpoint, _sqlx_migrations";

/// Functions the runtime's role may call (they run with the owner's rights).
const CALLABLE: &str = "scf_audit_purge(BIGINT, TEXT, TEXT)";

/// A `DATABASE_MIGRATION_URL` from a superuser's URL: the same server and credentials,
/// the database `database`, and the session's `role` set to `owner` at connect time, so
/// what the migrations create belongs to `owner` (`scf apply` migrates this way; the
/// owner role itself cannot log in).
pub fn migration_url(admin_url: &str, database: &str, owner: &str) -> Result<String, DbError> {
    let mut url = url::Url::parse(admin_url)
        .map_err(|e| DbError::Url(format!("the admin database URL: {e}")))?;
    url.set_path(&format!("/{database}"));
    url.query_pairs_mut()
        .append_pair("options", &format!("-c role={owner}"));
    Ok(url.to_string())
}

/// The statements that leave `role` with exactly the runtime's privileges.
fn statements(role: &str) -> String {
    let role = quote(role);
    format!(
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};\n\
         REVOKE CREATE ON SCHEMA public FROM {role};\n\
         GRANT USAGE ON SCHEMA public TO {role};\n\
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};\n\
         REVOKE INSERT, UPDATE, DELETE ON {READ_ONLY} FROM {role};\n\
         REVOKE UPDATE, DELETE ON {APPEND_ONLY} FROM {role};\n\
         GRANT EXECUTE ON FUNCTION {CALLABLE} TO {role};\n"
    )
}

/// Grants the runtime's `role` its privileges on the control plane, through `owner`, a
/// connection as the role that owns the tables (the one that just migrated them). Fails,
/// naming the fix, when `role` is that owner or still owns a table: an owner's rights
/// cannot be taken away by revoking them.
pub async fn grant(owner: &mut AnyConnection, role: &str) -> Result<(), DbError> {
    let migrating: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *owner)
        .await?;
    if migrating == role {
        return Err(DbError::Privileges(format!(
            "DATABASE_MIGRATION_URL connects as the runtime's own role `{role}`; it must \
             connect as the role that owns the schema (`{role}_owner` in the generated bootstrap.sql)"
        )));
    }
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1 ORDER BY 1",
    )
    .bind(role)
    .fetch_all(&mut *owner)
    .await?;
    if !owned.is_empty() {
        return Err(DbError::Privileges(format!(
            "the runtime's role `{role}` owns {}: hand them to the owner role (the generated \
             bootstrap.sql does, run by `scf apply`), then migrate again",
            owned.join(", ")
        )));
    }
    let mut tx = owner.begin().await?;
    sqlx::raw_sql(AssertSqlSafe(statements(role)))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

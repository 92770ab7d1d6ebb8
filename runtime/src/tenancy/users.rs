//! A tenant's users. Every query is on a [`TenantDb`] and filters on its tenant id, so a
//! user id from another tenant is simply not found. Emails are stored encrypted, with a
//! keyed hash for lookup; passwords as argon2id hashes; TOTP secrets encrypted.

use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor, FromRow};

use super::store::{TenantDb, TenantRow};
use crate::db::now;
use crate::domain::role::Role;

/// Field-encryption context of user emails.
pub const EMAIL_CONTEXT: &str = "users.email";
/// Field-encryption context of TOTP secrets.
pub const MFA_CONTEXT: &str = "users.mfa_secret";

/// A user as stored.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// Random UUID.
    pub id: String,
    /// Encrypted email.
    pub email_enc: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role name.
    pub role: String,
    /// Encrypted TOTP secret, once enrolment started.
    pub mfa_secret_enc: Option<String>,
    /// When TOTP was confirmed.
    pub mfa_enabled_at: Option<i64>,
    /// Last TOTP step accepted (replay guard).
    pub mfa_last_step: Option<i64>,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Deactivated (unix seconds).
    pub deactivated_at: Option<i64>,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// Sign-in refused until then (unix seconds), after repeated failures.
    pub locked_until: Option<i64>,
    /// Tokens carry the generation they were issued under; only the current one is valid.
    pub token_generation: i64,
}

impl UserRow {
    /// The role; an unknown stored role reads as the least privileged.
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Viewer)
    }

    /// Whether the user may sign in.
    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

/// What authenticating a user's token reads of the user (cached by
/// [`super::lookups`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The role.
    pub role: Role,
    /// Whether the user may sign in.
    pub active: bool,
    /// The current token generation.
    pub token_generation: i64,
}

impl From<&UserRow> for Standing {
    fn from(user: &UserRow) -> Self {
        Self {
            role: user.role(),
            active: user.is_active(),
            token_generation: user.token_generation,
        }
    }
}

/// A user to insert.
pub struct NewUser<'a> {
    /// Random UUID.
    pub id: &'a str,
    /// Keyed hash of the email.
    pub email_index: &'a str,
    /// Encrypted email.
    pub email_enc: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Role.
    pub role: Role,
}

impl TenantRow for UserRow {
    const TABLE: &'static str = "users";
    const COLUMNS: &'static str = "id, email_enc, password_hash, role, mfa_secret_enc, mfa_enabled_at, mfa_last_step, created_at, deactivated_at, failed_logins, locked_until, token_generation";
}

impl TenantDb {
    /// Active users of the tenant.
    pub async fn count_active_users(&self) -> Result<u64, sqlx::Error> {
        self.active_users(&self.pool).await
    }

    /// Active users, counted on `conn` (inside a [`TenantDb::begin_limited`] transaction
    /// when the count guards a change).
    pub(super) async fn active_users<'e>(
        &self,
        conn: impl Executor<'e, Database = Any>,
    ) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE tenant_id = $1 AND deactivated_at IS NULL",
            self.table("users")
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .fetch_one(conn)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Active admins other than `except`, counted on `conn`.
    pub(super) async fn other_active_admins(
        &self,
        conn: &mut AnyConnection,
        except: &str,
    ) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE tenant_id = $1 AND id <> $2 AND role = $3 AND deactivated_at IS NULL",
            self.table("users")
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(except)
            .bind(Role::Admin.as_str())
            .fetch_one(conn)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Inserts a user on `conn`; a duplicate email is a unique violation.
    pub(super) async fn insert_user(
        &self,
        conn: &mut AnyConnection,
        user: &NewUser<'_>,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (id, tenant_id, email_index, email_enc, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.table("users")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(user.id)
            .bind(self.tid())
            .bind(user.email_index)
            .bind(user.email_enc)
            .bind(user.password_hash)
            .bind(user.role.as_str())
            .bind(now())
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// A user by id.
    pub async fn user(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        self.find("id", id).await
    }

    /// A user by any of the email's keyed hashes (one per field key).
    pub async fn user_by_email(&self, indexes: &[String]) -> Result<Option<UserRow>, sqlx::Error> {
        for index in indexes {
            if let Some(row) = self.find("email_index", index).await? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// All users, oldest first.
    pub async fn users(&self) -> Result<Vec<UserRow>, sqlx::Error> {
        self.all().await
    }

    /// A user's role and whether they are active, read on `conn`; `None` when no such
    /// user.
    pub(super) async fn user_standing(
        &self,
        conn: &mut AnyConnection,
        id: &str,
    ) -> Result<Option<(Role, bool)>, sqlx::Error> {
        let sql = format!(
            "SELECT role, deactivated_at FROM {} WHERE tenant_id = $1 AND id = $2",
            self.table("users")
        );
        let row: Option<(String, Option<i64>)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .fetch_optional(conn)
            .await?;
        Ok(row.map(|(role, deactivated_at)| {
            (
                role.parse().unwrap_or(Role::Viewer),
                deactivated_at.is_none(),
            )
        }))
    }

    /// Changes a user's role on `conn`.
    pub(super) async fn set_user_role(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        role: Role,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET role = $3 WHERE tenant_id = $1 AND id = $2",
            self.table("users")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(role.as_str())
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Deactivates (`true`) or reactivates (`false`) a user on `conn`.
    pub(super) async fn set_user_deactivated(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        deactivated: bool,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET deactivated_at = $3 WHERE tenant_id = $1 AND id = $2",
            self.table("users")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(deactivated.then(now))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Stores a new (unconfirmed) TOTP secret, replacing an unconfirmed one.
    pub async fn set_mfa_secret(&self, id: &str, secret_enc: &str) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET mfa_secret_enc = $3, mfa_enabled_at = NULL, mfa_last_step = NULL WHERE tenant_id = $1 AND id = $2 AND mfa_enabled_at IS NULL",
            self.table("users")
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(secret_enc)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an accepted TOTP step (and confirms enrolment); false when the step is
    /// not newer than the last one accepted, i.e. a replayed code.
    pub async fn accept_mfa_step(&self, id: &str, step: i64) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET mfa_last_step = $3, mfa_enabled_at = COALESCE(mfa_enabled_at, $4) \
             WHERE tenant_id = $1 AND id = $2 AND (mfa_last_step IS NULL OR mfa_last_step < $3)",
            self.table("users")
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(step)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Bytes of the tenant's rows (row isolation's storage measure).
    pub(super) async fn row_bytes(&self) -> Result<i64, sqlx::Error> {
        let sql = format!(
            "SELECT COALESCE(SUM(LENGTH(email_enc) + LENGTH(password_hash) + LENGTH(id)), 0) FROM {} WHERE tenant_id = $1",
            self.table("users")
        );
        let users: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .fetch_one(&self.pool)
            .await?;
        let sql = format!(
            "SELECT COALESCE(SUM(LENGTH(name_enc) + LENGTH(secret_hash) + LENGTH(id)), 0) FROM {} WHERE tenant_id = $1",
            self.table("api_keys")
        );
        let keys: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .fetch_one(&self.pool)
            .await?;
        Ok(users + keys)
    }
}

//! A tenant's API keys: stored as prefix plus SHA-256 of the secret, the name encrypted,
//! with an expiry from the rotation period. Rotation issues a new secret under a new
//! prefix and revokes the old one; revocation is immediate. Every query filters on the
//! tenant id.

use sqlx::{AssertSqlSafe, FromRow};

use super::store::{TenantDb, TenantRow};
use crate::db::now;
use crate::domain::role::Role;

/// Field-encryption context of API-key names.
pub const NAME_CONTEXT: &str = "api_keys.name";

/// An API key as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    /// Random UUID.
    pub id: String,
    /// Lookup prefix.
    pub prefix: String,
    /// SHA-256 of the secret.
    pub secret_hash: String,
    /// Encrypted name.
    pub name_enc: String,
    /// Role name.
    pub role: String,
    /// The user who created it.
    pub created_by: String,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Expires (unix seconds).
    pub expires_at: i64,
    /// Revoked (unix seconds).
    pub revoked_at: Option<i64>,
}

impl ApiKeyRow {
    /// The role; an unknown stored role reads as the least privileged.
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Viewer)
    }

    /// Whether the key authenticates at `now`.
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A key to insert.
pub struct NewApiKey<'a> {
    /// Random UUID.
    pub id: &'a str,
    /// Lookup prefix.
    pub prefix: &'a str,
    /// SHA-256 of the secret.
    pub secret_hash: &'a str,
    /// Encrypted name.
    pub name_enc: &'a str,
    /// Role.
    pub role: Role,
    /// Creating user.
    pub created_by: &'a str,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

impl TenantRow for ApiKeyRow {
    const TABLE: &'static str = "api_keys";
    const COLUMNS: &'static str =
        "id, prefix, secret_hash, name_enc, role, created_by, created_at, expires_at, revoked_at";
}

impl TenantDb {
    /// Inserts a key.
    pub async fn insert_api_key(&self, key: &NewApiKey<'_>) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (id, tenant_id, prefix, secret_hash, name_enc, role, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            self.table("api_keys")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(key.id)
            .bind(self.tid())
            .bind(key.prefix)
            .bind(key.secret_hash)
            .bind(key.name_enc)
            .bind(key.role.as_str())
            .bind(key.created_by)
            .bind(now())
            .bind(key.expires_at)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// A key by id.
    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        self.find("id", id).await
    }

    /// A key by its lookup prefix.
    pub async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        self.find("prefix", prefix).await
    }

    /// All keys, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
        self.all().await
    }

    /// Revokes a key; false when no such unrevoked key.
    pub async fn revoke_api_key(&self, id: &str) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
            self.table("api_keys")
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(now())
            .execute(&self.pool)
            .await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            self.changed().await;
        }
        Ok(revoked)
    }
}

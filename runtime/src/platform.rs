//! Platform operator keys: the credentials of the admin API (tenant provisioning over
//! HTTP). `scf db seed --production` creates the first one and shows it once; only the
//! prefix and the SHA-256 of the secret are stored, the name encrypted. Requests read
//! them through the cache (`tenancy::lookups`), so a revocation goes through
//! `DELETE /v1/admin/platform-keys/{id}`, which tells every replica.

use sqlx::FromRow;

use crate::crypto::api_key::{self, KeyOwner};
use crate::crypto::fields::FieldCipher;
use crate::db::{Db, now};

/// Field-encryption context of platform key names.
pub const NAME_CONTEXT: &str = "platform_keys.name";

/// A platform key as stored.
#[derive(Debug, Clone, FromRow)]
pub struct PlatformKeyRow {
    /// Random UUID.
    pub id: String,
    /// SHA-256 of the secret.
    pub secret_hash: String,
    /// Expires (unix seconds).
    pub expires_at: i64,
    /// Revoked (unix seconds).
    pub revoked_at: Option<i64>,
}

impl PlatformKeyRow {
    /// Whether the key authenticates at `now`.
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A key by lookup prefix.
pub async fn find_key(db: &Db, prefix: &str) -> Result<Option<PlatformKeyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, secret_hash, expires_at, revoked_at FROM platform_keys WHERE prefix = $1",
    )
    .bind(prefix)
    .fetch_optional(&db.pool)
    .await
}

/// Revokes a key now; false when no such unrevoked key.
pub async fn revoke_key(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE platform_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many usable platform keys exist.
pub async fn count_usable(db: &Db) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM platform_keys WHERE revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now())
    .fetch_one(&db.pool)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Creates a platform key named `name`, valid for `lifetime`; returns (id, key text).
pub async fn create_key(
    db: &Db,
    cipher: &FieldCipher,
    name: &str,
    lifetime: std::time::Duration,
) -> Result<(String, String), sqlx::Error> {
    let key = api_key::generate(&KeyOwner::Platform);
    let id = crate::db::new_id();
    let created = now();
    let name_enc = cipher
        .encrypt(NAME_CONTEXT, name)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query("INSERT INTO platform_keys (id, prefix, secret_hash, name_enc, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&key.prefix)
        .bind(&key.secret_hash)
        .bind(name_enc)
        .bind(created)
        .bind(created.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)))
        .execute(&db.pool)
        .await?;
    Ok((id, key.plaintext))
}

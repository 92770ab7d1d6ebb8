//! Sign-in bookkeeping on a tenant's users: consecutive failures and the lock they earn
//! (the policy is [`lock_for`]), and the token generation that signing out and changing
//! the password advance, which revokes every token issued before.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use super::store::TenantDb;
use crate::db::now;

/// Consecutive failed sign-ins after which an account is locked.
pub const LOCK_AFTER: i64 = 5;
/// The first lock; each further failure doubles it.
pub const FIRST_LOCK: Duration = Duration::from_secs(60);
/// The longest lock.
pub const MAX_LOCK: Duration = Duration::from_secs(3600);

/// How long an account is locked after its `failures`-th consecutive failure: nothing
/// before [`LOCK_AFTER`], then [`FIRST_LOCK`], doubling with each further failure up to
/// [`MAX_LOCK`].
pub fn lock_for(failures: i64) -> Option<Duration> {
    let beyond = failures.checked_sub(LOCK_AFTER).filter(|n| *n >= 0)?;
    let doublings = u32::try_from(beyond).unwrap_or(u32::MAX);
    let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
    Some(FIRST_LOCK.saturating_mul(factor).min(MAX_LOCK))
}

impl TenantDb {
    /// Counts a failed sign-in of user `id` and locks the account when the count calls
    /// for it. Returns the lock's end (unix seconds), if it is now locked.
    pub async fn record_failed_login(&self, id: &str) -> Result<Option<i64>, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET failed_logins = failed_logins + 1 WHERE tenant_id = $1 AND id = $2 RETURNING failed_logins",
            self.table("users")
        );
        let failures: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(lock) = failures.and_then(lock_for) else {
            return Ok(None);
        };
        let until = now().saturating_add(i64::try_from(lock.as_secs()).unwrap_or(i64::MAX));
        // Concurrent failures each compute a lock; the longest one stands.
        let sql = format!(
            "UPDATE {} SET locked_until = $3 WHERE tenant_id = $1 AND id = $2 AND (locked_until IS NULL OR locked_until < $3)",
            self.table("users")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(Some(until))
    }

    /// Clears the failure count and any lock after a successful sign-in.
    pub async fn clear_failed_logins(&self, id: &str) -> Result<(), sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND id = $2 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
            self.table("users")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Revokes every token of user `id` issued so far; returns the new generation, which
    /// tokens issued from now on carry (`None` when no such user).
    pub async fn revoke_tokens(&self, id: &str) -> Result<Option<i64>, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET token_generation = token_generation + 1 WHERE tenant_id = $1 AND id = $2 RETURNING token_generation",
            self.table("users")
        );
        let generation = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        self.changed().await;
        Ok(generation)
    }

    /// Replaces user `id`'s password hash, clears its failed sign-ins and revokes its
    /// tokens; returns the new token generation (`None` when no such user).
    pub async fn set_password(&self, id: &str, hash: &str) -> Result<Option<i64>, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET password_hash = $3, failed_logins = 0, locked_until = NULL, token_generation = token_generation + 1 WHERE tenant_id = $1 AND id = $2 RETURNING token_generation",
            self.table("users")
        );
        let generation = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        self.changed().await;
        Ok(generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_five_failures_and_double_up_to_an_hour() {
        assert_eq!(lock_for(0), None);
        assert_eq!(lock_for(LOCK_AFTER - 1), None);
        let minutes = |n| lock_for(n).map(|d| d.as_secs() / 60);
        assert_eq!(minutes(5), Some(1));
        assert_eq!(minutes(6), Some(2));
        assert_eq!(minutes(8), Some(8));
        assert_eq!(minutes(11), Some(60));
        assert_eq!(minutes(i64::MAX), Some(60));
    }
}

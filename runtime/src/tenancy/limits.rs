//! Plan limits that hold under concurrency. A limit is checked by counting and then
//! changing what it counts; two requests that count at once would both pass. So every
//! such change runs in a [`TenantDb::begin_limited`] transaction, whose first statement
//! upserts the tenant's row of `limit_locks` (tenant migration 0003). On PostgreSQL that
//! locks the row until the transaction ends; on SQLite it takes the file's write lock.
//! Either way a second request's count waits until the first one's change is committed
//! or rolled back, and the count, the check and the change stay on one connection, so a
//! waiting request never holds a pooled connection the holder needs.

use sqlx::{Any, AssertSqlSafe, Transaction};

use super::store::TenantDb;
use crate::db::now;

/// A transaction holding its tenant's limit lock; dropping it rolls back and releases.
pub type Limited = Transaction<'static, Any>;

impl TenantDb {
    /// Begins a transaction that holds the tenant's limit lock until it ends.
    pub async fn begin_limited(&self) -> Result<Limited, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO {} (tenant_id, locked_at) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET locked_at = excluded.locked_at",
            self.table("limit_locks")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(now())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

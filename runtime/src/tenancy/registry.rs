//! The control-plane record of tenants (plan, industry, encrypted admin email, status).
//! The tenants' own data is elsewhere, behind [`super::store::Stores`]. Counting tenants
//! against `MAX_TENANTS` and recording a new one happen in one [`begin_counted`]
//! transaction, so concurrent provisioning cannot pass the limit.

use sqlx::{Any, AnyConnection, AssertSqlSafe, Connection, FromRow, Transaction};

use crate::db::{Backend, Db, now};

/// Advisory-lock key serialising tenant provisioning on PostgreSQL ("scftenan").
const LOCK_KEY: i64 = 0x7363_6674_656e_616e;

/// Begins, on `conn` (a connection of its own, outside the pool, since the transaction
/// stays open while the tenant's store is provisioned through the pool), a transaction
/// that only one provisioning holds at a time: a transaction-scoped advisory lock on
/// PostgreSQL, SQLite's write lock (`BEGIN IMMEDIATE`) in dev.
pub async fn begin_counted(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<Transaction<'_, Any>, sqlx::Error> {
    match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = conn.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// A tenant as recorded.
#[derive(Debug, Clone, FromRow)]
pub struct TenantRow {
    /// Tenant id.
    pub id: String,
    /// Plan name.
    pub plan: String,
    /// Industry.
    pub industry: String,
    /// Encrypted admin email.
    pub admin_email_enc: String,
    /// Isolation mode it was provisioned with.
    pub isolation: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Created (unix seconds).
    pub created_at: i64,
}

/// Field-encryption context of tenant admin emails.
pub const ADMIN_EMAIL_CONTEXT: &str = "tenants.admin_email";

/// The columns of a [`TenantRow`], in its order.
pub(super) const COLUMNS: &str =
    "id, plan, industry, admin_email_enc, isolation, status, created_at";

/// Records a tenant on `conn`; a duplicate id is a unique violation.
pub async fn insert(conn: &mut AnyConnection, row: &TenantRow) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO tenants (id, plan, industry, admin_email_enc, isolation, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&row.id)
        .bind(&row.plan)
        .bind(&row.industry)
        .bind(&row.admin_email_enc)
        .bind(&row.isolation)
        .bind(&row.status)
        .bind(now())
        .execute(conn)
        .await
        .map(|_| ())
}

/// A tenant by id.
pub async fn get(db: &Db, id: &str) -> Result<Option<TenantRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

/// Tenants by id, optionally only active ones.
pub async fn list(db: &Db, active_only: bool) -> Result<Vec<TenantRow>, sqlx::Error> {
    let filter = if active_only {
        "WHERE status = 'active'"
    } else {
        ""
    };
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants {filter} ORDER BY id"
    )))
    .fetch_all(&db.pool)
    .await
}

/// How many tenants exist, counted on `conn`.
pub async fn count(conn: &mut AnyConnection) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

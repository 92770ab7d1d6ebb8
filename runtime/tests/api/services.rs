//! The one place tests learn where PostgreSQL and Redis are. Until `scf_testkit::services`
//! lands this points at the local servers (127.0.0.1:5432 trust auth, 127.0.0.1:6379);
//! switching is a change here only.

use sqlx::{Connection, Executor};

/// Admin URL of the PostgreSQL server.
pub fn postgres_admin_url() -> String {
    "postgresql://postgres@127.0.0.1:5432/postgres".to_owned()
}

/// Creates a fresh, empty database and returns its URL (no password).
pub async fn fresh_postgres_database(prefix: &str) -> String {
    let name = format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .expect("PostgreSQL at 127.0.0.1:5432");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create test database");
    format!("postgresql://postgres@127.0.0.1:5432/{name}")
}

/// URL of the shared Redis.
pub fn redis_url() -> String {
    "redis://127.0.0.1:6379/0".to_owned()
}

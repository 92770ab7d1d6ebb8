//! Migrations on a live database: every PostgreSQL migration, as the runner applies it,
//! passes squawk with no warning, and a migration that waits for a lock live traffic holds
//! gives up after `lock_timeout` instead of queueing every query behind it.

use std::time::Duration;

use scf_runtime::db::Backend as Engine;
use scf_runtime::db::migrate::{
    self, MigrationState, POSTGRES_MIGRATOR, SQLITE_MIGRATOR, TENANT_MIGRATOR, Timeouts,
};
use scf_testkit::validators::postgres::lint_transactional_sql;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::services;

#[test]
fn every_postgres_migration_passes_squawk_as_the_runner_applies_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (set, migrator) in [
        ("control", &POSTGRES_MIGRATOR),
        ("tenant", &TENANT_MIGRATOR),
    ] {
        for m in migrate::guarded(migrator, Engine::Postgres, Timeouts::DEPLOY).iter() {
            let file = dir.path().join(format!("{set}_{:04}.sql", m.version));
            std::fs::write(&file, m.sql.as_str()).expect("write");
            files.push(file);
        }
    }
    assert!(files.len() >= 6, "both sets of migrations linted");
    let files: Vec<&std::path::Path> = files.iter().map(|f| f.as_path()).collect();
    lint_transactional_sql(&files).unwrap_or_else(|f| panic!("squawk: {f}"));
}

#[test]
fn sqlite_migrations_are_applied_as_written() {
    let guarded = migrate::guarded(&SQLITE_MIGRATOR, Engine::Sqlite, Timeouts::DEPLOY);
    for (m, embedded) in guarded.iter().zip(SQLITE_MIGRATOR.iter()) {
        assert_eq!(m.sql.as_str(), embedded.sql.as_str());
        assert_eq!(m.checksum, embedded.checksum);
    }
}

async fn one_connection(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_migration_waiting_for_a_lock_gives_up_after_lock_timeout() {
    let db = services::fresh_postgres_database("lockwait");
    let pool = one_connection(&db.url()).await;
    // Everything but the last tenant migration, which alters `users`.
    let last = TENANT_MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .expect("some");
    let before = Migrator::with_migrations(
        TENANT_MIGRATOR
            .iter()
            .filter(|m| m.version < last)
            .cloned()
            .collect(),
    );
    migrate::run(&before, Engine::Postgres, Timeouts::DEPLOY, &pool)
        .await
        .expect("earlier migrations");

    // Live traffic: a long transaction that has read `users`.
    let traffic = one_connection(&db.url()).await;
    let mut held = traffic.begin().await.expect("begin");
    sqlx::query("SELECT count(*) FROM users")
        .execute(&mut *held)
        .await
        .expect("read");

    let timeouts = Timeouts {
        lock: Duration::from_millis(300),
        ..Timeouts::DEPLOY
    };
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        migrate::run(&TENANT_MIGRATOR, Engine::Postgres, timeouts, &pool),
    )
    .await
    .expect("the migration gave up within 10s instead of waiting for the lock");
    let err = attempt.expect_err("the lock was held throughout");
    assert!(err.to_string().contains("lock timeout"), "{err}");

    held.rollback().await.expect("release");
    migrate::run(&TENANT_MIGRATOR, Engine::Postgres, timeouts, &pool)
        .await
        .expect("retried once the lock is free");
    let mut conn = pool.acquire().await.expect("conn");
    assert_eq!(
        migrate::state(&mut conn, &TENANT_MIGRATOR, None)
            .await
            .expect("state"),
        MigrationState::Current
    );
    // SET LOCAL ended with each migration's transaction: the pooled session is untouched.
    for setting in ["lock_timeout", "statement_timeout"] {
        let (value,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .fetch_one(&mut *conn)
            .await
            .expect("show");
        assert_eq!(value, "0", "{setting}");
    }
}

//! Generated postgresql.conf / redis.conf judged by real servers, and SQL migrations (applied and linted).

use std::path::{Path, PathBuf};

use scf_testkit::validators::{postgres, redis};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn good_postgres_config_starts_and_migrations_apply() {
    let cluster = postgres::check_config(&fixture("postgres/postgresql.conf")).expect("config");
    assert_eq!(
        cluster.psql("SHOW shared_buffers").expect("show").trim(),
        "256MB"
    );
    assert_eq!(
        cluster.psql("SHOW statement_timeout").expect("show").trim(),
        "30s"
    );
    let init = fixture("postgres/0001_init.sql");
    postgres::apply_sql(&cluster.url(), &[&init]).expect("migration");
    // Migrations are re-run on every deploy: a second apply must pass too.
    postgres::apply_sql(&cluster.url(), &[&init]).expect("idempotent migration");
    let tables = cluster
        .psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        .expect("count");
    assert_eq!(tables.trim(), "2");
}

#[test]
fn postgres_config_typo_fails() {
    let findings = postgres::check_config(&fixture("postgres/typo.conf")).expect_err("typo");
    assert!(
        findings
            .output()
            .contains(r#"unrecognized configuration parameter "shared_bufers""#),
        "{findings}"
    );
}

#[test]
fn postgres_config_bad_value_fails() {
    let findings =
        postgres::check_config(&fixture("postgres/bad-value.conf")).expect_err("bad value");
    assert!(
        findings
            .output()
            .contains(r#"invalid value for parameter "work_mem": "lots""#),
        "{findings}"
    );
}

#[test]
fn failing_migration_fails_with_its_line() {
    let db = scf_testkit::services::postgres().fresh_database("migrations");
    let files = [
        fixture("postgres/0001_init.sql"),
        fixture("postgres/0002_bad.sql"),
    ];
    let findings =
        postgres::apply_sql(db.url(), &[&files[0], &files[1]]).expect_err("bad migration");
    assert!(
        findings.output().contains("0002_bad.sql:3: ERROR:"),
        "{findings}"
    );
    assert!(
        findings
            .output()
            .contains(r#"column "state" does not exist"#),
        "{findings}"
    );
    assert!(
        !findings.to_string().contains(db.url()),
        "URL leaked: {findings}"
    );
}

#[test]
fn good_redis_config_enforces_its_password() {
    let server =
        redis::check_config(&fixture("redis/redis.conf"), "test-only-password").expect("config");
    assert!(
        server.log().contains("Ready to accept connections"),
        "{}",
        server.log()
    );
}

#[test]
fn redis_config_typo_fails() {
    let findings =
        redis::check_config(&fixture("redis/typo.conf"), "test-only-password").expect_err("typo");
    assert!(findings.output().contains("Bad directive"), "{findings}");
    assert!(findings.output().contains("maxmemmory"), "{findings}");
}

#[test]
fn redis_config_without_password_fails() {
    let findings = redis::check_config(&fixture("redis/no-password.conf"), "test-only-password")
        .expect_err("open");
    assert!(
        findings
            .to_string()
            .contains("answered without the password"),
        "{findings}"
    );
}

#[test]
fn wrong_redis_password_fails_without_echoing_it() {
    let findings =
        redis::check_config(&fixture("redis/redis.conf"), "not-the-password").expect_err("wrong");
    assert!(findings.output().contains("WRONGPASS"), "{findings}");
    assert!(
        !findings.to_string().contains("not-the-password"),
        "password leaked: {findings}"
    );
}

#[test]
fn safe_migration_passes_squawk() {
    postgres::lint_sql(&[&fixture("postgres/0001_init.sql")]).expect("clean");
}

#[test]
fn blocking_migration_fails_squawk() {
    let findings = postgres::lint_sql(&[&fixture("postgres/blocking.sql")]).expect_err("blocking");
    assert!(
        findings
            .output()
            .contains("require-concurrent-index-creation"),
        "{findings}"
    );
    assert!(
        findings.output().contains("changing-column-type"),
        "{findings}"
    );
}

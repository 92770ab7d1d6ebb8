//! Settings from environment maps: dev defaults, production requirements, bad values.

use std::collections::HashMap;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn load(mode: Mode, map: &HashMap<String, String>) -> Result<Settings, SettingsError> {
    Settings::from_lookup(mode, &|k| map.get(k).cloned())
}

#[test]
fn dev_needs_nothing_and_keeps_its_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let map = env(&[("DATA_DIR", dir.path().to_str().expect("utf8"))]);
    let first = load(Mode::Development, &map).expect("dev settings");
    assert_eq!(
        first.database,
        DatabaseTarget::Sqlite {
            path: dir.path().join("scf.db")
        }
    );
    assert_eq!(first.redis, None);
    assert!(!first.security.mfa_required);
    let second = load(Mode::Development, &map).expect("dev settings again");
    assert_eq!(
        first.security.jwt_keys, second.security.jwt_keys,
        "dev keys persist"
    );
}

#[test]
fn production_names_what_is_missing() {
    let err = load(Mode::Production, &env(&[])).expect_err("no database");
    assert!(
        err.to_string().starts_with("DATABASE_URL is not set"),
        "{err}"
    );
    let err = load(
        Mode::Production,
        &env(&[("DATABASE_URL", "postgresql://f@h/db")]),
    )
    .expect_err("no redis");
    assert!(err.to_string().starts_with("REDIS_URL is not set"), "{err}");
    let err = load(
        Mode::Production,
        &env(&[
            ("DATABASE_URL", "postgresql://f@h/db"),
            ("REDIS_URL", "redis://h"),
        ]),
    )
    .expect_err("no key");
    assert!(
        err.to_string().starts_with("SECRET_KEY is not set"),
        "{err}"
    );
}

#[test]
fn production_reads_the_guide_values() {
    let key = "k".repeat(40);
    let map = env(&[
        (
            "DATABASE_URL",
            "postgresql://framework@127.0.0.1:5432/ai_supply_chain",
        ),
        ("DATABASE_PASSWORD", "pw"),
        ("REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("SECRET_KEY", &key),
        ("SECRET_KEY_PREVIOUS", "old-one,old-two"),
        (
            "FIELD_ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ),
        ("RATE_LIMIT_PER_IP", "10/minute"),
        ("TENANT_ISOLATION", "schema"),
        ("JWT_EXPIRY_SECONDS", "60"),
    ]);
    let s = load(Mode::Production, &map).expect("production settings");
    assert_eq!(s.security.jwt_keys.len(), 3);
    assert!(s.security.mfa_required, "production defaults to MFA");
    assert_eq!(s.rate_limits.per_ip.count, 10);
    assert_eq!(s.isolation, Isolation::Schema);
    assert_eq!(s.database_pool_size, 20);
    assert_eq!(s.database_max_connections, 50);
    assert_eq!(s.database_extensions, ["uuid-ossp", "pgcrypto"]);
    assert!(
        !format!("{s:?}").contains("kkkk"),
        "debug output hides secrets"
    );
}

#[test]
fn bad_values_name_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf8");
    for (var, value, expect) in [
        (
            "LISTEN_ADDR",
            "localhost",
            "LISTEN_ADDR=\"localhost\" is invalid",
        ),
        (
            "TENANT_ISOLATION",
            "cluster",
            "TENANT_ISOLATION=\"cluster\" is invalid",
        ),
        (
            "TENANT_ISOLATION",
            "schema",
            "schema isolation needs PostgreSQL",
        ),
        (
            "RATE_LIMIT_PER_USER",
            "many",
            "RATE_LIMIT_PER_USER=\"many\" is invalid",
        ),
        (
            "DATABASE_URL",
            "mysql://x",
            "DATABASE_URL=\"mysql://x\" is invalid",
        ),
        ("SECRET_KEY", "short", "use at least 32 characters"),
    ] {
        let err = load(Mode::Development, &env(&[("DATA_DIR", d), (var, value)])).expect_err(var);
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[test]
fn mode_follows_flags_then_environment() {
    let prod = env(&[("ENVIRONMENT", "production")]);
    let get = |k: &str| prod.get(k).cloned();
    assert_eq!(Mode::resolve(false, false, &get), Mode::Production);
    assert_eq!(Mode::resolve(true, false, &get), Mode::Development);
    assert_eq!(Mode::resolve(false, false, &|_| None), Mode::Development);
}

#[test]
fn queue_settings_default_and_parse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_str().expect("utf8");
    let defaults = load(Mode::Development, &env(&[("DATA_DIR", data_dir)])).expect("dev");
    assert_eq!(defaults.queue, crate::queue::QueueConfig::default());
    let set = load(
        Mode::Development,
        &env(&[
            ("DATA_DIR", data_dir),
            ("QUEUE_VISIBILITY_TIMEOUT_SECONDS", "60"),
            ("QUEUE_MAX_ATTEMPTS", "3"),
            ("QUEUE_RETRY_BACKOFF_SECONDS", "0"),
            ("QUEUE_MAX_DEPTH", "10"),
        ]),
    )
    .expect("queue settings");
    assert_eq!(
        set.queue,
        crate::queue::QueueConfig {
            visibility_timeout: Duration::from_secs(60),
            max_attempts: 3,
            backoff: Duration::ZERO,
            max_depth: 10,
        }
    );
    let err = load(
        Mode::Development,
        &env(&[("DATA_DIR", data_dir), ("QUEUE_MAX_ATTEMPTS", "0")]),
    )
    .expect_err("zero attempts");
    assert!(err.to_string().contains("QUEUE_MAX_ATTEMPTS"), "{err}");
}

//! A deployment under test on real services: a starter framework.toml pointed at the test
//! PostgreSQL (a database and role named after a tag, since tests run in parallel) and at a
//! Redis of its own that wants a password; the database, its tenants and roles are dropped
//! afterwards. Each test file adds the commands it runs in an `impl Deployment` of its own.

use scf_testkit::services::{RedisServer, postgres, psql};
use std::path::PathBuf;

pub const DB_PASSWORD: &str = "db-pw-never-shown";
pub const REDIS_PASSWORD: &str = "redis-pw-never-shown";
pub const SECRET_KEY: &str = "a-jwt-signing-key-of-enough-length-0123456789";
/// 32 bytes, base64: the runtime's field-encryption key.
pub const FIELD_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// The monitoring role's password (postgres-exporter's).
pub const MONITOR_PASSWORD: &str = "monitor-pw-never-shown";

/// The secrets a starter framework.toml references, by environment variable, all set.
pub const SECRETS: [(&str, &str); 5] = [
    ("SCF_DB_PASSWORD", DB_PASSWORD),
    ("SCF_REDIS_PASSWORD", REDIS_PASSWORD),
    ("SCF_SECRET_KEY", SECRET_KEY),
    ("SCF_FIELD_KEY", FIELD_KEY),
    ("SCF_DB_MONITOR_PASSWORD", MONITOR_PASSWORD),
];

pub struct Deployment {
    pub dir: tempfile::TempDir,
    /// `deploy.toml` in `dir`: found only when a command is told where it is.
    pub config: PathBuf,
    pub database: String,
    pub role: String,
    _redis: RedisServer,
}

impl Deployment {
    /// The single-tenant starter with database `scf_TAG_PID`, role `scf_TAG_role_PID` and
    /// `extra` appended.
    pub fn new(tag: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("redis.conf");
        std::fs::write(&conf, format!("requirepass {REDIS_PASSWORD}\n")).expect("redis.conf");
        let redis = RedisServer::start(Some(&conf)).expect("redis");
        let n = std::process::id();
        let (database, role) = (format!("scf_{tag}_{n}"), format!("scf_{tag}_role_{n}"));
        let (_keep, starter) = super::starter("single-tenant");
        let pg = postgres();
        let text = std::fs::read_to_string(starter)
            .expect("starter")
            .replace(
                "[database]\n",
                &format!(
                    "[database]\nname = \"{database}\"\nuser = \"{role}\"\nhost = \"{}\"\nport = {}\n",
                    pg.host(),
                    pg.port()
                ),
            )
            .replace(
                "[redis]\n",
                &format!("[redis]\nhost = \"127.0.0.1\"\nport = {}\n", redis.port()),
            );
        let config = dir.path().join("deploy.toml");
        std::fs::write(&config, format!("{text}{extra}")).expect("config");
        Deployment {
            dir,
            config,
            database,
            role,
            _redis: redis,
        }
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let admin = postgres().admin_url();
        let like = format!("{}\\_t\\_%", self.database);
        let tenants = psql(
            &admin,
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{like}'"),
        )
        .unwrap_or_default();
        for db in tenants.lines().chain([self.database.as_str()]) {
            let _ = psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", db.trim()),
            );
        }
        for role in [
            self.role.clone(),
            format!("{}_owner", self.role),
            format!("{}_monitor", self.role),
        ] {
            let _ = psql(&admin, &format!("DROP ROLE IF EXISTS \"{role}\""));
        }
    }
}

/// Asserts that PostgreSQL refused `sql` for want of a privilege.
pub fn assert_refused(sql: &str, answer: &Result<String, String>) {
    assert!(
        answer
            .as_ref()
            .is_err_and(|e| e.contains("permission denied") || e.contains("must be owner")),
        "{sql}: {answer:?}"
    );
}

//! The one place tests learn where PostgreSQL and Redis are: `scf_testkit::services`
//! (the running servers, or throwaway ones when none answers).

use scf_testkit::services::{TestDb, postgres, psql, redis};

/// Admin URL of the PostgreSQL server.
pub fn postgres_admin_url() -> String {
    postgres().admin_url()
}

/// A fresh database, dropped with everything derived from its name (tenant databases,
/// `<name>_new`) when the guard is dropped.
pub struct FreshDb {
    db: TestDb,
}

impl FreshDb {
    /// Its URL (no password).
    pub fn url(&self) -> String {
        self.db.url().to_owned()
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let admin = postgres_admin_url();
        let pattern = format!("{}\\_%", self.db.name());
        let sql = format!("SELECT datname FROM pg_database WHERE datname LIKE '{pattern}'");
        for name in psql(&admin, &sql)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
        {
            if let Err(e) = psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            ) {
                eprintln!("could not drop {name}: {e}");
            }
        }
    }
}

/// Creates a fresh, empty database.
pub fn fresh_postgres_database(prefix: &str) -> FreshDb {
    FreshDb {
        db: postgres().fresh_database(prefix),
    }
}

/// URL of the shared Redis.
pub fn redis_url() -> String {
    redis().url()
}

//! The control-plane database: PostgreSQL in production, SQLite in dev, both through
//! sqlx's `Any` driver so one set of queries (portable SQL, `$n` placeholders, TEXT and
//! BIGINT columns) serves both. Connecting fails fast with a message that names the
//! database (never its password) and the variable to check.

pub mod ident;
pub mod migrate;
pub mod privileges;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::secret::redact_urls;
use crate::settings::DatabaseTarget;

/// How long a pooled connection may sit idle before it is pinged when next handed out
/// (and a connection kept out of the pool, before it is given back for one that is).
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Which engine a database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (production).
    Postgres,
    /// SQLite (dev).
    Sqlite,
}

/// A database could not be reached or prepared.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Connecting failed.
    #[error("cannot reach {what}: {source}. {hint}")]
    Connect {
        /// The database, described without secrets.
        what: String,
        /// Why.
        source: sqlx::Error,
        /// What to check.
        hint: &'static str,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A query failed that wrote several requests' changes at once (group commit): each
    /// of them fails with it.
    #[error(transparent)]
    Shared(Arc<DbError>),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The dev data directory could not be created.
    #[error("cannot create {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A URL in the settings is malformed.
    #[error("{0}")]
    Url(String),
    /// The runtime's role cannot be given least privilege (the message says why and how).
    #[error("{0}")]
    Privileges(String),
}

/// How to open a database: a URL (password included, never printed) and a safe label.
#[derive(Clone)]
pub struct Location {
    url: String,
    label: String,
    backend: Backend,
    named_by: NamedBy,
}

/// Which settings name a location: what a failed connection tells the operator to check.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NamedBy {
    /// `DATABASE_URL` and `DATABASE_PASSWORD` (or `DATA_DIR`).
    Runtime,
    /// `DATABASE_MIGRATION_URL` and `DATABASE_MIGRATION_PASSWORD`.
    Migration,
}

impl Location {
    /// The location the settings name.
    pub fn from_target(target: &DatabaseTarget) -> Result<Self, DbError> {
        match target {
            DatabaseTarget::Postgres { url, password } => {
                let mut parsed =
                    url::Url::parse(url).map_err(|e| DbError::Url(format!("DATABASE_URL: {e}")))?;
                let label = format!("PostgreSQL at {}", redact_urls(parsed.as_str()));
                if let Some(pw) = password {
                    parsed
                        .set_password(Some(pw.expose()))
                        .map_err(|()| DbError::Url("DATABASE_URL has no host".into()))?;
                }
                Ok(Self {
                    url: parsed.to_string(),
                    label,
                    backend: Backend::Postgres,
                    named_by: NamedBy::Runtime,
                })
            }
            DatabaseTarget::Sqlite { path } => Ok(Self::sqlite(path)),
        }
    }

    /// An SQLite file, created on first connect.
    pub fn sqlite(path: &Path) -> Self {
        Self {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            label: format!("SQLite at {}", path.display()),
            backend: Backend::Sqlite,
            named_by: NamedBy::Runtime,
        }
    }

    /// The same PostgreSQL server, another database.
    pub fn with_database(&self, database: &str) -> Result<Self, DbError> {
        let mut parsed = url::Url::parse(&self.url).map_err(|e| DbError::Url(e.to_string()))?;
        parsed.set_path(&format!("/{database}"));
        Ok(Self {
            url: parsed.to_string(),
            label: format!("PostgreSQL at {}", redact_urls(parsed.as_str())),
            backend: self.backend,
            named_by: self.named_by,
        })
    }

    /// The same location, named by `DATABASE_MIGRATION_URL`: a failed connection says so.
    pub fn for_migrations(self) -> Self {
        Self {
            named_by: NamedBy::Migration,
            ..self
        }
    }

    /// The database's name (PostgreSQL) or file stem (SQLite).
    pub fn database_name(&self) -> String {
        let path = self.url.split('?').next().unwrap_or_default();
        let name = path.rsplit('/').next().unwrap_or_default();
        name.trim_end_matches(".db").to_owned()
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A description safe to print.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn options(&self) -> Result<AnyConnectOptions, DbError> {
        let opts: AnyConnectOptions = self
            .url
            .parse()
            .map_err(|e: sqlx::Error| DbError::Url(format!("{}: {e}", self.label)))?;
        Ok(opts.disable_statement_logging())
    }

    fn hint(&self) -> &'static str {
        match (self.backend, self.named_by) {
            (Backend::Postgres, NamedBy::Runtime) => {
                "Is PostgreSQL running and does the database exist (`scf db init`)? Check DATABASE_URL and DATABASE_PASSWORD"
            }
            (Backend::Postgres, NamedBy::Migration) => {
                "Is PostgreSQL running and does the database exist (`scf db init`)? Check DATABASE_MIGRATION_URL and DATABASE_MIGRATION_PASSWORD"
            }
            (Backend::Sqlite, _) => "Check that DATA_DIR is writable",
        }
    }

    /// Opens a pool of at most `max` connections that keeps `warm` of them open (so a
    /// burst after a quiet spell does not wait for connections), failing within a few
    /// seconds.
    pub async fn connect(&self, warm: u32, max: u32) -> Result<AnyPool, DbError> {
        sqlx::any::install_default_drivers();
        if self.backend == Backend::Sqlite {
            ensure_parent_dir(&self.url)?;
        }
        let sqlite = self.backend == Backend::Sqlite;
        let max = if sqlite { max.min(8) } else { max };
        AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(warm.min(max))
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(300))
            // A connection in use is known to work: only one idle for a while is pinged
            // before it is handed out (a broken one is then replaced), not every one,
            // which would cost each use of the pool a round trip.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IDLE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(self.options()?)
            .await
            .map_err(|source| DbError::Connect { what: self.label.clone(), source, hint: self.hint() })
    }

    /// A one-connection pool whose `search_path` is `schema` (created if missing), for
    /// applying migrations inside a schema.
    pub async fn connect_in_schema(&self, schema: Option<String>) -> Result<AnyPool, DbError> {
        sqlx::any::install_default_drivers();
        if self.backend == Backend::Sqlite {
            ensure_parent_dir(&self.url)?;
        }
        AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    if let Some(schema) = schema {
                        let q = ident::quote(&schema);
                        conn.execute(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {q}")))
                            .await?;
                        conn.execute(AssertSqlSafe(format!("SET search_path TO {q}")))
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(self.options()?)
            .await
            .map_err(|source| DbError::Connect {
                what: self.label.clone(),
                source,
                hint: self.hint(),
            })
    }

    /// Opens one connection outside any pool (for provisioning and migrations).
    pub async fn connect_one(&self) -> Result<sqlx::AnyConnection, DbError> {
        sqlx::any::install_default_drivers();
        if self.backend == Backend::Sqlite {
            ensure_parent_dir(&self.url)?;
        }
        self.options()?
            .connect()
            .await
            .map_err(|source| DbError::Connect {
                what: self.label.clone(),
                source,
                hint: self.hint(),
            })
    }
}

fn ensure_parent_dir(url: &str) -> Result<(), DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or_default();
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| DbError::DataDir {
                path: dir.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// The control-plane database: its pool and where it is.
#[derive(Clone)]
pub struct Db {
    /// The connection pool.
    pub pool: AnyPool,
    /// Where it is.
    pub location: Location,
}

impl Db {
    /// Connects to the database the settings name, keeping `warm` connections of at most
    /// `max` open.
    pub async fn connect(target: &DatabaseTarget, warm: u32, max: u32) -> Result<Self, DbError> {
        let location = Location::from_target(target)?;
        let pool = location.connect(warm, max).await?;
        Ok(Self { pool, location })
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.location.backend
    }

    /// A transaction for a read-then-write: on SQLite it takes the database's write lock
    /// at once (`BEGIN IMMEDIATE`), so what it reads stays what its writes replace; on
    /// PostgreSQL a plain one, whose reads lock what they must (`FOR UPDATE`, advisory
    /// locks).
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend() {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Whether a trivial query succeeds.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Whether an error is a unique-constraint violation (a conflict, not a failure).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// A new row id: a UUIDv7, which starts with its creation time in milliseconds and, within
/// one process, is strictly increasing. Listings sort on `(created_at, id)`, and
/// `created_at` is whole seconds, so the id is what orders the rows of one second.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Current unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_connection_names_the_settings_that_chose_the_server() {
        let target = DatabaseTarget::Postgres {
            url: "postgresql://owner@127.0.0.1:1/app".into(),
            password: None,
        };
        let runtime = Location::from_target(&target).expect("location");
        let migration = runtime.clone().for_migrations();
        let shown = |r: Result<sqlx::AnyConnection, DbError>| match r {
            Err(e) => e.to_string(),
            Ok(_) => panic!("nothing listens on port 1"),
        };
        assert!(shown(runtime.connect_one().await).contains("Check DATABASE_URL"));
        let failed = shown(
            migration
                .with_database("other")
                .expect("db")
                .connect_one()
                .await,
        );
        assert!(failed.contains("Check DATABASE_MIGRATION_URL"), "{failed}");
    }
}

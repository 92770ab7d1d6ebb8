//! The embedded migrations, one source of truth for `scf db migrate`, the compiler's
//! migrations artifact and `scf apply`: the control plane for PostgreSQL and for SQLite,
//! and the tenant data set applied to every tenant store. Also the "are migrations
//! current" check that `/ready` and `scf db verify` use.
//!
//! Every migration runs through [`run`], which on PostgreSQL opens each migration's
//! transaction with `SET LOCAL lock_timeout` and `statement_timeout`: a migration that
//! waits for a lock held by live traffic gives up (and the deploy fails, to be retried)
//! instead of queueing every later query on that table behind it. `SET LOCAL` ends with
//! the transaction, so nothing leaks into the pooled connection, and the migration lock
//! sqlx takes beforehand (another replica migrating) is waited for without a bound.

use std::time::Duration;

use sqlx::migrate::{Migrate, MigrateError, Migration, Migrator};
use sqlx::{Acquire, AnyConnection, AssertSqlSafe, SqlSafeStr};

use super::{Backend, DbError};

/// Control-plane migrations for PostgreSQL (`runtime/migrations/postgres`).
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Control-plane migrations for SQLite, dev only (`runtime/migrations/sqlite`).
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Tenant data migrations, the same SQL for both engines (`runtime/migrations/tenant`).
pub static TENANT_MIGRATOR: Migrator = sqlx::migrate!("./migrations/tenant");

/// The control-plane migrator for an engine.
pub fn control_plane(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Postgres => &POSTGRES_MIGRATOR,
        Backend::Sqlite => &SQLITE_MIGRATOR,
    }
}

/// How long one PostgreSQL migration may wait for a lock, and how long any of its
/// statements may run, before it is rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `lock_timeout`.
    pub lock: Duration,
    /// `statement_timeout`.
    pub statement: Duration,
}

impl Timeouts {
    /// What deploys use: a lock that is not free within 5 s is live traffic's, and a
    /// statement of these migrations that runs a minute is stuck.
    pub const DEPLOY: Self = Self {
        lock: Duration::from_secs(5),
        statement: Duration::from_secs(60),
    };

    /// The statements that open each migration's transaction.
    pub fn prelude(&self) -> String {
        format!(
            "SET LOCAL lock_timeout = '{}ms';\nSET LOCAL statement_timeout = '{}ms';\n",
            self.lock.as_millis(),
            self.statement.as_millis()
        )
    }
}

/// `migrator` as [`run`] applies it to `backend`: on PostgreSQL each migration's SQL is
/// preceded by the timeouts' [`Timeouts::prelude`]. The checksums stay those of the
/// embedded files, so databases migrated before (or by hand) still match.
pub fn guarded(migrator: &Migrator, backend: Backend, timeouts: Timeouts) -> Migrator {
    let prelude = match backend {
        Backend::Postgres => timeouts.prelude(),
        Backend::Sqlite => String::new(),
    };
    let migrations = migrator
        .iter()
        .map(|m| Migration {
            sql: AssertSqlSafe(format!("{prelude}{}", m.sql.as_str())).into_sql_str(),
            ..m.clone()
        })
        .collect();
    // The options are sqlx's defaults, which is what `migrate!` gives the embedded ones.
    Migrator::with_migrations(migrations)
}

/// Applies the pending migrations of `migrator` through `conn`, each bounded by
/// `timeouts` on PostgreSQL (see the module docs).
pub async fn run<'a, A>(
    migrator: &Migrator,
    backend: Backend,
    timeouts: Timeouts,
    conn: A,
) -> Result<(), MigrateError>
where
    A: Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: Migrate,
{
    guarded(migrator, backend, timeouts).run(conn).await
}

/// How far a database is behind its migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Every migration is applied, with matching checksums.
    Current,
    /// These versions are not applied yet.
    Pending(Vec<i64>),
    /// These applied versions no longer match the embedded files.
    Modified(Vec<i64>),
}

impl MigrationState {
    /// A one-line description.
    pub fn describe(&self) -> String {
        match self {
            Self::Current => "migrations current".to_owned(),
            Self::Pending(v) => format!("migrations pending: {v:?} (run `scf db migrate`)"),
            Self::Modified(v) => format!("applied migrations {v:?} differ from the embedded files"),
        }
    }
}

/// Compares `conn`'s `_sqlx_migrations` (in `schema`, if given) with `migrator`.
pub async fn state(
    conn: &mut AnyConnection,
    migrator: &Migrator,
    schema: Option<&str>,
) -> Result<MigrationState, DbError> {
    let table = match schema {
        Some(s) => format!("{}._sqlx_migrations", super::ident::quote(s)),
        None => "_sqlx_migrations".to_owned(),
    };
    let applied: Vec<(i64, Vec<u8>)> = match sqlx::query_as(AssertSqlSafe(format!(
        "SELECT version, checksum FROM {table} WHERE success"
    )))
    .fetch_all(&mut *conn)
    .await
    {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(e)) if is_missing_table(e.message()) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut pending = Vec::new();
    let mut modified = Vec::new();
    for m in migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        match applied.iter().find(|(v, _)| *v == m.version) {
            None => pending.push(m.version),
            Some((_, sum)) if sum.as_slice() != &*m.checksum => modified.push(m.version),
            Some(_) => {}
        }
    }
    Ok(if !modified.is_empty() {
        MigrationState::Modified(modified)
    } else if !pending.is_empty() {
        MigrationState::Pending(pending)
    } else {
        MigrationState::Current
    })
}

fn is_missing_table(message: &str) -> bool {
    message.contains("does not exist") || message.contains("no such table")
}

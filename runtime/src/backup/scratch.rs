//! Scratch databases for a restore drill, on the server an admin (superuser) connection
//! reaches: each named `scfdrill_<random>` (no deployment database starts so, so `backup.sh`
//! never dumps one), created empty, filled by `pg_restore` from a dump in one transaction,
//! and dropped `WITH (FORCE)`. The drill holds a session advisory lock, so one drill runs
//! per server; holding it, a drill first drops what a killed drill left behind.

use std::path::Path;
use std::process::Stdio;

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

use crate::db::ident::{MAX_IDENT_LEN, quote};
use crate::db::{DbError, Location};
use crate::secret::redact_urls;
use crate::settings::DatabaseTarget;

/// What every scratch database's name starts with.
pub const PREFIX: &str = "scfdrill_";

/// The admin connection when none is given: `postgres` over the local socket, as
/// `restore.sh` restores (peer authentication; on an scf host, root maps to it too).
pub const DEFAULT_ADMIN_URL: &str = "postgresql://postgres@%2Fvar%2Frun%2Fpostgresql/postgres";

/// The advisory lock a drill holds on its server ("scfdrill" in ASCII).
const LOCK_KEY: i64 = 0x7363_6664_7269_6c6c;

/// Why a scratch database could not be made, filled or dropped.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// Connecting or a statement failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The admin URL is not one.
    #[error("--admin-url: {0}")]
    AdminUrl(String),
    /// Another drill runs on the server.
    #[error("another restore drill is running on {0}: wait for it to finish")]
    Busy(String),
    /// pg_restore could not be started.
    #[error(
        "cannot run pg_restore: {0} (it comes with the PostgreSQL client, Debian's postgresql-client-15)"
    )]
    Spawn(std::io::Error),
    /// pg_restore failed: the dump does not restore.
    #[error("{dump} does not restore (pg_restore {status}):\n{stderr}")]
    Restore {
        /// The dump.
        dump: String,
        /// pg_restore's exit status.
        status: std::process::ExitStatus,
        /// What it said.
        stderr: String,
    },
    /// A name the drill would need does not fit PostgreSQL's identifiers.
    #[error("the scratch database name {0} is longer than PostgreSQL's {MAX_IDENT_LEN} bytes")]
    TooLong(String),
}

impl From<sqlx::Error> for ScratchError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

/// The server the drill restores on, with its lock held, and the scratch databases made.
pub struct Server {
    admin: url::Url,
    label: String,
    lock: AnyConnection,
    created: Vec<String>,
}

impl Server {
    /// Connects as the admin, takes the drill's lock, and drops the scratch databases an
    /// earlier drill left (it was killed); returns their names.
    pub async fn lock(admin_url: &str) -> Result<(Self, Vec<String>), ScratchError> {
        let admin =
            url::Url::parse(admin_url).map_err(|e| ScratchError::AdminUrl(e.to_string()))?;
        if admin.password().is_some() {
            return Err(ScratchError::AdminUrl(
                "holds a password: give it in PGPASSWORD or ~/.pgpass, never on a command line"
                    .into(),
            ));
        }
        let label = format!("PostgreSQL at {}", redact_urls(admin.as_str()));
        let mut lock = admin_location(admin.as_str())?.connect_one().await?;
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut lock)
            .await?;
        if !held {
            return Err(ScratchError::Busy(label));
        }
        let left: Vec<String> = sqlx::query_scalar(
            "SELECT datname::TEXT FROM pg_database WHERE starts_with(datname::TEXT, $1) ORDER BY 1",
        )
        .bind(PREFIX)
        .fetch_all(&mut lock)
        .await?;
        for name in &left {
            drop_database(&mut lock, name).await?;
        }
        let server = Self {
            admin,
            label,
            lock,
            created: Vec::new(),
        };
        Ok((server, left))
    }

    /// A new scratch database's name.
    pub fn scratch_name() -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!("{PREFIX}{}", &id[..12])
    }

    /// The server, described without secrets.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Creates the empty database `name`; [`Server::drop_scratch`] drops it.
    pub async fn create(&mut self, name: &str) -> Result<(), ScratchError> {
        if name.len() > MAX_IDENT_LEN {
            return Err(ScratchError::TooLong(name.to_owned()));
        }
        self.created.push(name.to_owned());
        self.lock
            .execute(AssertSqlSafe(format!("CREATE DATABASE {}", quote(name))))
            .await?;
        Ok(())
    }

    /// Restores `dump` into the database `name`, in one transaction, stopping at the first
    /// error, with the owners and privileges the dump records.
    pub async fn restore(&self, name: &str, dump: &Path) -> Result<(), ScratchError> {
        let mut url = self.admin.clone();
        url.set_path(&format!("/{name}"));
        let out = tokio::process::Command::new("pg_restore")
            .args(["--exit-on-error", "--single-transaction", "--no-password"])
            .arg(format!("--dbname={url}"))
            .arg("--")
            .arg(dump)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(ScratchError::Spawn)?;
        if out.status.success() {
            return Ok(());
        }
        Err(ScratchError::Restore {
            dump: dump.display().to_string(),
            status: out.status,
            stderr: redact_urls(String::from_utf8_lossy(&out.stderr).trim_end()),
        })
    }

    /// Drops every scratch database this drill created, over a new connection (a drill
    /// interrupted mid-statement leaves the lock's connection in no state to reuse), then
    /// releases the lock; returns their names.
    pub async fn drop_scratch(self) -> Result<Vec<String>, ScratchError> {
        let mut conn = admin_location(self.admin.as_str())?.connect_one().await?;
        for name in &self.created {
            drop_database(&mut conn, name).await?;
        }
        conn.close().await?;
        // Closing the session releases its advisory lock; one broken by an interrupted
        // statement is released by the server as the socket closes.
        let _ = self.lock.close().await;
        Ok(self.created)
    }
}

fn admin_location(url: &str) -> Result<Location, DbError> {
    Location::from_target(&DatabaseTarget::Postgres {
        url: url.to_owned(),
        password: None,
    })
}

async fn drop_database(conn: &mut AnyConnection, name: &str) -> Result<(), sqlx::Error> {
    conn.execute(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote(name)
    )))
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_admin_url_with_a_password_is_refused_before_connecting() {
        let refused = Server::lock("postgresql://postgres:hunter2@db.invalid/postgres").await;
        let Err(ScratchError::AdminUrl(why)) = refused else {
            panic!("accepted a password on the command line");
        };
        assert!(
            why.contains("PGPASSWORD") && !why.contains("hunter2"),
            "{why}"
        );
    }

    #[test]
    fn scratch_names_are_unique_and_prefixed() {
        let (a, b) = (Server::scratch_name(), Server::scratch_name());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 12, "{a}");
    }
}

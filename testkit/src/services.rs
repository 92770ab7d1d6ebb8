//! PostgreSQL and Redis for tests: the servers already running, or throwaway ones.
//!
//! Shared servers, one per test process, for tests that just need a database:
//! ```text
//! postgres() -> &'static Postgres      $SCF_TEST_PG_URL, else 127.0.0.1:5432 if it answers,
//!                                      else a throwaway cluster started once per process
//!   .host() .port() .admin_url()       postgresql://postgres@host:port/postgres
//!   .fresh_database(prefix) -> TestDb  a new uniquely named database; dropped (WITH FORCE) on Drop
//!     .name() .url()
//! redis() -> &'static Redis            $SCF_TEST_REDIS_URL, else 127.0.0.1:6379 if it PONGs,
//!   .url() .host() .port()             else a throwaway redis-server started once per process
//! ```
//! Setting either variable to `spawn` forces the throwaway server.
//!
//! Servers of one's own, for judging a generated config file; each stops on Drop:
//! ```text
//! PgCluster::start(Option<&Path>) -> Result<PgCluster, ServiceError>   .url() .port() .psql(sql) .log()
//! RedisServer::start(Option<&Path>) -> Result<RedisServer, ServiceError> .url() .port() .log()
//! ```
//! Throwaway servers listen on free loopback ports (retrying if another test process wins the
//! port), keep everything in a temp dir, and run as `postgres` / `nobody` when the tests run as
//! root. A watchdog process per server stops it and removes its temp dir once the test process
//! has exited, so a shared server never outlives the process that started it. Clusters are
//! copies of one initdb'd template, cached in the tools dir.

mod pg_template;
mod postgres;

mod redis;

pub use postgres::{PgCluster, Postgres, TestDb, postgres, psql};
pub use redis::{Redis, RedisServer, redis, redis_cli};

use crate::tools::ToolMissing;

/// Why a test server could not be provided or used.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A server binary or client is not installed.
    #[error(transparent)]
    Tool(#[from] ToolMissing),
    /// A file or process operation failed.
    #[error("could not {action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The machine is not set up the way the harness expects.
    #[error("{0}")]
    Setup(String),
    /// The server exited or never became ready; its log says why.
    #[error("{server} did not start; its log:\n{log}")]
    Startup {
        /// Which server.
        server: &'static str,
        /// The server's own log output.
        log: String,
    },
    /// A client command failed; its output says why.
    #[error("`{command}` failed:\n{output}")]
    Command {
        /// The command, without secrets.
        command: String,
        /// Its combined stdout and stderr.
        output: String,
    },
}

impl ServiceError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        ServiceError::Io {
            action: action.into(),
            source,
        }
    }
}

/// What the shared-server variables ask for.
enum Source {
    /// Use this URL as is.
    Url(String),
    /// Start a throwaway server even if a local one answers.
    Spawn,
    /// Use the local default server if it answers, else start one.
    Default,
}

impl Source {
    fn from_env(var: &str) -> Source {
        match std::env::var(var) {
            Ok(value) if value == "spawn" => Source::Spawn,
            Ok(value) if !value.is_empty() => Source::Url(value),
            _ => Source::Default,
        }
    }
}

//! PostgreSQL for tests: the shared server of this test process with a fresh database per
//! test, and clusters of one's own started from a generated `postgresql.conf`.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use url::Url;

use super::{ServiceError, Source, pg_template};
use crate::process::{Account, Server, start_on_free_port, work_dir};
use crate::tools;

/// The local server CI machines and developers usually have.
const LOCAL_URL: &str = "postgresql://postgres@127.0.0.1:5432/postgres";

/// The shared PostgreSQL of this test process.
#[derive(Debug)]
pub struct Postgres {
    admin: Url,
    host: String,
    port: u16,
    /// Kept alive for the whole process when the server is a throwaway one.
    _cluster: Option<PgCluster>,
}

/// The shared PostgreSQL: `$SCF_TEST_PG_URL`, else 127.0.0.1:5432 if it answers, else a
/// throwaway cluster started once and stopped when the test process exits.
///
/// # Panics
/// When no server can be reached or started; the message says why.
pub fn postgres() -> &'static Postgres {
    static SHARED: OnceLock<Postgres> = OnceLock::new();
    SHARED.get_or_init(|| {
        Postgres::provide().unwrap_or_else(|err| panic!("no PostgreSQL for tests: {err}"))
    })
}

impl Postgres {
    fn provide() -> Result<Postgres, ServiceError> {
        match Source::from_env("SCF_TEST_PG_URL") {
            Source::Url(url) => {
                psql(&url, "SELECT 1")?;
                Postgres::at(&url, None)
            }
            Source::Default if psql(LOCAL_URL, "SELECT 1").is_ok() => Postgres::at(LOCAL_URL, None),
            Source::Default | Source::Spawn => {
                let cluster = PgCluster::start(None)?;
                Postgres::at(&cluster.url(), Some(cluster))
            }
        }
    }

    fn at(url: &str, cluster: Option<PgCluster>) -> Result<Postgres, ServiceError> {
        let admin = Url::parse(url)
            .map_err(|err| ServiceError::Setup(format!("SCF_TEST_PG_URL is not a URL: {err}")))?;
        let host = admin.host_str().unwrap_or("127.0.0.1").to_owned();
        let port = admin.port().unwrap_or(5432);
        Ok(Postgres {
            admin,
            host,
            port,
            _cluster: cluster,
        })
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server's TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A superuser URL to the maintenance database.
    pub fn admin_url(&self) -> String {
        self.admin.to_string()
    }

    /// Creates a uniquely named database now; it is dropped (`WITH (FORCE)`) when the
    /// returned [`TestDb`] is.
    ///
    /// # Panics
    /// When the database cannot be created; the message carries psql's output.
    pub fn fresh_database(&self, prefix: &str) -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{}_{}_{}",
            sanitize(prefix),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = self.admin_url();
        // A crashed earlier run under the same pid may have left the name behind.
        let created = psql(&admin, &drop_sql(&name))
            .and_then(|_| psql(&admin, &format!("CREATE DATABASE \"{name}\"")));
        if let Err(err) = created {
            panic!("could not create test database {name}: {err}");
        }
        let mut url = self.admin.clone();
        url.set_path(&name);
        TestDb {
            admin,
            name,
            url: url.to_string(),
        }
    }
}

/// A database of its own for one test, dropped on Drop.
#[derive(Debug)]
pub struct TestDb {
    admin: String,
    name: String,
    url: String,
}

impl TestDb {
    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL that connects to this database as the admin user.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Err(err) = psql(&self.admin, &drop_sql(&self.name)) {
            eprintln!(
                "scf-testkit: could not drop test database {}: {err}",
                self.name
            );
        }
    }
}

fn drop_sql(name: &str) -> String {
    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
}

/// Lower-case letters, digits and `_`, starting with a letter, short enough for a name.
fn sanitize(prefix: &str) -> String {
    let mut name: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "t_");
    }
    name
}

/// Runs one SQL command with psql (`ON_ERROR_STOP`, unaligned tuples-only output) and
/// returns its stdout.
pub fn psql(url: &str, sql: &str) -> Result<String, ServiceError> {
    psql_args(
        url,
        [OsStr::new("-c"), OsStr::new(sql)],
        &format!("psql -c {sql:?}"),
    )
}

/// Runs psql against `url` with extra arguments; `shown` names the call in errors (the URL
/// is left out because it may hold a password).
pub(crate) fn psql_args<'a>(
    url: &str,
    args: impl IntoIterator<Item = &'a OsStr>,
    shown: &str,
) -> Result<String, ServiceError> {
    let output = tools::command("psql")?
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ServiceError::io("run psql", source))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    Err(ServiceError::Command {
        command: shown.to_owned(),
        output: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
    })
}

/// A PostgreSQL cluster of its own on a free loopback port; stopped and removed on Drop.
#[derive(Debug)]
pub struct PgCluster {
    server: Server,
    port: u16,
    /// Removed after the server (declared first, so dropped first) has stopped.
    dir: tempfile::TempDir,
}

impl PgCluster {
    /// Settings a throwaway cluster sets on the command line, whatever the config file says.
    pub const OVERRIDDEN_SETTINGS: &[&str] = &[
        "config_file",
        "data_directory",
        "hba_file",
        "ident_file",
        "listen_addresses",
        "port",
        "unix_socket_directories",
        "fsync",
        "logging_collector",
        "external_pid_file",
    ];

    /// Starts a cluster, with `config_file` as its `postgresql.conf` when given. Startup
    /// errors (an unknown setting, a bad value) come back as [`ServiceError::Startup`].
    pub fn start(config_file: Option<&Path>) -> Result<PgCluster, ServiceError> {
        let dir = work_dir("scf-pg-", Account::Postgres)?;
        let data = dir.path().join("data");
        pg_template::copy_tree(&pg_template::data_dir()?, &data)?;
        let config = match config_file {
            Some(source) => {
                let copy = dir.path().join("postgresql.conf");
                let text = fs::read(source)
                    .map_err(|err| ServiceError::io(format!("read {}", source.display()), err))?;
                fs::write(&copy, text)
                    .map_err(|err| ServiceError::io(format!("write {}", copy.display()), err))?;
                copy
            }
            None => data.join("postgresql.conf"),
        };
        let (server, port) = start_on_free_port(|port| start_server(dir.path(), &config, port))?;
        Ok(PgCluster { server, port, dir })
    }

    /// The cluster's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A superuser URL to the `postgres` database.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one SQL command against the `postgres` database and returns psql's output.
    pub fn psql(&self, sql: &str) -> Result<String, ServiceError> {
        psql(&self.url(), sql)
    }

    /// From now on TCP connections must authenticate with a password (scram-sha-256), as
    /// a real server's do: gives the superuser `postgres` the password `password`, rewrites
    /// pg_hba.conf and reloads it. [`PgCluster::psql`] then no longer logs in; use URLs with
    /// the password.
    pub fn require_passwords(&self, password: &str) -> Result<(), ServiceError> {
        self.psql(&format!(
            "ALTER ROLE postgres PASSWORD '{}'",
            password.replace('\'', "''")
        ))?;
        let hba = self.dir.path().join("data").join("pg_hba.conf");
        fs::write(&hba, "host all all 127.0.0.1/32 scram-sha-256\n")
            .map_err(|err| ServiceError::io(format!("write {}", hba.display()), err))?;
        self.psql("SELECT pg_reload_conf()").map(drop)
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

fn start_server(dir: &Path, config: &Path, port: u16) -> Result<Server, ServiceError> {
    let data = dir.join("data");
    let setting = |name: &str, value: &Path| format!("{name}={}", value.display());
    let mut cmd = Account::Postgres.command(&tools::find("postgres")?);
    cmd.arg("-D").arg(&data);
    for arg in [
        setting("config_file", config),
        setting("data_directory", &data),
        setting("hba_file", &data.join("pg_hba.conf")),
        setting("ident_file", &data.join("pg_ident.conf")),
        setting("unix_socket_directories", dir),
        "listen_addresses=127.0.0.1".to_owned(),
        format!("port={port}"),
        "fsync=off".to_owned(),
        "logging_collector=off".to_owned(),
        "external_pid_file=".to_owned(),
    ] {
        cmd.arg("-c").arg(arg);
    }
    // SIGINT is PostgreSQL's fast shutdown: no orphaned backends or shared memory left behind.
    let mut server = Server::spawn(cmd, "INT", &dir.join("server.log"), dir)?;
    let pg_isready = tools::find("pg_isready")?;
    server.wait_ready("postgres", || {
        Command::new(&pg_isready)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|status| status.success())
    })?;
    Ok(server)
}

//! Redis for tests: the shared server of this test process, and servers of one's own
//! started from a generated `redis.conf`.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;

use url::Url;

use super::{ServiceError, Source};
use crate::process::{Account, Server, start_on_free_port, work_dir};
use crate::tools;

/// The local server CI machines and developers usually have.
const LOCAL_URL: &str = "redis://127.0.0.1:6379";

/// Directives that point outside the work dir; they are commented out before a config is used
/// (command-line overrides come too late for `dir`, which redis applies while parsing).
const HOST_PATH_DIRECTIVES: &[&str] =
    &["dir", "logfile", "pidfile", "unixsocket", "unixsocketperm"];

/// The shared Redis of this test process.
#[derive(Debug)]
pub struct Redis {
    url: String,
    host: String,
    port: u16,
    /// Kept alive for the whole process when the server is a throwaway one.
    _server: Option<RedisServer>,
}

/// The shared Redis: `$SCF_TEST_REDIS_URL`, else 127.0.0.1:6379 if it PONGs, else a
/// throwaway redis-server started once and stopped when the test process exits.
///
/// # Panics
/// When no server can be reached or started; the message says why.
pub fn redis() -> &'static Redis {
    static SHARED: OnceLock<Redis> = OnceLock::new();
    SHARED
        .get_or_init(|| Redis::provide().unwrap_or_else(|err| panic!("no Redis for tests: {err}")))
}

impl Redis {
    fn provide() -> Result<Redis, ServiceError> {
        match Source::from_env("SCF_TEST_REDIS_URL") {
            Source::Url(url) => {
                redis_cli(&url, ["PING"])?;
                Redis::at(&url, None)
            }
            Source::Default if pongs(LOCAL_URL) => Redis::at(LOCAL_URL, None),
            Source::Default | Source::Spawn => {
                let server = RedisServer::start(None)?;
                Redis::at(&server.url(), Some(server))
            }
        }
    }

    fn at(url: &str, server: Option<RedisServer>) -> Result<Redis, ServiceError> {
        let parsed = Url::parse(url).map_err(|err| {
            ServiceError::Setup(format!("SCF_TEST_REDIS_URL is not a URL: {err}"))
        })?;
        Ok(Redis {
            url: url.to_owned(),
            host: parsed.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: parsed.port().unwrap_or(6379),
            _server: server,
        })
    }

    /// The server's URL (`redis://host:port`, with credentials if the variable had them).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server's TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

fn pongs(url: &str) -> bool {
    redis_cli(url, ["PING"]).is_ok_and(|reply| reply.trim() == "PONG")
}

/// Runs one redis-cli command against `url` and returns its reply; a Redis error reply
/// (`NOAUTH`, `WRONGTYPE`, …) is an error too. The URL never appears in the error.
pub fn redis_cli<'a>(
    url: &str,
    args: impl IntoIterator<Item = &'a str>,
) -> Result<String, ServiceError> {
    let args: Vec<&str> = args.into_iter().collect();
    // `-e`: an error reply (NOAUTH, WRONGTYPE, …) exits non-zero.
    let output = tools::command("redis-cli")?
        .args(["-e", "--no-auth-warning", "-u", url])
        .args(args.iter().map(OsStr::new))
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ServiceError::io("run redis-cli", source))?;
    let reply = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        return Ok(reply);
    }
    Err(ServiceError::Command {
        command: format!("redis-cli {}", args.join(" ")),
        output: reply,
    })
}

/// A redis-server of its own on a free loopback port; stopped and removed on Drop.
#[derive(Debug)]
pub struct RedisServer {
    server: Server,
    port: u16,
    /// Removed after the server (declared first, so dropped first) has stopped.
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts redis-server, with `config_file` as its config when given. `dir`, `logfile`,
    /// `pidfile` and `unixsocket*` lines are commented out first (line numbers are kept) and
    /// point into a temp dir instead. A bad directive comes back as [`ServiceError::Startup`].
    pub fn start(config_file: Option<&Path>) -> Result<RedisServer, ServiceError> {
        let dir = work_dir("scf-redis-", Account::Nobody)?;
        let config = match config_file {
            Some(source) => {
                let text = fs::read_to_string(source)
                    .map_err(|err| ServiceError::io(format!("read {}", source.display()), err))?;
                let copy = dir.path().join("redis.conf");
                fs::write(&copy, without_host_paths(&text))
                    .map_err(|err| ServiceError::io(format!("write {}", copy.display()), err))?;
                Some(copy)
            }
            None => None,
        };
        let (server, port) =
            start_on_free_port(|port| start_server(dir.path(), config.as_deref(), port))?;
        Ok(RedisServer {
            server,
            port,
            _dir: dir,
        })
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:port`, without credentials.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

fn without_host_paths(config: &str) -> String {
    config
        .lines()
        .map(|line| {
            let directive = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if HOST_PATH_DIRECTIVES.contains(&directive.as_str()) {
                format!("# scf-testkit: {line}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

fn start_server(dir: &Path, config: Option<&Path>, port: u16) -> Result<Server, ServiceError> {
    let mut cmd = Account::Nobody.command(&tools::find("redis-server")?);
    if let Some(config) = config {
        cmd.arg(config);
    }
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .args(["--logfile", "", "--daemonize", "no", "--supervised", "no"]);
    let mut server = Server::spawn(cmd, "TERM", &dir.join("server.log"), dir)?;
    let url = format!("redis://127.0.0.1:{port}");
    server.wait_ready("redis-server", || match redis_cli(&url, ["PING"]) {
        Ok(reply) => reply.contains("PONG"),
        Err(ServiceError::Command { output, .. }) => output.contains("NOAUTH"),
        Err(_) => false,
    })?;
    Ok(server)
}

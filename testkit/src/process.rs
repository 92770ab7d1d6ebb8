//! Process plumbing for throwaway servers: running as an unprivileged account, free loopback
//! ports, and a server child paired with a watchdog that stops it and removes its work dir
//! when the test process exits, however it exits.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::services::ServiceError;

/// The unprivileged accounts servers run as when the tests run as root (initdb refuses root).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Account {
    /// The `postgres` system user, with its groups (ssl-cert for the snakeoil key).
    Postgres,
    /// `nobody:nogroup`, no supplementary groups.
    Nobody,
}

impl Account {
    fn name(self) -> &'static str {
        match self {
            Account::Postgres => "postgres",
            Account::Nobody => "nobody",
        }
    }

    /// A command that runs `program` as this account, or as the current user when not root.
    pub(crate) fn command(self, program: &Path) -> Command {
        if !running_as_root() {
            return Command::new(program);
        }
        let mut cmd = Command::new("setpriv");
        match self {
            Account::Postgres => {
                cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            }
            Account::Nobody => cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]),
        };
        cmd.arg(program);
        cmd
    }

    /// Hands `dir` to this account so the server can write there (no-op when not root).
    pub(crate) fn own(self, dir: &Path) -> Result<(), ServiceError> {
        if !running_as_root() {
            return Ok(());
        }
        let (uid, gid) = passwd_ids(self.name())?;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|source| ServiceError::io(format!("chown {}", dir.display()), source))
    }
}

/// True when the test process is root: `/proc/self` belongs to the effective user.
pub(crate) fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

fn passwd_ids(user: &str) -> Result<(u32, u32), ServiceError> {
    let passwd = fs::read_to_string("/etc/passwd")
        .map_err(|source| ServiceError::io("read /etc/passwd", source))?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&user) && fields.len() > 3)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .ok_or_else(|| ServiceError::Setup(format!("no usable `{user}` entry in /etc/passwd")))
}

/// A loopback port that was free a moment ago; callers retry when a server loses the race.
pub(crate) fn free_port() -> Result<u16, ServiceError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| ServiceError::io("find a free loopback port", source))
}

/// A fresh work dir handed to `account`: in `/dev/shm` when it exists (copying a data dir
/// there is ten times faster than on a disk other builds keep busy), else the temp dir.
pub(crate) fn work_dir(prefix: &str, account: Account) -> Result<tempfile::TempDir, ServiceError> {
    let shm = Path::new("/dev/shm");
    let parent = if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    };
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .map_err(|source| ServiceError::io("create a temp dir", source))?;
    account.own(dir.path())?;
    Ok(dir)
}

/// Run by a watchdog once the test process exited: stops `$2` with signal `$1`, waits for it
/// (bounded: an orphan may never be reaped) and removes the work dir `$3`.
const WATCHDOG: &str = r#"if [ -n "$2" ]; then
  kill -s "$1" "$2" 2>/dev/null
  i=0; while kill -0 "$2" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
[ -n "$3" ] && rm -rf "$3"
"#;

/// A watchdog process holding the read end of a pipe only the test process writes to.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    _pipe: Option<ChildStdin>,
}

impl Watchdog {
    /// Starts a watchdog for server `pid` (stopped with `signal`) and work dir `dir`.
    pub(crate) fn spawn(pid: Option<u32>, signal: &str, dir: &Path) -> Result<Self, ServiceError> {
        let pid = pid.map(|pid| pid.to_string()).unwrap_or_default();
        let dir = dir.to_string_lossy();
        Watchdog::on_exit(WATCHDOG, &[signal, &pid, &dir])
    }

    /// Starts a watchdog that runs the shell `script` (with `args` as `$1`…) once the test
    /// process has exited.
    pub(crate) fn on_exit(script: &str, args: &[&str]) -> Result<Self, ServiceError> {
        let script = format!("cat >/dev/null\n{script}");
        let mut child = Command::new("sh")
            .args(["-c", &script, "scf-testkit-watchdog"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C on the test run must not kill it before cleanup.
            .process_group(0)
            .spawn()
            .map_err(|source| ServiceError::io("spawn the watchdog", source))?;
        let pipe = child.stdin.take();
        Ok(Watchdog { child, _pipe: pipe })
    }

    /// Ends the watchdog without letting it act: the owner cleans up itself.
    pub(crate) fn disarm(&mut self) {
        // Already-exited is fine: there is nothing left to stop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server child plus its watchdog; stopped in the foreground on Drop.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    watchdog: Watchdog,
    signal: &'static str,
    log: PathBuf,
}

impl Server {
    /// Spawns `cmd` with stdout/stderr appended to `log`, watched for the test process's exit.
    pub(crate) fn spawn(
        mut cmd: Command,
        signal: &'static str,
        log: &Path,
        dir: &Path,
    ) -> Result<Self, ServiceError> {
        let out = fs::File::create(log)
            .map_err(|source| ServiceError::io(format!("create {}", log.display()), source))?;
        let err = out
            .try_clone()
            .map_err(|source| ServiceError::io("duplicate the log handle", source))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| ServiceError::io(format!("spawn {cmd:?}"), source))?;
        let watchdog = Watchdog::spawn(Some(child.id()), signal, dir)?;
        Ok(Server {
            child,
            watchdog,
            signal,
            log: log.to_owned(),
        })
    }

    /// Polls `ready` until it holds, failing with the server log if the server exits first.
    pub(crate) fn wait_ready(
        &mut self,
        name: &'static str,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), ServiceError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(ServiceError::Startup {
                    server: name,
                    log: self.log(),
                });
            }
            if ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(ServiceError::Startup {
                    server: name,
                    log: self.log(),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log so far (or why it cannot be read).
    pub(crate) fn log(&self) -> String {
        read_log(&self.log)
    }

    /// Stops the server with its graceful signal, then SIGKILL after 10 s.
    fn stop(&mut self) {
        self.watchdog.disarm();
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-s", self.signal, &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// Stops the server in the foreground, before its owner removes the work dir. Also on a
    /// failed start: a still-armed watchdog would remove the dir a retry is about to reuse.
    fn drop(&mut self) {
        self.stop();
    }
}

/// A log file's text (empty when nothing was logged yet), or a line saying why it cannot
/// be read.
pub(crate) fn read_log(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => format!("(cannot read the log {}: {e})\n", path.display()),
    }
}

/// True when a failed start is worth retrying on another port.
pub(crate) fn lost_port_race(log: &str) -> bool {
    log.contains("Address already in use")
}

/// Starts a server on a free port, retrying on a fresh port (up to five times) when
/// another process took the port between choosing and binding it.
pub(crate) fn start_on_free_port<T>(
    mut start: impl FnMut(u16) -> Result<T, ServiceError>,
) -> Result<(T, u16), ServiceError> {
    let mut attempt = 0;
    loop {
        let port = free_port()?;
        match start(port) {
            Ok(server) => return Ok((server, port)),
            Err(ServiceError::Startup { log, .. }) if attempt < 5 && lost_port_race(&log) => {
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

//! The transport: the system OpenSSH client through the `openssh` crate, one multiplexed
//! master connection per host, so the user's `~/.ssh/config`, agent and ProxyJump apply.
//! Host keys are always checked strictly (`StrictHostKeyChecking=yes`); with
//! `--known-hosts FILE` that file is the only one trusted. A refused host key is reported
//! with the host's name and the fingerprint ssh was shown, found by asking ssh once more
//! with debug logging (the refusal itself does not carry it).

use super::FleetError;
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use std::ffi::OsString;
use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::runtime::Handle;

/// How long, in seconds, a master connection outlives its last session. scf closes each
/// master when it ends; this bounds a master left behind by an scf that was killed.
const MASTER_IDLE: NonZeroUsize = NonZeroUsize::new(900).expect("900 is not zero");

/// How to reach every host: the `--known-hosts`, `--ssh-config`, `--identity` and
/// `--connect-timeout` flags.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// The only known_hosts file to trust (`None`: ssh's own, user and global).
    pub known_hosts: Option<PathBuf>,
    /// The ssh configuration file (`ssh -F`).
    pub config: Option<PathBuf>,
    /// The private key to use, and no other (`ssh -i`, `IdentitiesOnly=yes`).
    pub identity: Option<PathBuf>,
    /// How long a connection may take.
    pub connect_timeout: Duration,
}

/// One host as ssh reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The host's name in the inventory.
    pub name: String,
    /// What ssh connects to (validated: it can never read as an option).
    pub address: String,
    /// The user to log in as.
    pub user: String,
    /// sshd's port.
    pub port: u16,
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}@{}:{})",
            self.name, self.user, self.address, self.port
        )
    }
}

/// Where this run's control sockets and generated ssh configuration live; removed when
/// dropped, after the sessions.
#[derive(Debug)]
pub struct Workspace {
    dir: tempfile::TempDir,
    /// `-F` for every ssh this run starts.
    config: Option<PathBuf>,
}

impl Workspace {
    /// A private directory for the sockets, and with `--known-hosts`, a configuration that
    /// trusts no global known_hosts file and includes the user's (or the given) one.
    pub fn new(options: &SshOptions) -> Result<Self, FleetError> {
        // Unix sockets have a short path limit: keep them in the system's temp directory.
        let dir = tempfile::Builder::new()
            .prefix("scf-ssh.")
            .tempdir()
            .map_err(|e| FleetError::Local(format!("cannot create a directory for ssh: {e}")))?;
        let config = match &options.known_hosts {
            None => options.config.clone(),
            Some(_) => {
                let text = strict_config(options.config.as_deref())?;
                let path = dir.path().join("ssh_config");
                std::fs::File::create(&path)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .map_err(|e| {
                        FleetError::Local(format!("cannot write {}: {e}", path.display()))
                    })?;
                Some(path)
            }
        };
        Ok(Self { dir, config })
    }
}

/// An ssh configuration that trusts no global known_hosts file, then reads the user's
/// configuration as ssh would have (first value wins, so this setting holds).
fn strict_config(user_config: Option<&Path>) -> Result<String, FleetError> {
    let mut text = String::from("GlobalKnownHostsFile /dev/null\n");
    match user_config {
        Some(path) => {
            let path = std::path::absolute(path)
                .map_err(|e| FleetError::Local(format!("--ssh-config {}: {e}", path.display())))?;
            text.push_str(&format!(
                "Include {}\n",
                config_path(&path, "--ssh-config")?
            ));
        }
        None => text.push_str("Include ~/.ssh/config\nInclude /etc/ssh/ssh_config\n"),
    }
    Ok(text)
}

/// A path as an ssh_config argument: quoted, and refused when it cannot be written so.
fn config_path(path: &Path, flag: &str) -> Result<String, FleetError> {
    match path.to_str() {
        Some(s) if !s.contains(['"', '\n', '\r', '\0']) => Ok(format!("\"{s}\"")),
        _ => Err(FleetError::Local(format!(
            "{flag} {}: ssh cannot read a path with a quote, a newline or bytes that are not UTF-8; move the file",
            path.display()
        ))),
    }
}

/// What the agent's stderr lines go to, with the host's name.
pub type Progress = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// A master connection to one host.
pub struct Connection {
    /// The host.
    pub destination: Destination,
    session: Arc<Session>,
    runtime: Handle,
}

fn builder(options: &SshOptions, workspace: &Workspace, to: &Destination) -> SessionBuilder {
    let mut b = SessionBuilder::default();
    b.known_hosts_check(KnownHosts::Strict)
        .user(to.user.clone())
        .port(to.port)
        .connect_timeout(options.connect_timeout.max(Duration::from_secs(1)))
        .server_alive_interval(Duration::from_secs(15))
        .control_persist(ControlPersist::IdleFor(MASTER_IDLE))
        .control_directory(workspace.dir.path());
    if let Some(file) = &options.known_hosts {
        b.user_known_hosts_file(file);
    }
    if let Some(config) = &workspace.config {
        b.config_file(config);
    }
    if let Some(key) = &options.identity {
        b.keyfile(key);
    }
    b
}

/// The arguments of a one-off `ssh` with the same options as the master connection.
fn ssh_args(options: &SshOptions, workspace: &Workspace, to: &Destination) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        "StrictHostKeyChecking=yes".into(),
        "-o".into(),
        format!(
            "ConnectTimeout={}",
            options.connect_timeout.as_secs().max(1)
        )
        .into(),
        "-p".into(),
        to.port.to_string().into(),
        "-l".into(),
        to.user.clone().into(),
    ];
    if let Some(file) = &options.known_hosts {
        let mut o = OsString::from("UserKnownHostsFile=");
        o.push(file);
        args.extend(["-o".into(), o]);
    }
    if let Some(config) = &workspace.config {
        args.extend(["-F".into(), config.clone().into_os_string()]);
    }
    if let Some(key) = &options.identity {
        args.extend([
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-i".into(),
            key.clone().into_os_string(),
        ]);
    }
    args
}

/// Connects to `to`, failing within the connect timeout (plus a margin for the handshake).
pub fn connect(
    runtime: &Handle,
    options: &SshOptions,
    workspace: &Workspace,
    to: &Destination,
) -> Result<Connection, FleetError> {
    let limit = options.connect_timeout + Duration::from_secs(5);
    let b = builder(options, workspace, to);
    let result = runtime
        .block_on(async { tokio::time::timeout(limit, b.connect(to.address.as_str())).await });
    let session = match result {
        Ok(Ok(session)) => session,
        Ok(Err(e)) => {
            let why = ssh_error_text(&e);
            return Err(match host_key_refusal(&why) {
                Some(kind) => FleetError::HostKey {
                    host: to.name.clone(),
                    address: to.address.clone(),
                    port: to.port,
                    kind,
                    fingerprint: runtime
                        .block_on(offered_fingerprint(options, workspace, to))
                        .unwrap_or_else(|| "(ssh did not show it)".into()),
                    known_hosts: options
                        .known_hosts
                        .as_ref()
                        .map(|p| p.display().to_string()),
                },
                None => FleetError::Unreachable {
                    host: to.name.clone(),
                    address: to.address.clone(),
                    why,
                },
            });
        }
        Err(_) => {
            return Err(FleetError::Unreachable {
                host: to.name.clone(),
                address: to.address.clone(),
                why: format!("no answer within {}s", limit.as_secs()),
            });
        }
    };
    Ok(Connection {
        destination: to.clone(),
        session: Arc::new(session),
        runtime: runtime.clone(),
    })
}

/// The text of an openssh error and its causes (ssh's own message is the cause).
fn ssh_error_text(e: &openssh::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether ssh refused the host's key, and how: unknown, or changed.
fn host_key_refusal(ssh_output: &str) -> Option<super::KeyProblem> {
    if ssh_output.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || ssh_output.contains("Host key for") && ssh_output.contains("has changed")
    {
        Some(super::KeyProblem::Changed)
    } else if ssh_output.contains("Host key verification failed")
        || ssh_output.contains("host key is known")
    {
        Some(super::KeyProblem::Unknown)
    } else {
        None
    }
}

/// The fingerprint of the host key `to` offers, as ssh reports it at debug level; the
/// check still fails, so nothing runs on the host.
async fn offered_fingerprint(
    options: &SshOptions,
    workspace: &Workspace,
    to: &Destination,
) -> Option<String> {
    let output = tokio::process::Command::new("ssh")
        .args(ssh_args(options, workspace, to))
        .args(["-o", "LogLevel=DEBUG1", "--"])
        .arg(&to.address)
        .arg("true")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .ok()?;
    fingerprint_in(&String::from_utf8_lossy(&output.stderr))
}

/// `TYPE SHA256:…` from ssh's `Server host key:` debug line.
fn fingerprint_in(debug_log: &str) -> Option<String> {
    debug_log.lines().find_map(|line| {
        let rest = line.split_once("Server host key: ")?.1;
        let (kind, fp) = rest.trim().split_once(' ')?;
        fp.starts_with("SHA256:").then(|| format!("{kind} {fp}"))
    })
}

impl Connection {
    /// The host's name.
    pub fn name(&self) -> &str {
        &self.destination.name
    }

    /// Runs `program args…` on the host, feeding `input` to its stdin; its stdout, and
    /// whether it succeeded. Stderr goes to `progress` line by line.
    pub fn run(
        &self,
        program: &[&str],
        input: &[u8],
        progress: &Progress,
    ) -> Result<(bool, Vec<u8>), FleetError> {
        let remote = |e: openssh::Error| self.remote_error(&ssh_error_text(&e));
        self.runtime.block_on(async {
            let (mut child, relay) = self.spawn(program, input, progress).await?;
            // The request is all there is: closing stdin tells the agent so.
            drop(child.stdin().take());
            let mut stdout = Vec::new();
            if let Some(mut out) = child.stdout().take() {
                out.read_to_end(&mut stdout)
                    .await
                    .map_err(|e| self.remote_error(&format!("cannot read the answer: {e}")))?;
            }
            let _ = relay.await;
            let status = child.wait().await.map_err(remote)?;
            Ok((status.success(), stdout))
        })
    }

    /// Starts `program args…`, sends `input`, and returns once it printed its first line;
    /// it runs on until the returned [`Held`] is dropped (its stdin closes).
    pub fn start(
        &self,
        program: &[&str],
        input: &[u8],
        progress: &Progress,
    ) -> Result<(String, Held), FleetError> {
        let runtime = self.runtime.clone();
        runtime.block_on(async {
            let (mut child, relay) = self.spawn(program, input, progress).await?;
            let mut line = String::new();
            if let Some(out) = child.stdout().take() {
                BufReader::new(out)
                    .read_line(&mut line)
                    .await
                    .map_err(|e| self.remote_error(&format!("cannot read the answer: {e}")))?;
            }
            Ok((
                line,
                Held {
                    child: Some(child),
                    relay: Some(relay),
                    runtime: runtime.clone(),
                },
            ))
        })
    }

    /// Starts `program args…` with its stderr relayed to `progress`, and sends it `input`
    /// (its stdin stays open).
    async fn spawn(
        &self,
        program: &[&str],
        input: &[u8],
        progress: &Progress,
    ) -> Result<(openssh::Child<Arc<Session>>, tokio::task::JoinHandle<()>), FleetError> {
        let remote = |e: openssh::Error| self.remote_error(&ssh_error_text(&e));
        let mut child = Arc::clone(&self.session)
            .arc_command(program[0])
            .args(&program[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await
            .map_err(remote)?;
        let stderr = child.stderr().take();
        let relay = relay(stderr, self.destination.name.clone(), progress.clone());
        if let Some(stdin) = child.stdin().as_mut() {
            stdin
                .write_all(input)
                .await
                .map_err(|e| self.remote_error(&format!("cannot send the request: {e}")))?;
        }
        Ok((child, relay))
    }

    fn remote_error(&self, why: &str) -> FleetError {
        FleetError::Remote {
            host: self.destination.name.clone(),
            why: why.to_string(),
        }
    }
}

/// Copies a remote stderr to `progress`, line by line, until it closes.
fn relay(
    stderr: Option<openssh::ChildStderr>,
    host: String,
    progress: Progress,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(stderr) = stderr else { return };
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            progress(&host, &line);
        }
    })
}

/// A remote process kept running: when this is dropped its stdin closes, and it ends.
pub struct Held {
    child: Option<openssh::Child<Arc<Session>>>,
    relay: Option<tokio::task::JoinHandle<()>>,
    runtime: Handle,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (child, relay) = (self.child.take(), self.relay.take());
        // `wait` closes stdin; give the process a moment to end and its last words to show.
        let ended = async {
            if let Some(child) = child {
                let _ = child.wait().await;
            }
            if let Some(relay) = relay {
                let _ = relay.await;
            }
        };
        // The timer needs the runtime's context, so it is made inside it.
        self.runtime.block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(5), ended).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_read_from_ssh_debug_output() {
        let log = "debug1: Connecting to 10.231.0.2 [10.231.0.2] port 22.\r\n\
                   debug1: Server host key: ssh-ed25519 SHA256:3fGh0Kx8o2t7s+Yb1sWq2uN0m3o0U1r0m2Z8b5v7x9Q\r\n\
                   No ED25519 host key is known for 10.231.0.2 and you have requested strict checking.\r\n";
        assert_eq!(
            fingerprint_in(log).as_deref(),
            Some("ssh-ed25519 SHA256:3fGh0Kx8o2t7s+Yb1sWq2uN0m3o0U1r0m2Z8b5v7x9Q")
        );
        assert_eq!(fingerprint_in("debug1: nothing here"), None);
    }

    #[test]
    fn unknown_and_changed_keys_are_told_apart_from_other_failures() {
        use super::super::KeyProblem;
        assert_eq!(
            host_key_refusal(
                "No ED25519 host key is known for 10.0.0.2 and you have requested strict checking.\nHost key verification failed."
            ),
            Some(KeyProblem::Unknown)
        );
        assert_eq!(
            host_key_refusal(
                "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed."
            ),
            Some(KeyProblem::Changed)
        );
        assert_eq!(
            host_key_refusal("connect to host 10.0.0.2 port 22: Connection refused"),
            None
        );
    }

    #[test]
    fn known_hosts_mode_trusts_no_global_file_and_keeps_the_users_config() {
        let default = strict_config(None).unwrap();
        assert!(default.starts_with("GlobalKnownHostsFile /dev/null\n"));
        assert!(default.contains("Include ~/.ssh/config"));
        let given = strict_config(Some(Path::new("/etc/ci/ssh config"))).unwrap();
        assert!(given.contains("Include \"/etc/ci/ssh config\""), "{given}");
        let err = strict_config(Some(Path::new("/tmp/a\"b"))).unwrap_err();
        assert!(err.to_string().contains("--ssh-config"), "{err}");
    }

    #[test]
    fn one_off_ssh_uses_the_same_strict_options() {
        let options = SshOptions {
            known_hosts: Some("/ci/known_hosts".into()),
            config: None,
            identity: Some("/ci/key".into()),
            connect_timeout: Duration::from_secs(10),
        };
        let workspace = Workspace::new(&options).unwrap();
        let to = Destination {
            name: "app-1".into(),
            address: "10.0.0.2".into(),
            user: "root".into(),
            port: 2222,
        };
        let args: Vec<String> = ssh_args(&options, &workspace, &to)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        for expected in [
            "StrictHostKeyChecking=yes",
            "UserKnownHostsFile=/ci/known_hosts",
            "IdentitiesOnly=yes",
            "ConnectTimeout=10",
            "2222",
            "-F",
        ] {
            assert!(args.iter().any(|a| a == expected), "{expected} in {args:?}");
        }
    }
}

//! Real Debian hosts for end-to-end tests: booted systemd nodes under `systemd-nspawn`.
//!
//! Each node is a copy-on-write overlay of one cached Debian 12 rootfs (minbase plus systemd,
//! dbus, iproute2 and openssh-server; `scripts/install-tools` builds it once into
//! `$SCF_TOOLS_DIR/node/rootfs`), booted as a container with systemd as its PID 1, in a
//! network namespace of its own (never the machine's: ufw inside a node must not cut the
//! machine off) and in cgroups of its own (its systemd must not manage another node's
//! services). Nodes sit on the bridge `scfnodes0`: the machine is `10.231.0.1`, each node
//! gets the next free `10.231.0.N` and reaches only the machine and the other nodes. Its apt
//! goes through this test process's apt-cacher-ng on `10.231.0.1`, whose cache persists in the
//! tools dir, so a package is downloaded once across runs.
//!
//! ```text
//! if let Some(why) = node::unavailable() { eprintln!("skipped: {why}"); return; }
//! let node = Node::builder("web")                   // host name inside the node
//!     .bind_ro(scf_binary, "/usr/local/bin/scf")    // files of the machine, read-only
//!     .boot()?;                                     // about 2 s from the cache
//! node.address()                                    // 10.231.0.N: ssh, https, probes
//! node.exec(&["systemctl", "is-active", "nginx"])?  // Output { status, stdout, stderr }
//! node.run(&["apt-get", "install", "-y", "hello"])? // stdout, or an error with the output
//! node.sh("ufw status | head -1")?                  // a `sh -c` script, must succeed
//! node.write("/etc/scf/framework.toml", bytes, 0o644)? ; node.copy_in(path, "/root/x", 0o600)?
//! node.path("/var/lib/scf")                         // the same file seen from the machine
//! node.teardown()?                                  // or just drop it
//! ```
//! Commands run as root inside every namespace of the node (`nsenter -t INIT -a`) with a
//! clean environment (`PATH`, `HOME=/root`, `LANG=C.UTF-8`); pass variables with `env`.
//! sshd runs in every node, with host keys of its own. For tests that reach nodes over SSH
//! as a deploy does, [`Fleet`] boots several nodes at once with a test [`Identity`]
//! authorized on each and a known_hosts file of their real host keys ([`Node::rekey`]
//! replaces one node's keys).
//!
//! Needs root and `systemd-nspawn`; without either, [`unavailable`] says why and tests skip.
//! A node is torn down on drop (poweroff, then the overlay, the namespace and the veth
//! pair go); a watchdog does the same if the test process dies first, and the next boot
//! reaps what a killed run left behind (leases in `/run/scf-nodes`).

mod boot;
mod cgroup;
mod fleet;
mod net;
mod proxy;
mod ssh;
mod tls;

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::process::{Watchdog, running_as_root};
use crate::services::ServiceError;
use crate::tools::tools_dir;
use net::{Lease, NetLock};

pub use fleet::Fleet;
pub use ssh::{Identity, write_known_hosts};

/// The machine's address on the nodes' bridge: where a test's own connections to a node
/// come from (ssh, HTTPS), as the node's firewall sees them.
pub const MACHINE: Ipv4Addr = net::GATEWAY;

/// The environment commands inside a node run with.
const NODE_ENV: &[&str] = &[
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
];

/// Why a node could not be booted or used.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A file or process operation on the machine failed.
    #[error("could not {action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The machine is not set up for nodes; the message says what to run.
    #[error("{0}")]
    Setup(String),
    /// A command failed; its output says why.
    #[error("`{command}` failed ({status:?}):\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, if it exited.
        status: Option<i32>,
        /// Its stdout and stderr.
        output: String,
    },
    /// The node did not come up.
    #[error("the node did not boot: {why}\n--- console ---\n{log}")]
    Boot {
        /// What went wrong.
        why: String,
        /// The node's console output.
        log: String,
    },
    /// A helper process (the apt proxy, a watchdog) failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl NodeError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        NodeError::Io {
            action: action.into(),
            source,
        }
    }
}

/// What a command in a node printed, and how it exited.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code (`-1` when killed by a signal).
    pub status: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Output {
    /// True when the command exited 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// Why nodes cannot run here, or `None` when they can (root and `systemd-nspawn`).
pub fn unavailable() -> Option<String> {
    if !running_as_root() {
        return Some("real-host nodes need root (namespaces, mounts, systemd-nspawn)".into());
    }
    let installed = ["/usr/bin/systemd-nspawn", "/usr/sbin/apt-cacher-ng"]
        .iter()
        .all(|path| Path::new(path).is_file());
    (!installed).then(|| {
        "systemd-nspawn or apt-cacher-ng is not installed: run scripts/install-tools as root".into()
    })
}

/// A bare node named `name` with `binary` bound read-only at `at` (the scf under test),
/// booted; or `None`, having printed why, where nodes cannot run. The start of every
/// single-node test.
pub fn boot_with(name: &str, binary: &str, at: &str) -> Option<Node> {
    if let Some(why) = unavailable() {
        eprintln!("skipped: {why}");
        return None;
    }
    Some(
        Node::builder(name)
            .bind_ro(binary, at)
            .boot()
            .expect("boot a bare node"),
    )
}

fn node_dir() -> Result<PathBuf, NodeError> {
    let dir = tools_dir()
        .ok_or_else(|| NodeError::Setup("neither SCF_TOOLS_DIR nor HOME is set".into()))?
        .join("node");
    if !dir.join("rootfs.done").is_file() {
        return Err(NodeError::Setup(format!(
            "no node rootfs in {}: run scripts/install-tools as root",
            dir.display()
        )));
    }
    Ok(dir)
}

/// A node to boot: its name and the machine's files it sees.
#[derive(Debug)]
pub struct NodeBuilder {
    name: String,
    binds: Vec<(PathBuf, String)>,
}

impl NodeBuilder {
    /// Makes the machine's `source` visible read-only at `target` inside the node.
    pub fn bind_ro(mut self, source: impl Into<PathBuf>, target: &str) -> Self {
        self.binds.push((source.into(), target.to_owned()));
        self
    }

    /// Boots the node and waits until systemd reports the system running.
    pub fn boot(self) -> Result<Node, NodeError> {
        if let Some(why) = unavailable() {
            return Err(NodeError::Setup(why));
        }
        let node_dir = node_dir()?;
        let lock = NetLock::acquire()?;
        lock.reap_leftovers()?;
        lock.ensure_bridge()?;
        let lease = lock.lease()?;
        let watchdog = Watchdog::on_exit(net::TEARDOWN, &[&lease.path().to_string_lossy()])?;
        let mut node = Node {
            name: self.name,
            workdir: Path::new("/var/tmp/scf-nodes").join(lease.netns()),
            lease,
            nspawn: None,
            init: 0,
            watchdog,
            stopped: false,
        };
        let booted = node.start(&node_dir, &self.binds, lock);
        booted.map(|()| node)
    }
}

/// A booted node; torn down on drop.
#[derive(Debug)]
pub struct Node {
    name: String,
    lease: Lease,
    workdir: PathBuf,
    nspawn: Option<Child>,
    init: u32,
    watchdog: Watchdog,
    stopped: bool,
}

impl Node {
    /// A node named `name` (its host name), not yet booted.
    pub fn builder(name: &str) -> NodeBuilder {
        NodeBuilder {
            name: name.to_owned(),
            binds: Vec::new(),
        }
    }

    fn start(
        &mut self,
        node_dir: &Path,
        binds: &[(PathBuf, String)],
        lock: NetLock,
    ) -> Result<(), NodeError> {
        let netns = self.lease.create_namespace()?;
        let proxy = proxy::apt_proxy(node_dir)?.url();
        drop(lock);
        self.lease
            .record(None, None, &netns, &self.workdir.to_string_lossy())?;
        let root = boot::mount_overlay(&node_dir.join("rootfs"), &self.workdir)?;
        boot::prepare(&root, &self.name, &proxy)?;
        let log = self.workdir.join("console.log");
        let cgroups = cgroup::plan(&self.lease.netns(), &self.workdir)?;
        let mut nspawn = boot::spawn_nspawn(&root, &self.name, &netns, &cgroups, binds, &log)?;
        boot::record(&self.lease, &nspawn, None, &self.workdir)?;
        let init = boot::find_init(&mut nspawn, &log);
        self.nspawn = Some(nspawn);
        self.init = init?;
        let nspawn = self
            .nspawn
            .as_mut()
            .ok_or_else(|| NodeError::Setup("no nspawn".into()))?;
        boot::record(&self.lease, nspawn, Some(self.init), &self.workdir)?;
        let init = self.init;
        boot::wait_running(nspawn, &log, |argv| exec_in(init, argv))
    }

    /// The node's host name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's address on the nodes' bridge.
    pub fn address(&self) -> Ipv4Addr {
        self.lease.address()
    }

    /// The machine's address as the node sees it (its apt proxy listens there).
    pub fn gateway(&self) -> Ipv4Addr {
        net::GATEWAY
    }

    /// Runs `argv` inside the node and returns its output, whatever its exit status.
    pub fn exec(&self, argv: &[&str]) -> Result<Output, NodeError> {
        exec_in(self.init, argv)
    }

    /// Runs `argv` inside the node; its stdout when it exits 0, else an error with its output.
    pub fn run(&self, argv: &[&str]) -> Result<String, NodeError> {
        let output = self.exec(argv)?;
        if output.success() {
            return Ok(output.stdout);
        }
        Err(NodeError::Command {
            command: argv.join(" "),
            status: Some(output.status),
            output: format!("{}{}", output.stdout, output.stderr),
        })
    }

    /// Runs a `sh -c` script inside the node; its stdout, or an error with its output.
    pub fn sh(&self, script: &str) -> Result<String, NodeError> {
        self.run(&["sh", "-c", script])
    }

    /// Where the node's `path` is seen from the machine (the node's root is an overlay).
    pub fn path(&self, path: &str) -> PathBuf {
        self.workdir.join("root").join(path.trim_start_matches('/'))
    }

    /// Writes `contents` to `path` inside the node, with `mode`, creating parent dirs.
    pub fn write(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), NodeError> {
        let target = self.path(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|source| NodeError::io(format!("create {}", parent.display()), source))?;
        }
        fs::write(&target, contents)
            .and_then(|()| fs::set_permissions(&target, fs::Permissions::from_mode(mode)))
            .map_err(|source| NodeError::io(format!("write {path} in the node"), source))
    }

    /// Copies the machine's `source` to `path` inside the node, with `mode`.
    pub fn copy_in(&self, source: &Path, path: &str, mode: u32) -> Result<(), NodeError> {
        let contents = fs::read(source)
            .map_err(|err| NodeError::io(format!("read {}", source.display()), err))?;
        self.write(path, &contents, mode)
    }

    /// Powers the node off and removes everything it used.
    pub fn teardown(mut self) -> Result<(), NodeError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), NodeError> {
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        self.watchdog.disarm();
        net::teardown(self.lease.path())?;
        if let Some(mut nspawn) = self.nspawn.take() {
            // Reaps the exited nspawn; the teardown already ended it.
            let _ = nspawn.wait();
        }
        NetLock::acquire()?.remove_idle_bridge()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            eprintln!("scf-testkit: tearing down node {}: {err}", self.name);
        }
    }
}

fn exec_in(init: u32, argv: &[&str]) -> Result<Output, NodeError> {
    let output = Command::new("nsenter")
        .args(["-t", &init.to_string(), "-a", "--", "/usr/bin/env", "-i"])
        .args(NODE_ENV)
        .args(argv)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| NodeError::io(format!("run {} in a node", argv.join(" ")), source))?;
    Ok(Output {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

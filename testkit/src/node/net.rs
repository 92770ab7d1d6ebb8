//! The nodes' network: one bridge in the machine's namespace holding the host's end of every
//! node's veth pair, each node in its own network namespace with an address of its own, and
//! no route anywhere else. Addresses are leased through files under `/run/scf-nodes`, so
//! concurrent test processes never collide and a killed run's leftovers are found and torn down.

use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::NodeError;

/// The bridge that joins the nodes and the machine.
pub(crate) const BRIDGE: &str = "scfnodes0";
/// The machine's address on the bridge: the nodes' apt proxy listens here.
pub(crate) const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 1);
/// The subnet's prefix length; node addresses are `10.231.0.2` to `10.231.0.254`.
const PREFIX: u8 = 24;
/// Where leases and the lock live (tmpfs: a reboot clears them with the namespaces).
const RUN_DIR: &str = "/run/scf-nodes";
/// The teardown shared by Drop, the watchdog and leftover cleanup.
pub(crate) const TEARDOWN: &str = include_str!("teardown.sh");

/// Runs `ip` (or any command) and fails with its output when it fails.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String, NodeError> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| NodeError::io(format!("run {program}"), source))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(NodeError::Command {
        command: format!("{program} {}", args.join(" ")),
        status: output.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// The exclusive lock over leases and the bridge, held while it lives.
pub(crate) struct NetLock {
    _held: File,
}

impl NetLock {
    /// Waits for the lock (held only for a few `ip` calls at a time).
    pub(crate) fn acquire() -> Result<NetLock, NodeError> {
        fs::create_dir_all(RUN_DIR)
            .map_err(|source| NodeError::io("create /run/scf-nodes", source))?;
        let file = File::create(Path::new(RUN_DIR).join("lock"))
            .map_err(|source| NodeError::io("open /run/scf-nodes/lock", source))?;
        file.lock()
            .map_err(|source| NodeError::io("lock /run/scf-nodes/lock", source))?;
        Ok(NetLock { _held: file })
    }

    /// Tears down the nodes of test processes that died without cleaning up.
    pub(crate) fn reap_leftovers(&self) -> Result<(), NodeError> {
        for lease in self.leases()? {
            let owner = fs::read_to_string(&lease).unwrap_or_default();
            let owner = owner.split_whitespace().next().unwrap_or("-");
            if !Path::new("/proc").join(owner).exists() {
                teardown(&lease)?;
            }
        }
        Ok(())
    }

    /// Creates the bridge and the machine's address on it, unless they exist.
    pub(crate) fn ensure_bridge(&self) -> Result<(), NodeError> {
        if !Path::new("/sys/class/net").join(BRIDGE).exists() {
            run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
            let address = format!("{GATEWAY}/{PREFIX}");
            run("ip", &["addr", "add", &address, "dev", BRIDGE])?;
        }
        run("ip", &["link", "set", BRIDGE, "up"]).map(drop)
    }

    /// Removes the bridge once no node uses it.
    pub(crate) fn remove_idle_bridge(&self) -> Result<(), NodeError> {
        if self.leases()?.is_empty() && Path::new("/sys/class/net").join(BRIDGE).exists() {
            run("ip", &["link", "del", BRIDGE])?;
        }
        Ok(())
    }

    /// Leases the first free address for a node of this process.
    pub(crate) fn lease(&self) -> Result<Lease, NodeError> {
        let last = (2..=254u8)
            .find(|host| !lease_path(*host).exists())
            .ok_or_else(|| NodeError::Setup("all 253 node addresses are leased".into()))?;
        let lease = Lease {
            host: last,
            path: lease_path(last),
        };
        lease.record(None, None, "-", "-")?;
        Ok(lease)
    }

    fn leases(&self) -> Result<Vec<PathBuf>, NodeError> {
        let entries =
            fs::read_dir(RUN_DIR).map_err(|source| NodeError::io("list leases", source))?;
        Ok(entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "lease"))
            .collect())
    }
}

fn lease_path(host: u8) -> PathBuf {
    Path::new(RUN_DIR).join(format!("{host}.lease"))
}

/// A node's address, and the file that records what to tear down.
#[derive(Debug)]
pub(crate) struct Lease {
    host: u8,
    path: PathBuf,
}

impl Lease {
    /// The node's address.
    pub(crate) fn address(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, 0, self.host)
    }

    /// The lease file the teardown reads.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The network namespace's name (`/run/netns/NAME`).
    pub(crate) fn netns(&self) -> String {
        format!("scf-node-{}", self.host)
    }

    /// Records what exists so far, for whoever tears the node down.
    pub(crate) fn record(
        &self,
        nspawn: Option<u32>,
        init: Option<u32>,
        netns: &str,
        workdir: &str,
    ) -> Result<(), NodeError> {
        let pid = |pid: Option<u32>| pid.map_or_else(|| "-".to_owned(), |pid| pid.to_string());
        let line = format!(
            "{} {} {} {netns} {workdir}\n",
            std::process::id(),
            pid(nspawn),
            pid(init)
        );
        // Written aside and renamed over: another boot reaping leftovers reads leases without
        // waiting for this one, and a half-written lease would look like a dead owner's.
        let next = self.path.with_extension("lease.next");
        fs::write(&next, line)
            .and_then(|()| fs::rename(&next, &self.path))
            .map_err(|source| NodeError::io("write a node lease", source))
    }

    /// Creates the node's namespace and veth pair: `host0` inside with the node's address,
    /// the other end on the bridge. Only the subnet's route exists inside: no way out.
    pub(crate) fn create_namespace(&self) -> Result<String, NodeError> {
        let netns = self.netns();
        let outer = format!("scfveth{}", self.host);
        let address = format!("{}/{PREFIX}", self.address());
        run("ip", &["netns", "add", &netns])?;
        self.record(None, None, &netns, "-")?;
        run(
            "ip",
            &[
                "link", "add", &outer, "type", "veth", "peer", "name", "host0", "netns", &netns,
            ],
        )?;
        run("ip", &["link", "set", &outer, "master", BRIDGE, "up"])?;
        run(
            "ip",
            &["-n", &netns, "addr", "add", &address, "dev", "host0"],
        )?;
        run("ip", &["-n", &netns, "link", "set", "host0", "up"])?;
        run("ip", &["-n", &netns, "link", "set", "lo", "up"])?;
        Ok(netns)
    }
}

/// Runs the teardown script for one lease, in the foreground.
pub(crate) fn teardown(lease: &Path) -> Result<(), NodeError> {
    let lease = lease.to_string_lossy();
    run("sh", &["-c", TEARDOWN, "scf-node-teardown", &lease]).map(drop)
}

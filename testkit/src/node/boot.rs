//! Booting one node: an overlay over the cached rootfs, the node's own files (host name, apt
//! through the proxy, fresh SSH host keys), `systemd-nspawn -b` in the node's namespace and
//! cgroups, then the container's init found and waited for until systemd says the system is up.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::net::{Lease, run};
use super::{NodeError, Output, cgroup};

/// How long a boot may take before it is a failure (about 2 s is usual).
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);

/// Mounts a copy-on-write view of `rootfs` at `workdir/root`.
pub(crate) fn mount_overlay(rootfs: &Path, workdir: &Path) -> Result<PathBuf, NodeError> {
    let root = workdir.join("root");
    for dir in ["upper", "work", "root"] {
        fs::create_dir_all(workdir.join(dir))
            .map_err(|source| NodeError::io("create the node's dirs", source))?;
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        rootfs.display(),
        workdir.join("upper").display(),
        workdir.join("work").display()
    );
    let root_arg = root.to_string_lossy();
    run(
        "mount",
        &["-t", "overlay", "overlay", "-o", &options, &root_arg],
    )?;
    Ok(root)
}

/// Writes what makes this node itself: its name, apt through the proxy and the machine's
/// Debian sources (trusted as the machine trusts them), and SSH host keys of its own.
pub(crate) fn prepare(root: &Path, name: &str, proxy: &str) -> Result<(), NodeError> {
    let write = |path: &str, text: String| {
        let target = root.join(path.trim_start_matches('/'));
        fs::write(&target, text).map_err(|source| NodeError::io(format!("write {path}"), source))
    };
    write("/etc/hostname", format!("{name}\n"))?;
    write(
        "/etc/hosts",
        format!("127.0.0.1 localhost\n127.0.1.1 {name}\n"),
    )?;
    write(
        "/etc/apt/apt.conf.d/00scf-node-proxy",
        format!("Acquire::http::Proxy \"{proxy}\";\n{}", host_apt_trust()),
    )?;
    let sources = Path::new("/etc/apt/sources.list.d/debian.sources");
    if sources.is_file() {
        fs::copy(sources, root.join("etc/apt/sources.list.d/debian.sources"))
            .map_err(|source| NodeError::io("copy the Debian sources", source))?;
        write("/etc/apt/sources.list", String::new())?;
    }
    // The cached rootfs carries the keys generated when it was built; every node gets its own.
    for entry in fs::read_dir(root.join("etc/ssh"))
        .map_err(|source| NodeError::io("list /etc/ssh", source))?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("ssh_host_"))
    {
        fs::remove_file(entry.path())
            .map_err(|source| NodeError::io("remove a host key", source))?;
    }
    run("chroot", &[&root.to_string_lossy(), "ssh-keygen", "-A"]).map(drop)
}

/// The machine's own apt settings on release-file validity (a snapshot mirror needs them).
fn host_apt_trust() -> String {
    let Ok(entries) = fs::read_dir("/etc/apt/apt.conf.d") else {
        return String::new();
    };
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .flat_map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| line.contains("Check-Valid-Until") || line.contains("Check-Date"))
        .map(|line| line + "\n")
        .collect()
}

/// Starts `systemd-nspawn -b` on `root` inside the lease's namespace and the node's own
/// `cgroups`, console to `log`.
pub(crate) fn spawn_nspawn(
    root: &Path,
    name: &str,
    netns: &str,
    cgroups: &[PathBuf],
    binds: &[(PathBuf, String)],
    log: &Path,
) -> Result<Child, NodeError> {
    let out =
        fs::File::create(log).map_err(|source| NodeError::io("create the boot log", source))?;
    let err = out
        .try_clone()
        .map_err(|source| NodeError::io("duplicate the boot log", source))?;
    let cgroups = cgroups
        .iter()
        .map(|dir| dir.to_string_lossy())
        .collect::<Vec<_>>()
        .join(":");
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        cgroup::ENTER,
        "scf-node-cgroup",
        &cgroups,
        "systemd-nspawn",
    ])
    .arg("-D")
    .arg(root)
    .args(["-b", "--register=no", "--keep-unit", "--console=read-only"])
    .arg(format!("--machine={name}"))
    .arg(format!("--network-namespace-path=/run/netns/{netns}"))
    .arg("--capability=CAP_NET_ADMIN");
    for (source, target) in binds {
        cmd.arg(format!("--bind-ro={}:{target}", source.display()));
    }
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|source| NodeError::io("spawn systemd-nspawn", source))
}

/// Finds the container's init (pid 1 in its own pid namespace) among nspawn's descendants.
pub(crate) fn find_init(nspawn: &mut Child, log: &Path) -> Result<u32, NodeError> {
    let deadline = Instant::now() + BOOT_TIMEOUT;
    loop {
        if let Some(pid) = descendants(nspawn.id())
            .into_iter()
            .find(|pid| is_ns_init(*pid))
        {
            return Ok(pid);
        }
        exited_or_late(nspawn, log, deadline)?;
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `systemctl is-system-running` says `running` (or `degraded`, reported).
pub(crate) fn wait_running(
    nspawn: &mut Child,
    log: &Path,
    exec: impl Fn(&[&str]) -> Result<Output, NodeError>,
) -> Result<(), NodeError> {
    let deadline = Instant::now() + BOOT_TIMEOUT;
    loop {
        let state = exec(&["systemctl", "is-system-running"])?;
        match state.stdout.trim() {
            "running" => return Ok(()),
            "degraded" => {
                let failed = exec(&["systemctl", "--failed", "--no-legend", "--plain"])?;
                return Err(NodeError::Boot {
                    why: format!("the node booted degraded:\n{}", failed.stdout),
                    log: read_log(log),
                });
            }
            _ => {}
        }
        exited_or_late(nspawn, log, deadline)?;
        thread::sleep(Duration::from_millis(100));
    }
}

fn exited_or_late(nspawn: &mut Child, log: &Path, deadline: Instant) -> Result<(), NodeError> {
    if let Ok(Some(status)) = nspawn.try_wait() {
        return Err(NodeError::Boot {
            why: format!("systemd-nspawn exited ({status})"),
            log: read_log(log),
        });
    }
    if Instant::now() > deadline {
        return Err(NodeError::Boot {
            why: format!("not up within {} s", BOOT_TIMEOUT.as_secs()),
            log: read_log(log),
        });
    }
    Ok(())
}

fn read_log(log: &Path) -> String {
    fs::read_to_string(log).unwrap_or_else(|err| format!("(no boot log: {err})"))
}

/// Every process below `pid`, from `/proc/*/stat`.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| Some((child, parent_of(child)?)))
        .collect();
    let mut found = vec![pid];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        index += 1;
    }
    found.split_off(1)
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn is_ns_init(pid: u32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let ns_pid = status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .and_then(|pids| pids.split_whitespace().last());
    ns_pid == Some("1")
}

/// Records the lease's state after a successful boot step.
pub(crate) fn record(
    lease: &Lease,
    nspawn: &Child,
    init: Option<u32>,
    workdir: &Path,
) -> Result<(), NodeError> {
    lease.record(
        Some(nspawn.id()),
        init,
        &lease.netns(),
        &workdir.to_string_lossy(),
    )
}

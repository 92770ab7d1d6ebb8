//! Each node's own cgroup. `systemd-nspawn --keep-unit` runs the container in the cgroup it
//! was started in, and the container's systemd takes that cgroup over as its root: two nodes
//! started from one test process would share it, and one node's systemd would remove the
//! other's unit cgroups (a failed boot) or kill its services (a restart of `ssh.service` on one
//! node ends sshd on every node). So nspawn first moves itself into a child cgroup named after
//! the node, in every hierarchy the test process belongs to that systemd uses (the named
//! `systemd` one on a legacy or hybrid machine, the unified one everywhere). The teardown
//! removes these cgroups, listed in the node's work dir, once the container is gone.

use std::fs;
use std::path::{Path, PathBuf};

use super::NodeError;

/// Run as `sh -c ENTER $0 DIRS PROGRAM ARGS…`: joins every cgroup in the `:`-separated
/// `DIRS`, then becomes `PROGRAM` (same pid: the caller's child is nspawn itself).
pub(crate) const ENTER: &str = r#"dirs=$1; shift
IFS=:
for dir in $dirs; do
    mkdir -p "$dir" && echo $$ >"$dir/cgroup.procs" || exit 1
done
unset IFS
exec "$@""#;

/// The file in a node's work dir that lists its cgroups, one per line, for the teardown.
pub(crate) const LIST: &str = "cgroups";

/// The node's cgroups (children named `name` of this process's own), recorded in `workdir`.
pub(crate) fn plan(name: &str, workdir: &Path) -> Result<Vec<PathBuf>, NodeError> {
    let own = fs::read_to_string("/proc/self/cgroup")
        .map_err(|source| NodeError::io("read /proc/self/cgroup", source))?;
    let dirs: Vec<PathBuf> = own
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let mount = hierarchy(controllers)?;
            Some(mount.join(path.trim_start_matches('/')).join(name))
        })
        .collect();
    let list: String = dirs
        .iter()
        .map(|dir| format!("{}\n", dir.display()))
        .collect();
    fs::write(workdir.join(LIST), list)
        .map_err(|source| NodeError::io("record the node's cgroups", source))?;
    Ok(dirs)
}

/// Where the hierarchy of a `/proc/self/cgroup` line is mounted, if systemd uses it.
fn hierarchy(controllers: &str) -> Option<PathBuf> {
    let mounted = |dir: &str| {
        Path::new(dir)
            .join("cgroup.procs")
            .exists()
            .then(|| PathBuf::from(dir))
    };
    match controllers {
        "name=systemd" => mounted("/sys/fs/cgroup/systemd"),
        "" => mounted("/sys/fs/cgroup/unified").or_else(|| mounted("/sys/fs/cgroup")),
        _ => None,
    }
}

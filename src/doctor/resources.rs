//! Pre-deployment: the host has the memory `[host] memory` sizes PostgreSQL and Redis
//! for (`/proc/meminfo`), and room on the filesystems the deployment writes to (`df`):
//! its install and state directories, PostgreSQL's data and the backups.

use super::observe;
use super::report::Check;
use crate::model::{Model, Role, layout};
use std::collections::BTreeMap;

const GIB: f64 = (1u64 << 30) as f64;
/// The kernel keeps some memory for itself: `MemTotal` of a host with exactly
/// `host.memory` is a little less.
const MEMORY_SLACK: f64 = 0.9;
/// Free space below either of these fails: a backup or a migration can fill the rest.
const FAIL_FREE_BYTES: u64 = 1 << 30;
const FAIL_FREE_PERCENT: f64 = 2.0;
/// Free space below either of these warns.
const WARN_FREE_BYTES: u64 = 5 << 30;
const WARN_FREE_PERCENT: f64 = 5.0;

/// The memory and disk checks, for a host deployment.
pub fn checks(model: &Model) -> Vec<Check> {
    let Some(host) = model.host.as_ref() else {
        return Vec::new();
    };
    let mut checks = vec![match observe::read("/proc/meminfo") {
        Ok(Some(text)) => match mem_total(&text) {
            Some(total) => memory(host.memory.bytes(), &host.memory.to_string(), total),
            None => Check::fail(
                "memory",
                "no MemTotal in /proc/meminfo",
                "run scf doctor on the host",
            ),
        },
        Ok(None) => Check::fail("memory", "no /proc/meminfo", "run scf doctor on the host"),
        Err(e) => Check::fail("memory", e, "run scf doctor on the host"),
    }];
    let mut dirs = vec![host.install_dir.to_string(), layout::state_dir(model)];
    if model.database.managed && model.serves(Role::Database) {
        dirs.push("/var/lib/postgresql".into());
    }
    if let Some(backup) = model.backup.as_ref().filter(|_| model.runs_backups()) {
        dirs.push(backup.dir.to_string());
    }
    // One check per filesystem, naming the directories on it.
    let mut filesystems: BTreeMap<String, (Vec<String>, Result<Usage, String>)> = BTreeMap::new();
    for dir in dirs {
        match usage(&dir) {
            Ok(usage) => {
                let entry = filesystems
                    .entry(usage.mount.clone())
                    .or_insert_with(|| (Vec::new(), Ok(usage)));
                entry.0.push(dir);
            }
            Err(e) => {
                filesystems.insert(dir.clone(), (vec![dir], Err(e)));
            }
        }
    }
    for (mount, (dirs, usage)) in filesystems {
        checks.push(match usage {
            Ok(usage) => disk(&usage, &dirs),
            Err(e) => Check::fail(format!("disk {mount}"), e, "run scf doctor on the host"),
        });
    }
    checks
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Whether a host with `total` bytes of memory has the `wanted` bytes `host.memory` says.
fn memory(wanted: u64, shown: &str, total: u64) -> Check {
    let has = format!("{:.1} GiB", total as f64 / GIB);
    if (total as f64) < wanted as f64 * MEMORY_SLACK {
        Check::fail(
            "memory",
            format!(
                "this host has {has}, and host.memory = \"{shown}\" sizes PostgreSQL and Redis for more"
            ),
            format!(
                "set host.memory to what this host has (about {:.0}GiB) and `scf apply`, or add memory",
                (total as f64 / GIB).floor().max(1.0)
            ),
        )
    } else {
        Check::pass(
            "memory",
            format!("this host has {has}; host.memory = \"{shown}\""),
        )
    }
}

/// A filesystem's size and free space.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Usage {
    /// Where it is mounted.
    mount: String,
    /// Bytes free to unprivileged users.
    available: u64,
    /// Its size in bytes.
    size: u64,
}

/// The filesystem `dir` is (or, before the first apply, will be) on.
fn usage(dir: &str) -> Result<Usage, String> {
    let mut existing = std::path::Path::new(dir);
    while !existing.exists() {
        existing = existing.parent().unwrap_or(std::path::Path::new("/"));
    }
    let path = existing.to_string_lossy();
    let out = observe::command(&["df", "-B1", "--output=target,avail,size", &path])?;
    parse_df(&out).ok_or_else(|| format!("cannot read `df` for {path}: {out}"))
}

/// The one filesystem of `df -B1 --output=target,avail,size`.
fn parse_df(out: &str) -> Option<Usage> {
    let fields: Vec<&str> = out.lines().nth(1)?.split_whitespace().collect();
    let [mount, available, size] = fields[..] else {
        return None;
    };
    Some(Usage {
        mount: mount.to_string(),
        available: available.parse().ok()?,
        size: size.parse().ok()?,
    })
}

/// Whether a filesystem holding `dirs` has room.
fn disk(usage: &Usage, dirs: &[String]) -> Check {
    let name = format!("disk {}", usage.mount);
    let percent = usage.available as f64 * 100.0 / usage.size.max(1) as f64;
    let evidence = format!(
        "{:.1} GiB free of {:.1} GiB ({percent:.0}%), for {}",
        usage.available as f64 / GIB,
        usage.size as f64 / GIB,
        dirs.join(", ")
    );
    let fix = format!(
        "free space on {} (old backups, logs: `journalctl --vacuum-size=`), or grow it",
        usage.mount
    );
    if usage.available < FAIL_FREE_BYTES || percent < FAIL_FREE_PERCENT {
        Check::fail(name, evidence, fix)
    } else if usage.available < WARN_FREE_BYTES || percent < WARN_FREE_PERCENT {
        Check::warn(name, evidence, fix)
    } else {
        Check::pass(name, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    const GB: u64 = 1 << 30;

    #[test]
    fn memory_must_be_what_host_memory_says() {
        let meminfo = "MemTotal:       16318412 kB\nMemFree:         1000 kB\n";
        let total = mem_total(meminfo).unwrap();
        assert_eq!(total, 16_318_412 * 1024);
        assert_eq!(
            memory(16 * GB, "16GiB", total).status,
            Status::Pass,
            "the kernel's share"
        );
        let short = memory(16 * GB, "16GiB", 8 * GB - (200 << 20));
        assert_eq!(short.status, Status::Fail);
        assert_eq!(
            short.evidence,
            "this host has 7.8 GiB, and host.memory = \"16GiB\" sizes PostgreSQL and Redis for more"
        );
        assert!(
            short
                .fix
                .unwrap()
                .starts_with("set host.memory to what this host has (about 7GiB)")
        );
    }

    #[test]
    fn free_space_passes_warns_then_fails() {
        let df =
            "Mounted on           Avail          1B-blocks\n/         83751862272 270465425408\n";
        let usage = parse_df(df).unwrap();
        assert_eq!(usage.mount, "/");
        let dirs = ["/opt/a".to_string(), "/backup/a".to_string()];
        let ok = disk(&usage, &dirs);
        assert_eq!(ok.status, Status::Pass);
        assert_eq!(
            ok.evidence,
            "78.0 GiB free of 251.9 GiB (31%), for /opt/a, /backup/a"
        );
        let at = |available, size| {
            disk(
                &Usage {
                    mount: "/".into(),
                    available,
                    size,
                },
                &dirs,
            )
            .status
        };
        assert_eq!(at(4 * GB, 100 * GB), Status::Warn, "under 5%");
        assert_eq!(at(4 * GB, 40 * GB), Status::Warn, "under 5 GiB");
        assert_eq!(at(3 * GB, 200 * GB), Status::Fail, "under 2%");
        assert_eq!(
            at(GB / 2, 2 * GB),
            Status::Fail,
            "under 1 GiB whatever the share"
        );
        assert!(parse_df("Mounted on Avail\n").is_none());
    }
}

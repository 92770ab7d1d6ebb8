//! Pre-deployment: the ports the host's services listen on are free, or held by the very
//! program of ours that listens there (a host already deployed). What holds a port is
//! read from `/proc` (the listening sockets of `/proc/net/tcp{,6}` and the processes
//! whose descriptors hold them), as `ss -ltnp` does.

use super::report::Check;
use crate::model::{Model, Placement, Role, metrics_listen};
use crate::targets::alertmanager::LISTEN;
use crate::targets::prometheus::exporters::exporters;
use crate::targets::prometheus::metrics::PROMETHEUS_PORT;
use std::collections::BTreeMap;

/// A port one of the deployment's programs listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Port {
    number: u16,
    /// The program's name as the kernel shows it (`comm`: at most 15 bytes).
    program: String,
    /// What listens there, in words.
    what: String,
}

impl Port {
    fn new(number: u16, program: &str, what: impl Into<String>) -> Self {
        let end = program
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|&end| end <= 15)
            .last()
            .unwrap_or(0);
        Self {
            number,
            program: program[..end].to_string(),
            what: what.into(),
        }
    }
}

/// A process holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    pid: u32,
    program: String,
}

/// One check per port the deployment listens on on this host.
pub fn checks(model: &Model) -> Vec<Check> {
    let ports = wanted(model);
    if ports.is_empty() {
        return Vec::new();
    }
    let held = match listening() {
        Ok(held) => held,
        Err(e) => {
            return vec![Check::fail(
                "ports",
                e,
                "run scf doctor as root on the host, where /proc shows every process",
            )];
        }
    };
    ports
        .iter()
        .map(|port| judge(port, held.get(&port.number).map_or(&[], Vec::as_slice)))
        .collect()
}

/// The ports of the programs this host runs for the deployment.
fn wanted(model: &Model) -> Vec<Port> {
    let mut ports = Vec::new();
    if model.serves(Role::App) {
        let listen = model.server.listen.0.port();
        ports.push(Port::new(
            listen,
            "scf",
            "the framework server (server.listen)",
        ));
        if model.monitoring.prometheus {
            let metrics = metrics_listen(model, Placement::Host).port();
            ports.push(Port::new(metrics, "scf", "the framework's /metrics"));
        }
    }
    for package in crate::targets::packages(model) {
        for unit in &package.units {
            match unit.as_str() {
                "nginx.service" => {
                    ports.push(Port::new(80, "nginx", "nginx (HTTP)"));
                    ports.push(Port::new(443, "nginx", "nginx (HTTPS)"));
                }
                "postgresql.service" => ports.push(Port::new(
                    model.database.port,
                    "postgres",
                    "PostgreSQL (database.port)",
                )),
                "redis-server.service" => ports.push(Port::new(
                    model.redis.port,
                    "redis-server",
                    "Redis (redis.port)",
                )),
                "prometheus.service" => {
                    ports.push(Port::new(PROMETHEUS_PORT, "prometheus", "Prometheus"));
                }
                "prometheus-alertmanager.service" => {
                    if let Ok(at) = LISTEN.parse::<std::net::SocketAddr>() {
                        ports.push(Port::new(
                            at.port(),
                            "prometheus-alertmanager",
                            "Alertmanager",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    for exporter in exporters(model) {
        ports.push(Port::new(exporter.port, exporter.package, exporter.package));
    }
    ports.sort_by_key(|p| p.number);
    ports
}

/// How `port` stands, held by `holders` (none: free).
fn judge(port: &Port, holders: &[Holder]) -> Check {
    let name = format!("port {}", port.number);
    let shown = |holders: &[&Holder]| {
        holders
            .iter()
            .map(|h| format!("{} (pid {})", h.program, h.pid))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let strangers: Vec<&Holder> = holders
        .iter()
        .filter(|h| h.program != port.program)
        .collect();
    if holders.is_empty() {
        Check::pass(name, format!("free for {}", port.what))
    } else if strangers.is_empty() {
        let ours: Vec<&Holder> = holders.iter().collect();
        Check::pass(
            name,
            format!("held by {}: {}", shown(&ours[..1]), port.what),
        )
    } else {
        Check::fail(
            name,
            format!(
                "held by {}, where {} must listen",
                shown(&strangers),
                port.what
            ),
            format!(
                "stop what holds it (`systemctl disable --now UNIT`; `ss -ltnp 'sport = :{}'` names it), or move {}",
                port.number, port.what
            ),
        )
    }
}

/// The listening TCP ports of this host, with the processes holding each.
fn listening() -> Result<BTreeMap<u16, Vec<Holder>>, String> {
    let mut inodes: BTreeMap<u64, u16> = BTreeMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Some(text) = super::observe::read(table)? {
            inodes.extend(listening_sockets(&text));
        }
    }
    let mut held: BTreeMap<u16, Vec<Holder>> = BTreeMap::new();
    let procs = std::fs::read_dir("/proc").map_err(|e| format!("cannot list /proc: {e}"))?;
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let program = std::fs::read_to_string(entry.path().join("comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default();
        for fd in fds.flatten() {
            let Some(port) = std::fs::read_link(fd.path())
                .ok()
                .and_then(|to| socket_inode(&to.to_string_lossy()))
                .and_then(|inode| inodes.get(&inode))
            else {
                continue;
            };
            let holders = held.entry(*port).or_default();
            if !holders.iter().any(|h| h.pid == pid) {
                holders.push(Holder {
                    pid,
                    program: program.clone(),
                });
            }
        }
    }
    Ok(held)
}

/// The inode of a descriptor's link `socket:[INODE]`.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// `(inode, port)` of each listening socket in a `/proc/net/tcp` table (state `0A`).
fn listening_sockets(table: &str) -> Vec<(u64, u16)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields.get(1)?.rsplit_once(':')?.1;
            (*fields.get(3)? == "0A").then_some(())?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some((fields.get(9)?.parse().ok()?, port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    fn holder(pid: u32, program: &str) -> Holder {
        Holder {
            pid,
            program: program.into(),
        }
    }

    #[test]
    fn a_port_is_free_ours_or_taken() {
        let https = Port::new(443, "nginx", "nginx (HTTPS)");
        assert_eq!(judge(&https, &[]).evidence, "free for nginx (HTTPS)");
        let ours = judge(&https, &[holder(10, "nginx"), holder(11, "nginx")]);
        assert_eq!(ours.status, Status::Pass);
        assert_eq!(ours.evidence, "held by nginx (pid 10): nginx (HTTPS)");
        let taken = judge(&https, &[holder(7, "apache2")]);
        assert_eq!(taken.status, Status::Fail);
        assert_eq!(
            taken.evidence,
            "held by apache2 (pid 7), where nginx (HTTPS) must listen"
        );
        assert!(taken.fix.unwrap().contains("ss -ltnp 'sport = :443'"));
    }

    #[test]
    fn programs_are_named_as_the_kernel_shortens_them() {
        let alertmanager = Port::new(9093, "prometheus-alertmanager", "Alertmanager");
        assert_eq!(alertmanager.program, "prometheus-aler");
        assert_eq!(
            judge(&alertmanager, &[holder(3, "prometheus-aler")]).status,
            Status::Pass
        );
    }

    #[test]
    fn listening_sockets_are_read_from_the_kernels_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1388 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   999        0 31338 1 0000000000000000 20 4 30 10 -1
";
        assert_eq!(listening_sockets(table), [(31337, 5000)]);
        assert_eq!(socket_inode("socket:[31337]"), Some(31337));
        assert_eq!(socket_inode("pipe:[1]"), None);
    }
}

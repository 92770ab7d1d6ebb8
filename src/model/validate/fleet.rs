//! The whole-file rules of `[[hosts]]`: every host named and addressed once, reachable by
//! the others on an address of its own, holding at least one role; every role the
//! deployment needs held by a host, and the roles that run a single server (the database
//! primary, the cache, monitoring) by exactly one; and port 22 left open to reach them.

use super::findings::Findings;
use crate::config::{Config, HostEntry, Role};
use std::collections::BTreeMap;
use std::fmt::Display;

/// Every rule of the inventory; nothing to check without one.
pub(super) fn check(c: &Config, f: &mut Findings) {
    if c.hosts.is_empty() {
        return;
    }
    if c.host.is_none() {
        f.error(
            "scf::missing-section",
            "hosts",
            "[[hosts]] needs a [host] section: it sets the user, directories and sizing of every host",
            "add [host] with user, install_dir, cpus and memory, or extend the `single-tenant` profile",
        );
    }
    if c.firewall.as_ref().is_some_and(|fw| !fw.ssh) {
        f.error(
            "scf::fleet-ssh-closed",
            "firewall.ssh",
            "[[hosts]] are deployed over ssh, and `firewall.ssh = false` has ufw close port 22 on every host at the first apply, cutting scf off from them",
            "set firewall.ssh = true (ufw then rate-limits 22/tcp)",
        );
    }
    unique(c, f);
    addresses(c, f);
    roles(c, f);
}

/// What one inventory key of a host is, if it has one.
type Key = fn(&HostEntry) -> Option<String>;

/// No two hosts share a name, an ssh address or an internal address.
fn unique(c: &Config, f: &mut Findings) {
    let keys: [(&str, &str, Key); 3] = [
        ("name", "name", |h| Some(h.name.to_string())),
        ("address", "address", |h| Some(h.address.to_string())),
        ("internal address", "internal_address", |h| {
            h.internal_ip().map(|ip| ip.to_string())
        }),
    ];
    for (what, key, value) in keys {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, h) in c.hosts.iter().enumerate() {
            let Some(v) = value(h) else { continue };
            if let Some(first) = seen.insert(v.clone(), i) {
                let at = match h.internal_address {
                    None if key == "internal_address" => "address",
                    _ => key,
                };
                f.error(
                    "scf::duplicate-host",
                    &format!("hosts.{i}.{at}"),
                    format!(
                        "hosts[{i}] (`{}`) has the same {what} as hosts[{first}] (`{}`): `{v}`",
                        h.name, c.hosts[first].name
                    ),
                    format!("give each [[hosts]] entry its own {what}, or remove the duplicate"),
                );
            }
        }
    }
}

/// Each host has an IPv4 address the others reach it on, and not a loopback one.
fn addresses(c: &Config, f: &mut Findings) {
    for (i, h) in c.hosts.iter().enumerate() {
        match h.internal_ip() {
            None => f.error(
                "scf::host-internal-address",
                &format!("hosts.{i}.address"),
                format!(
                    "host `{}` is reached at `{}`, which is not an IPv4 address, and has no internal_address",
                    h.name, h.address
                ),
                "add internal_address = \"10.0.0.N\": the IPv4 address the other hosts reach it on (pg_hba.conf, ufw and the nginx upstream take addresses)",
            ),
            Some(ip) if ip.is_loopback() || ip.is_unspecified() => f.error(
                "scf::host-internal-address",
                &format!(
                    "hosts.{i}.{}",
                    if h.internal_address.is_some() { "internal_address" } else { "address" }
                ),
                format!("host `{}` would be reached by the other hosts at `{ip}`, which is not an address they can reach", h.name),
                "use the host's address on the network the hosts share, such as `10.0.0.2`",
            ),
            Some(_) => {}
        }
    }
}

/// Roles: none missing on a host, none listed twice, every needed one held, the single
/// servers held once.
fn roles(c: &Config, f: &mut Findings) {
    for (i, h) in c.hosts.iter().enumerate() {
        if h.roles.is_empty() {
            f.error(
                "scf::host-roles",
                &format!("hosts.{i}.roles"),
                format!(
                    "host `{}` has no role, so nothing would be deployed to it",
                    h.name
                ),
                format!("list what it runs, from {}", listed(Role::ALL)),
            );
        }
        for (j, role) in h.roles.iter().enumerate() {
            if h.roles[..j].contains(role) {
                f.error(
                    "scf::host-roles",
                    &format!("hosts.{i}.roles.{j}"),
                    format!("host `{}` lists the role `{role}` twice", h.name),
                    "remove the duplicate",
                );
            }
        }
    }
    for (role, why) in needed(c) {
        if !c.hosts.iter().any(|h| h.holds(role)) {
            f.error(
                "scf::role-without-host",
                "hosts",
                format!("no host has the role `{role}`, which {why}"),
                format!("add \"{role}\" to the roles of one of the [[hosts]]"),
            );
        }
    }
    for role in [Role::Database, Role::Cache, Role::Monitoring] {
        let holders: Vec<usize> = (0..c.hosts.len())
            .filter(|&i| c.hosts[i].holds(role))
            .collect();
        if let [first, second, ..] = holders[..] {
            let replicas = match role {
                Role::Database => " (one primary; replicas are not supported yet)",
                _ => "",
            };
            let j = c.hosts[second].roles.iter().position(|r| *r == role);
            f.error(
                "scf::role-twice",
                &format!("hosts.{second}.roles.{}", j.unwrap_or_default()),
                format!(
                    "hosts `{}` and `{}` both have the role `{role}`; scf runs exactly one{replicas}",
                    c.hosts[first].name, c.hosts[second].name
                ),
                format!("keep `{role}` on one host"),
            );
        }
    }
}

/// The roles this deployment needs a host for, each with why.
fn needed(c: &Config) -> Vec<(Role, &'static str)> {
    let mut out = vec![
        (Role::App, "runs the framework"),
        (Role::Proxy, "serves it over HTTPS (nginx)"),
    ];
    if c.database.managed {
        out.push((Role::Database, "runs PostgreSQL (database.managed)"));
    } else if c.backup.is_some() {
        out.push((Role::Database, "runs the backup jobs ([backup])"));
    }
    if c.redis.managed {
        out.push((Role::Cache, "runs Redis (redis.managed)"));
    }
    if c.monitoring.prometheus || c.monitoring.grafana {
        out.push((
            Role::Monitoring,
            "runs Prometheus and Grafana (monitoring.prometheus, monitoring.grafana)",
        ));
    }
    out
}

/// `a`, `b` and `c`.
fn listed(items: &[impl Display]) -> String {
    let items: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => items.concat(),
    }
}

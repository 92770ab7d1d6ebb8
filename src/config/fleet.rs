//! `[[hosts]]`: the fleet inventory. Each entry is one machine ssh reaches, with the roles
//! it holds; without any entry, the deployment is one local host holding every role. What
//! a role puts on its host is [`crate::model::Model::on_host`]'s business; this is only the
//! shape of the list.

use super::keywords::keywords;
use super::values::{Ipv4Address, Name, SshHost, UnixName, known};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

keywords! {
    /// What a host of the fleet runs.
    pub enum Role {
        /// The framework's runtime (and its env file and unit).
        App = "app",
        /// nginx, in front of every app host.
        Proxy = "proxy",
        /// PostgreSQL (the one primary), its exporter and the backup jobs.
        Database = "database",
        /// Redis and its exporter.
        Cache = "cache",
        /// Prometheus, Alertmanager and Grafana, scraping every host.
        Monitoring = "monitoring",
    }
}

/// `[[hosts]]`: one machine of the fleet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// The host's name in plans and in the build output (`hosts/NAME/`), a DNS label.
    pub name: Name,
    /// What ssh connects to: an IP address, a DNS name or a `~/.ssh/config` alias.
    pub address: SshHost,
    /// The IPv4 address the other hosts reach this one on; `address` by default, which
    /// must then be an IPv4 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_address: Option<Ipv4Address>,
    /// The user ssh logs in as; `root` by default.
    #[serde(default = "root")]
    pub user: UnixName,
    /// The port sshd listens on; 22 by default.
    #[serde(default = "ssh_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// What it runs: one or more of `app`, `proxy`, `database`, `cache`, `monitoring`.
    pub roles: Vec<Role>,
}

impl HostEntry {
    /// The address the other hosts reach this one on, when there is one: `internal_address`,
    /// else `address` if it is an IPv4 address (validation refuses an entry with neither).
    pub fn internal_ip(&self) -> Option<Ipv4Addr> {
        self.internal_address
            .map(|a| a.0)
            .or(match self.address.ip() {
                Some(IpAddr::V4(ip)) => Some(ip),
                _ => None,
            })
    }

    /// Whether it holds `role`.
    pub fn holds(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

fn root() -> UnixName {
    known("root")
}

const fn ssh_port() -> u16 {
    22
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_defaults_to_root_on_port_22_reached_on_its_address() {
        let entry: HostEntry =
            toml::from_str("name = \"app-1\"\naddress = \"10.0.0.2\"\nroles = [\"app\"]\n")
                .expect("a valid entry");
        assert_eq!(entry.user.as_str(), "root");
        assert_eq!(entry.port, 22);
        assert_eq!(entry.internal_ip(), Some("10.0.0.2".parse().unwrap()));
        assert!(entry.holds(Role::App) && !entry.holds(Role::Proxy));
        let named: HostEntry = toml::from_str(
            "name = \"db\"\naddress = \"db.example.com\"\ninternal_address = \"10.0.0.9\"\nroles = [\"database\"]\n",
        )
        .expect("a valid entry");
        assert_eq!(named.internal_ip(), Some("10.0.0.9".parse().unwrap()));
        assert!(
            toml::from_str::<HostEntry>(
                "name = \"x\"\naddress = \"10.0.0.2\"\nroles = [\"web\"]\n"
            )
            .is_err()
        );
    }
}

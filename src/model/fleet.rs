//! The fleet as each of its hosts renders it. A [`Model`] with `[[hosts]]` is the whole
//! deployment and renders no host's files; [`Model::on_host`] projects it onto one host:
//! the roles that host holds, and the services it does not run seen as remote ones, at the
//! internal address of the host that runs them (PostgreSQL on another host is, to an app
//! host, a database scf does not manage, at that host's address). Targets ask
//! [`Model::serves`] which roles to render and read the peers' addresses from
//! [`Model::peers`]; none of them knows host names. A model without `[[hosts]]` is one
//! local host holding every role.

use super::deployment::{Model, Projection};
use crate::config::values::{DomainName, ListenAddr};
use crate::config::{HostEntry, Role};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

impl Model {
    /// The `[[hosts]]` inventory; `None` for a deployment on the local host.
    pub fn fleet(&self) -> Option<&[HostEntry]> {
        (!self.config.hosts.is_empty()).then_some(self.config.hosts.as_slice())
    }

    /// The inventory entry this model was projected on by [`Model::on_host`].
    pub fn this_host(&self) -> Option<&HostEntry> {
        let name = &self.projection.as_ref()?.host;
        self.config.hosts.iter().find(|h| &h.name == name)
    }

    /// The roles whose files this model renders: every role on the local host (`[host]`
    /// and no `[[hosts]]`), the entry's once projected on a host of a fleet, and none for
    /// a fleet as a whole or without `[host]`.
    pub fn roles(&self) -> &[Role] {
        if self.host.is_none() {
            return &[];
        }
        match (self.fleet(), self.this_host()) {
            (None, _) => Role::ALL,
            (Some(_), Some(entry)) => &entry.roles,
            (Some(_), None) => &[],
        }
    }

    /// Whether this model renders `role`'s files.
    pub fn serves(&self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// Whether this model renders a host's files at all (the ones every host gets).
    pub fn hosted(&self) -> bool {
        !self.roles().is_empty()
    }

    /// Whether this host runs the backup jobs: `[backup]` is set and it holds the database
    /// role.
    pub fn runs_backups(&self) -> bool {
        self.backup.is_some() && self.serves(Role::Database)
    }

    /// Whether this host runs the weekly restore drill: it runs the backups of a server scf
    /// manages (the drill restores as `postgres` over the local socket).
    pub fn runs_restore_drill(&self) -> bool {
        self.runs_backups() && self.database.managed
    }

    /// Whether this host obtains and renews the ACME certificate: `[tls] acme` and it
    /// terminates TLS.
    pub fn renews_certificate(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.acme.is_some())
            && self.host.is_some()
            && self.serves(Role::Proxy)
    }

    /// Whether this host's units run scf itself ([`super::layout::BINARY`]), which the
    /// host then gets installed: the runtime, the restore drill, the ACME renewal.
    pub fn runs_scf(&self) -> bool {
        self.serves(Role::App) || self.runs_restore_drill() || self.renews_certificate()
    }

    /// Whether this host has the framework's account, env file and directories: it runs the
    /// runtime or the backup jobs, which load that env file.
    pub fn has_account(&self) -> bool {
        self.serves(Role::App) || self.runs_backups()
    }

    /// The model as host `name` of the fleet renders it, or `None` if there is no such host.
    /// Projecting a projected model starts again from the fleet as a whole.
    pub fn on_host(&self, name: &str) -> Option<Model> {
        let fleet = match &self.projection {
            Some(p) => p.fleet.clone(),
            None => Arc::new(self.clone()),
        };
        let entry = fleet
            .config
            .hosts
            .iter()
            .find(|h| h.name.as_str() == name)?;
        let peers = Peers::of(&fleet.config.hosts);
        // A server scf manages on another host is, to this one, an external server there.
        let remote = |managed: bool, role: Role| managed && !entry.holds(role);
        let mut m = (*fleet).clone();
        m.projection = Some(Projection {
            host: entry.name.clone(),
            fleet: fleet.clone(),
        });
        let c = &mut m.config;
        if let Some(ip) = peers
            .database
            .filter(|_| remote(c.database.managed, Role::Database))
        {
            c.database.managed = false;
            c.database.host = DomainName::from_ipv4(ip);
        }
        if let Some(ip) = peers.cache.filter(|_| remote(c.redis.managed, Role::Cache)) {
            c.redis.managed = false;
            c.redis.host = DomainName::from_ipv4(ip);
        }
        if entry.holds(Role::App) {
            c.server.listen = ListenAddr(peers.app_listen(entry, fleet.server.listen));
        }
        Some(m)
    }

    /// Where app host `entry` of the fleet listens: see [`Peers::app_listen`].
    pub fn app_listen(&self, entry: &HostEntry) -> SocketAddr {
        let fleet = self.projection.as_ref().map_or(self, |p| &p.fleet);
        fleet.peers().app_listen(entry, fleet.server.listen)
    }

    /// The fleet's peers by role, as seen from any host; empty for a local deployment.
    pub fn peers(&self) -> Peers {
        Peers::of(&self.config.hosts)
    }

    /// The internal addresses of the other hosts that hold `role`: the clients (or servers)
    /// this host's files must let through. Empty on a local host and for a fleet as a whole.
    pub fn remote(&self, role: Role) -> Vec<Ipv4Addr> {
        let Some(me) = self.this_host() else {
            return Vec::new();
        };
        self.config
            .hosts
            .iter()
            .filter(|h| h.name != me.name && h.holds(role))
            .filter_map(HostEntry::internal_ip)
            .collect()
    }

    /// The address this host serves the hosts holding `client` on: its internal address
    /// when one of them is another host, else loopback (on a local host, always).
    pub fn serving_address(&self, client: Role) -> IpAddr {
        match self.this_host().and_then(HostEntry::internal_ip) {
            Some(ip) if !self.remote(client).is_empty() => IpAddr::V4(ip),
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

/// The internal addresses of the fleet's hosts, by the role they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers {
    /// The app hosts, in inventory order.
    pub app: Vec<Ipv4Addr>,
    /// The proxy hosts, in inventory order.
    pub proxy: Vec<Ipv4Addr>,
    /// The database host (validation allows one).
    pub database: Option<Ipv4Addr>,
    /// The cache host (validation allows one).
    pub cache: Option<Ipv4Addr>,
    /// The monitoring host (validation allows one).
    pub monitoring: Option<Ipv4Addr>,
}

impl Peers {
    fn of(hosts: &[HostEntry]) -> Self {
        let with = |role: Role| {
            hosts
                .iter()
                .filter(move |h| h.holds(role))
                .filter_map(HostEntry::internal_ip)
        };
        Self {
            app: with(Role::App).collect(),
            proxy: with(Role::Proxy).collect(),
            database: with(Role::Database).next(),
            cache: with(Role::Cache).next(),
            monitoring: with(Role::Monitoring).next(),
        }
    }

    /// Where the runtime of app host `entry` listens: `listen` as configured when every
    /// proxy is on that host, else its internal address on `listen`'s port, which the
    /// proxies on other hosts reach.
    pub fn app_listen(&self, entry: &HostEntry, listen: ListenAddr) -> SocketAddr {
        let own = entry.internal_ip();
        match own {
            Some(ip) if self.proxy.iter().any(|p| *p != ip) => {
                SocketAddr::new(IpAddr::V4(ip), listen.0.port())
            }
            _ => listen.0,
        }
    }
}
